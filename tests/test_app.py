"""The Streamlit app driven through streamlit.testing (no browser, no network, no LLM): every page."""

from __future__ import annotations

import json
import os
import random
import shutil
import time
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

ROOT = Path(__file__).resolve().parents[1]
APP = str(ROOT / "app.py")
SAMPLE_NAME = "内蒙古自治区十二五节能减排规划.txt"
TIMEOUT = 60


@pytest.fixture
def kb_dir(built_kb_dir, tmp_path) -> Path:
    """The sample knowledge base (built by ingest_paths in conftest) copied to where POLICYQA_DATA_DIR points."""
    target = Path(os.environ["POLICYQA_DATA_DIR"])
    shutil.copytree(built_kb_dir, target)
    return target


@pytest.fixture
def app(kb_dir) -> AppTest:
    return AppTest.from_file(APP, default_timeout=TIMEOUT).run()


def ask(at: AppTest, question: str) -> AppTest:
    at.chat_input[0].set_value(question).run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def last_answer(at: AppTest):
    return at.chat_message[-1]


def answer_text(at: AppTest) -> str:
    return last_answer(at).markdown[0].value


def all_text(node) -> str:
    return "\n".join(m.value for m in node.markdown)


def goto(at: AppTest, page: str) -> AppTest:
    at.sidebar.radio[0].set_value(page).run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def wait_for_job(at: AppTest, timeout: float = TIMEOUT):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        job = at.session_state["job"]
        if job.finished:
            at.run()
            return job
        time.sleep(0.05)
    raise AssertionError("ingest did not finish")


def upload(at: AppTest, files: list[tuple[str, bytes]]):
    goto(at, "知识库")
    at.file_uploader[0].set_value([(name, data, "application/octet-stream") for name, data in files]).run()
    at.button(key="ingest").click().run()
    return wait_for_job(at)


# ---------- 问答 ----------

def test_empty_chat_offers_example_questions(app):
    labels = [b.label for b in app.button]
    assert "乌海市二氧化硫目标是多少" in labels
    assert "规划中有哪些数字不一致" in labels
    assert not app.chat_message


def test_answer_shows_figure_and_its_table_with_the_cited_cell(app):
    ask(app, "乌海市二氧化硫目标是多少")
    assert "8.5%\\[1\\]" in answer_text(app)
    message = last_answer(app)
    assert "**乌海市 二氧化硫排放量降低**：8.5%" in all_text(message)
    assert "来源文档：《内蒙古自治区十二五节能减排规划.txt》" in [c.value for c in message.caption]
    expander = next(e for e in message.expander if e.label.startswith("出处"))
    assert expander.label == "出处（1 处）"
    shown = all_text(expander)
    assert "[1] 《内蒙古自治区十二五节能减排规划.txt》" in shown and "专栏二" in shown
    assert '<td class="cited">8.5%</td>' in shown and shown.count('<tr class="cited">') == 1


def test_follow_up_uses_the_previous_question(app):
    ask(app, "乌海市二氧化硫目标是多少")
    ask(app, "那包头呢？")
    assert "6.3%" in answer_text(app)
    assert "包头市" in answer_text(app)
    assert len(app.chat_message) == 4  # both turns stay on the page


def test_example_button_asks_and_rank_answer_draws_highlighted_chart(app):
    app.button(key="example_1").click().run()
    assert "包头市" in answer_text(app) and "17.3%" in answer_text(app)
    charts = last_answer(app).get("vega_lite_chart")
    assert charts, "rank answers draw a bar chart"
    proto = charts[0].proto
    data = b"".join(d.data.data for d in proto.datasets) + proto.data.data
    assert "包头市".encode() in data and "呼和浩特市".encode() in data and "datum.asked" in proto.spec


def test_new_chat_starts_a_new_conversation(app):
    ask(app, "乌海市二氧化硫目标是多少")
    app.button(key="new_chat").click().run()
    assert not app.chat_message
    ask(app, "那包头呢？")  # nothing to follow up on any more
    answer = app.session_state["history"][-1]["answer"]
    assert len(app.session_state["history"]) == 1 and not any(f.value == 6.3 for f in answer.figures)


def test_refusal_is_a_warning_naming_what_the_kb_covers(app):
    ask(app, "今天天气怎么样")
    message = last_answer(app)
    assert message.warning, "refusals are shown as warnings"
    assert "规划中没有" in message.warning[0].value
    assert any("知识库包含 1 个文档：《内蒙古自治区十二五节能减排规划" in c.value for c in message.caption)


