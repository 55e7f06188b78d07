"""Adding a live generation's vectors after the swap: here (the CLI) or in a detached process (app, API).

A generation answers from its text, tables, facts and BM25 as soon as it is live; this fills in its vectors
(kb.dense) and seals them. Progress goes to ``<kb>/embedding.json`` for anyone to poll. A killed run leaves
the vectors unsealed (never read) and the encoded ones in the embedding cache, so the next run resumes.

    start_background_embedding(settings)      # after an upload: returns at once (python -m kb.background)
    embedding_status(settings).message        # poll: "正在补全向量索引：向量化 1200/15000（关键词检索已可用）"
    complete_embeddings(settings, progress)   # here and now, with progress(stage, done, total)
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path

from kb.dense import Superseded, clear_dense, dense_info, load_vectors, vectors_for, write_dense
from kb.embed import get_embedder
from kb.errors import PolicyQAError
from kb.layout import EMBED_LOCK, GEN_LOCK, current_generation, try_lock, unwritable, write_atomic
from kb.settings import Settings, load_settings
from kb.store import load_chunks, read_manifest

logger = logging.getLogger(__name__)
PROGRESS_FILE = "embedding.json"
LOG_FILE = "embedding.log"
WRITE_EVERY_S = 0.5
FOLLOW_POLL_S = 0.3
MAX_ROUNDS = 20  # generations swapped in while embedding: each round finishes the newest one
ROOT = Path(__file__).resolve().parents[1]
STAGES = {"load": "加载向量模型", "embed": "向量化", "index": "写入向量库"}


@dataclass(frozen=True)
class EmbeddingStatus:
    generation: str | None
    state: str  # none | complete | running | pending | failed
    stage: str = ""  # load | embed | index (while running)
    done: int = 0
    total: int = 0
    error: str = ""
    seconds: float = 0.0  # since the run started

    @property
    def complete(self) -> bool:
        return self.state == "complete"

    @property
    def fraction(self) -> float:
        if self.state == "complete":
            return 1.0
        return self.done / self.total if self.total else 0.0

    @property
    def message(self) -> str:
        """One Chinese line for the app and the CLI."""
        if self.state == "none":
            return "知识库还没有建立。"
        if self.state == "complete":
            return "向量索引已完成。"
        if self.state == "running":
            step = STAGES.get(self.stage, "处理")
            count = f" {self.done}/{self.total}" if self.total else ""
            return f"正在补全向量索引：{step}{count}（关键词检索已可用）"
        if self.state == "failed":
            return f"向量索引补全失败：{self.error}（关键词检索不受影响；运行 python -m ingest --embed 重试）"
        return "向量索引尚未完成，检索暂用关键词；运行 python -m ingest --embed 可补全。"


def _read_progress(kb_dir: Path) -> dict:
    try:
        data = json.loads((kb_dir / PROGRESS_FILE).read_text(encoding="utf-8"))
        return data if isinstance(data, dict) else {}
    except (OSError, ValueError):
        return {}


def _alive(pid) -> bool:
    if not isinstance(pid, int) or pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:  # a finished child nobody has reaped yet is not running
        return Path(f"/proc/{pid}/stat").read_text().split(") ", 1)[1][0] != "Z"
    except (OSError, IndexError):
        return True


def embedding_status(settings: Settings) -> EmbeddingStatus:
    """Where the live generation's vectors stand (cheap: meant to be polled)."""
    kb_dir = settings.kb_dir
    gen = current_generation(kb_dir)
    if not gen:
        return EmbeddingStatus(None, "none")
    info = dense_info(kb_dir / "gens" / gen)
    if info is not None:
        count = int(info.get("count") or 0)
        return EmbeddingStatus(gen, "complete", done=count, total=count)
    p = _read_progress(kb_dir)
    if p.get("generation") != gen:
        return EmbeddingStatus(gen, "pending")
    seconds = round(time.time() - float(p.get("started") or time.time()), 1)
    if p.get("state") == "failed":
        return EmbeddingStatus(gen, "failed", error=p.get("error", ""), seconds=seconds)
    if p.get("state") == "running" and _alive(p.get("pid")):
        return EmbeddingStatus(gen, "running", p.get("stage", ""), int(p.get("done", 0)),
                               int(p.get("total", 0)), seconds=seconds)
    return EmbeddingStatus(gen, "pending")


