"""OpenAI chat-completions compatibility: messages in, a cited answer out (whole, or as SSE chunks)."""

from __future__ import annotations

import json
import logging
import re
import time
import uuid
from collections.abc import Callable, Iterator

from api.errors import ApiError
from api.schemas import ChatMessage
from assistant.conversation import Conversation
from assistant.evidence import group_sources, marked_text
from kb.records import Answer
from tools.base import fmt_num

logger = logging.getLogger(__name__)

MODEL_ID = "policyqa"
MAX_CONTEXT_TURNS = 10  # earlier user messages replayed to rebuild the follow-up context
SENTENCE = re.compile(r"[^。；！？\n]*[。；！？\n]+|[^。；！？\n]+$")
FAILED = "系统出错，请稍后再试。"


def message_text(message: ChatMessage) -> str:
    if isinstance(message.content, str):
        return message.content
    parts = message.content or []
    return "".join(str(p.get("text", "")) for p in parts
                   if isinstance(p, dict) and p.get("type") in ("text", "input_text"))


def split_messages(messages: list[ChatMessage]) -> tuple[str, list[str]]:
    """(the question, earlier user questions): the last message must be the user's."""
    if messages[-1].role != "user":
        raise ApiError(400, "最后一条消息须为用户的问题（role 为 user）。", "last_message_not_user")
    question = message_text(messages[-1])
    earlier = [message_text(m) for m in messages[:-1] if m.role == "user"]
    return question, [q for q in earlier if q.strip()][-MAX_CONTEXT_TURNS:]


def replay(rules, questions: list[str]) -> Conversation:
    """Rebuild the follow-up context by asking the earlier questions again (deterministic, a few ms each)."""
    conversation = Conversation()
    for q in questions:
        rules.ask(q, conversation)
    return conversation


def content(answer: Answer, kb=None) -> str:
    """The answer as chat text: the answer with [n] markers, computed figures with formulas, then the
    sources, one per table or paragraph (Markdown)."""
    sources = group_sources(answer, kb)
    lines = [("【未能作答】" if answer.refused else "") + marked_text(answer, sources)]
    computed = [f for f in answer.figures if f.formula]
    if computed:
        lines += ["", "**计算**"]
        lines += [f"- {f.label}：{fmt_num(f.value, 4)}{f.unit}（{f.formula}）" for f in computed]
    if sources:
        lines += ["", "**出处**"]
        for s in sources:
            where = f"《{s.doc}》 {s.section_path}".strip()
            quotes = "；".join(f"“{' '.join(q.split())}”" for q in s.quotes)
            note = f"（{s.problem}）" if s.problem else ""
            lines.append(f"[{s.number}] {where}：{quotes}{note}")
    return "\n".join(lines)


def pieces(text: str) -> list[str]:
    return [p for p in SENTENCE.findall(text) if p] or [text]


def record(answer: Answer, kb=None) -> dict:
    """The Answer record plus its grouped sources (the flat citations stay for older clients)."""
    sources = group_sources(answer, kb)
    return {**answer.to_dict(), "sources": [s.to_dict() for s in sources],
            "marked_text": marked_text(answer, sources)}


def completion(answer: Answer, model: str, kb=None) -> dict:
    text = content(answer, kb)
    return {
        "id": "chatcmpl-" + uuid.uuid4().hex,
        "object": "chat.completion",
        "created": int(time.time()),
        "model": model,
        "choices": [{"index": 0, "message": {"role": "assistant", "content": text}, "finish_reason": "stop"}],
        "usage": {"prompt_tokens": 0, "completion_tokens": 0, "total_tokens": 0},
        "policyqa": record(answer, kb),
    }


def _chunk(cid: str, created: int, model: str, delta: dict, finish: str | None = None) -> dict:
    return {"id": cid, "object": "chat.completion.chunk", "created": created, "model": model,
            "choices": [{"index": 0, "delta": delta, "finish_reason": finish}]}


def _sse(payload: dict) -> str:
    return "data: " + json.dumps(payload, ensure_ascii=False) + "\n\n"


def stream(ask: Callable[[], Answer], model: str, kb_of: Callable[[], object] | None = None) -> Iterator[str]:
    """SSE: the role at once (the client shows it is working), the answer in sentences, the record, [DONE]."""
    cid, created = "chatcmpl-" + uuid.uuid4().hex, int(time.time())
    yield _sse(_chunk(cid, created, model, {"role": "assistant", "content": ""}))
    try:
        answer = ask()
    except Exception:  # headers are sent: the error has to travel as content
        logger.exception("answer failed while streaming")
        answer = Answer(FAILED, refused=True, intent="error")
    kb = kb_of() if kb_of is not None else None
    for piece in pieces(content(answer, kb)):
        yield _sse(_chunk(cid, created, model, {"content": piece}))
    final = _chunk(cid, created, model, {}, "stop")
    final["policyqa"] = record(answer, kb)
    yield _sse(final)
    yield "data: [DONE]\n\n"
