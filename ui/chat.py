"""The 问答 page: saved conversations, document scope, answers with grouped sources, feedback and exports."""

from __future__ import annotations

import inspect
import logging
import time

import streamlit as st

from assistant.conversation import Conversation
from assistant.evidence import documents_named, group_sources, marked_text
from assistant.export import DOCX, XLSX, answer_xlsx, conversation_docx, conversation_markdown, file_stem
from kb.errors import PolicyQAError
from kb.records import Answer
from kb.settings import Settings
from ui.common import (
    assistant_ready,
    conversation_store,
    current_bot,
    feedback_store,
    knowledge_base,
    md,
    replaced_entity,
    rules,
    safely,
    suggested_question,
)
from ui.feedback import render_feedback
from ui.sources import render_figures, render_sources

logger = logging.getLogger("policyqa.app")
EXAMPLES = ("乌海市二氧化硫目标是多少", "哪个盟市氮氧化物降幅最大", "电石淘汰量", "工业粉尘治理有哪些措施",
            "规划中有哪些数字不一致")
# where a query plan keeps what a person may correct (the nested form first, flat keys as a fallback)
PLAN_FIELDS = ((("scope", "regions"), "地区"), (("measure", "indicators"), "指标"), (("measure", "year"), "年份"),
               (("regions",), "地区"), (("region",), "地区"), (("indicators",), "指标"), (("indicator",), "指标"),
               (("year",), "年份"))
SIDEBAR_CONVERSATIONS = 30


# ---------- conversation state ----------

def queue_question(question: str) -> None:
    st.session_state["pending_question"] = question


def new_chat() -> None:
    """A new, empty conversation (it is saved once its first question is asked)."""
    st.session_state["conversation"] = Conversation()
    st.session_state["history"] = []
    st.session_state["conversation_id"] = None
    st.session_state["scope"] = []
    st.session_state["feedback_state"] = {}
    st.session_state["page"] = "问答"
    st.query_params.pop("c", None)


def ask(bot, question: str, conversation: Conversation, doc_ids: set[str] | None = None) -> Answer:
    try:
        if doc_ids:
            # the LLM layer cannot be scoped yet: a scoped chat is answered by the rules underneath it
            target = bot if _takes_scope(bot) else getattr(bot, "rules", bot)
            if _takes_scope(target):
                return target.ask(question, conversation, doc_ids=doc_ids)
        return bot.ask(question, conversation)
    except PolicyQAError as exc:
        return Answer(exc.user_message, refused=True, intent="error")
    except Exception:  # the edge: log it, tell the person in Chinese, keep the session alive
        logger.exception("answering %r failed", question)
        return Answer("系统出错，请稍后再试。", refused=True, intent="error")


def _takes_scope(bot) -> bool:
    try:
        return "doc_ids" in inspect.signature(bot.ask).parameters
    except (TypeError, ValueError):
        return False


def load_conversation(settings: Settings, cid: str) -> bool:
    """Show a saved conversation: its stored answers, and the follow-up context rebuilt by asking its
    questions again through a fresh Conversation (deterministic, milliseconds each)."""
    store = conversation_store(settings)
    info, error = safely(store.get, cid)
    if info is None:
        st.session_state["chat_notice"] = error or "这段对话已不存在（可能已被删除）。"
        return False
    turns, error = safely(store.turns, cid)
    if turns is None:
        st.session_state["chat_notice"] = error
        return False
    assistant_ready(settings)
    conversation = Conversation()
    scope = set(info.doc_ids) & {d["doc_id"] for d in knowledge_base(settings).docs}
    bot = rules(settings)
    for t in turns:
        ask(bot, t.question, conversation, scope or None)
    st.session_state.update(conversation=conversation, conversation_id=cid, scope=sorted(scope),
                            history=[{"question": t.question, "answer": t.answer, "mode": t.mode,
                                      "position": t.position} for t in turns])
    entries, _ = safely(feedback_store(settings).entries)
    index = {t.position: i for i, t in enumerate(turns)}
    st.session_state["feedback_state"] = {
        index[e.position]: ("up" if e.rating > 0 else "down", "")
        for e in entries or () if e.conversation_id == cid and e.position in index}
    if set(info.doc_ids) - scope:
        st.session_state["chat_notice"] = "这段对话限定的部分文档已不在知识库中，已改为在其余文档中回答。"
    st.query_params["c"] = cid
    return True


def open_conversation(settings: Settings, cid: str) -> None:
    load_conversation(settings, cid)
    st.session_state["page"] = "问答"


