"""The HTTP API: OpenAI-compatible chat, cited answers, documents and tables.

    uvicorn api.server:app            # or: python -m api --host 127.0.0.1 --port 8000

Answers come from the deterministic Assistant, or from the LLM agent when POLICYQA_USE_AGENT is on and an
LLM is configured. Set POLICYQA_API_TOKEN to require ``Authorization: Bearer <token>``.
"""

from __future__ import annotations

import io
import logging
import secrets
import threading
import time
from collections import OrderedDict
from contextlib import asynccontextmanager
from dataclasses import asdict

from fastapi import APIRouter, Depends, FastAPI, File, Path, Query, UploadFile
from fastapi.responses import Response, StreamingResponse
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from api import chat
from api.errors import ApiError, BodyLimit, install_error_handlers
from api.schemas import (
    AskRequest,
    AskResponse,
    ChatCompletion,
    ChatRequest,
    ConversationDetail,
    ConversationOut,
    DeleteResponse,
    DocumentOut,
    ErrorBody,
    FeedbackRequest,
    FeedbackResponse,
    ModelList,
    TableDetail,
    TableOut,
    UploadResponse,
)
from assistant import admin
from assistant.conversation import Conversation
from assistant.core import Assistant
from assistant.evidence import group_sources, marked_text
from kb.conversations import ConversationStore
from kb.errors import PolicyQAError
from kb.feedback import FeedbackStore, numbers_and_unit
from kb.settings import Settings, load_settings

logger = logging.getLogger(__name__)

MAX_JSON_BYTES = 1024 * 1024
MULTIPART_OVERHEAD = 64 * 1024  # boundaries and part headers around the uploaded bytes
MAX_CONVERSATIONS = 1000
DESCRIPTION = """政策问答：用规划原文回答关于中国政府规划的问题，给出准确数值和出处（文件、章节、原文）。

* **OpenAI 兼容**：`POST /v1/chat/completions` 可直接用 `openai` 客户端调用，支持 `stream: true`；
  回答正文后附有计算式和出处，结构化的出处与数值在扩展字段 `policyqa` 中。
* **问答**：`POST /api/ask` 返回完整的回答记录（逐条出处，以及按表格、段落归并的 `sources`）；带 `conversation_id`
  可以追问，会话保存在数据目录中（与网页共用），重启后仍可接着问。
* **会话与反馈**：列出、查看、删除保存的会话；对某一轮回答提交 👍/👎 和更正。
* **文档与表格**：上传、列出、删除规划文件；查看从规划中抽取的表格（JSON 或 CSV）。

设置了访问令牌（`POLICYQA_API_TOKEN`）时，请求须带 `Authorization: Bearer <令牌>`。
"""
TAGS = [
    {"name": "OpenAI 兼容", "description": "与 OpenAI Chat Completions 接口兼容的问答。"},
    {"name": "问答", "description": "返回完整回答记录（出处、数值、计算式）的问答接口。"},
    {"name": "会话", "description": "保存在数据目录中的会话（网页与接口共用）与回答反馈。"},
    {"name": "文档", "description": "知识库中的规划文件：列出、上传导入、删除。"},
    {"name": "表格", "description": "从规划中抽取的表格。"},
    {"name": "状态", "description": "服务状态。"},
]
AUTH_ERRORS = {401: {"model": ErrorBody, "description": "缺少或错误的访问令牌"}}


def size_text(n: int) -> str:
    return f"{n / 1024 / 1024:.3g} MB" if n >= 1024 * 1024 else f"{n / 1024:.3g} KB"


