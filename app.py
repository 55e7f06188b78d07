"""政策问答: the Streamlit app over `assistant` — chat, knowledge base, data, training quiz and evaluation.

    streamlit run app.py      # a fresh clone builds its knowledge base from data/sample on first start

Thin on purpose: answers, ingest, tables and quiz questions all come from assistant/ (and the eval harness);
this file only lays them out.
"""

from __future__ import annotations

import difflib
import html
import io
import json
import logging
import re
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd
import streamlit as st

from assistant import admin
from assistant.conversation import Conversation
from assistant.core import Assistant
from assistant.quiz import grade, make_quiz
from kb.errors import PolicyQAError
from kb.records import PATH_SEP, Answer, Citation
from kb.settings import Settings, load_settings
from tools.base import fmt_num

logger = logging.getLogger("policyqa.app")

ROOT = Path(__file__).resolve().parent
SAMPLE_DIR = ROOT / "data" / "sample"
DEV_SET = ROOT.parent / "shared" / "eval" / "dev.jsonl"
PAGES = ("问答", "知识库", "数据", "培训", "评测")
UPLOAD_TYPES = ["txt", "md", "markdown", "docx", "pdf", "html", "htm"]
EXAMPLES = ("乌海市二氧化硫目标是多少", "哪个盟市氮氧化物降幅最大", "电石淘汰量", "工业粉尘治理有哪些措施",
            "规划中有哪些数字不一致")
CONTEXT_CHARS = 240  # paragraph shown around a quote, each side at most
FLAG_NOTES = {"missing_percent": "原文缺少“%”，按原文照录", "not_numeric": "原文不是数值", "empty": "原文为空"}
# ingest stages → (label, share of the bar before, share after): parsing is most of the time, then embedding
STAGES = {"parse": ("解析文件", 0.0, 0.5), "embed": ("计算向量", 0.5, 0.85), "index": ("写入索引", 0.85, 0.95),
          "load": ("加载新知识库", 0.95, 1.0)}
EMBEDDERS = {"use": "Universal Sentence Encoder（离线多语言）", "hash": "哈希向量（测试用）", "none": "不用向量，仅关键词检索"}
MD_SPECIAL = re.compile(r"([\\`*_~$<>\[\]#|])")


# ---------- shared resources ----------

def settings_key(s: Settings) -> str:
    return "|".join(str(v) for v in (s.data_dir.resolve(), s.chroma_host, s.chroma_port, s.embedder, s.dense_weight,
                                      s.synonyms_file, s.llm_base_url, s.llm_model))


@st.cache_resource(show_spinner=False)
def get_assistant(_settings: Settings, key: str) -> Assistant:
    """One assistant per knowledge base and process, warmed in a background thread so the page shows at once;
    a question waits for `assistant_ready` only if it comes first. Only the knowledge base and jieba are waited
    for: the embedder and Chroma (needed by passage questions alone) keep loading behind the first answers.
    """
    bot = Assistant(_settings)
    ready = threading.Event()

    def warm() -> None:
        try:
            bot.warm_up(dense_in_background=True)
        except Exception as exc:  # e.g. no knowledge base yet: the first question reports it properly
            logger.warning("warm-up failed: %s", exc)
        finally:
            ready.set()

    threading.Thread(target=warm, name="policyqa-warm-up", daemon=True).start()
    bot.ready = ready
    return bot


def assistant_ready(settings: Settings) -> None:
    ready = get_assistant(settings, settings_key(settings)).ready
    if not ready.is_set():
        with st.spinner("正在加载问答引擎（首次启动需要几秒）……"):
            ready.wait()


@st.cache_resource(show_spinner=False)
def get_agent(_settings: Settings, key: str):
    from assistant.agent import AgentAssistant  # the LLM layer is optional: import only when switched on

    return AgentAssistant(_settings, rules=get_assistant(_settings, key))


def current_bot(settings: Settings):
    """(bot, mode label): the LLM agent when configured and switched on, else the deterministic assistant."""
    key = settings_key(settings)
    if settings.llm_configured and st.session_state.get("use_llm", settings.use_agent):
        try:
            return get_agent(settings, key), "大模型"
        except Exception as exc:  # a missing or broken LLM layer must not take the chat down
            logger.warning("LLM layer unavailable: %s", exc)
            st.warning(f"大模型模块无法加载（{type(exc).__name__}），已改用规则问答。")
    return get_assistant(settings, key), "规则"


