"""政策问答: the Streamlit app over `assistant` — chat, document viewer, knowledge base, data, quiz, evaluation.

    streamlit run app.py      # a fresh clone builds its knowledge base from data/sample on first start

Thin on purpose: answers, ingest, tables and quiz questions all come from assistant/ (and the eval harness);
the pages in ui/ only lay them out.
"""

from __future__ import annotations

import logging
import sys
from pathlib import Path

import streamlit as st

sys.path.insert(0, str(Path(__file__).resolve().parent))  # ui/ beside this file, however it is started

from assistant import admin
from kb.errors import PolicyQAError
from kb.settings import Settings, load_settings
from ui.common import CHINESE_WIDGETS, assistant_ready, ensure_knowledge_base, knowledge_base, rules

PAGES = ("问答", "原文", "知识库", "数据", "培训", "评测")


def sidebar_status(settings: Settings, page: str) -> None:
    """The knowledge base's name and size and the LLM state, in words; drawn after the page, so counts
    include what the page just did."""
    from ui.kb_page import job_progress, job_running

    st.markdown("**知识库**")
    if not rules(settings).ready.is_set():
        st.caption("加载中……")
    else:
        try:
            docs = admin.documents(settings)
        except PolicyQAError as exc:
            st.caption(exc.user_message)
            docs = None
        if docs is not None:
            if not docs:
                st.caption("还没有文档，请在“知识库”页导入。")
            else:
                kb = knowledge_base(settings)
                name = kb.doc_label(docs[0]["doc_id"]) if len(docs) == 1 else f"{len(docs)} 个规划文件"
                chars = sum(d.get("chars", 0) for d in docs)
                st.caption(f"{name}  \n文档 {len(docs)} 个 · {chars / 10000:.1f} 万字 · "
                           f"表格 {sum(d.get('n_tables', 0) for d in docs)} 个 · "
                           f"数量事实 {sum(d.get('n_facts', 0) for d in docs)} 条")
    if job_running() and page != "知识库":
        job_progress()
    st.markdown("**大模型**")
    if settings.llm_configured:
        st.toggle(f"使用大模型（{settings.llm_model}）", value=settings.use_agent, key="use_llm",
                  help="关闭时用规则问答；大模型出错或给出无出处的数字时自动退回规则问答。")
    else:
        st.caption("未启用：用规则问答，完全离线。")


def show_page(settings: Settings, page: str) -> None:
    if page == "问答":
        from ui.chat import page_chat

        page_chat(settings)
        return
    if page == "知识库":
        from ui.kb_page import page_kb

        page_kb(settings)
        return
    if page == "数据":
        from ui.data_page import page_data

        page_data(settings)
        return
    assistant_ready(settings)
    kb = knowledge_base(settings)
    if page == "原文":
        from ui.viewer_page import page_viewer

        page_viewer(settings)
    elif page == "培训":
        from ui.quiz_page import page_quiz

        page_quiz(kb)
    else:
        from ui.eval_page import page_eval

        page_eval(settings, kb)


def main() -> None:
    st.set_page_config(page_title="政策问答", layout="wide")
    st.markdown(CHINESE_WIDGETS, unsafe_allow_html=True)
    settings = load_settings()
    with st.sidebar:
        st.title("政策问答")
        page = st.radio("页面", PAGES, key="page", label_visibility="collapsed", horizontal=True)
        st.divider()
        conversations = st.container()
        st.divider()
        status = st.container()
    try:
        ensure_knowledge_base(settings)
        show_page(settings, page)
    except PolicyQAError as exc:  # the edge: a damaged or missing knowledge base, an unwritable folder…
        st.error(exc.user_message)
    with conversations:
        from ui.chat import sidebar_conversations

        sidebar_conversations(settings)
    with status:
        sidebar_status(settings, page)


if __name__ == "__main__":
    logging.basicConfig(level=logging.WARNING, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    main()