def test_audit_answer_shows_formula_as_maths_and_inputs(app):
    ask(app, "规划中有哪些数字不一致")
    message = last_answer(app)
    assert "-9.7%" in all_text(message) and "**数字与计算**" in all_text(message)
    assert any("\\div" in x.value for x in message.get("latex"))
    assert any(c.value.startswith("输入：") for c in message.caption)


# ---------- 知识库 ----------

def gb18030_plan() -> tuple[str, bytes, str, str]:
    """(name, GB18030 bytes, a question only this plan answers, the expected figure)."""
    try:
        from eval.generate import generate_plan
    except ImportError:  # eval.generate is another module's; the bundled second plan does as well
        text = (ROOT / "tests" / "data" / "hebei_plan.md").read_text(encoding="utf-8")
        return "河北省规划_gb.md", text.encode("gb18030"), "唐山市氮氧化物减排是多少", "18.5"
    plan = generate_plan(11, "txt-gb18030")
    region, indicator = plan.regions[0], plan.indicators[1]
    return plan.name, plan.data, f"{region}{indicator}是多少", plan.targets[(region, indicator)].raw


def test_upload_gb18030_plan_ingests_it(app):
    name, data, question, expected = gb18030_plan()
    data.decode("gb18030")
    with pytest.raises(UnicodeDecodeError):
        data.decode("utf-8")
    job = upload(app, [(name, data)])
    assert not job.error and not job.report.failed, job.report.summary()
    assert any(f"✓ {name}" in s.value for s in app.success), [s.value for s in app.success]
    docs = app.dataframe[0].value
    assert set(docs["文档"]) == {name, SAMPLE_NAME}
    assert docs.loc[docs["文档"] == name, "表格"].iloc[0] >= 1
    assert docs.loc[docs["文档"] == name, "编码"].iloc[0].lower().replace("-", "") in ("gb18030", "gbk", "gb2312")
    goto(app, "问答")
    ask(app, question)  # the assistant picks up the new generation on the next question
    assert expected in answer_text(app)
    ask(app, "乌海市二氧化硫目标是多少")  # and the old document is still there
    assert "8.5%" in answer_text(app)


def test_broken_file_shows_its_error_and_old_kb_still_answers(app):
    junk = random.Random(3).randbytes(4096)
    job = upload(app, [("损坏的文件.docx", junk)])
    assert job.report.failed
    errors = [e.value for e in app.error]
    assert any("损坏的文件.docx" in e for e in errors), errors
    assert len(app.dataframe[0].value) == 1  # the previous knowledge base is unchanged
    goto(app, "问答")
    ask(app, "乌海市二氧化硫目标是多少")
    assert "8.5%" in answer_text(app)


def test_chat_answers_while_an_ingest_runs(app):
    name, data, _, _ = gb18030_plan()
    goto(app, "知识库")
    app.file_uploader[0].set_value([(name, data, "text/plain")]).run()
    app.button(key="ingest").click().run()
    goto(app, "问答")
    ask(app, "乌海市二氧化硫目标是多少")
    assert "8.5%" in answer_text(app)
    job = wait_for_job(app)
    assert not job.report.failed


def test_delete_document(app):
    goto(app, "知识库")
    from assistant import admin
    from kb.settings import load_settings

    doc_id = admin.documents(load_settings())[0]["doc_id"]
    app.multiselect(key="delete_docs").select(doc_id).run()
    app.button(key="delete").click().run()
    assert any("确定删除 1 个文档" in w.value for w in app.warning)  # asks first
    assert len(app.dataframe[0].value) == 1
    app.button(key="delete_yes").click().run()
    assert not app.exception
    assert any("已删除" in i.value for i in app.info)
    assert not app.dataframe  # no documents left


def test_first_start_builds_the_sample_knowledge_base(tmp_path):
    data_dir = Path(os.environ["POLICYQA_DATA_DIR"])
    assert not data_dir.exists()
    at = AppTest.from_file(APP, default_timeout=TIMEOUT).run()
    assert not at.exception, [e.value for e in at.exception]
    assert (data_dir / "kb" / "CURRENT").exists()
    ask(at, "乌海市二氧化硫目标是多少")
    assert "8.5%" in answer_text(at)


# ---------- 数据 ----------