def knowledge_base(settings: Settings):
    """The live generation, as the assistant sees it (a finished ingest shows up here on the next run)."""
    return get_assistant(settings, settings_key(settings)).kb


def ensure_knowledge_base(settings: Settings) -> None:
    """A fresh clone has no knowledge base yet: build it from data/sample once, so the app works at once."""
    if admin.has_knowledge_base(settings):
        return
    files = [(p.name, p.read_bytes()) for p in sorted(SAMPLE_DIR.glob("*")) if p.is_file() and not p.name.startswith(".")]
    if not files:
        return
    with st.spinner("首次启动：正在用示例规划建立知识库……"):
        report = admin.add_files(settings, files)
    if report.failed:
        st.error(report.summary())


# ---------- text helpers ----------

def md(text: str) -> str:
    """Plain text for st.markdown: markup characters escaped, line breaks kept."""
    return MD_SPECIAL.sub(r"\\\1", str(text)).replace("\n", "  \n")


def citation_text(kb, c: Citation) -> str:
    if c.doc_id and kb.text_of(c.doc_id):
        return kb.text_of(c.doc_id)
    return next((kb.text_of(d["doc_id"]) for d in kb.docs if d["name"] == c.doc), "")


def quote_context(kb, c: Citation) -> tuple[str, str, str] | None:
    """(before, quote, after) within the quote's paragraph of the stored text; None when the quote is not there."""
    text = citation_text(kb, c)
    at = text.find(c.quote) if c.quote else -1
    if at < 0:
        return None
    end_quote = at + len(c.quote)
    start = text.rfind("\n\n", 0, at)
    start = 0 if start < 0 else start + 2
    end = text.find("\n\n", end_quote)
    end = len(text) if end < 0 else end
    before = text[max(start, at - CONTEXT_CHARS):at]
    after = text[end_quote:min(end, end_quote + CONTEXT_CHARS)]
    return ("…" if at - start > CONTEXT_CHARS else "") + before, c.quote, after + ("…" if end - end_quote > CONTEXT_CHARS else "")


def section_found(kb, c: Citation) -> bool:
    last = c.section_path.split(PATH_SEP)[-1].strip() if c.section_path else ""
    return not last or last in citation_text(kb, c)


def highlighted(before: str, quote: str, after: str) -> str:
    def esc(s: str) -> str:
        return html.escape(s).replace("\n", "<br>")

    return (f'<div style="border-left:3px solid #c9ced6;padding:.2em .8em;color:#333;line-height:1.7">{esc(before)}'
            f'<mark style="background:#ffe08a;padding:0 .1em">{esc(quote)}</mark>{esc(after)}</div>')


def suggested_question(question: str, suggestion: str) -> str:
    """'乌梅市…' + suggestion '乌海市' → '乌海市…': swap the closest-looking part of the question."""
    if len(suggestion) > 8 or suggestion in question or not question:
        return suggestion
    n = len(suggestion)
    spans = [(i, j) for i in range(len(question)) for j in range(i + 1, min(len(question), i + n + 1) + 1)]
    i, j = max(spans, key=lambda s: difflib.SequenceMatcher(None, question[s[0]:s[1]], suggestion).ratio())
    return question[:i] + suggestion + question[j:]


# ---------- 问答 ----------

def queue_question(question: str) -> None:
    st.session_state["pending_question"] = question


def reset_chat() -> None:
    st.session_state["conversation"] = Conversation()
    st.session_state["history"] = []


def ask(bot, question: str, conversation: Conversation) -> Answer:
    try:
        return bot.ask(question, conversation)
    except PolicyQAError as exc:
        return Answer(exc.user_message, refused=True, intent="error")
    except Exception:  # the edge: log it, tell the person in Chinese, keep the session alive
        logger.exception("answering %r failed", question)
        return Answer("系统出错，请稍后再试。", refused=True, intent="error")


def render_figures(figures) -> None:
    lines = []
    for f in figures:
        line = f"- **{md(f.label)}**：{fmt_num(f.value, 4)}{md(f.unit)}"
        if f.flag:
            line += f"（{FLAG_NOTES.get(f.flag, f.flag)}）"
        if f.formula:
            line += f"  \n  计算：{md(f.formula)}"
        for i in f.inputs:
            where = f"（{md(i.citation.section_path.split(PATH_SEP)[-1])}）" if i.citation else ""
            line += f"\n  - 输入：{md(i.label)} = {fmt_num(i.value, 4)}{md(i.unit)}{where}"
        lines.append(line)
    if lines:
        with st.container(border=True):
            st.markdown("**数字与计算**\n\n" + "\n".join(lines))