class ContextCache:
    """Follow-up contexts of conversations by id, in memory; the least recently used are dropped beyond
    `limit` (the turns themselves are kept on disk by kb.conversations; a dropped context is rebuilt)."""

    def __init__(self, limit: int = MAX_CONVERSATIONS):
        self.limit = limit
        self._items: OrderedDict[str, tuple[Conversation, threading.Lock]] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, cid: str) -> tuple[Conversation, threading.Lock, bool]:
        """(context, its lock, whether it was just created)."""
        with self._lock:
            fresh = cid not in self._items
            if fresh:
                self._items[cid] = (Conversation(), threading.Lock())
                while len(self._items) > self.limit:
                    self._items.popitem(last=False)
            else:
                self._items.move_to_end(cid)
            return (*self._items[cid], fresh)

    def drop(self, cid: str) -> None:
        with self._lock:
            self._items.pop(cid, None)

    def __len__(self) -> int:
        return len(self._items)

    def __contains__(self, cid: str) -> bool:
        return cid in self._items


def _takes_scope(bot) -> bool:
    import inspect

    try:
        return "doc_ids" in inspect.signature(bot.ask).parameters
    except (TypeError, ValueError):
        return False


def _fastapi_class():
    """FastAPI, or fastapi-offline's drop-in when installed: /docs then serves Swagger UI without a CDN."""
    try:
        from fastapi_offline import FastAPIOffline
    except ImportError:
        return FastAPI
    return FastAPIOffline


def make_assistant(settings: Settings):
    """The LLM agent when asked for and configured, else the deterministic Assistant."""
    if settings.use_agent and settings.llm_configured:
        from assistant.agent import AgentAssistant

        return AgentAssistant(settings)
    if settings.use_agent:
        logger.warning("POLICYQA_USE_AGENT is on but LLM_BASE_URL / LLM_MODEL are not set: using the rules")
    return Assistant(settings)


