"""`python -m api [--host H] [--port P]`: serve the HTTP API with uvicorn."""

from __future__ import annotations

import argparse

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8000


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m api",
        description="政策问答 HTTP 接口（OpenAI 兼容的 /v1/chat/completions，以及 /api/ask、文档和表格接口；文档见 /docs）。"
                    "数据目录、访问令牌和大模型用环境变量设置：POLICYQA_DATA_DIR、POLICYQA_API_TOKEN、LLM_BASE_URL 等。")
    parser.add_argument("--host", default=DEFAULT_HOST, help=f"监听地址（默认 {DEFAULT_HOST}，仅本机可访问）")
    parser.add_argument("--port", type=int, default=DEFAULT_PORT, help=f"端口（默认 {DEFAULT_PORT}）")
    parser.add_argument("--log-level", default="info", choices=["debug", "info", "warning", "error"],
                        help="日志级别")
    args = parser.parse_args(argv)
    try:
        import uvicorn
    except ImportError:
        parser.error("缺少 uvicorn，请先安装：pip install uvicorn")
    uvicorn.run("api.server:app", host=args.host, port=args.port, log_level=args.log_level)
    return 0