def render_chart(chart: dict) -> None:
    import altair as alt

    values = {k: v for k, v in (chart.get("values") or {}).items() if v is not None}
    if len(values) < 2:
        return
    asked = set(chart.get("highlight") or [])
    unit = chart.get("unit") or ""
    df = pd.DataFrame({"region": list(values), "value": [float(v) for v in values.values()],
                       "asked": [k in asked for k in values]})
    title = f"{chart.get('indicator', '')}（{unit}）" if unit else chart.get("indicator", "")
    bars = alt.Chart(df, title=title, height=260).mark_bar().encode(
        x=alt.X("region:N", sort=None, title=None, axis=alt.Axis(labelAngle=-40)),
        y=alt.Y("value:Q", title=unit or "数值"),
        color=alt.condition("datum.asked", alt.value("#d9480f"), alt.value("#a9b8cc")),
        tooltip=[alt.Tooltip("region:N", title="地区"), alt.Tooltip("value:Q", title="数值")],
    )
    labels = bars.mark_text(dy=-7, fontSize=11, color="#333").encode(text="value:Q")
    st.altair_chart(bars + labels, width="stretch")


def render_citations(citations, kb) -> None:
    if not citations:
        return
    with st.expander(f"出处（{len(citations)} 条）"):
        for n, c in enumerate(citations, 1):
            table = f" · 表格：{md(c.table)}" if c.table and c.table != c.section_path.split(PATH_SEP)[-1] else ""
            st.markdown(f"**[{n}] 《{md(c.doc)}》**  \n{md(c.section_path) or '（无章节）'}{table}")
            context = quote_context(kb, c)
            if context is None:
                st.warning("这条引文在知识库原文中没有找到，请谨慎核对：")
                st.markdown(f"> {md(c.quote)}")
            else:
                if not section_found(kb, c):
                    st.warning(f"章节“{c.section_path}”在原文中没有找到，请核对。")
                st.markdown(highlighted(*context), unsafe_allow_html=True)


def render_answer(turn: dict, kb, index: int) -> None:
    answer: Answer = turn["answer"]
    if answer.refused:
        st.warning(md(answer.text))
        names = "、".join(f"《{d['name']}》" for d in kb.docs[:5]) if kb is not None else ""
        if names:
            st.caption(f"知识库包含 {len(kb.docs)} 个文档：{names}{'等' if len(kb.docs) > 5 else ''}。")
        if answer.suggestions:
            st.caption("您是否想问：")
            with st.container(horizontal=True):
                for j, s in enumerate(answer.suggestions):
                    q = suggested_question(turn["question"], s)
                    st.button(q, key=f"suggest_{index}_{j}", on_click=queue_question, args=(q,))
    else:
        st.markdown(md(answer.text))
        render_figures(answer.figures)
        if answer.chart:
            render_chart(answer.chart)
    if kb is not None:
        render_citations(answer.citations, kb)
    if turn.get("mode") == "大模型":
        st.caption("由大模型组织语言；数字与出处来自知识库工具。")


def page_chat(settings: Settings) -> None:
    bot, mode = current_bot(settings)
    conversation = st.session_state.setdefault("conversation", Conversation())
    history = st.session_state.setdefault("history", [])
    question = st.chat_input("请输入关于规划的问题，例如：乌海市二氧化硫目标是多少？", key="chat_box")
    question = question or st.session_state.pop("pending_question", None)
    head, reset = st.columns([5, 1])
    head.subheader("问答")
    reset.button("重新开始对话", key="reset_chat", on_click=reset_chat)
    if not history and not question:
        st.markdown("用规划原文回答问题，每个数字都给出出处。可以接着追问，例如先问乌海市，再问“那包头呢？”。试试：")
        with st.container(horizontal=True):
            for j, q in enumerate(EXAMPLES):
                st.button(q, key=f"example_{j}", on_click=queue_question, args=(q,))
    kb = knowledge_base(settings) if history else None  # history means the assistant is warm already
    for index, turn in enumerate(history):
        with st.chat_message("user"):
            st.markdown(md(turn["question"]))
        with st.chat_message("assistant"):
            render_answer(turn, kb, index)
    if question:
        with st.chat_message("user"):
            st.markdown(md(question))
        with st.chat_message("assistant"):
            assistant_ready(settings)
            with st.spinner("正在查找规划原文……"):
                answer = ask(bot, question, conversation)
            turn = {"question": question, "answer": answer, "mode": mode}
            history.append(turn)
            render_answer(turn, knowledge_base(settings), len(history) - 1)


