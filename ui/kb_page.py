"""The 知识库 page: import files in the background (any type may be chosen; the report says why a file was not
taken), the document list, the viewer of what ingest understood, delete with confirmation, rebuild."""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass, field

import pandas as pd
import streamlit as st

from assistant import admin
from assistant.core import Assistant
from kb.errors import PolicyQAError
from kb.settings import Settings
from ui.common import rules
from ui.viewer_page import open_document

logger = logging.getLogger("policyqa.app")
# ingest steps in the order they run → (label, share of the bar before, share after)
STAGES = {"parse": ("解析文件", 0.0, 0.5), "embed": ("计算向量", 0.5, 0.85), "index": ("写入索引", 0.85, 0.95),
          "load": ("加载新知识库", 0.95, 1.0)}


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
        _, lo, hi = STAGES.get(self.stage, ("", 0.0, 0.0))
        # "parse 2/3" is reported as file 2 starts: files 1 of 3 are done
        done = self.done - 1 if self.stage == "parse" else self.done
        return min(1.0, lo + (hi - lo) * (max(0, done) / self.total if self.total else 0.0))

    @property
    def status(self) -> str:
        steps = list(STAGES)
        label = STAGES.get(self.stage, ("准备中",))[0]
        step = f"第 {steps.index(self.stage) + 1}/{len(steps)} 步：" if self.stage in STAGES else ""
        count = f" {self.done}/{self.total}" if self.total else ""
        item = f"（{self.current}）" if self.current else ""
        return f"{self.kind}中，{step}{label}{count}{item}，已用 {time.time() - self.started:.0f} 秒"


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
                job.progress("load", 1, 1)
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


@st.fragment(run_every=2.0)
def embedding_progress(settings: Settings) -> None:
    """The vector index filled in behind a live generation: tables, figures and keyword search answer meanwhile."""
    from kb.background import embedding_status

    try:
        status = embedding_status(settings)
    except (OSError, ValueError) as exc:
        logger.debug("embedding status unreadable: %s", exc)
        return
    if status.state in ("running", "pending"):
        st.progress(status.fraction, text=status.message)
    elif status.state == "failed":
        st.warning(status.message + "（可在命令行运行 python -m ingest --embed 续做）")


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
        f"{len(report.failed)} 个未能导入；用时 {report.seconds:.1f} 秒。")
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
        "导入时间": d.get("ingested_at", ""), "提示": len(d.get("warnings") or []),
    } for d in docs])


def upload_files(settings: Settings, files: list[tuple[str, bytes]]) -> None:
    """The upload handler: ingest (name, bytes) pairs in the background (also what the tests call)."""
    start_job("导入", [name for name, _ in files],
              lambda progress: admin.add_files(settings, files, progress=progress), rules(settings))


def delete_chosen(settings: Settings) -> None:
    chosen = st.session_state.get("delete_docs") or []
    names = {d["doc_id"]: d["name"] for d in admin.documents(settings)}
    try:
        admin.remove_documents(settings, chosen)
        rules(settings).warm_up()
        st.session_state["kb_message"] = f"已删除：{'、'.join(names.get(d, d) for d in chosen)}"
    except PolicyQAError as exc:
        st.session_state["kb_message"] = f"删除失败：{exc.user_message}"
    st.session_state["confirm_delete_docs"] = False
    st.session_state["delete_docs"] = []


def render_import(settings: Settings, busy: bool) -> None:
    with st.container(border=True):
        st.markdown("**导入规划文件**（可多选；支持 txt、md、docx、pdf、html，任意编码。其他类型的文件也可以选，"
                    "导入报告会说明原因。导入在后台进行，问答照常使用原有知识库，完成后自动切换。）")
        files = st.file_uploader("选择文件", accept_multiple_files=True,
                                 key=f"uploader_{st.session_state.get('uploader_round', 0)}")
        if st.button("导入", type="primary", key="ingest", disabled=busy or not files):
            upload_files(settings, [(f.name, f.getvalue()) for f in files])
            st.session_state["uploader_round"] = st.session_state.get("uploader_round", 0) + 1
            st.rerun()


def render_documents(settings: Settings, docs: list[dict], busy: bool) -> None:
    st.markdown(f"**已有文档（{len(docs)}）**")
    if not docs:
        st.info("知识库中还没有文档，请先导入规划文件。")
        return
    st.dataframe(documents_frame(docs), hide_index=True)
    warned = [d for d in docs if d.get("warnings")]
    if warned:
        with st.expander(f"导入提示（{sum(len(d['warnings']) for d in warned)} 条）"):
            for d in warned:
                st.markdown(f"**{d['name']}**")
                for w in d["warnings"]:
                    st.markdown(f"- {w}")
    names = {d["doc_id"]: d["name"] for d in docs}
    left, right = st.columns([3, 1], vertical_alignment="bottom")
    doc_id = left.selectbox("查看文档", list(names), format_func=names.get, key="kb_view_doc")
    right.button("打开查看器", key="kb_open_viewer", on_click=open_document,
                 kwargs={"doc_id": doc_id, "understood": True, "back": "知识库"})


def render_maintenance(settings: Settings, docs: list[dict], busy: bool) -> None:
    left, right = st.columns(2)
    with left:
        names = {d["doc_id"]: d["name"] for d in docs}
        chosen = st.multiselect("删除文档", list(names), format_func=names.get, key="delete_docs",
                                placeholder="选择要删除的文档")
        if st.session_state.get("confirm_delete_docs") and chosen:
            st.warning(f"确定删除 {len(chosen)} 个文档（{'、'.join(names[d] for d in chosen)}）？"
                       "删除后问答不再使用它们，引用它们的旧对话会提示原文已删除。")
            a, b = st.columns(2)
            a.button("确认删除", key="delete_yes", type="primary", on_click=delete_chosen, args=(settings,))
            b.button("取消", key="delete_no",
                     on_click=lambda: st.session_state.update(confirm_delete_docs=False))
        else:
            st.button("删除所选文档", key="delete", disabled=busy or not chosen,
                      on_click=lambda: st.session_state.update(confirm_delete_docs=True))
    with right:
        st.caption("重建：用保存的原文件重新解析全部文档（解析规则更新后使用）；保留各文档的导入时间；"
                   "新知识库建好前旧的照常可用。")
        if st.button("重建知识库", key="rebuild", disabled=busy or not docs):
            start_job("重建", [d["name"] for d in docs],
                      lambda progress: admin.rebuild_all(settings, progress=progress), rules(settings))
            st.rerun()
        if st.button("检查完整性", key="verify"):
            problems = admin.integrity_problems(settings)
            st.session_state["kb_message"] = ("发现问题：" + "；".join(problems)) if problems else "知识库完整，未发现问题。"


def page_kb(settings: Settings) -> None:
    st.subheader("知识库")
    busy = job_running()
    render_import(settings, busy)
    job = st.session_state.get("job")
    if job is not None:
        if job.finished:
            render_report(job)
        else:
            job_progress()
    embedding_progress(settings)
    docs = admin.documents(settings)
    render_documents(settings, docs, busy)
    render_maintenance(settings, docs, busy)
    if st.session_state.get("kb_message"):
        st.info(st.session_state["kb_message"])
