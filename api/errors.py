"""What a client sees when something is wrong: JSON errors with Chinese messages, never a stack trace.

Every error body has the OpenAI shape, so OpenAI clients show the message as it is:
``{"error": {"message": "知识库中没有这个文档：x", "type": "not_found_error", "code": "unknown_document"}}``
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from kb.errors import BadQuestion, ConfigError, IngestError, NotInKnowledgeBase, PolicyQAError, StoreError

logger = logging.getLogger(__name__)

ERROR_TYPES = {400: "invalid_request_error", 401: "authentication_error", 404: "not_found_error",
               405: "invalid_request_error", 413: "request_too_large", 422: "invalid_request_error",
               500: "server_error", 503: "service_unavailable"}
STATUS_MESSAGES = {404: "接口不存在。", 405: "该接口不支持这种请求方法。", 413: "请求内容过大。"}
POLICYQA_STATUS = ((NotInKnowledgeBase, 404), (BadQuestion, 400), (IngestError, 400), (StoreError, 503),
                   (ConfigError, 500))
PYDANTIC_MESSAGES = {
    "missing": "缺少这一项", "extra_forbidden": "不认识这一项", "string_too_short": "不能为空",
    "string_too_long": "太长了", "string_pattern_mismatch": "格式不对", "literal_error": "取值不在允许范围内",
    "too_short": "项数太少", "too_long": "项数太多", "greater_than_equal": "数值太小", "greater_than": "数值太小",
    "less_than_equal": "数值太大", "less_than": "数值太大", "model_attributes_type": "应为 JSON 对象",
    "dict_type": "应为 JSON 对象", "list_type": "应为列表", "string_type": "应为文字", "bool_type": "应为 true 或 false",
    "int_type": "应为整数", "int_parsing": "应为整数", "float_type": "应为数字", "bool_parsing": "应为 true 或 false",
}


class ApiError(HTTPException):
    """An HTTP error with a Chinese message (an HTTPException, so FastAPI re-raises it from body parsing)."""

    def __init__(self, status: int, message: str, code: str | None = None, headers: dict | None = None,
                 extra: dict | None = None):
        super().__init__(status_code=status, detail=message, headers=headers)
        self.message = message
        self.code = code
        self.extra = extra or {}


def error_body(status: int, message: str, code: str | None = None) -> dict:
    return {"error": {"message": message, "type": ERROR_TYPES.get(status, "error"), "code": code}}


def error_response(status: int, message: str, code: str | None = None, headers: dict | None = None,
                   extra: dict | None = None) -> JSONResponse:
    body = {**error_body(status, message, code), **(extra or {})}
    return JSONResponse(body, status_code=status, headers=headers)


def _field(loc) -> str:
    parts = [str(p) for p in loc if p not in ("body", "query", "path", "header")]
    return ".".join(parts) or "请求体"


def validation_message(errors: list[dict]) -> tuple[int, str]:
    """(status, Chinese message): 400 for a body that is not JSON at all, 422 for JSON with wrong fields."""
    for e in errors:
        if e.get("type") == "json_invalid":
            where = e.get("loc", [None, None])[-1]
            return 400, f"请求体不是有效的 JSON（第 {where} 个字符附近）。" if isinstance(where, int) else "请求体不是有效的 JSON。"
    shown = [f"{_field(e.get('loc', ()))}：{PYDANTIC_MESSAGES.get(e.get('type', ''), e.get('msg', ''))}"
             for e in errors[:5]]
    return 422, "请求参数有误：" + "；".join(shown)


def install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(ApiError)
    async def _api_error(request: Request, exc: ApiError):
        return error_response(exc.status_code, exc.message, exc.code, exc.headers, exc.extra)

    @app.exception_handler(HTTPException)
    async def _http_error(request: Request, exc: HTTPException):
        detail = exc.detail if isinstance(exc.detail, str) else "请求有误。"
        message = STATUS_MESSAGES.get(exc.status_code) or detail
        return error_response(exc.status_code, message, headers=getattr(exc, "headers", None))

    @app.exception_handler(RequestValidationError)
    async def _validation_error(request: Request, exc: RequestValidationError):
        status, message = validation_message(list(exc.errors()))
        return error_response(status, message, "invalid_json" if status == 400 else "invalid_parameters")

    @app.exception_handler(PolicyQAError)
    async def _policyqa_error(request: Request, exc: PolicyQAError):
        status = next((s for cls, s in POLICYQA_STATUS if isinstance(exc, cls)), 500)
        logger.warning("%s %s: %s", request.method, request.url.path, exc)
        return error_response(status, exc.user_message, type(exc).__name__)

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception):
        logger.error("unexpected error on %s %s", request.method, request.url.path, exc_info=exc)
        return error_response(500, "服务器内部错误，请稍后再试。", "internal_error")


class BodyLimit:
    """413 with a JSON body for requests larger than limit_for(path), by Content-Length or while reading."""

    def __init__(self, app: ASGIApp, limit_for: Callable[[str], tuple[int, str]]):
        self.app = app
        self.limit_for = limit_for

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit, message = self.limit_for(scope["path"])
        length = dict(scope.get("headers") or ()).get(b"content-length", b"")
        if length.isdigit() and int(length) > limit:
            await error_response(413, message, "request_too_large")(scope, receive, send)
            return
        received = 0

        async def limited() -> Message:
            nonlocal received
            message_in = await receive()
            if message_in["type"] == "http.request":
                received += len(message_in.get("body", b""))
                if received > limit:  # chunked uploads carry no Content-Length
                    raise ApiError(413, message, "request_too_large")
            return message_in

        await self.app(scope, limited, send)