def test_data_page_lists_tables_cells_and_facts_with_quotes(app):
    goto(app, "数据")
    overview = app.dataframe[0].value
    assert any("专栏二" in t for t in overview["表格"])
    app.selectbox(key="data_table").select(
        next(o for o in app.selectbox(key="data_table").options if "专栏二" in o)).run()
    wide, cells = app.dataframe[1].value, app.dataframe[2].value
    assert "原文" in wide.columns and "乌海市" in set(wide.iloc[:, 0])
    row = cells[(cells["行"] == "乌海市") & (cells["列"] == "二氧化硫排放量降低")].iloc[0]
    assert row["数值"] == pytest.approx(8.5) and "| 乌海市 | 16% | 8.5%" in row["原文"]
    facts = app.dataframe[3].value
    assert len(facts) > 20 and facts["原文"].str.len().min() > 0
    labels = [b.label for b in app.get("download_button")]
    assert {"下载单元格 CSV", "下载本表 Excel", "下载数量事实 CSV", "下载数量事实 Excel"} <= set(labels)


def test_data_filter_narrows_facts(app):
    goto(app, "数据")
    before = len(app.dataframe[3].value)
    app.text_input(key="data_filter").input("电石").run()
    facts = app.dataframe[-1].value
    assert 0 < len(facts) < before
    assert all("电石" in " ".join(map(str, row)) for row in facts.to_numpy())


@pytest.fixture
def app_module():
    """The pages' helpers (the pages themselves only run inside the app)."""
    from types import SimpleNamespace

    from ui import common, data_page

    return SimpleNamespace(excel_bytes=data_page.excel_bytes, suggested_question=common.suggested_question,
                           highlighted=common.highlighted, replaced_entity=common.replaced_entity)


def test_excel_export_round_trips(app_module):
    import io

    import pandas as pd
    frame = pd.DataFrame({"行": ["乌海市"], "数值": [8.5], "原文": ["| 乌海市 | 16% | 8.5% |"]})
    data = app_module.excel_bytes({"专栏二：各盟市“十二五”期间节能减排目标/宽表[1]": frame})
    back = pd.read_excel(io.BytesIO(data), sheet_name=None)
    (sheet, read), = back.items()
    assert len(sheet) <= 31 and read.iloc[0]["数值"] == 8.5


@pytest.mark.parametrize("question,suggestion,expected", [
    ("乌梅市二氧化硫目标是多少", "乌海市", "乌海市二氧化硫目标是多少"),
    ("包投市的氨氮", "包头市", "包头市的氨氮"),
    ("这个呢", "乌海市二氧化硫目标是多少", "乌海市二氧化硫目标是多少"),
])
def test_did_you_mean_rewrites_the_question(app_module, question, suggestion, expected):
    assert app_module.suggested_question(question, suggestion) == expected


@pytest.mark.parametrize("question,old,new,expected", [
    ("乌海市二氧化硫目标是多少", "乌海市", "包头市", "包头市二氧化硫目标是多少"),
    ("那乌海呢？", "乌海市", "包头市", "那包头市呢？"),
    ("二氧化硫呢", "", "乌海市", "乌海市二氧化硫呢"),
])
def test_correcting_an_entity_rewrites_the_question(app_module, question, old, new, expected):
    assert app_module.replaced_entity(question, old, new) == expected


def test_document_text_is_escaped(app_module):
    assert "&lt;" in app_module.highlighted("<b>", "x", "")  # document text is escaped, never run as HTML


# ---------- 培训 ----------

def answer_quiz(at: AppTest, right: bool) -> str:
    quiz = at.session_state["quiz"]
    question = quiz["questions"][quiz["pos"]]
    key = f"quiz_answer_{quiz['id']}_{quiz['pos']}"
    if question.kind == "choice":
        choice = question.answer if right else next(c for c in question.choices if c != question.answer)
        at.radio(key=key).set_value(choice).run()
    else:
        value = float(question.answer) if right else float(question.answer) + 1000
        at.text_input(key=key).input(f"{value:g}").run()
    at.button(key="quiz_submit").click().run()
    assert not at.exception, [e.value for e in at.exception]
    return question.prompt


def test_quiz_grades_right_and_wrong_answers_and_keeps_score(app):
    goto(app, "培训")
    answer_quiz(app, right=True)
    assert app.success and app.success[0].value.startswith("回答正确")
    assert app.get("metric")[0].proto.body == "1 / 1"
    assert "出处" in app.caption[-1].value or any("出处" in c.value for c in app.caption)
    app.button(key="quiz_next").click().run()
    prompt = answer_quiz(app, right=False)
    assert app.error and "正确答案" in app.error[0].value
    assert app.get("metric")[0].proto.body == "1 / 2"
    review = app.expander[0]
    assert review.label == "错题（1）" and prompt[:10] in all_text(review)


