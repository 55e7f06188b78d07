"""`python -m assistant ask "问题"` / `python -m assistant chat`: answers in the terminal."""

from __future__ import annotations

import argparse
import json
import logging
import sys
from pathlib import Path

from assistant.conversation import Conversation
from assistant.core import Assistant
from kb.errors import PolicyQAError
from kb.records import Answer
from kb.settings import load_settings
from tools.base import fmt_num


def render(answer: Answer, kb=None) -> str:
    """How it read the question, the answer with [n] markers, figures with formulas, then the sources grouped
    by passage (one per table, one per paragraph): what a person checks."""
    from assistant.evidence import group_sources, marked_text, render_sources

    sources = group_sources(answer, kb)
    lines = [answer.understood] if answer.understood else []
    lines.append(("【未能作答】" if answer.refused else "") + marked_text(answer, sources))
    shown = [f for f in answer.figures if f.formula]
    if shown:
        lines.append("\n计算：")
        for f in shown:
            lines.append(f"  · {f.label}：{fmt_num(f.value, 4)}{f.unit}（{f.formula}）")
    if sources:
        lines += ["", "出处：", render_sources(sources)]
    return "\n".join(lines)


def record(answer: Answer, kb) -> dict:
    """The Answer record plus its grouped sources (the flat citation list stays for older readers)."""
    from assistant.evidence import group_sources

    return {**answer.to_dict(), "sources": [s.to_dict() for s in group_sources(answer, kb)]}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m assistant", description="政策问答：用规划原文回答问题（离线，无需大模型）。")
    parser.add_argument("--kb", type=Path, help="数据目录（默认 $POLICYQA_DATA_DIR 或 ./data）")
    parser.add_argument("--json", action="store_true", help="输出完整的回答记录（JSON）")
    sub = parser.add_subparsers(dest="command", required=True)
    ask = sub.add_parser("ask", help="回答一个问题")
    ask.add_argument("question", nargs="+", help="问题")
    sub.add_parser("chat", help="多轮对话（输入 /reset 重新开始，/quit 退出）")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.ERROR)
    settings = load_settings(**({"data_dir": args.kb} if args.kb else {}))
    bot = Assistant(settings)
    try:
        bot.warm_up()
    except PolicyQAError as exc:
        print(f"错误：{exc.user_message}", file=sys.stderr)
        return 1
    if args.command == "ask":
        answer = bot.ask(" ".join(args.question))
        print(json.dumps(record(answer, bot.kb), ensure_ascii=False, indent=1) if args.json else render(answer, bot.kb))
        return 0
    conv = Conversation()
    print("政策问答（输入 /reset 重新开始，/quit 退出）")
    for line in sys.stdin if not sys.stdin.isatty() else iter(lambda: input("问> "), None):
        line = line.strip()
        if line in ("/quit", "/exit", "退出"):
            break
        if line == "/reset":
            conv.reset()
            print("已重新开始。")
            continue
        if not line:
            continue
        answer = bot.ask(line, conv)
        print(json.dumps(record(answer, bot.kb), ensure_ascii=False) if args.json else render(answer, bot.kb))
        print()
    return 0
