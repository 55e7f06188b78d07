"""Shared pieces of the pages: the cached assistant, the stores, text helpers and the Chinese widget texts."""

from __future__ import annotations

import difflib
import html
import logging
import re
import threading
from pathlib import Path

import streamlit as st

from assistant import admin
from assistant.core import Assistant
from kb.conversations import ConversationStore
from kb.errors import PolicyQAError
from kb.feedback import FeedbackStore
from kb.settings import Settings

logger = logging.getLogger("policyqa.app")

ROOT = Path(__file__).resolve().parents[1]
SAMPLE_DIR = ROOT / "data" / "sample"
MD_SPECIAL = re.compile(r"([\\`*_~$<>\[\]#|])")
# Streamlit's own widget texts are English and not configurable: replaced in Chinese by CSS
CHINESE_WIDGETS = """
<style>
[data-testid="stFileUploaderDropzoneInstructions"] span { display: none; }
[data-testid="stFileUploaderDropzoneInstructions"] > div::before {
  content: "可把文件拖到这里；单个文件不超过 50 MB"; font-size: .9rem; color: #4b5563; }
[data-testid="stFileUploaderDropzone"] button [data-testid="stMarkdownContainer"] p { display: none; }
[data-testid="stFileUploaderDropzone"] button [data-testid="stMarkdownContainer"]::after { content: "选择文件"; }
[data-key="__select_all__"] [data-item-hl] { font-size: 0; }
[data-key="__select_all__"] [data-item-hl]::after { content: "全选"; font-size: .9rem; }
[data-testid="stMultiSelectDropdown"] [data-empty="true"] { font-size: 0; }
[data-testid="stMultiSelectDropdown"] [data-empty="true"]::after { content: "没有匹配的选项"; font-size: .9rem;
  padding: .5rem 1rem; display: block; color: #6b7280; }
mark { background: #ffe08a; padding: 0 .1em; }
table.pq-table { border-collapse: collapse; font-size: .88rem; margin: .3em 0 .6em 0; }
table.pq-table th, table.pq-table td { border: 1px solid #d6dae0; padding: .2em .5em; text-align: left; }
table.pq-table th { background: #f3f4f6; }
table.pq-table tr.cited td { background: #fff4cc; }
table.pq-table td.cited { background: #ffe08a; font-weight: 600; outline: 2px solid #d9480f; }
.pq-passage { border-left: 3px solid #c9ced6; padding: .2em .8em; color: #333; line-height: 1.7; }
.pq-note { color: #b45309; font-size: .8rem; }
</style>
"""


# ---------- shared resources ----------

def settings_key(s: Settings) -> str:
    values = (s.data_dir.resolve(), s.chroma_host, s.chroma_port, s.embedder, s.dense_weight, s.synonyms_file,
              s.llm_base_url, s.llm_model)
    return "|".join(str(v) for v in values)


@st.cache_resource(show_spinner=False)
def get_assistant(_settings: Settings, key: str) -> Assistant:
    """One assistant per knowledge base and process, warmed in a background thread so the page shows at
    once; a question waits for `assistant_ready` only if it comes first. Only the knowledge base and jieba
    are waited for: the embedder and Chroma (needed by passage questions alone) keep loading behind.
    """
    bot = Assistant(_settings)
    ready = threading.Event()

    def warm() -> None:
        try:
            from kb.background import resume_embedding

            resume_embedding(_settings)  # vectors an interrupted run left go on being filled in
        except Exception as exc:  # vectors are an improvement; answering never waits for them
            logger.warning("could not resume embedding: %s", exc)
        try:
            bot.warm_up(dense_in_background=True)
        except Exception as exc:  # e.g. no knowledge base yet: the first question reports it properly
            logger.warning("warm-up failed: %s", exc)
        finally:
            ready.set()

    threading.Thread(target=warm, name="policyqa-warm-up", daemon=True).start()
    bot.ready = ready
    return bot