class _Reporter:
    """progress(stage, done, total) → embedding.json (throttled) and the caller's callback."""

    def __init__(self, kb_dir: Path, gen: str, progress=None):
        self.path = kb_dir / PROGRESS_FILE
        self.gen = gen
        self.progress = progress
        self.started = time.time()
        self.pid = os.getpid()
        self._last = (0.0, "")

    def write(self, state: str, stage: str = "", done: int = 0, total: int = 0, **extra) -> None:
        data = {"generation": self.gen, "state": state, "stage": stage, "done": done, "total": total,
                "pid": self.pid, "started": self.started, "updated": time.time(), **extra}
        try:
            write_atomic(self.path, json.dumps(data, ensure_ascii=False))
        except OSError as exc:  # progress is for display; a full disk shows up where it matters
            logger.debug("progress not written: %s", exc)

    def __call__(self, stage: str, done: int, total: int, name: str = "") -> None:
        now = time.monotonic()
        if stage != self._last[1] or now - self._last[0] >= WRITE_EVERY_S or done >= total:
            self._last = (now, stage)
            self.write("running", stage, done, total)
        if self.progress:
            self.progress(stage, done, total)


def _previous_vectors(kb_dir: Path, gen: str, effective: str) -> dict:
    """The newest other sealed generation's vectors from the same embedder (a delete or a re-ingest of an
    unchanged plan then embeds nothing, even for an embedder the cache skips)."""
    gens_dir = kb_dir / "gens"
    for name in sorted((p.name for p in gens_dir.iterdir() if p.is_dir() and p.name != gen), reverse=True):
        info = dense_info(gens_dir / name)
        if info is not None and info.get("embedder_setting") == effective:
            try:
                return load_vectors(gens_dir / name)
            except (OSError, ValueError) as exc:
                logger.warning("vectors of %s unreadable (%s); not reused", name, exc)
    return {}


def _complete_generation(settings: Settings, gen: str, progress=None) -> None:
    kb_dir = settings.kb_dir
    gen_dir = kb_dir / "gens" / gen
    with try_lock(gen_dir / GEN_LOCK, blocking=True) as held:
        if not held or not (gen_dir / "manifest.json").exists() or dense_info(gen_dir) is not None:
            return  # pruned meanwhile, or sealed by someone else
        report = _Reporter(kb_dir, gen, progress)
        report("load", 0, 0)
        spec = read_manifest(gen_dir).get("embedder_setting") or settings.embedder
        chunks = load_chunks(gen_dir)
        embedder = get_embedder(spec)
        effective = "hash" if embedder.name == "hash" else spec
        known = _previous_vectors(kb_dir, gen, effective)

        def superseded() -> bool:
            return current_generation(kb_dir) != gen

        clear_dense(settings, gen, gen_dir)
        try:
            matrix, sources = vectors_for(kb_dir, chunks, embedder, effective, known, settings.embed_workers,
                                          report, superseded)
            write_dense(settings, gen, gen_dir, chunks, matrix, embedder, effective, report, superseded,
                        sources)
        except BaseException:
            clear_dense(settings, gen, gen_dir)  # unsealed leftovers are never read; this only frees space
            raise
        report.write("complete", "index", len(chunks), len(chunks), sources=sources)
        logger.info("generation %s: %d vectors sealed (%s)", gen, len(chunks), sources)


def _sealed(kb_dir: Path, gen: str | None) -> bool:
    return bool(gen) and dense_info(kb_dir / "gens" / gen) is not None