def restore_on_start(settings: Settings) -> None:
    """A reload starts a new session: pick the conversation up again from the address (?c=…)."""
    if "conversation_id" in st.session_state:
        return
    st.session_state["conversation_id"] = None
    cid = st.query_params.get("c")
    if cid:
        load_conversation(settings, cid)


def save_turn(settings: Settings, turn: dict) -> None:
    store = conversation_store(settings)
    cid = st.session_state.get("conversation_id")
    if cid is None:
        cid, error = safely(store.create, doc_ids=st.session_state.get("scope") or ())
        if cid is None:
            st.session_state["chat_notice"] = error
            return
        st.session_state["conversation_id"] = cid
        st.query_params["c"] = cid
    position, error = safely(store.add_turn, cid, turn["question"], turn["answer"], turn.get("mode", ""))
    if position is None:
        st.session_state["chat_notice"] = error
    turn["position"] = position


def scope_changed(settings: Settings) -> None:
    cid = st.session_state.get("conversation_id")
    if cid:
        _, error = safely(conversation_store(settings).set_scope, cid, st.session_state.get("scope") or [])
        if error:
            st.session_state["chat_notice"] = error


# ---------- sidebar ----------

def sidebar_conversations(settings: Settings) -> None:
    st.markdown("**对话记录**")
    st.button("新对话", key="new_chat", on_click=new_chat, icon=":material/add:")
    store = conversation_store(settings)
    items, error = safely(store.conversations, SIDEBAR_CONVERSATIONS)
    if error:
        st.caption(error)
        return
    items = [c for c in items if c.turns]
    if not items:
        st.caption("还没有保存的对话。")
        return
    current = st.session_state.get("conversation_id")
    pending = st.session_state.get("confirm_delete")
    for c in items:
        left, right = st.columns([5, 1], vertical_alignment="center")
        label = ("▶ " if c.id == current else "") + c.title
        when = time.strftime("%m-%d %H:%M", time.localtime(c.updated))
        left.button(label, key=f"conv_{c.id}", help=f"{c.turns} 轮，{when}",
                    on_click=open_conversation, args=(settings, c.id), type="tertiary")
        right.button("", key=f"conv_del_{c.id}", help="删除这段对话", icon=":material/delete:",
                     on_click=lambda cid=c.id: st.session_state.update(confirm_delete=cid), type="tertiary")
        if pending == c.id:
            st.warning(f"删除对话“{c.title}”？删除后无法恢复。")
            a, b = st.columns(2)
            a.button("确认删除", key="conv_del_yes", on_click=delete_conversation, args=(settings, c.id),
                     type="primary")
            b.button("取消", key="conv_del_no", on_click=lambda: st.session_state.update(confirm_delete=None))


def delete_conversation(settings: Settings, cid: str) -> None:
    _, error = safely(conversation_store(settings).delete, cid)
    st.session_state["confirm_delete"] = None
    if error:
        st.session_state["chat_notice"] = error
    elif st.session_state.get("conversation_id") == cid:
        new_chat()


# ---------- one answer ----------

def plan_fields(plan) -> list[tuple[str, str, str]]:
    """(key, Chinese label, current value) for the entities of a query plan a person may correct."""
    if not isinstance(plan, dict):
        return []
    out, labels = [], set()
    for path, label in PLAN_FIELDS:
        value = plan
        for step in path:
            value = value.get(step) if isinstance(value, dict) else None
        if isinstance(value, (list, tuple)):
            value = "、".join(str(v.get("name", v) if isinstance(v, dict) else v) for v in value)
        if isinstance(value, (str, int, float)) and str(value).strip() and label not in labels:
            labels.add(label)
            out.append(("_".join(path), label, str(value)))
    return out


def corrected_question(question: str, fields: list[tuple[str, str, str]], values: dict[str, str]) -> str:
    for key, _, old in fields:
        new = (values.get(key) or "").strip()
        if new and new != old:
            for o, n in zip(old.split("、"), new.split("、")):
                question = replaced_entity(question, o, n)
    return question


def render_understood(turn: dict, index: int) -> None:
    answer: Answer = turn["answer"]
    if answer.understood:
        st.caption(md(answer.understood))
    fields = plan_fields(answer.plan)
    if not fields:
        return
    with st.expander("理解有误？更正后重新提问"):
        values = {}
        for key, label, value in fields:
            values[key] = st.text_input(label, value=value, key=f"fix_{index}_{key}")
        new = corrected_question(turn["question"], fields, values)
        st.button("按更正重新提问", key=f"fix_ask_{index}", on_click=queue_question, args=(new,),
                  disabled=new == turn["question"], help=f"将提问：{new}")


