"""`python -m ingest PATH... [--kb DIR]`: add plan documents to the knowledge base."""

from __future__ import annotations

import argparse
import logging
import sys
import time
from pathlib import Path

from ingest.pipeline import delete_documents, ingest_paths, rebuild
from kb.background import complete_embeddings, embedding_status, start_background_embedding
from kb.errors import PolicyQAError
from kb.settings import load_settings

EMBED_FAILED = 3


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m ingest", add_help=False,
        description="把规划文件（txt/md/docx/pdf/html）导入知识库。同名文件会替换旧版本，内容未变的文件会跳过。"
                    "表格、数字和关键词检索在解析后立即可用，向量索引随后补全（显示进度）。",
        epilog="例：python -m ingest data/raw --kb data；python -m ingest --delete 文档ID；"
               "python -m ingest --rebuild；python -m ingest --embed（补全中断的向量索引）。"
               "退出码：0 成功，1 出错，2 有文件导入失败，3 向量索引补全失败（关键词检索不受影响）。",
    )
    parser.add_argument("-h", "--help", action="help", help="显示本帮助并退出")
    parser.add_argument("paths", nargs="*", type=Path, help="文件或文件夹")
    parser.add_argument("--kb", type=Path, help="数据目录（默认 $POLICYQA_DATA_DIR 或 ./data）")
    parser.add_argument("--embedder", help="向量模型：use（默认）、hash、st:/本地/模型目录")
    parser.add_argument("--workers", type=int, help="向量化进程数（默认 $POLICYQA_EMBED_WORKERS 或 CPU 核数，至多 2）")
    parser.add_argument("--delete", nargs="+", metavar="DOC_ID", help="从知识库删除这些文档")
    parser.add_argument("--rebuild", action="store_true", help="用已保存的原始文件重新解析、重建整个知识库")
    parser.add_argument("--embed", action="store_true", help="只补全向量索引（接着上次中断处继续）")
    parser.add_argument("--status", action="store_true", help="显示向量索引的进度后退出")
    parser.add_argument("--no-wait", action="store_true", help="不等待向量索引：交给后台进程补全后立即退出")
    parser.add_argument("--quiet", action="store_true", help="不显示进度")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(message)s")
    overrides: dict = {}
    if args.kb:
        overrides["data_dir"] = args.kb
    if args.embedder:
        overrides["embedder"] = args.embedder
    if args.workers:
        overrides["embed_workers"] = max(1, args.workers)
    progress = None if args.quiet else _progress
    try:
        settings = load_settings(**overrides)
        if args.status:
            print(embedding_status(settings).message)
            return 0
        if args.embed:
            return _embed(settings, progress, args.no_wait)
        embed = "background" if args.no_wait else "defer"
        if args.delete:
            gen = delete_documents(settings, args.delete, embed=embed)
            print(f"已删除 {len(args.delete)} 个文档；知识库版本 {gen}")
            return _embed(settings, progress, args.no_wait, after_write=True)
        if args.rebuild:
            report = rebuild(settings, progress, embed=embed)
        elif not args.paths:
            parser.error("请给出要导入的文件或文件夹")
        else:
            report = ingest_paths(settings, args.paths, progress, embed=embed)
    except PolicyQAError as exc:
        print(f"错误：{exc.user_message}", file=sys.stderr)
        return 1
    if not args.quiet:
        print(file=sys.stderr)
    print(report.summary(), flush=True)
    code = 0 if not report.failed else 2
    if report.embedding == "deferred":
        embedded = _embed(settings, progress, args.no_wait, after_write=True)
        code = code or embedded
    return code


def _embed(settings, progress, no_wait: bool, after_write: bool = False) -> int:
    """Seal the live generation's vectors here, with progress (or hand them to a background process)."""
    status = embedding_status(settings)
    if status.state in ("none", "complete"):
        if not after_write:
            print(status.message)
        return 0
    if no_wait:
        started = start_background_embedding(settings)
        print("向量索引在后台补全" + ("" if started else "（已有进程在补全）")
              + "；用 python -m ingest --status 查看进度。")
        return 0
    started = time.perf_counter()
    try:
        status = complete_embeddings(settings, progress)
    except KeyboardInterrupt:
        print("\n已中断：关键词检索可用，向量索引未完成；再次运行 python -m ingest --embed 可接着补全。",
              file=sys.stderr)
        return 130
    if progress:
        print(file=sys.stderr)
    if status.state == "failed":
        print(f"错误：{status.message}", file=sys.stderr)
        return EMBED_FAILED
    print(f"{status.message}（{status.total} 个文本块，用时 {time.perf_counter() - started:.1f} 秒）")
    return 0


def _progress(stage: str, done: int, total: int, name: str = "") -> None:
    label = {"parse": "解析文件", "load": "加载向量模型", "embed": "向量化文本块",
             "index": "写入向量库"}.get(stage, stage)
    print(f"\r{label} {done}/{total} {name[:40]:40s}", end="", file=sys.stderr, flush=True)