# ---------- 知识库 ----------

@dataclass
class Job:
    """An ingest or rebuild running in a background thread, so the chat keeps answering meanwhile."""
    kind: str  # 导入 | 重建
    names: list[str]
    stage: str = ""
    done: int = 0
    total: int = 0
    current: str = ""
    report: object = None
    error: str = ""
    finished: bool = False
    shown: bool = False  # the page has been refreshed once after the job finished
    started: float = field(default_factory=time.time)

    def progress(self, stage: str, done: int, total: int, name: str = "") -> None:
        self.stage, self.done, self.total, self.current = stage, done, total, name

    @property
    def fraction(self) -> float:
        label, lo, hi = STAGES.get(self.stage, ("", 0.0, 0.0))
        return min(1.0, lo + (hi - lo) * (self.done / self.total if self.total else 0.0))

    @property
    def status(self) -> str:
        label = STAGES.get(self.stage, ("准备中",))[0]
        item = f"：{self.current}" if self.current else ""
        return f"{self.kind}中（{label} {self.done}/{self.total}{item}），已用 {time.time() - self.started:.0f} 秒"


def start_job(kind: str, names: list[str], work, bot: Assistant | None = None) -> None:
    """Run work(progress) in a thread; then open the new generation in `bot`, so the next question is fast
    and no two sessions race to open it."""
    job = Job(kind, names)

    def run() -> None:
        try:
            job.report = work(job.progress)
            if bot is not None and getattr(job.report, "generation", None):
                job.progress("load", 0, 1)
                try:
                    bot.warm_up()
                except PolicyQAError as exc:
                    logger.warning("new generation did not load: %s", exc)
        except PolicyQAError as exc:
            job.error = exc.user_message
        except Exception as exc:  # report, never crash the server thread silently
            logger.exception("%s failed", kind)
            job.error = f"内部错误：{type(exc).__name__}"
        finally:
            job.finished = True

    st.session_state["job"] = job
    threading.Thread(target=run, name="policyqa-ingest", daemon=True).start()


def job_running() -> bool:
    job = st.session_state.get("job")
    return job is not None and not job.finished


@st.fragment(run_every=0.5)
def job_progress() -> None:
    job = st.session_state.get("job")
    if job is None:
        return
    if job.finished:
        if not job.shown:
            job.shown = True
            st.rerun()  # the whole page: results, document list and sidebar counts
        return
    st.progress(job.fraction, text=job.status)


def render_report(job: Job) -> None:
    if job.error:
        st.error(f"{job.kind}失败：{job.error}（原有知识库未改变）")
        return
    report = job.report
    if report is None:
        return
    ok = [r for r in report.results if r.ok and not r.skipped]
    (st.success if not report.failed else st.warning)(
        f"{job.kind}完成：{len(ok)} 个文件已导入，{sum(r.skipped for r in report.results)} 个未变化已跳过，"
        f"{len(report.failed)} 个失败；用时 {report.seconds:.1f} 秒。")
    for r in report.results:
        if not r.ok:
            st.error(f"✗ {r.name}：{r.error}")
        elif r.skipped:
            st.info(f"– {r.name}：内容与已有文档相同，已跳过")
        else:
            c = r.counts
            st.success(f"✓ {r.name}：章节 {c.get('sections', 0)}，表格 {c.get('tables', 0)}（{c.get('rows', 0)} 行），"
                       f"数量事实 {c.get('facts', 0)}，文本块 {c.get('chunks', 0)}；解析用时 {r.seconds:.2f} 秒")
        for w in r.warnings:
            st.warning(f"{r.name}：{w}")


def documents_frame(docs: list[dict]) -> pd.DataFrame:
    return pd.DataFrame([{
        "文档": d["name"], "格式": d.get("fmt", ""), "编码": d.get("encoding", ""), "章节": d.get("n_sections", 0),
        "表格": d.get("n_tables", 0), "表格行": d.get("n_rows", 0), "数量事实": d.get("n_facts", 0),
        "文本块": d.get("n_chunks", 0), "字数": d.get("chars", 0), "解析用时（秒）": d.get("ingest_seconds", 0),
        "导入时间": d.get("ingested_at", ""), "提示": "；".join(d.get("warnings") or []),
    } for d in docs])


