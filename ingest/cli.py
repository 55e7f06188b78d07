"""`python -m ingest PATH... [--kb DIR]`: add plan documents to the knowledge base."""

from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path

from ingest.pipeline import delete_documents, ingest_paths, rebuild
from kb.errors import PolicyQAError
from kb.settings import load_settings


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m ingest", add_help=False,
        description="把规划文件（txt/md/docx/pdf/html）导入知识库。同名文件会替换旧版本，内容未变的文件会跳过。",
        epilog="例：python -m ingest data/raw --kb data；python -m ingest --delete 文档ID；"
               "python -m ingest --rebuild",
    )
    parser.add_argument("-h", "--help", action="help", help="显示本帮助并退出")
    parser.add_argument("paths", nargs="*", type=Path, help="文件或文件夹")
    parser.add_argument("--kb", type=Path, help="数据目录（默认 $POLICYQA_DATA_DIR 或 ./data）")
    parser.add_argument("--embedder", help="向量模型：use（默认）、hash、st:/本地/模型目录")
    parser.add_argument("--delete", nargs="+", metavar="DOC_ID", help="从知识库删除这些文档")
    parser.add_argument("--rebuild", action="store_true", help="用已保存的原始文件重新解析、重建整个知识库")
    parser.add_argument("--quiet", action="store_true", help="不显示进度")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(message)s")
    overrides = {}
    if args.kb:
        overrides["data_dir"] = args.kb
    if args.embedder:
        overrides["embedder"] = args.embedder
    settings = load_settings(**overrides)
    try:
        if args.delete:
            gen = delete_documents(settings, args.delete)
            print(f"已删除 {len(args.delete)} 个文档；知识库版本 {gen}")
            return 0
        if args.rebuild:
            report = rebuild(settings, None if args.quiet else _progress)
        elif not args.paths:
            parser.error("请给出要导入的文件或文件夹")
        else:
            report = ingest_paths(settings, args.paths, None if args.quiet else _progress)
    except PolicyQAError as exc:
        print(f"错误：{exc.user_message}", file=sys.stderr)
        return 1
    if not args.quiet:
        print(file=sys.stderr)
    print(report.summary())
    return 0 if not report.failed else 2


def _progress(stage: str, done: int, total: int, name: str = "") -> None:
    label = {"parse": "解析文件", "embed": "向量化文本块", "index": "写入向量库"}.get(stage, stage)
    print(f"\r{label} {done}/{total} {name[:40]:40s}", end="", file=sys.stderr, flush=True)