def render_exports(turn: dict, kb, index: int, sources) -> None:
    answer: Answer = turn["answer"]
    stem = file_stem(turn["question"])
    one = [(turn["question"], answer)]
    with st.container(horizontal=True):
        st.download_button("导出 Word", lambda: conversation_docx(one, kb, turn["question"]), f"{stem}.docx",
                           DOCX, key=f"dl_docx_{index}", on_click="ignore", icon=":material/description:",
                           type="tertiary")
        st.download_button("导出 Markdown",
                           lambda: conversation_markdown(one, kb, turn["question"]).encode("utf-8"),
                           f"{stem}.md", "text/markdown", key=f"dl_md_{index}", on_click="ignore",
                           type="tertiary")
        if any(s.kind == "table" for s in sources):
            st.download_button("导出 Excel", lambda: answer_xlsx(turn["question"], answer, kb), f"{stem}.xlsx",
                               XLSX,
                               key=f"dl_xlsx_{index}", on_click="ignore", type="tertiary")


def render_answer(settings: Settings, turn: dict, kb, index: int) -> None:
    answer: Answer = turn["answer"]
    render_understood(turn, index)
    sources = group_sources(answer, kb)
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
        st.markdown(md(marked_text(answer, sources)))
        docs = documents_named(sources)
        if docs:
            st.caption("来源文档：" + "、".join(f"《{d}》" for d in docs))
        render_figures(answer, sources)
        if answer.chart:
            render_chart(answer.chart)
    render_sources(sources, str(index))
    if turn.get("mode") == "大模型":
        st.caption("由大模型组织语言；数字与出处来自知识库工具。")
    if answer.intent != "bad_question":
        with st.container(horizontal=True, vertical_alignment="center"):
            render_feedback(settings, turn, index)
        render_exports(turn, kb, index, sources)


def render_chart(chart: dict) -> None:
    import altair as alt
    import pandas as pd

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


# ---------- the page ----------

def render_header(settings: Settings, history: list[dict]) -> None:
    head, export_md, export_docx = st.columns([4, 1, 1], vertical_alignment="bottom")
    head.subheader("问答")
    kb = knowledge_base(settings) if history else None
    turns = [(t["question"], t["answer"]) for t in history]
    title = history[0]["question"] if history else "政策问答记录"
    empty = "对话为空，先提问再导出。" if not history else "导出整段对话（含数字、计算与出处）"
    export_md.download_button("导出对话 Markdown",
                              lambda: conversation_markdown(turns, kb, title).encode("utf-8"),
                              f"{file_stem(title)}.md", "text/markdown", key="dl_conv_md",
                              disabled=not history,
                              help=empty, on_click="ignore")
    export_docx.download_button("导出对话 Word", lambda: conversation_docx(turns, kb, title),
                                f"{file_stem(title)}.docx", DOCX, key="dl_conv_docx", disabled=not history,
                                help=empty, on_click="ignore")
    docs = knowledge_base(settings).docs if rules(settings).ready.is_set() else []
    if len(docs) > 1 or st.session_state.get("scope"):
        names = {d["doc_id"]: d["name"] for d in docs}
        st.session_state["scope"] = [d for d in st.session_state.get("scope") or [] if d in names]
        st.multiselect("回答范围", list(names), format_func=names.get, key="scope", placeholder="全部文档",
                       on_change=scope_changed, args=(settings,),
                       help="只在选中的文档中查找答案；不选则在全部文档中查找。")


def page_chat(settings: Settings) -> None:
    restore_on_start(settings)
    bot, mode = current_bot(settings)
    conversation = st.session_state.setdefault("conversation", Conversation())
    history = st.session_state.setdefault("history", [])
    question = st.chat_input("请输入关于规划的问题，例如：乌海市二氧化硫目标是多少？", key="chat_box")
    question = question or st.session_state.pop("pending_question", None)
    header = st.container()  # filled last, so the export buttons include the answer asked in this run
    notice = st.session_state.pop("chat_notice", "")
    if notice:
        st.warning(notice)
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
            render_answer(settings, turn, kb, index)
    if question:
        with st.chat_message("user"):
            st.markdown(md(question))
        with st.chat_message("assistant"):
            assistant_ready(settings)
            scope = set(st.session_state.get("scope") or ())
            with st.spinner("正在查找规划原文……"):
                answer = ask(bot, question, conversation, scope or None)
            turn = {"question": question, "answer": answer, "mode": mode, "position": None}
            history.append(turn)
            save_turn(settings, turn)
            notice = st.session_state.pop("chat_notice", "")
            if notice:
                st.warning(notice)
            render_answer(settings, turn, knowledge_base(settings), len(history) - 1)
    with header:
        render_header(settings, history)


__all__ = ["feedback_store", "page_chat", "sidebar_conversations"]