def page_kb(settings: Settings) -> None:
    st.subheader("知识库")
    busy = job_running()
    with st.container(border=True):
        st.markdown("**导入规划文件**（可多选；txt、md、docx、pdf、html，任意编码。导入在后台进行，问答照常使用原有知识库，完成后自动切换。）")
        files = st.file_uploader("选择文件", type=UPLOAD_TYPES, accept_multiple_files=True,
                                 key=f"uploader_{st.session_state.get('uploader_round', 0)}")
        if st.button("导入", type="primary", key="ingest", disabled=busy or not files):
            upload_files(settings, [(f.name, f.getvalue()) for f in files])
            st.session_state["uploader_round"] = st.session_state.get("uploader_round", 0) + 1
            st.rerun()
    job = st.session_state.get("job")
    if job is not None:
        if job.finished:
            render_report(job)
        else:
            job_progress()
    docs = admin.documents(settings)
    st.markdown(f"**已有文档（{len(docs)}）**")
    if docs:
        st.dataframe(documents_frame(docs), hide_index=True)
    else:
        st.info("知识库中还没有文档，请先导入规划文件。")
    left, right = st.columns(2)
    with left:
        names = {d["doc_id"]: d["name"] for d in docs}
        chosen = st.multiselect("删除文档", list(names), format_func=names.get, key="delete_docs",
                                placeholder="选择要删除的文档")
        if st.button("删除所选文档", key="delete", disabled=busy or not chosen):
            try:
                with st.spinner("正在删除……"):
                    admin.remove_documents(settings, chosen)
                    get_assistant(settings, settings_key(settings)).warm_up()
                st.session_state["kb_message"] = f"已删除：{'、'.join(names[d] for d in chosen)}"
            except PolicyQAError as exc:
                st.session_state["kb_message"] = f"删除失败：{exc.user_message}"
            st.rerun()
    with right:
        st.caption("重建：用保存的原文件重新解析全部文档（解析规则更新后使用）；新知识库建好前旧的照常可用。")
        if st.button("重建知识库", key="rebuild", disabled=busy or not docs):
            start_job("重建", [d["name"] for d in docs], lambda progress: admin.rebuild_all(settings, progress=progress),
                      get_assistant(settings, settings_key(settings)))
            st.rerun()
        if st.button("检查完整性", key="verify"):
            problems = admin.integrity_problems(settings)
            st.session_state["kb_message"] = ("发现问题：" + "；".join(problems)) if problems else "知识库完整，未发现问题。"
    if st.session_state.get("kb_message"):
        st.info(st.session_state["kb_message"])


def upload_files(settings: Settings, files: list[tuple[str, bytes]]) -> None:
    """The upload handler: ingest (name, bytes) pairs in the background (also what the tests call)."""
    start_job("导入", [name for name, _ in files], lambda progress: admin.add_files(settings, files, progress=progress),
              get_assistant(settings, settings_key(settings)))


# ---------- 数据 ----------

def excel_bytes(sheets: dict[str, pd.DataFrame]) -> bytes:
    buffer = io.BytesIO()
    used: set[str] = set()
    with pd.ExcelWriter(buffer, engine="openpyxl") as writer:
        for name, frame in sheets.items():
            sheet = re.sub(r"[\[\]:*?/\\]", "_", name)[:28] or "Sheet"
            while sheet in used:
                sheet = sheet[:26] + f"_{len(used)}"
            used.add(sheet)
            frame.to_excel(writer, sheet_name=sheet, index=False)
    return buffer.getvalue()


CELL_COLUMNS = {"row_label": "行", "parent_label": "上级", "column": "列", "raw": "原文值", "value": "数值",
                "unit": "单位", "flag": "标记", "quote": "原文"}
FACT_COLUMNS = {"doc": "文档", "subject": "对象", "action": "动作", "value": "数值", "unit": "单位", "raw": "原文值",
                "qualifier": "限定", "year": "年份", "period": "时期", "base_year": "基年", "section_path": "章节",
                "quote": "原文", "sentence": "原句"}
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def matches(frame: pd.DataFrame, query: str) -> pd.Series:
    if not query:
        return pd.Series(True, index=frame.index)
    text = frame.astype(str).agg(" ".join, axis=1)
    return text.str.contains(query, regex=False)