def test_quiz_submit_without_answer_asks_for_one(app):
    goto(app, "培训")
    app.button(key="quiz_submit").click().run()
    assert any("请先作答" in i.value for i in app.info)
    assert app.get("metric")[0].proto.body == "0 / 0"


def test_quiz_is_the_same_for_the_same_seed(app):
    goto(app, "培训")
    first = [q.prompt for q in app.session_state["quiz"]["questions"]]
    app.button(key="quiz_new").click().run()
    assert [q.prompt for q in app.session_state["quiz"]["questions"]] == first
    app.number_input(key="quiz_seed").set_value(2).run()
    app.button(key="quiz_new").click().run()
    assert [q.prompt for q in app.session_state["quiz"]["questions"]] != first


# ---------- 评测 ----------

def test_eval_page_runs_an_uploaded_question_file(app):
    cases = [
        {"id": "t-1", "category": "table", "turns": ["乌海市二氧化硫目标是多少"],
         "expect": {"numbers": [8.5], "unit": "%"}, "evidence": ["| 乌海市 | 16% | 8.5%"]},
        {"id": "t-2", "category": "multiturn", "turns": ["乌海市二氧化硫目标是多少", "那包头呢？"],
         "expect": {"numbers": [6.3], "unit": "%"}},
        {"id": "t-3", "category": "out_of_scope", "turns": ["今天天气怎么样"], "expect": {"refuse": True}},
        {"id": "t-4", "category": "table", "turns": ["乌海市二氧化硫目标是多少"], "expect": {"numbers": [99.9]}},
    ]
    data = ("\n".join(json.dumps(c, ensure_ascii=False) for c in cases) + "\n{broken\n").encode("utf-8")
    goto(app, "评测")
    app.radio(key="eval_source").set_value("上传题目文件").run()
    app.file_uploader(key="eval_upload").set_value(("cases.jsonl", data, "application/json")).run()
    assert any("已选择：cases.jsonl" in c.value for c in app.caption)
    app.button(key="eval_run").click().run()
    assert not app.exception, [e.value for e in app.exception]
    assert app.get("metric")[0].proto.body == "75%" and "cases.jsonl" in app.get("metric")[0].label
    summary = app.dataframe[0].value
    overall = summary[summary["类别"] == "总计"].iloc[0]
    assert overall["题数"] == 4 and overall["通过率"] == "75%"
    assert {"表格查询", "多轮追问", "超出范围"} <= set(summary["类别"])
    failed = app.dataframe[1].value
    assert list(failed["编号"]) == ["t-4"] and failed["未通过的检查"].iloc[0] == "数字"
    assert any("第 5 行不是有效的 JSON" in w.value for w in app.warning)


@pytest.mark.skipif(not (ROOT.parent / "shared" / "eval" / "dev.jsonl").exists(), reason="no shared dev set here")
def test_eval_page_runs_the_dev_set(app):
    goto(app, "评测")
    app.radio(key="eval_source").set_value("开发集").run()
    app.button(key="eval_run").click().run()
    assert not app.exception, [e.value for e in app.exception]
    assert "总计" in set(app.dataframe[0].value["类别"])
    assert "dev.jsonl" in app.get("metric")[0].label


# ---------- sidebar ----------

def test_sidebar_shows_the_knowledge_base_by_name_and_size_not_folders(app, kb_dir):
    ask(app, "电石淘汰量")  # waits for the background warm-up, after which the sidebar counts
    side = "\n".join(c.value for c in app.sidebar.caption)
    assert "内蒙古自治区十二五节能减排规划" in side and "文档 1 个" in side and "表格 2 个" in side
    assert str(kb_dir) not in side and "Chroma" not in side and "LLM_" not in side and "哈希" not in side
    assert "未启用" in side and not app.sidebar.toggle


def test_llm_toggle_falls_back_to_rules_when_the_agent_cannot_load(kb_dir, monkeypatch):
    monkeypatch.setenv("LLM_BASE_URL", "http://127.0.0.1:9/v1")  # nothing listens: the agent must fall back
    monkeypatch.setenv("LLM_MODEL", "offline-test")
    monkeypatch.setenv("POLICYQA_LLM_TIMEOUT", "2")
    at = AppTest.from_file(APP, default_timeout=TIMEOUT).run()
    assert at.sidebar.toggle and "offline-test" in at.sidebar.toggle[0].label
    at.sidebar.toggle[0].set_value(True).run()
    ask(at, "乌海市二氧化硫目标是多少")
    assert "8.5%" in all_text(last_answer(at)) or "8.5%" in all_text(at)
