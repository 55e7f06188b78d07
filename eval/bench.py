"""`python -m eval.bench`: ingest (time to answerable, to fully embedded), answering (latency per category,
serving memory, time to ready, against the naive baseline) and retrieval (the dense gate), with the default
embedder, on the bundled plan, the real plans in ../shared/corpus/real/docs and generated corpora.

Every measurement runs in a fresh Python process; its peak RSS comes from the kernel (``os.wait4``), so one
size never inherits another's memory. Results go to ``<out>/bench.json`` and ``<out>/bench.md``.

    python -m eval.bench                                # sizes 1,10,100,1000, embedded Chroma, embedder use
    python -m eval.bench --sizes 1,10 --embedder hash   # a quick run
    python -m eval.bench --server                       # and against a Chroma server started here

Sections are plain functions registered in SECTIONS (``--sections ingest,answer,retrieval``); each gets a
BenchContext and returns a SectionResult, written and printed the same way for all of them. A knowledge base
built by one section is reused by the next.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import platform
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Callable

from kb.chroma_server import ChromaServer, chroma_server

ROOT = Path(__file__).resolve().parents[1]
BUNDLED_PLAN = ROOT / "data" / "sample" / "内蒙古自治区十二五节能减排规划.txt"
REAL_PLANS = ROOT.parent / "shared" / "corpus" / "real" / "docs"
DEFAULT_SIZES = "1,10,100,1000"
DEFAULT_FORMATS = "txt,txt-gb18030,md,docx,html"
DEFAULT_OUT = Path("results/bench")
CHILD_TIMEOUT_S = 1800


@dataclass
class Corpus:
    label: str
    path: Path
    docs: int
    plans: list = field(default_factory=list)  # generated plans (their ground truth), for the questions


@dataclass
class BenchContext:
    sizes: list[int]
    seed: int
    formats: tuple[str, ...]
    embedder: str
    work: Path  # scratch folder, removed at the end
    server: ChromaServer | None = None
    real: bool = True  # include the real plans
    built: dict = field(default_factory=dict)  # (corpus label, chroma mode) → (data dir, ingest measurement)

    @property
    def chroma_modes(self) -> list[str]:
        return ["embedded"] + (["server"] if self.server else [])

    def corpora(self) -> list[Corpus]:
        """The bundled plan, the real plans, then one generated corpus per size (written once)."""
        if not hasattr(self, "_corpora"):
            from eval.generate import write_corpus

            found = [Corpus("bundled plan", BUNDLED_PLAN, 1)]
            if self.real and REAL_PLANS.is_dir():
                found.append(Corpus("real plans", REAL_PLANS, len(list(REAL_PLANS.glob("*.md")))))
            for n in self.sizes:
                folder = self.work / "corpora" / f"n{n}"
                found.append(Corpus(f"generated ×{n}", folder, n, write_corpus(folder, n, seed=self.seed,
                                                                             formats=self.formats)))
            self._corpora = found
        return self._corpora

    def _one_more_plan(self) -> Path:
        from eval.generate import generate_corpus

        folder = self.work / "one-more"
        if not folder.exists():
            folder.mkdir(parents=True)
            (plan,) = generate_corpus(1, self.seed + 7919, self.formats[:1])
            (folder / f"新增_{plan.name}").write_bytes(plan.data)
        return folder

    def knowledge_base(self, corpus: Corpus, mode: str) -> tuple[Path, Measurement]:
        """A knowledge base of `corpus` (vectors sealed), built in a fresh process when first asked for."""
        key = (corpus.label, mode)
        if key not in self.built:
            data_dir = Path(tempfile.mkdtemp(prefix="kb-", dir=self.work))
            spec = {"paths": [str(corpus.path)], "data_dir": str(data_dir), "embedder": self.embedder,
                    "again": corpus.label == "bundled plan"}
            if corpus.plans and corpus.docs == max(self.sizes) > 1:  # then one more plan into the big base
                spec["add_one"] = str(self._one_more_plan())
            self.built[key] = (data_dir, measure(spec, _child_env(self.server if mode == "server" else None,
                                                                  data_dir)))
        return self.built[key]


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
    """In the fresh process: load what ingest needs (timed apart), ingest the files, print one JSON line.

    answerable: the generation is live and a freshly opened knowledge base answers a search; embedded: its
    vectors are sealed too. With "again", the documents are then deleted and added back (all from the cache).
    """
    import resource

    if spec.get("kind") in ("answer", "retrieval"):
        from eval import bench_answer

        return getattr(bench_answer, f"{spec['kind']}_child")(spec)

    t0 = time.perf_counter()
    import chromadb  # noqa: F401 (imported here so its import cost is setup, not ingest)
    import jieba

    from ingest.pipeline import delete_documents, ingest_paths
    from kb.background import complete_embeddings
    from kb.embed import get_embedder
    from kb.knowledge import KnowledgeBase
    from kb.settings import load_settings

    jieba.setLogLevel(60)
    jieba.initialize()
    settings = load_settings(data_dir=Path(spec["data_dir"]), embedder=spec["embedder"])
    embedder = get_embedder(settings.embedder)  # cached: ingest reuses this instance
    embedder.encode(["预热"])  # the model loaded: what "after the model is loaded" means below
    setup_s = time.perf_counter() - t0
    setup_rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024

    def timed_ingest() -> dict:
        t1 = time.perf_counter()
        report = ingest_paths(settings, [Path(p) for p in spec["paths"]], embed="defer")
        written = time.perf_counter() - t1
        KnowledgeBase.open(settings).search("目标", k=1, dense=False)
        answerable = time.perf_counter() - t1
        status = complete_embeddings(settings)
        return {"written_s": round(written, 3), "answerable_s": round(answerable, 3),
                "embedded_s": round(time.perf_counter() - t1, 3), "embedding": status.state,
                "sources": _sources(settings), "report": report}

    first = timed_ingest()
    result = {k: v for k, v in first.items() if k != "report"}
    if spec.get("again"):
        doc_ids = [d["doc_id"] for d in KnowledgeBase.open(settings).docs]
        delete_documents(settings, doc_ids, embed="defer")
        complete_embeddings(settings)
        result["again"] = {k: v for k, v in timed_ingest().items() if k != "report"}
    if spec.get("add_one"):
        spec["paths"] = [spec["add_one"]]
        result["add_one"] = {k: v for k, v in timed_ingest().items() if k != "report"}
    report = first["report"]
    print(json.dumps({
        "setup_s": round(setup_s, 3), "setup_rss_mb": round(setup_rss, 1), **result,
        "embedder": embedder.name, "files": len(report.results), "failed": len(report.failed),
        "failures": [f"{r.name}: {r.error}" for r in report.failed][:5], **report.totals,
    }, ensure_ascii=False))
    return 0


def _sources(settings) -> dict:
    from kb.dense import DENSE_FILE
    from kb.store import current_generation

    try:
        gen_dir = settings.kb_dir / "gens" / current_generation(settings.kb_dir)
        return json.loads((gen_dir / DENSE_FILE).read_text(encoding="utf-8")).get("sources", {})
    except (OSError, TypeError, ValueError):
        return {}


def _folder_mb(path: Path) -> float:
    return round(sum(p.stat().st_size for p in path.rglob("*") if p.is_file()) / 1024 / 1024, 1)


def _child_env(server: ChromaServer | None, data_dir: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("CHROMA_HOST", "CHROMA_PORT")}
    env.update(ANONYMIZED_TELEMETRY="False", POLICYQA_DATA_DIR=str(data_dir))
    if server:
        env.update(CHROMA_HOST=server.host, CHROMA_PORT=str(server.port))
    return env


# ---------- sections ----------

INGEST_COLUMNS = [
    ("corpus", "corpus"), ("chroma", "chroma"), ("docs", "docs"), ("chunks", "chunks"),
    ("answerable_s", "answerable s"), ("embedded_s", "fully embedded s"),
    ("vectors", "vectors encoded / cached"),
    ("chunks_per_s", "chunks/s embedded"), ("peak_rss_mb", "peak RSS MB"), ("setup_s", "setup s"),
    ("kb_mb", "KB on disk MB"), ("server_peak_rss_mb", "server peak RSS MB"),
]


def ingest_section(ctx: BenchContext) -> SectionResult:
    """Ingest each corpus into an empty knowledge base: time to answerable, time to fully embedded."""
    result = SectionResult("ingest", INGEST_COLUMNS)
    for mode in ctx.chroma_modes:
        for corpus in ctx.corpora():
            _progress(f"ingest: {corpus.label} · {mode} · {ctx.embedder}")
            data_dir, m = ctx.knowledge_base(corpus, mode)
            row = _ingest_row(corpus.label, corpus.docs, mode, m, data_dir, result.notes)
            result.rows.append(row)
            for key, what in (("again", "deleted, added back"), ("add_one", "then one more plan")):
                if m.ok and m.result.get(key):
                    extra = _ingest_row(f"{corpus.label} ({what})", corpus.docs, mode, m, data_dir,
                                        result.notes, m.result[key])
                    extra.update(peak_rss_mb=None, setup_s=None, kb_mb=None, chunks_per_s=None)
                    result.rows.append(extra)
            if ctx.server and mode == "server":
                row.update(ctx.server.memory_mb())
            _progress(f"  → answerable {_cell(row.get('answerable_s'))} s, "
                      f"embedded {_cell(row.get('embedded_s'))} s, peak {row['peak_rss_mb']} MB, "
                      f"{row.get('chunks')} chunks")
    result.notes += [
        f"embedder {ctx.embedder}, model loaded before the clock starts (setup s); answerable: until the new "
        "generation is live and opens and answers a search; fully embedded: until its vectors are sealed "
        "(cache, encoder on every core, Chroma); vectors encoded / from the cache or previous generation.",
        f"peak RSS: wait4 high-water mark of a fresh process per corpus; generated: eval.generate seed "
        f"{ctx.seed}, formats {', '.join(ctx.formats)} in turn.",
    ]
    if ctx.server:
        result.notes.append("server peak RSS: the one server's high-water mark so far (it serves every row).")
    return result


def _ingest_row(label: str, docs: int, mode: str, m: Measurement, data_dir: Path, notes: list[str],
                timing: dict | None = None) -> dict:
    row = {"corpus": label, "chroma": mode, "docs": docs, "ok": m.ok, "wall_s": round(m.wall_s, 2),
           "peak_rss_mb": round(m.peak_rss_mb, 1), "kb_mb": _folder_mb(data_dir)}
    if not m.ok:
        notes.append(f"{label} ({mode}) failed: {m.error}")
        return row
    r = m.result
    timing = timing or r
    row.update({k: r[k] for k in ("setup_s", "setup_rss_mb", "chunks", "tables", "facts", "documents",
                                  "failed") if k in r})
    row.update({k: timing.get(k) for k in ("written_s", "answerable_s", "embedded_s", "embedding")})
    sources = timing.get("sources") or {}
    row["vectors"] = f"{sources.get('encoded', 0)} / {sources.get('cached', 0) + sources.get('known', 0)}"
    embed_s = (timing.get("embedded_s") or 0) - (timing.get("written_s") or 0)
    row["chunks_per_s"] = round(r.get("chunks", 0) / embed_s, 1) if embed_s > 0 else None
    if r.get("failed"):
        notes.append(f"{label} ({mode}): {r['failed']} files failed, e.g. {r['failures'][:2]}")
    return row


# name → "module:function"; answer and retrieval live in eval.bench_answer
SECTIONS: dict[str, str] = {"ingest": "eval.bench:ingest_section",
                            "answer": "eval.bench_answer:answer_section",
                            "retrieval": "eval.bench_answer:retrieval_section",
                            "formats": "eval.bench_formats:formats_section"}


def _run_section(name: str, ctx: BenchContext) -> SectionResult:
    """One section; one that fails is reported as such and the others still run."""
    import importlib
    import traceback

    module, function = SECTIONS[name].split(":")
    try:
        section: Callable[[BenchContext], SectionResult] = getattr(importlib.import_module(module), function)
        return section(ctx)
    except Exception as exc:  # noqa: BLE001 (a benchmark run of half an hour keeps what it measured)
        _progress(traceback.format_exc())
        return SectionResult(name, [("error", "error")], notes=[f"{name} failed: {exc!r}"])


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
    parser = argparse.ArgumentParser(prog="python -m eval.bench",
                                     description="性能基准：导入（可提问用时、向量补全用时）、回答延迟与内存、检索召回。")
    parser.add_argument("--sizes", type=_int_list, default=_int_list(DEFAULT_SIZES),
                        help=f"生成语料的文档数（默认 {DEFAULT_SIZES}）")
    parser.add_argument("--sections", default=",".join(SECTIONS), help=f"要运行的部分，逗号分隔：{', '.join(SECTIONS)}")
    parser.add_argument("--server", action="store_true", help="另外启动一个 Chroma 服务器并对它再测一遍")
    parser.add_argument("--embedder", default="use", help="向量模型（默认 use，与知识库默认相同；hash 用于快速试跑）")
    parser.add_argument("--no-real", action="store_true", help="不测 ../shared/corpus/real/docs 中的真实规划")
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
    ctx = BenchContext(args.sizes, args.seed, formats, args.embedder, work, real=not args.no_real)
    results: list[SectionResult] = []
    try:
        with chroma_server(work / "chroma-server") if args.server else contextlib.nullcontext() as server:
            ctx.server = server
            for name in sections:
                results.append(_run_section(name, ctx))
                _write_results(args, results)
    finally:
        if args.keep:
            _progress(f"临时目录保留在 {work}")
        else:
            shutil.rmtree(work, ignore_errors=True)
    print(_write_results(args, results))
    return 0


def _write_results(args, results: list[SectionResult]) -> str:
    """bench.json and bench.md of the sections so far (rewritten after each one)."""
    args.out.mkdir(parents=True, exist_ok=True)
    payload = {"machine": _machine(), "args": {k: str(v) for k, v in vars(args).items() if k != "child"},
               "sections": {r.name: asdict(r) for r in results}}
    (args.out / "bench.json").write_text(json.dumps(payload, ensure_ascii=False, indent=1), encoding="utf-8")
    markdown = "\n".join(r.markdown() for r in results)
    title = f"# 基准 {payload['machine']['started']}\n\n"
    (args.out / "bench.md").write_text(title + markdown, encoding="utf-8")
    return markdown


if __name__ == "__main__":
    sys.exit(main())
