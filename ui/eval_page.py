"""The 评测 page: score a question file (the bundled sample, the development set, an upload, or the questions
people's feedback became), keep every run, compare two systems or two runs, download the results."""

from __future__ import annotations

import time

import pandas as pd
import streamlit as st

from eval import history
from kb.errors import PolicyQAError
from kb.feedback import question_rows, rows_jsonl
from kb.settings import Settings
from ui.common import ROOT, feedback_store, safely

SAMPLE = ROOT / "data" / "eval_sample" / "questions.jsonl"
TEMPLATE = ROOT / "data" / "eval_sample" / "template.jsonl"
DEV_SET = ROOT.parent / "shared" / "eval" / "dev.jsonl"
DEV_SET = DEV_SET if DEV_SET.exists() else ROOT / "eval" / "questions" / "dev.jsonl"  # the repository's copy
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
SOURCES = ("示例题目", "上传题目文件", "来自用户反馈", "开发集")


def run_store(settings: Settings) -> history.RunStore:
    return history.RunStore.for_settings(settings)


def run_eval(settings: Settings, kb, name: str, cases, errors: list[str], systems: list[str]) -> None:
    """Score `cases` with each system; keep the runs; show the last results."""
    from eval.runner import RunContext, run_cases
    from eval.systems import SYSTEMS

    result = {"source": name, "errors": list(errors), "by_system": {}, "run_ids": []}
    st.session_state["eval"] = result
    if not cases:
        return
    texts = {}
    for d in kb.docs:
        texts[d["doc_id"]] = texts[d["name"]] = kb.text_of(d["doc_id"])
    for system in systems:
        bar = st.progress(0.0, text=f"{history.SYSTEM_NAMES.get(system, system)}：准备中……")
        try:
            ask_fn = SYSTEMS[system](settings, kb)
        except PolicyQAError as exc:
            result["errors"].append(f"{history.SYSTEM_NAMES.get(system, system)}：{exc.user_message}")
            continue
        search = (lambda q: [h.chunk.text for h in kb.search(q, k=5)]) if system == "assistant" else None
        label = history.SYSTEM_NAMES.get(system, system)
        def progress(n: int, total: int, bar=bar, label=label) -> None:
            bar.progress(n / total, text=f"{label}：已完成 {n} / {total} 题")

        rows = run_cases(cases, RunContext(ask_fn, texts, search), system, progress=progress)
        result["by_system"][system] = rows
        run_id, error = safely(run_store(settings).save, name, system, rows)
        if error:
            result["errors"].append(error)
        else:
            result["run_ids"].append(run_id)


def chosen_cases(settings: Settings, source: str):
    """(file name, cases, errors) of the chosen question source; (None, …) when nothing is chosen yet."""
    if source == "示例题目":
        return SAMPLE.name, *history.read_question_file(SAMPLE.read_bytes())
    if source == "开发集":
        return DEV_SET.name, *history.read_question_file(DEV_SET.read_bytes())
    if source == "来自用户反馈":
        entries, error = safely(feedback_store(settings).entries)
        rows, _ = question_rows(entries or [])
        cases, errors = history.read_question_file(rows_jsonl(rows).encode("utf-8"))
        return "用户反馈", cases, ([error] if error else []) + errors
    uploaded = st.session_state.get("eval_upload")
    if uploaded is None:
        return None, [], []
    return uploaded.name, *history.read_question_file(uploaded.getvalue())


def render_results(result: dict) -> None:
    for e in result["errors"]:
        st.warning(e)
    by_system = result["by_system"]
    if not by_system:
        return
    columns = st.columns(len(by_system))
    for column, (system, rows) in zip(columns, by_system.items()):
        passed = sum(r["passed"] for r in rows)
        column.metric(f"通过率（{result['source']}，{history.SYSTEM_NAMES.get(system, system)}）",
                      f"{passed / len(rows):.0%}", help=f"{passed} / {len(rows)} 题")
    for system, rows in by_system.items():
        name = history.SYSTEM_NAMES.get(system, system)
        st.markdown(f"**{name}：分类结果**")
        st.dataframe(pd.DataFrame(history.summary_rows(rows)), hide_index=True)
        failed = [r for r in rows if not r["passed"] or r.get("unsupported_numbers")]
        st.markdown(f"**{name}：未通过的题目（{len(failed)}）**")
        if failed:
            frame = pd.DataFrame(history.result_rows(failed))
            frame.insert(5, "未通过的检查", [history.failed_checks(r) for r in failed])
            st.dataframe(frame[["编号", "类别", "问题", "未通过的检查", "期望数字", "期望单位", "应当拒答", "实际拒答",
                                "无出处数字", "回答"]], hide_index=True)
        else:
            st.caption("全部通过。")
        stem = f"评测结果-{result['source'].rsplit('.', 1)[0]}-{system}"
        a, b, c = st.columns(3)
        a.download_button("下载 Excel", lambda rows=rows: history.excel_bytes(rows), f"{stem}.xlsx", XLSX,
                          key=f"eval_xlsx_{system}", on_click="ignore")
        b.download_button("下载 CSV", lambda rows=rows: history.csv_bytes(rows), f"{stem}.csv", "text/csv",
                          key=f"eval_csv_{system}", on_click="ignore")
        c.download_button("下载 JSONL", lambda rows=rows: history.jsonl_bytes(rows), f"{stem}.jsonl",
                          "application/json", key=f"eval_download_{system}", on_click="ignore")


