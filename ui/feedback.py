"""👍/👎 under every answer, with an optional correction; stored locally (kb.feedback) for the eval page."""

from __future__ import annotations

import streamlit as st

from kb.feedback import numbers_and_unit
from kb.settings import Settings
from ui.common import feedback_store, safely

CONTEXT_TURNS = 6  # earlier questions kept with a judgement, so a follow-up can be asked again in context


def _turns(index: int) -> list[str]:
    history = st.session_state.get("history") or []
    return [t["question"] for t in history[max(0, index + 1 - CONTEXT_TURNS):index + 1]]


def _record(settings: Settings, index: int, rating: int, correction: str = "",
            refuse: bool | None = None) -> None:
    turn = st.session_state["history"][index]
    numbers, unit = numbers_and_unit(correction) if correction else ([], "")
    position = turn.get("position")
    _, error = safely(feedback_store(settings).record, _turns(index), turn["answer"], rating, correction,
                      numbers, unit, refuse, st.session_state.get("conversation_id") or "",
                      position if position is not None else -1, st.session_state.get("scope") or ())
    state = st.session_state.setdefault("feedback_state", {})
    if error:
        state[index] = ("error", error)
    else:
        state[index] = ("up" if rating > 0 else "down", "")


def thumbs_down(index: int) -> None:
    st.session_state.setdefault("feedback_state", {})[index] = ("correcting", "")


def submit_correction(settings: Settings, index: int) -> None:
    correction = st.session_state.get(f"fb_text_{index}", "") or ""
    refuse = bool(st.session_state.get(f"fb_refuse_{index}"))
    _record(settings, index, -1, correction, refuse if refuse else None)


def render_feedback(settings: Settings, turn: dict, index: int) -> None:
    state, message = st.session_state.setdefault("feedback_state", {}).get(index, ("", ""))
    if state == "up":
        st.caption("已记录：回答正确（谢谢！评测页可以把它变成回归题）")
    elif state == "down":
        st.caption("已记录：回答有误，更正已保存，评测页可以把它变成回归题")
    elif state == "error":
        st.warning(message)
    if state in ("", "error"):
        st.button("正确", key=f"fb_up_{index}", on_click=_record, args=(settings, index, 1), type="tertiary",
                  help="这条回答正确", icon=":material/thumb_up:")
        st.button("有误", key=f"fb_down_{index}", on_click=thumbs_down, args=(index,), type="tertiary",
                  help="这条回答有误，可以写下正确答案", icon=":material/thumb_down:")
    if state == "correcting":
        with st.container(border=True):
            st.text_area("正确的答案或更正说明（可不填）", key=f"fb_text_{index}",
                         placeholder="例如：应为 8.5%；或：规划中没有提到这一项")
            st.checkbox("规划中没有这项内容，应当说明无法回答", key=f"fb_refuse_{index}")
            st.button("提交更正", key=f"fb_send_{index}", on_click=submit_correction, args=(settings, index),
                      type="primary")