def rules(settings: Settings) -> Assistant:
    return get_assistant(settings, settings_key(settings))


def assistant_ready(settings: Settings) -> None:
    ready = rules(settings).ready
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
    return rules(settings).kb


def ensure_knowledge_base(settings: Settings) -> None:
    """A fresh clone has no knowledge base yet: build it from data/sample once, so the app works at once."""
    if admin.has_knowledge_base(settings):
        return
    files = [(p.name, p.read_bytes()) for p in sorted(SAMPLE_DIR.glob("*"))
             if p.is_file() and not p.name.startswith(".")]
    if not files:
        return
    with st.spinner("首次启动：正在用示例规划建立知识库……"):
        report = admin.add_files(settings, files)
    if report.failed:
        st.error(report.summary())


@st.cache_resource(show_spinner=False)
def _conversation_store(path: str) -> ConversationStore:
    return ConversationStore(Path(path))


@st.cache_resource(show_spinner=False)
def _feedback_store(path: str) -> FeedbackStore:
    return FeedbackStore(Path(path))


def conversation_store(settings: Settings) -> ConversationStore:
    return _conversation_store(str(ConversationStore.for_settings(settings).path.resolve()))


def feedback_store(settings: Settings) -> FeedbackStore:
    return _feedback_store(str(FeedbackStore.for_settings(settings).path.resolve()))


def safely(action, *args, **kwargs):
    """(result, Chinese error or ''): a store that cannot be read or written never stops the page."""
    try:
        return action(*args, **kwargs), ""
    except PolicyQAError as exc:
        logger.warning("%s failed: %s", getattr(action, "__name__", action), exc)
        return None, exc.user_message


# ---------- text helpers ----------

def md(text: str) -> str:
    """Plain text for st.markdown: markup characters escaped, line breaks kept."""
    return MD_SPECIAL.sub(r"\\\1", str(text)).replace("\n", "  \n")


def esc(text: str) -> str:
    return html.escape(str(text)).replace("\n", "<br>")


def highlighted(before: str, quote: str, after: str) -> str:
    return (f'<div class="pq-passage">{esc(before)}<mark>{esc(quote)}</mark>{esc(after)}</div>')


def marked_html(text: str, spans) -> str:
    """Escaped text with the given spans in <mark>."""
    out, last = [], 0
    for start, end in sorted(spans):
        out.append(esc(text[last:start]))
        out.append(f"<mark>{esc(text[start:end])}</mark>")
        last = end
    out.append(esc(text[last:]))
    return f'<div class="pq-passage">{"".join(out)}</div>'


def suggested_question(question: str, suggestion: str) -> str:
    """'乌梅市…' + suggestion '乌海市' → '乌海市…': swap the closest-looking part of the question."""
    if len(suggestion) > 8 or suggestion in question or not question:
        return suggestion
    n = len(suggestion)
    spans = [(i, j) for i in range(len(question)) for j in range(i + 1, min(len(question), i + n + 1) + 1)]
    i, j = max(spans, key=lambda s: difflib.SequenceMatcher(None, question[s[0]:s[1]], suggestion).ratio())
    return question[:i] + suggestion + question[j:]


def replaced_entity(question: str, old: str, new: str) -> str:
    """The question with an entity corrected: the printed name, its short form, or the closest span."""
    old, new = old.strip(), new.strip()
    if not new or new == old:
        return question
    for form in (old, re.sub(r"(市|盟|省|自治区|地区)$", "", old)):
        if len(form) >= 2 and form in question:
            return question.replace(form, new, 1)
    if not old:
        return f"{new}{question}"
    return suggested_question(question, new) if len(new) <= 8 else f"{new}：{question}"


def page_link(label: str, page: str, key: str, **state) -> None:
    """A button that opens another page (setting session state first)."""
    def go() -> None:
        st.session_state.update(state)
        st.session_state["page"] = page

    st.button(label, key=key, on_click=go)
