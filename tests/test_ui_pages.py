"""The knowledge-base, data, training and evaluation pages through AppTest."""

from __future__ import annotations

import os
import shutil
import time
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

ROOT = Path(__file__).resolve().parents[1]
APP = str(ROOT / "app.py")
TIMEOUT = 60


@pytest.fixture
def app(built_kb_dir) -> AppTest:
    shutil.copytree(built_kb_dir, Path(os.environ["POLICYQA_DATA_DIR"]))
    return AppTest.from_file(APP, default_timeout=TIMEOUT).run()


def ok(at: AppTest) -> AppTest:
    assert not at.exception, [e.value for e in at.exception]
    return at


def goto(at: AppTest, page: str) -> AppTest:
    at.sidebar.radio[0].set_value(page).run()
    return ok(at)


# ---------- 知识库 ----------

def test_any_file_can_be_chosen_and_unsupported_ones_are_reported_in_chinese(app):
    goto(app, "知识库")
    assert app.file_uploader[0].proto.type == []  # no type filter: an .exe can be picked
    plan = (ROOT / "tests" / "data" / "hebei_plan.md")
    app.file_uploader[0].set_value([(plan.name, plan.read_bytes(), "text/markdown"),
                                    ("安装程序.exe", b"MZ\x90\x00binary", "application/octet-stream")]).run()
    app.button(key="ingest").click().run()
    deadline = time.monotonic() + TIMEOUT
    while not app.session_state["job"].finished and time.monotonic() < deadline:
        time.sleep(0.05)
    ok(app.run())
    errors = [e.value for e in app.error]
    assert any(e.startswith("✗ 安装程序.exe：") and "不支持" in e for e in errors), errors
    assert any(f"✓ {plan.name}" in s.value for s in app.success)
    assert len(app.dataframe[0].value) == 2


def test_ingest_progress_names_the_real_step():
    from ui.kb_page import Job

    job = Job("导入", ["a.txt", "b.txt"])
    job.progress("parse", 1, 2, "a.txt")
    assert job.fraction == 0.0 and "第 1/4 步：解析文件 1/2（a.txt）" in job.status
    job.progress("parse", 2, 2, "b.txt")
    assert job.fraction == pytest.approx(0.25)
    job.progress("embed", 64, 128)
    assert job.fraction == pytest.approx(0.675) and "第 2/4 步：计算向量 64/128" in job.status


# ---------- 数据 ----------

def test_wide_table_keeps_units_notes_and_obeys_the_filter(app):
    goto(app, "数据")
    box = app.selectbox(key="data_table")
    box.select(next(o for o in box.options if "专栏二" in o)).run()
    wide = ok(app).dataframe[1].value
    row = wide[wide["地区"] == "乌海市"].iloc[0]
    assert row["二氧化硫排放量降低"] == "8.5%" and row["单位GDP能耗降低"] == "16%"
    xing = wide[wide["地区"] == "兴安盟"].iloc[0]
    assert xing["二氧化硫排放量降低"] == "0" and "二氧化硫排放量降低：原文缺少“%”" in xing["提示"]
    assert "缺少“%”" in wide[wide["地区"] == "乌兰察布市"].iloc[0]["提示"]
    cells = app.dataframe[2].value
    zero = cells[(cells["行"] == "兴安盟") & (cells["列"] == "二氧化硫排放量降低")].iloc[0]
    assert zero["提示"] == "原文缺少“%”，按原文照录"
    app.text_input(key="data_filter").input("乌海").run()
    assert list(ok(app).dataframe[1].value["地区"]) == ["乌海市"]


# ---------- 培训 ----------

def test_quiz_source_shows_the_table_header_and_every_choice_value(app):
    goto(app, "培训")
    quiz = app.session_state["quiz"]
    pos = next(i for i, q in enumerate(quiz["questions"]) if q.source == "rank")
    quiz["pos"] = pos
    question = quiz["questions"][pos]
    app.run()
    app.radio(key=f"quiz_answer_{quiz['id']}_{pos}").set_value(question.choices[0]).run()
    app.button(key="quiz_submit").click().run()
    shown = "\n".join(m.value for m in ok(app).markdown)
    assert "各选项在表中的数值：" in shown and all(c in shown for c in question.choices)
    assert "<th>地区</th>" in shown and f"<td>{question.answer}</td>" in shown
    assert "随机种子" not in shown + "".join(c.value for c in app.caption)
    assert app.number_input(key="quiz_seed").label == "题组编号"


# ---------- 评测 ----------

def test_eval_runs_the_bundled_sample_keeps_runs_and_compares_them(app):
    goto(app, "评测")
    assert app.radio(key="eval_source").value == "示例题目"
    assert "下载题目文件模板" in [b.label for b in app.get("download_button")]
    app.button(key="eval_run").click().run()
    assert ok(app).get("metric")[0].proto.body == "100%"
    labels = [b.label for b in app.get("download_button")]
    assert {"下载 Excel", "下载 CSV", "下载 JSONL"} <= set(labels)
    app.multiselect(key="eval_systems").select("naive-rag").run()
    app.button(key="eval_run").click().run()
    metrics = [m.label for m in ok(app).get("metric")]
    assert any("规则问答" in m for m in metrics) and any("朴素检索基线" in m for m in metrics)
    history = next(d.value for d in app.dataframe if "通过率" in d.value.columns and "系统" in d.value.columns)
    assert len(history) == 3
    compared = app.dataframe[-1].value
    assert {"A 通过", "B 通过", "变化"} <= set(compared.columns)


def test_malformed_question_files_get_chinese_messages():
    from eval.history import read_question_file

    data = "\n".join(['{"id": "a", "turns": ["乌海市二氧化硫目标是多少"]}', '{broken', '["x"]',
                      '{"id": "b"}', '{"id": "a", "turns": ["重复"]}', '{"id": "c", "turns": []}'])
    cases, errors = read_question_file(data.encode("gb18030"))
    assert [c.id for c in cases] == ["a"]
    assert errors == ["第 2 行不是有效的 JSON（第 2 个字符附近）；每行应是一个完整的 JSON 对象。",
                      "第 3 行应为 JSON 对象（{…}），不是list。",
                      "第 4 行格式不符：问题（turns）：缺少这一项",
                      "第 5 行：编号“a”与前面的题目重复，已跳过。",
                      "第 6 行格式不符：问题（turns）：至少要有一个问题"]
    assert read_question_file(b"\xff\xfe\x00\x81binary")[1][0].startswith("题目文件不是文本文件")


def test_results_download_as_excel_and_csv_with_chinese_headers(kb_settings):
    import io

    import pandas as pd

    from eval.cases import load_cases
    from eval.history import csv_bytes, excel_bytes
    from eval.runner import RunContext, run_cases
    from eval.systems import SYSTEMS
    from kb.knowledge import KnowledgeBase

    kb = KnowledgeBase.open(kb_settings)
    cases, _ = load_cases(ROOT / "data" / "eval_sample" / "questions.jsonl")
    rows = run_cases(cases[:3], RunContext(SYSTEMS["assistant"](kb_settings, kb), {}), "assistant")
    sheets = pd.read_excel(io.BytesIO(excel_bytes(rows)), sheet_name=None)
    assert list(sheets) == ["分类结果", "逐题结果"]
    assert {"编号", "类别", "问题", "通过", "数字", "单位", "回答"} <= set(sheets["逐题结果"].columns)
    assert "表格查询" in set(sheets["分类结果"]["类别"])
    assert csv_bytes(rows).decode("utf-8-sig").startswith("编号,类别,系统,问题,通过")