def create_app(settings: Settings | None = None, assistant=None,
               max_conversations: int = MAX_CONVERSATIONS) -> FastAPI:
    """The API over one knowledge base; `assistant` (anything with .ask(question, conversation)) for tests."""
    settings = settings or load_settings()

    @asynccontextmanager
    async def lifespan(app: FastAPI):
        if admin.has_knowledge_base(settings):
            try:
                get_assistant().warm_up()  # jieba, embedder, Chroma: the first answer is as fast as the rest
            except Exception as exc:  # a slow first answer is better than a server that will not start
                logger.warning("warm-up failed: %s", exc)
        yield

    app = _fastapi_class()(title="政策问答 API", description=DESCRIPTION, version="0.1.0", openapi_tags=TAGS,
                           lifespan=lifespan)
    app.state.settings = settings
    app.state.conversations = ContextCache(max_conversations)
    app.state.store = ConversationStore.for_settings(settings)
    app.state.feedback = FeedbackStore.for_settings(settings)
    holder = {"assistant": assistant}
    lock = threading.Lock()
    install_error_handlers(app)

    def get_assistant():
        with lock:
            if holder["assistant"] is None:
                holder["assistant"] = make_assistant(settings)
            return holder["assistant"]

    def rules_assistant():
        bot = get_assistant()
        return getattr(bot, "rules", bot)  # AgentAssistant keeps its deterministic Assistant as .rules

    def limit_for(path: str) -> tuple[int, str]:
        if path.rstrip("/") == "/api/documents":
            return (settings.max_upload_bytes + MULTIPART_OVERHEAD,
                    f"上传内容过大：一次最多 {size_text(settings.max_upload_bytes)}。")
        return MAX_JSON_BYTES, f"请求内容过大：最多 {size_text(MAX_JSON_BYTES)}。"

    app.add_middleware(BodyLimit, limit_for=limit_for)
    bearer = HTTPBearer(auto_error=False, description="访问令牌（服务端设置了 POLICYQA_API_TOKEN 时必填）")

    def require_token(credentials: HTTPAuthorizationCredentials | None = Depends(bearer)) -> None:
        if not settings.api_token:
            return
        given = credentials.credentials if credentials else ""
        if not secrets.compare_digest(given.encode(), settings.api_token.encode()):
            message = "缺少访问令牌：请在请求头中加入 Authorization: Bearer <令牌>。" if not given else "访问令牌不正确。"
            raise ApiError(401, message, "invalid_token", headers={"WWW-Authenticate": "Bearer"})

    def check_question(question: str) -> None:
        if len(question) > settings.max_question_chars:
            raise ApiError(413, f"问题太长了（{len(question)} 字），请精简到 {settings.max_question_chars} 字以内。",
                           "question_too_long")

    v1 = APIRouter(prefix="/v1", tags=["OpenAI 兼容"], dependencies=[Depends(require_token)],
                   responses=AUTH_ERRORS)
    api = APIRouter(prefix="/api", dependencies=[Depends(require_token)], responses=AUTH_ERRORS)

    # ----- OpenAI compatible -----
    @v1.get("/models", response_model=ModelList, summary="可用模型",
            description="OpenAI 兼容的模型列表。只有一个模型 `policyqa`；请求里写任何模型名都由政策问答作答。")
    def models():
        model = {"id": chat.MODEL_ID, "object": "model", "created": 0, "owned_by": "policyqa"}
        return {"object": "list", "data": [model]}

    @v1.post("/chat/completions", response_model=ChatCompletion, summary="对话问答（OpenAI 兼容）",
             description="最后一条用户消息是问题，之前的用户消息作为追问的上下文（最多十轮），system 消息被忽略。"
                         "回答正文后附计算式与出处；结构化记录在 `policyqa` 字段。`stream: true` 时返回 SSE 分块，"
                         "最后一块带 `policyqa` 字段，以 `data: [DONE]` 结束。",
             responses={200: {"content": {"text/event-stream": {}},
                              "description": "回答（stream 为 true 时为 SSE）"},
                        400: {"model": ErrorBody, "description": "消息格式不对，或请求体不是 JSON"},
                        413: {"model": ErrorBody, "description": "问题或请求过大"}})
    def chat_completions(body: ChatRequest):
        question, earlier = chat.split_messages(body.messages)
        check_question(question)
        bot = get_assistant()

        def ask():
            conversation = chat.replay(rules_assistant(), earlier) if earlier else None
            return bot.ask(question, conversation)

        if body.stream:
            return StreamingResponse(chat.stream(ask, body.model, current_kb), media_type="text/event-stream",
                                     headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"})
        return chat.completion(ask(), body.model, current_kb())

    # ----- answers -----
    @api.post("/ask", response_model=AskResponse, tags=["问答"], summary="提问",
              description="返回完整的回答记录：正文、出处、数值（含计算式和输入）、是否未能作答。"
                          "带 `conversation_id` 时在服务端保存上下文，可以追问（最多保留一千个会话，最久未用的先清除）。",
              responses={413: {"model": ErrorBody, "description": "问题过长"},
                         422: {"model": ErrorBody, "description": "参数有误"}})
    def ask(body: AskRequest):
        check_question(body.question)
        bot = get_assistant()
        scope = set(body.doc_ids) if body.doc_ids else None
        if body.conversation_id is None:
            return record(ask_scoped(bot, body.question, None, scope), conversation_id=None)
        cid = body.conversation_id
        conversation, conv_lock, fresh = app.state.conversations.get(cid)
        with conv_lock:  # one question at a time per conversation: turns stay in order
            if body.reset:
                conversation.reset()
                stored(app.state.store.clear, cid)
            elif fresh:  # after a restart (or an eviction): the context is rebuilt from the stored turns
                for turn in stored(app.state.store.turns, cid) or ():
                    ask_scoped(rules_assistant(), turn.question, conversation, scope)
            answer = ask_scoped(bot, body.question, conversation, scope)
            position = stored(app.state.store.add_turn, cid, body.question, answer, "api")
        return record(answer, conversation_id=cid, position=position)

    def ask_scoped(bot, question, conversation, scope):
        if scope:
            target = bot if _takes_scope(bot) else getattr(bot, "rules", bot)
            if _takes_scope(target):
                return target.ask(question, conversation, doc_ids=scope)
        return bot.ask(question, conversation)

    def stored(action, *args):
        """The conversation store is a convenience: when it cannot be written the answer still goes out."""
        try:
            return action(*args)
        except PolicyQAError as exc:
            logger.warning("conversation store: %s", exc)
            return None

    def current_kb():
        try:
            return getattr(rules_assistant(), "kb", None)  # a test stand-in may have none
        except PolicyQAError:
            return None

    def record(answer, **extra) -> dict:
        sources = group_sources(answer, current_kb())
        return {**answer.to_dict(), "sources": [s.to_dict() for s in sources],
                "marked_text": marked_text(answer, sources), **extra}

    # ----- conversations and feedback -----
    @api.get("/conversations", response_model=list[ConversationOut], tags=["会话"], summary="会话列表",
             description="保存在数据目录中的会话（最近的在前），网页上的对话也在其中。")
    def list_conversations(limit: int = Query(100, ge=1, le=1000, description="最多返回多少个")):
        return [c.to_dict() for c in app.state.store.conversations(limit)]

    @api.get("/conversations/{conversation_id}", response_model=ConversationDetail, tags=["会话"],
             summary="会话内容", responses={404: {"model": ErrorBody, "description": "没有这个会话"}})
    def get_conversation(conversation_id: str = Path(description="会话编号")):
        info = app.state.store.get(conversation_id)
        if info is None:
            raise ApiError(404, f"没有这个会话：{conversation_id}", "unknown_conversation")
        history = [{"position": t.position, "question": t.question, "mode": t.mode,
                    "answer": record(t.answer)} for t in app.state.store.turns(conversation_id)]
        return {**info.to_dict(), "history": history}

    @api.delete("/conversations/{conversation_id}", tags=["会话"], summary="删除会话",
                responses={404: {"model": ErrorBody, "description": "没有这个会话"}})
    def delete_conversation(conversation_id: str = Path(description="会话编号")):
        if not app.state.store.delete(conversation_id):
            raise ApiError(404, f"没有这个会话：{conversation_id}", "unknown_conversation")
        app.state.conversations.drop(conversation_id)
        return {"deleted": conversation_id}

    @api.post("/feedback", response_model=FeedbackResponse, tags=["会话"], summary="回答反馈",
              description="对会话中的一轮回答标注正确（1）或有误（-1），可附更正；评测页可把反馈变成回归题。",
              responses={404: {"model": ErrorBody, "description": "没有这一轮"}})
    def feedback(body: FeedbackRequest):
        turns = app.state.store.turns(body.conversation_id)
        turn = next((t for t in turns if t.position == body.position), None)
        if turn is None:
            raise ApiError(404, f"会话 {body.conversation_id} 中没有第 {body.position} 轮。", "unknown_turn")
        questions = [t.question for t in turns if t.position <= body.position][-6:]
        numbers, unit = numbers_and_unit(body.correction) if body.correction else ([], "")
        fid = app.state.feedback.record(questions, turn.answer, body.rating, body.correction, numbers, unit,
                                        body.refuse, body.conversation_id, body.position)
        return {"id": fid}

    # ----- documents -----
    @api.get("/documents", response_model=list[DocumentOut], tags=["文档"], summary="文档列表")
    def list_documents():
        out = []
        for d in admin.documents(settings):
            row = {k: v for k, v in d.items() if k != "items"}
            row["n_items"] = len(d.get("items") or ())
            out.append(row)
        return out

    @api.post("/documents", response_model=UploadResponse, tags=["文档"], summary="上传并导入文档",
              description="multipart/form-data，字段名 `files`，可一次上传多个文件（txt、md、docx、pdf、html 等）。"
                          "每个文件单独报告结果；有文件失败时其余照常导入，原知识库不受影响。全部失败时返回 400。",
              responses={400: {"model": ErrorBody, "description": "没有文件，或全部文件导入失败（附逐个结果）"},
                         413: {"model": ErrorBody, "description": "上传内容超过上限（POLICYQA_MAX_UPLOAD_MB）"}})
    def upload_documents(files: list[UploadFile] = File(..., description="要导入的规划文件")):
        payload = []
        for f in files:
            data = f.file.read(settings.max_upload_bytes + 1)
            if len(data) > settings.max_upload_bytes:
                raise ApiError(413, f"文件“{f.filename}”超过 {size_text(settings.max_upload_bytes)} 的上限。",
                               "file_too_large")
            payload.append((f.filename or "未命名", data))
        if not payload:
            raise ApiError(400, "请选择要上传的文件。", "no_files")
        report = admin.add_files(settings, payload)
        body = {"summary": report.summary(), "generation": report.generation,
                "seconds": round(report.seconds, 3), "totals": report.totals,
                "results": [asdict(r) for r in report.results]}
        if report.results and all(not r.ok for r in report.results):
            raise ApiError(400, "文件全部导入失败：" + "；".join(f"{r.name}：{r.error}" for r in report.results),
                           "ingest_failed", extra=body)
        return body

    @api.delete("/documents/{doc_id}", response_model=DeleteResponse, tags=["文档"], summary="删除文档",
                responses={404: {"model": ErrorBody, "description": "没有这个文档"}})
    def delete_document(doc_id: str = Path(description="文档编号（见文档列表的 doc_id）")):
        if doc_id not in {d["doc_id"] for d in admin.documents(settings)}:
            raise ApiError(404, f"知识库中没有这个文档：{doc_id}", "unknown_document")
        return {"deleted": doc_id, "generation": admin.remove_documents(settings, [doc_id])}

    # ----- tables -----
    @api.get("/tables", response_model=list[TableOut], tags=["表格"], summary="表格列表")
    def list_tables():
        return admin.tables(settings) if admin.has_knowledge_base(settings) else []

    @api.get("/tables/{table_id}", response_model=TableDetail, tags=["表格"], summary="表格内容",
             description="默认返回逐个单元格（含原文与标记）；`wide=true` 返回按行展开的数值表；"
                         "`format=csv` 返回 CSV 文件（UTF-8，带 BOM，Excel 可直接打开）。",
             responses={200: {"content": {"text/csv": {}}},
                        404: {"model": ErrorBody, "description": "没有这个表格"}})
    def get_table(table_id: str = Path(description="表格编号（见表格列表的 table_id）"),
                  format: str = Query("json", pattern="^(json|csv)$", description="json 或 csv"),
                  wide: bool = Query(False, description="按行展开为数值表")):
        summary = next((t for t in list_tables() if t["table_id"] == table_id), None)
        if summary is None:
            raise ApiError(404, f"知识库中没有这个表格：{table_id}", "unknown_table")
        frame = admin.table_frame(settings, table_id, wide=wide)
        if wide:
            label = summary["columns"][0] if summary["columns"] else "行"
            frame = frame.reset_index().rename(columns={"row_label": label})
        if format == "csv":
            buffer = io.StringIO()
            frame.to_csv(buffer, index=False)
            return Response("\ufeff" + buffer.getvalue(), media_type="text/csv; charset=utf-8",
                            headers={"Content-Disposition": f'attachment; filename="{table_id}.csv"'})
        records = frame.astype(object).where(frame.notna(), None).to_dict(orient="records")
        return {"table": summary, "rows" if wide else "cells": records}

    # ----- status -----
    @app.get("/health", tags=["状态"], summary="服务状态", description="无需令牌。")
    def health():
        return {"status": "ok", "knowledge_base": admin.has_knowledge_base(settings),
                "agent": settings.use_agent and settings.llm_configured, "time": int(time.time())}

    app.include_router(v1)
    app.include_router(api)
    return app


app = create_app()