def table_views(settings: Settings, table: dict) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(wide grid with each row's source quote, long cell list) of one table, with Chinese headers."""
    cells = admin.table_frame(settings, table["table_id"])
    wide = admin.table_frame(settings, table["table_id"], wide=True)
    if not cells.empty:
        quotes = cells.groupby("row_label", sort=False)["quote"].first()
        wide = wide.reset_index()
        wide["原文"] = wide["row_label"].map(quotes)
        wide = wide.rename(columns={"row_label": table["columns"][0] if table["columns"] else "行"})
    return wide, cells[[c for c in CELL_COLUMNS if c in cells]].rename(columns=CELL_COLUMNS)


def page_data(settings: Settings) -> None:
    st.subheader("数据")
    tables = admin.tables(settings)
    facts = admin.facts_frame(settings)
    query = st.text_input("筛选", key="data_filter", placeholder="输入地区、指标、标题或原文中的文字")
    tab_tables, tab_facts = st.tabs([f"表格（{len(tables)}）", f"数量事实（{len(facts)}）"])
    with tab_tables:
        if not tables:
            st.info("知识库中没有表格。")
        else:
            overview = pd.DataFrame([{"文档": t["doc"], "表格": t["title"], "章节": t["section_path"], "单位": t["unit"],
                                      "行数": t["rows"], "列": "、".join(t["columns"][1:])} for t in tables])
            st.dataframe(overview[matches(overview, query)], hide_index=True)
            by_id = {t["table_id"]: t for t in tables}
            tid = st.selectbox("查看表格", list(by_id), key="data_table",
                               format_func=lambda i: f"{by_id[i]['title']}（{by_id[i]['doc']}）")
            wide, cells = table_views(settings, by_id[tid])
            st.markdown("**表格（宽表，每行附原文）**")
            st.dataframe(wide, hide_index=True)
            st.markdown("**单元格（逐格，附原文）**")
            st.dataframe(cells[matches(cells, query)], hide_index=True)
            title = re.sub(r"[\\/:*?\"<>|]", "_", by_id[tid]["title"])[:60] or "表格"
            a, b, c = st.columns(3)
            a.download_button("下载单元格 CSV", cells.to_csv(index=False).encode("utf-8-sig"), f"{title}.csv", "text/csv",
                              key="dl_table_csv")
            b.download_button("下载本表 Excel", lambda: excel_bytes({"宽表": wide, "单元格": cells}), f"{title}.xlsx", XLSX,
                              key="dl_table_xlsx")
            c.download_button("下载全部表格 Excel", lambda: excel_bytes(
                {t["title"]: table_views(settings, t)[1] for t in tables}), "全部表格.xlsx", XLSX, key="dl_all_xlsx")
    with tab_facts:
        if facts.empty:
            st.info("知识库中没有抽取到数量事实。")
        else:
            view = facts[[c for c in FACT_COLUMNS if c in facts]].rename(columns=FACT_COLUMNS)
            actions = sorted(a for a in view["动作"].unique() if a)
            picked = st.multiselect("动作", actions, key="fact_actions", placeholder="全部动作")
            shown = view[matches(view, query) & (view["动作"].isin(picked) if picked else True)]
            st.caption(f"共 {len(shown)} 条")
            st.dataframe(shown, hide_index=True)
            a, b = st.columns(2)
            a.download_button("下载数量事实 CSV", shown.to_csv(index=False).encode("utf-8-sig"), "数量事实.csv", "text/csv",
                              key="dl_facts_csv")
            b.download_button("下载数量事实 Excel", lambda: excel_bytes({"数量事实": shown}), "数量事实.xlsx", XLSX,
                              key="dl_facts_xlsx")


# ---------- 培训 ----------

def new_quiz(kb, n: int, seed: int, questions=None) -> None:
    st.session_state["quiz"] = {"questions": questions if questions is not None else make_quiz(kb, n, seed),
                                "pos": 0, "results": [], "graded": None, "id": time.time_ns()}


def submit_answer(key: str) -> None:
    # read the widget by key: callback args are bound a run earlier, before the person typed
    quiz = st.session_state["quiz"]
    response = st.session_state.get(key)
    if response is None or not str(response).strip():
        quiz["notice"] = "请先作答，再提交。"
        return
    quiz["notice"] = ""
    question = quiz["questions"][quiz["pos"]]
    result = grade(question, response)
    quiz["graded"] = result
    quiz["results"].append({"question": question, "response": response, "grade": result})


def next_question() -> None:
    quiz = st.session_state["quiz"]
    quiz["pos"] += 1
    quiz["graded"] = None


def render_source(kb, citation: Citation | None) -> None:
    if citation is None:
        return
    st.caption(f"出处：《{citation.doc}》 {citation.section_path}")
    context = quote_context(kb, citation)
    st.markdown(highlighted(*context) if context else html.escape(citation.quote), unsafe_allow_html=True)


def page_quiz(kb) -> None:
    st.subheader("培训")
    st.caption("题目由知识库中的表格和数量事实自动生成；数值题允许 max(0.01, 0.5%) 的误差。")
    a, b, c = st.columns([1, 1, 2])
    n = a.number_input("题数", 1, 50, 10, key="quiz_n")
    seed = b.number_input("随机种子", 0, 1_000_000, 1, key="quiz_seed")
    c.write("")
    if c.button("生成新测验", key="quiz_new") or "quiz" not in st.session_state:
        new_quiz(kb, int(n), int(seed))
    quiz = st.session_state["quiz"]
    questions, results = quiz["questions"], quiz["results"]
    if not questions:
        st.info("知识库中没有可以出题的表格或数量事实。")
        return
    right = sum(r["grade"].correct for r in results)
    st.metric("得分", f"{right} / {len(results)}", help=f"共 {len(questions)} 题")
    pos = quiz["pos"]
    if pos < len(questions):
        question = questions[pos]
        with st.container(border=True):
            st.markdown(f"**第 {pos + 1} / {len(questions)} 题**　{md(question.prompt)}")
            key = f"quiz_answer_{quiz['id']}_{pos}"
            graded = quiz["graded"]
            if question.kind == "choice":
                st.radio("请选择", question.choices, index=None, key=key, disabled=graded is not None)
            else:
                label = f"你的答案（单位：{question.unit}）" if question.unit else "你的答案"
                st.text_input(label, key=key, disabled=graded is not None, placeholder="输入数字，例如 8.5")
            if graded is None:
                st.button("提交答案", key="quiz_submit", type="primary", on_click=submit_answer, args=(key,))
                if quiz.get("notice"):
                    st.info(quiz["notice"])
            else:
                (st.success if graded.correct else st.error)(graded.message)
                render_source(kb, graded.citation)
                st.button("下一题" if pos + 1 < len(questions) else "查看结果", key="quiz_next", on_click=next_question)
    else:
        st.success(f"测验完成：答对 {right} / {len(questions)} 题。")
    wrong = [r for r in results if not r["grade"].correct]
    if wrong:
        with st.expander(f"错题（{len(wrong)}）", expanded=pos >= len(questions)):
            for r in wrong:
                st.markdown(f"**{md(r['question'].prompt)}**  \n你的答案：{md(r['response'])}　正确答案："
                            f"{md(r['grade'].expected_text)}")
                render_source(kb, r["grade"].citation)
            st.button("重做错题", key="quiz_redo", on_click=new_quiz,
                      args=(kb, 0, 0, [r["question"] for r in wrong]))


# ---------- 评测 ----------

def run_eval(settings: Settings, kb, path: Path, system: str) -> None:
    from eval.cases import load_cases
    from eval.runner import RunContext, run_cases
    from eval.systems import SYSTEMS

    cases, errors = load_cases(path)
    st.session_state["eval"] = {"rows": [], "errors": errors, "source": path.name, "system": system}
    if not cases:
        return
    texts = {}
    for d in kb.docs:
        texts[d["doc_id"]] = texts[d["name"]] = kb.text_of(d["doc_id"])
    bar = st.progress(0.0, text="准备中……")
    try:
        ask_fn = SYSTEMS[system](settings, kb)
    except PolicyQAError as exc:
        st.session_state["eval"]["errors"].append(exc.user_message)
        return
    search = (lambda q: [h.chunk.text for h in kb.search(q, k=5)]) if system == "assistant" else None
    rows = run_cases(cases, RunContext(ask_fn, texts, search), system,
                     progress=lambda n, total: bar.progress(n / total, text=f"已完成 {n} / {total} 题"))
    st.session_state["eval"]["rows"] = rows


def page_eval(settings: Settings, kb) -> None:
    from eval.report import failures, summary_table

    st.subheader("评测")
    uploaded = st.file_uploader("题目文件（JSONL，每行一题）", type=["jsonl", "json", "txt"], key="eval_upload")
    if DEV_SET.exists():
        st.caption(f"未上传时使用开发集：{DEV_SET}")
    elif uploaded is None:
        st.info("没有找到开发集（../shared/eval/dev.jsonl），请上传题目文件。")
    systems = ["assistant", "naive-rag"] + (["llm"] if settings.llm_configured else [])
    system = st.selectbox("系统", systems, key="eval_system",
                          format_func={"assistant": "规则问答（assistant）", "naive-rag": "朴素 RAG 基线（naive-rag）",
                                       "llm": "大模型（llm）"}.get)
    if st.button("运行评测", type="primary", key="eval_run", disabled=uploaded is None and not DEV_SET.exists()):
        if uploaded is not None:
            with tempfile.NamedTemporaryFile("wb", suffix=".jsonl", delete=False) as fh:
                fh.write(uploaded.getvalue())
            path = Path(fh.name)
        else:
            path = DEV_SET
        with st.spinner("正在评测……"):
            run_eval(settings, kb, path, system)
    result = st.session_state.get("eval")
    if not result:
        return
    for e in result["errors"]:
        st.warning(e)
    rows = result["rows"]
    if not rows:
        return
    passed = sum(r["passed"] for r in rows)
    st.metric(f"通过率（{result['source']}，{result['system']}）", f"{passed / len(rows):.0%}", help=f"{passed} / {len(rows)} 题")
    st.markdown("**分类结果**")
    st.markdown(summary_table(rows))
    st.markdown("**未通过的题目**")
    st.markdown(failures(rows))
    st.download_button("下载评测结果（JSONL）", "\n".join(json.dumps(r, ensure_ascii=False) for r in rows).encode("utf-8"),
                       "eval-results.jsonl", "application/json", key="eval_download")


# ---------- layout ----------

def sidebar_status(settings: Settings, page: str) -> None:
    """Knowledge base, embedder and LLM state; drawn after the page, so counts include what the page just did."""
    st.markdown("**知识库**")
    where = f"服务器 {settings.chroma_host}:{settings.chroma_port}" if settings.chroma_host else "本地文件（内置）"
    embedder = EMBEDDERS.get(settings.embedder) or (
        f"sentence-transformers：{settings.embedder[3:]}" if settings.embedder.startswith("st:") else settings.embedder)
    # the document count needs the loaded knowledge base: wait for the warm-up rather than hold up the first paint
    ready = get_assistant(settings, settings_key(settings)).ready.is_set()
    try:
        count = f"{len(admin.documents(settings))} 个" if ready else "加载中……"
    except PolicyQAError as exc:
        count = exc.user_message
    st.caption(f"文件夹：{settings.data_dir.resolve()}  \nChroma：{where}  \n向量模型：{embedder}  \n文档：{count}")
    if job_running() and page != "知识库":
        job_progress()
    st.markdown("**大模型**")
    if settings.llm_configured:
        st.toggle(f"使用大模型（{settings.llm_model}）", value=settings.use_agent, key="use_llm",
                  help="关闭时用规则问答；大模型出错或给出无出处的数字时自动退回规则问答。")
    else:
        st.caption("未配置（设置 LLM_BASE_URL、LLM_MODEL 可启用）。当前用规则问答，完全离线。")


def show_page(settings: Settings, page: str) -> None:
    if page == "问答":
        page_chat(settings)
    elif page == "知识库":
        page_kb(settings)
    elif page == "数据":
        page_data(settings)
    else:
        assistant_ready(settings)
        kb = knowledge_base(settings)
        if page == "培训":
            page_quiz(kb)
        else:
            page_eval(settings, kb)


def main() -> None:
    st.set_page_config(page_title="政策问答", layout="wide")
    settings = load_settings()
    with st.sidebar:
        st.title("政策问答")
        page = st.radio("页面", PAGES, key="page", label_visibility="collapsed")
        st.divider()
        status = st.container()
    try:
        ensure_knowledge_base(settings)
        show_page(settings, page)
    except PolicyQAError as exc:  # the edge: a damaged or missing knowledge base, an unwritable folder…
        st.error(exc.user_message)
    with status:
        sidebar_status(settings, page)


if __name__ == "__main__":
    logging.basicConfig(level=logging.WARNING, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    main()