def render_history(settings: Settings) -> None:
    runs, error = safely(run_store(settings).runs)
    st.markdown("**历次评测**")
    if error:
        st.warning(error)
        return
    if not runs:
        st.caption("还没有保存的评测记录。")
        return
    st.dataframe(pd.DataFrame([{"编号": r.id, "时间": time.strftime("%m-%d %H:%M", time.localtime(r.created)),
                                "题目": r.source, "系统": history.SYSTEM_NAMES.get(r.system, r.system),
                                "题数": r.items, "通过": r.passed,
                                "通过率": f"{r.passed / r.items:.0%}" if r.items else "—"}
                               for r in runs]), hide_index=True)
    if len(runs) < 2:
        return
    labels = {r.id: r.label for r in runs}
    a, b = st.columns(2)
    first = a.selectbox("对比：运行 A", list(labels), index=1, format_func=labels.get, key="eval_cmp_a")
    second = b.selectbox("运行 B", list(labels), index=0, format_func=labels.get, key="eval_cmp_b")
    rows_a, rows_b = run_store(settings).rows(first), run_store(settings).rows(second)
    summary = pd.DataFrame(history.summary_rows(rows_a))[["类别", "题数", "通过率"]].merge(
        pd.DataFrame(history.summary_rows(rows_b))[["类别", "通过率"]], on="类别", how="outer",
        suffixes=("（A）", "（B）"))
    st.dataframe(summary, hide_index=True)
    compared = pd.DataFrame(history.compare_runs(rows_a, rows_b))
    changed = compared[compared["变化"] != "相同"]
    st.caption(f"变好 {int((compared['变化'] == '变好').sum())} 题，变差 {int((compared['变化'] == '变差').sum())} 题。")
    st.dataframe(changed if not changed.empty else compared, hide_index=True)


def feedback_row(r: dict) -> dict:
    return {"编号": r["id"], "类别": history.CATEGORY_NAMES.get(r["category"], r["category"]),
            "问题": " → ".join(r["turns"]), "期望数字": "、".join(map(str, r["expect"]["numbers"])),
            "单位": r["expect"]["unit"], "应当拒答": "是" if r["expect"]["refuse"] else "否", "来源": r["note"]}


def render_feedback_rows(settings: Settings) -> None:
    entries, error = safely(feedback_store(settings).entries)
    with st.expander(f"用户反馈转成的题目（{len(entries or [])} 条反馈）"):
        if error:
            st.warning(error)
            return
        if not entries:
            st.caption("问答页的 👍/👎 会记录在这里；标为正确的回答和给出更正的回答都可以变成回归题。")
            return
        rows, skipped = question_rows(entries)
        if rows:
            st.dataframe(pd.DataFrame([feedback_row(r) for r in rows]), hide_index=True)
            st.download_button("下载为题目文件（JSONL）", rows_jsonl(rows).encode("utf-8"), "用户反馈题目.jsonl",
                               "application/json", key="eval_feedback_rows")
        for entry, why in skipped:
            st.caption(f"未转成题目：“{entry.question}”——{why}")


def page_eval(settings: Settings, kb) -> None:
    st.subheader("评测")
    sources = [s for s in SOURCES if s != "开发集" or DEV_SET.exists()]
    source = st.radio("题目来源", sources, key="eval_source", horizontal=True)
    if source == "上传题目文件":
        st.file_uploader("题目文件（JSONL，每行一题）", key="eval_upload")
        uploaded = st.session_state.get("eval_upload")
        if uploaded is not None:
            st.caption(f"已选择：{uploaded.name}（{len(uploaded.getvalue()):,} 字节）")
    elif source == "示例题目":
        st.caption(f"随程序附带的示例题目（{SAMPLE.name}），关于示例规划。")
    st.download_button("下载题目文件模板", TEMPLATE.read_bytes(), TEMPLATE.name, "application/json",
                       key="eval_template", help="每行一题；模板里的说明行（# 开头）解释各字段。")
    systems = ["assistant", "naive-rag"] + (["llm"] if settings.llm_configured else [])
    chosen = st.multiselect("系统（选两个可并列对比）", systems, default=["assistant"], key="eval_systems",
                            format_func=history.SYSTEM_NAMES.get, placeholder="选择要评测的系统")
    name, cases, errors = chosen_cases(settings, source)
    ready = name is not None and bool(chosen)
    if st.button("运行评测", type="primary", key="eval_run", disabled=not ready):
        with st.spinner("正在评测……"):
            run_eval(settings, kb, name, cases, errors, chosen)
    elif name is not None and errors and not cases:
        for e in errors:
            st.warning(e)
    result = st.session_state.get("eval")
    if result:
        render_results(result)
    st.divider()
    render_feedback_rows(settings)
    render_history(settings)
