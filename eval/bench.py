"""`python -m eval.bench`: ingest time and peak memory on the bundled plan and on generated corpora.

Every measurement runs in a fresh Python process; its peak RSS comes from the kernel (``os.wait4``), so one
size never inherits another's memory. Results go to ``<out>/bench.json`` and ``<out>/bench.md``.

    python -m eval.bench                                # sizes 1,10,100,200,1000, embedded Chroma
    python -m eval.bench --sizes 1,10,100 --server      # and against a Chroma server started here

Sections are plain functions registered in SECTIONS (``--sections ingest,answer``); each gets a BenchContext
and returns a SectionResult, which is written and printed the same way for all of them.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import platform
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Callable

ROOT = Path(__file__).resolve().parents[1]
BUNDLED_PLAN = ROOT / "data" / "sample" / "内蒙古自治区十二五节能减排规划.txt"
DEFAULT_SIZES = "1,10,100,200,1000"
DEFAULT_FORMATS = "txt,txt-gb18030,md,docx,html"
DEFAULT_OUT = Path("results/bench")
CHILD_TIMEOUT_S = 1800
SERVER_START_TIMEOUT_S = 90


@dataclass
class ChromaServer:
    host: str
    port: int
    pid: int
    log: Path

    def memory_mb(self) -> dict:
        """Current and peak resident memory of the server process (the peak covers its whole life)."""
        try:
            status = Path(f"/proc/{self.pid}/status").read_text()
        except OSError:
            return {}
        values = dict(line.split(":", 1) for line in status.splitlines() if ":" in line)
        names = {"server_rss_mb": "VmRSS", "server_peak_rss_mb": "VmHWM"}
        return {key: round(int(values[name].split()[0]) / 1024, 1)
                for key, name in names.items() if name in values}


@dataclass
class BenchContext:
    sizes: list[int]
    seed: int
    formats: tuple[str, ...]
    embedder: str  # for generated corpora
    bundled_embedder: str
    work: Path  # scratch folder, removed at the end
    server: ChromaServer | None = None

    @property
    def chroma_modes(self) -> list[str]:
        return ["embedded"] + (["server"] if self.server else [])


@dataclass
class SectionResult:
    name: str
    columns: list[tuple[str, str]]  # (row key, markdown header)
    rows: list[dict] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def markdown(self) -> str:
        lines = [f"## {self.name}", "", "| " + " | ".join(h for _, h in self.columns) + " |",
                 "|" + "---|" * len(self.columns)]
        for row in self.rows:
            lines.append("| " + " | ".join(_cell(row.get(key)) for key, _ in self.columns) + " |")
        lines += [""] + [f"- {note}" for note in self.notes]
        return "\n".join(lines).rstrip() + "\n"


def _cell(value) -> str:
    if value is None:
        return "–"
    if isinstance(value, float):
        return f"{value:.2f}" if value < 100 else f"{value:.0f}"
    return str(value)


# ---------- one measurement = one fresh process ----------

@dataclass
class Measurement:
    ok: bool
    wall_s: float  # the whole child process, imports included
    peak_rss_mb: float  # from wait4: the child's own high-water mark
    result: dict  # what the child reported (setup_s, ingest_s, counts…)
    error: str = ""


def measure(spec: dict, env: dict[str, str], timeout_s: float = CHILD_TIMEOUT_S) -> Measurement:
    """Run `_child(spec)` in a new interpreter and read its peak RSS from the kernel."""
    with tempfile.TemporaryFile() as err:
        started = time.perf_counter()
        command = [sys.executable, "-m", "eval.bench", "--child", json.dumps(spec)]
        proc = subprocess.Popen(command, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=err)
        watchdog = threading.Timer(timeout_s, proc.kill)
        watchdog.start()
        try:
            out = proc.stdout.read()
            _, status, usage = os.wait4(proc.pid, 0)  # not proc.wait(): wait4 also returns the child's rusage
            proc.returncode = os.waitstatus_to_exitcode(status)
        finally:
            watchdog.cancel()
            proc.stdout.close()
        wall = time.perf_counter() - started
        err.seek(0)
        stderr = err.read().decode("utf-8", "replace")
    peak = usage.ru_maxrss / 1024  # KiB on Linux
    lines = out.decode("utf-8", "replace").strip().splitlines()
    if proc.returncode != 0 or not lines:
        tail = stderr.strip().splitlines()[-5:]
        return Measurement(False, wall, peak, {}, f"exit {proc.returncode}: {' | '.join(tail)}")
    return Measurement(True, wall, peak, json.loads(lines[-1]))


def _child(spec: dict) -> int:
    """In the fresh process: load what ingest needs (timed apart), ingest the files, print one JSON line."""
    import resource

    if spec.get("kind") == "answer":
        from eval.bench_answer import answer_child

        return answer_child(spec)

    t0 = time.perf_counter()
    import chromadb  # noqa: F401 (imported here so its import cost is setup, not ingest)
    import jieba

    from ingest.pipeline import ingest_paths
    from kb.embed import get_embedder
    from kb.settings import load_settings

    jieba.setLogLevel(60)
    jieba.initialize()
    settings = load_settings(data_dir=Path(spec["data_dir"]), embedder=spec["embedder"])
    embedder = get_embedder(settings.embedder)  # cached: ingest reuses this instance
    setup_s = time.perf_counter() - t0
    setup_rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    t1 = time.perf_counter()
    report = ingest_paths(settings, [Path(p) for p in spec["paths"]])
    ingest_s = time.perf_counter() - t1
    print(json.dumps({
        "setup_s": round(setup_s, 3), "ingest_s": round(ingest_s, 3), "setup_rss_mb": round(setup_rss, 1),
        "embedder": embedder.name, "files": len(report.results), "failed": len(report.failed),
        "failures": [f"{r.name}: {r.error}" for r in report.failed][:5], **report.totals,
    }, ensure_ascii=False))
    return 0


def _folder_mb(path: Path) -> float:
    return round(sum(p.stat().st_size for p in path.rglob("*") if p.is_file()) / 1024 / 1024, 1)


def _child_env(server: ChromaServer | None, data_dir: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("CHROMA_HOST", "CHROMA_PORT")}
    env.update(ANONYMIZED_TELEMETRY="False", POLICYQA_DATA_DIR=str(data_dir))
    if server:
        env.update(CHROMA_HOST=server.host, CHROMA_PORT=str(server.port))
    return env


# ---------- the Chroma server ----------

def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _chroma_command() -> str:
    local = Path(sys.executable).parent / "chroma"
    found = str(local) if local.exists() else shutil.which("chroma")
    if not found:
        raise SystemExit("找不到 chroma 命令：请在虚拟环境中安装 chromadb（pip install chromadb）。")
    return found


@contextlib.contextmanager
def chroma_server(folder: Path):
    """Start `chroma run` on a free port in `folder`, wait for its heartbeat; always stop it afterwards."""
    port = _free_port()
    log = folder / "chroma-server.log"
    folder.mkdir(parents=True, exist_ok=True)
    env = dict(os.environ, ANONYMIZED_TELEMETRY="False")
    command = [_chroma_command(), "run", "--path", str(folder / "data"), "--port", str(port)]
    with open(log, "wb") as log_fh:
        proc = subprocess.Popen(command, stdout=log_fh, stderr=subprocess.STDOUT, env=env,
                                start_new_session=True)
    try:
        _wait_for_heartbeat(proc, port, log)
        yield ChromaServer("127.0.0.1", port, proc.pid, log)
    finally:
        _stop(proc)


def _wait_for_heartbeat(proc: subprocess.Popen, port: int, log: Path) -> None:
    url = f"http://127.0.0.1:{port}/api/v2/heartbeat"
    deadline = time.monotonic() + SERVER_START_TIMEOUT_S
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            tail = log.read_text(errors="replace")[-500:]
            raise RuntimeError(f"chroma server exited ({proc.returncode}): {tail}")
        with contextlib.suppress(OSError):
            with urllib.request.urlopen(url, timeout=2) as resp:
                if resp.status == 200:
                    return
        time.sleep(0.3)
    raise RuntimeError(f"chroma server gave no heartbeat on port {port} within {SERVER_START_TIMEOUT_S}s")


def _stop(proc: subprocess.Popen) -> None:
    if proc.poll() is not None:
        return
    # Its own session (start_new_session): the group holds only what this server started.
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, signal.SIGTERM)
    try:
        proc.wait(timeout=15)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=15)


# ---------- sections ----------

INGEST_COLUMNS = [
    ("corpus", "corpus"), ("chroma", "chroma"), ("embedder", "embedder"), ("docs", "docs"),
    ("ingest_s", "ingest s"), ("docs_per_s", "docs/s"), ("chunks", "chunks"), ("chunks_per_s", "chunks/s"),
    ("peak_rss_mb", "peak RSS MB"), ("setup_rss_mb", "RSS after setup MB"), ("setup_s", "setup s"),
    ("kb_mb", "KB on disk MB"), ("server_peak_rss_mb", "server peak RSS MB"),
]


def ingest_section(ctx: BenchContext) -> SectionResult:
    """Ingest the bundled plan and generated corpora of each size into an empty knowledge base."""
    from eval.generate import write_corpus

    result = SectionResult("ingest", INGEST_COLUMNS)
    corpora: list[tuple[str, Path, str, int]] = [("bundled plan", BUNDLED_PLAN, ctx.bundled_embedder, 1)]
    if ctx.embedder != ctx.bundled_embedder:
        corpora.append(("bundled plan", BUNDLED_PLAN, ctx.embedder, 1))
    for n in ctx.sizes:
        folder = ctx.work / "corpora" / f"n{n}"
        write_corpus(folder, n, seed=ctx.seed, formats=ctx.formats)
        corpora.append((f"generated ×{n}", folder, ctx.embedder, n))
    for mode in ctx.chroma_modes:
        for label, path, embedder, n in corpora:
            _progress(f"ingest: {label} · {mode} · {embedder}")
            row = _ingest_row(ctx, mode, label, path, embedder, n, result.notes)
            result.rows.append(row)
            _progress(f"  → {_cell(row.get('ingest_s'))} s, peak {row['peak_rss_mb']} MB, "
                      f"{row.get('chunks')} chunks")
    result.notes += [
        "ingest s: ingest_paths() alone (parse, embed, parquet, Chroma); setup s: imports, jieba, embedder.",
        "peak RSS: the child process's high-water mark from wait4, one fresh process per row.",
        f"generated corpora: eval.generate seed {ctx.seed}, formats {', '.join(ctx.formats)} in turn.",
    ]
    if ctx.server:
        result.notes.append("server peak RSS: the one server's high-water mark so far (it serves every row).")
    return result


def _ingest_row(ctx: BenchContext, mode: str, label: str, path: Path, embedder: str, n: int,
                notes: list[str]) -> dict:
    server = ctx.server if mode == "server" else None
    data_dir = Path(tempfile.mkdtemp(prefix="kb-", dir=ctx.work))
    spec = {"paths": [str(path)], "data_dir": str(data_dir), "embedder": embedder}
    m = measure(spec, _child_env(server, data_dir))
    row = {"corpus": label, "chroma": mode, "embedder": embedder, "docs": n, "ok": m.ok,
           "wall_s": round(m.wall_s, 2), "peak_rss_mb": round(m.peak_rss_mb, 1),
           "kb_mb": _folder_mb(data_dir)}
    shutil.rmtree(data_dir, ignore_errors=True)
    if server:
        row.update(server.memory_mb())
    if not m.ok:
        notes.append(f"{label} ({mode}) failed: {m.error}")
        return row
    r = m.result
    keys = ("setup_s", "ingest_s", "setup_rss_mb", "chunks", "tables", "facts", "documents", "failed",
            "failures")
    row.update({k: r[k] for k in keys if k in r})
    seconds = r["ingest_s"] or None
    row["docs_per_s"] = round(n / seconds, 2) if seconds else None
    row["chunks_per_s"] = round(r.get("chunks", 0) / seconds, 1) if seconds else None
    if r.get("failed"):
        notes.append(f"{label} ({mode}): {r['failed']} files failed, e.g. {r['failures'][:2]}")
    return row


def _answer_section(ctx: BenchContext) -> SectionResult:
    from eval.bench_answer import answer_section

    return answer_section(ctx)


SECTIONS: dict[str, Callable[[BenchContext], SectionResult]] = {
    "ingest": ingest_section,
    "answer": _answer_section,
}


# ---------- CLI ----------

def _progress(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def _int_list(text: str) -> list[int]:
    try:
        values = [int(x) for x in text.split(",") if x.strip()]
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"不是逗号分隔的整数：{text}") from exc
    if not values or min(values) < 1:
        raise argparse.ArgumentTypeError("规模必须是正整数")
    return values


def _machine() -> dict:
    import chromadb

    return {"python": platform.python_version(), "platform": platform.platform(), "cpus": os.cpu_count(),
            "chromadb": chromadb.__version__, "started": time.strftime("%Y-%m-%d %H:%M:%S")}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m eval.bench", description="导入性能基准：用时与峰值内存。")
    parser.add_argument("--sizes", type=_int_list, default=_int_list(DEFAULT_SIZES),
                        help=f"生成语料的文档数（默认 {DEFAULT_SIZES}）")
    parser.add_argument("--sections", default="ingest,answer", help=f"要运行的部分，逗号分隔：{', '.join(SECTIONS)}")
    parser.add_argument("--server", action="store_true", help="另外启动一个 Chroma 服务器并对它再测一遍")
    parser.add_argument("--embedder", default="hash", help="生成语料用的向量模型（默认 hash；use 约 0.2 秒/块）")
    parser.add_argument("--bundled-embedder", default="use", help="自带规划用的向量模型（默认 use）")
    parser.add_argument("--formats", default=DEFAULT_FORMATS, help=f"生成语料的格式，轮流使用（默认 {DEFAULT_FORMATS}）")
    parser.add_argument("--seed", type=int, default=0, help="生成语料的随机种子")
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help="结果目录（默认 results/bench）")
    parser.add_argument("--keep", action="store_true", help="保留临时目录（语料、服务器日志）")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        return _child(json.loads(args.child))

    from eval.generate import FORMATS

    sections = [s.strip() for s in args.sections.split(",") if s.strip()]
    formats = tuple(f.strip() for f in args.formats.split(",") if f.strip())
    unknown = [s for s in sections if s not in SECTIONS] + [f for f in formats if f not in FORMATS]
    if unknown:
        parser.error(f"未知的部分或格式：{', '.join(unknown)}（部分：{', '.join(SECTIONS)}；格式：{', '.join(FORMATS)}）")
    # SIGTERM as an exception, so the finally blocks below still stop the Chroma server.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    work = Path(tempfile.mkdtemp(prefix="policyqa-bench-"))
    ctx = BenchContext(args.sizes, args.seed, formats, args.embedder, args.bundled_embedder, work)
    results: list[SectionResult] = []
    try:
        with chroma_server(work / "chroma-server") if args.server else contextlib.nullcontext() as server:
            ctx.server = server
            for name in sections:
                results.append(SECTIONS[name](ctx))
    finally:
        if args.keep:
            _progress(f"临时目录保留在 {work}")
        else:
            shutil.rmtree(work, ignore_errors=True)
    args.out.mkdir(parents=True, exist_ok=True)
    payload = {"machine": _machine(), "args": {k: str(v) for k, v in vars(args).items() if k != "child"},
               "sections": {r.name: asdict(r) for r in results}}
    (args.out / "bench.json").write_text(json.dumps(payload, ensure_ascii=False, indent=1), encoding="utf-8")
    markdown = "\n".join(r.markdown() for r in results)
    title = f"# 基准 {payload['machine']['started']}\n\n"
    (args.out / "bench.md").write_text(title + markdown, encoding="utf-8")
    print(markdown)
    return 0


if __name__ == "__main__":
    sys.exit(main())