def _run(settings: Settings, progress=None) -> bool:
    """Seal the live generation's vectors; when another goes live meanwhile, go on with that one.
    True when the live generation ends sealed."""
    kb_dir = settings.kb_dir
    for _ in range(MAX_ROUNDS):
        gen = current_generation(kb_dir)
        if not gen or _sealed(kb_dir, gen):
            return bool(gen)
        try:
            _complete_generation(settings, gen, progress)
        except Superseded:
            continue
        except Exception as exc:
            if isinstance(exc, OSError):
                exc = unwritable(kb_dir / "gens" / gen, exc)
            message = exc.user_message if isinstance(exc, PolicyQAError) else f"{type(exc).__name__}: {exc}"
            logger.warning("embedding generation %s failed: %s", gen, exc)
            _Reporter(kb_dir, gen).write("failed", error=message)
            return False
        if not _sealed(kb_dir, gen) and current_generation(kb_dir) == gen:
            return False  # its folder went away or cannot be read: nothing more to do here
    return _sealed(kb_dir, current_generation(kb_dir))


def complete_embeddings(settings: Settings, progress=None, wait: bool = True) -> EmbeddingStatus:
    """Seal the live generation's vectors in this process, resuming an interrupted (or failed) run. If another
    process is at it: follow its progress until it is done (`wait`), or return at once."""
    rounds = 0
    while True:
        status = embedding_status(settings)
        if status.state in ("none", "complete"):
            return status
        ran = ok = False
        with try_lock(settings.kb_dir / EMBED_LOCK) as mine:
            if mine:
                ran, ok = True, _run(settings, progress)
        if ran:
            rounds += 1
            status = embedding_status(settings)
            # Still pending after a good run: a generation went live just as the lock was let go.
            if not ok or status.state != "pending" or rounds >= MAX_ROUNDS:
                return status
            continue
        if not wait:
            return status
        if progress and status.state == "running" and status.total:
            progress(status.stage, status.done, status.total)
        time.sleep(FOLLOW_POLL_S)


def start_background_embedding(settings: Settings) -> bool:
    """Start `python -m kb.background` for this knowledge base, detached; False when there is nothing to do
    or a run is under way."""
    if embedding_status(settings).state in ("none", "complete", "running"):
        return False
    data_dir = Path(settings.data_dir).resolve()
    cmd = [sys.executable, "-m", "kb.background", "--data-dir", str(data_dir),
           "--workers", str(settings.embed_workers)]
    if settings.chroma_host:
        cmd += ["--chroma-host", settings.chroma_host, "--chroma-port", str(settings.chroma_port)]
    path = os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))
    env = dict(os.environ, PYTHONPATH=path, ANONYMIZED_TELEMETRY="False")
    env["POLICYQA_EMBEDDER"] = settings.embedder
    try:
        with open(settings.kb_dir / LOG_FILE, "ab") as log:
            proc = subprocess.Popen(cmd, cwd=ROOT, env=env, stdin=subprocess.DEVNULL,
                                    stdout=subprocess.DEVNULL, stderr=log, start_new_session=True)
    except OSError as exc:
        logger.warning("background embedder not started: %s", exc)
        return False
    threading.Thread(target=proc.wait, name="policyqa-embed-reaper", daemon=True).start()
    gen = current_generation(settings.kb_dir)
    if gen:  # "running" from now on, not "pending" while the new process imports (it rewrites this)
        reporter = _Reporter(settings.kb_dir, gen)
        reporter.pid = proc.pid
        reporter.write("running", "load")
    return True


def resume_embedding(settings: Settings) -> bool:
    """At start-up: go on with vectors an interrupted run left (same as start_background_embedding)."""
    return start_background_embedding(settings)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m kb.background", description="在后台补全知识库的向量索引。")
    parser.add_argument("--data-dir", type=Path, required=True, help="数据目录")
    parser.add_argument("--workers", type=int, help="向量化进程数")
    parser.add_argument("--chroma-host")
    parser.add_argument("--chroma-port", type=int)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    overrides: dict = {"data_dir": args.data_dir}
    if args.workers:
        overrides["embed_workers"] = max(1, args.workers)
    if args.chroma_host:
        overrides.update(chroma_host=args.chroma_host, chroma_port=args.chroma_port or 8000)
    status = complete_embeddings(load_settings(**overrides), wait=False)
    return 1 if status.state == "failed" else 0


if __name__ == "__main__":
    sys.exit(main())
