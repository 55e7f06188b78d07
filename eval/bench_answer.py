"""The answering part of `python -m eval.bench`: latency per category, memory while serving, and the
assistant against the naive LangChain RAG baseline, at several knowledge-base sizes."""

from __future__ import annotations

import json
import random
import shutil
import statistics
import tempfile
import time
from pathlib import Path

DEV_SET = Path(__file__).resolve().parents[2] / "shared" / "eval" / "dev.jsonl"
FALLBACK_QUESTIONS = [
    ("table", "乌海市二氧化硫目标是多少"), ("table", "2010年全区氮氧化物排放量是多少"), ("compare", "哪个盟市氮氧化物降幅最大"),
    ("compute", "呼伦贝尔市氮氧化物年均降幅是多少"), ("fact", "电石淘汰量"), ("narrative", "工业粉尘治理有哪些措施"),
    ("out_of_scope", "上海市氮氧化物减排目标是多少"),
]
ANSWER_COLUMNS = [
    ("corpus", "corpus"), ("system", "system"), ("chunks", "chunks"), ("questions", "questions"), ("pass_rate", "pass"),
    ("ready_s", "ready s"), ("p50_ms", "p50 ms"), ("p95_ms", "p95 ms"), ("peak_rss_mb", "peak RSS MB (serving)"),
    ("per_category", "p50 / p95 ms by category"),
]


def _cases_for_kb(corpus: str, plans) -> list[dict]:
    if corpus == "bundled plan":
        if DEV_SET.exists():
            return [json.loads(line) for line in DEV_SET.read_text(encoding="utf-8").splitlines() if line.strip()]
        return [{"id": f"q{i}", "category": c, "turns": [q]} for i, (c, q) in enumerate(FALLBACK_QUESTIONS)]
    from eval.synth import cases_for

    cases = []
    for plan in plans[:8]:
        cases += [c.model_dump() for c in cases_for(plan, random.Random(0), scoped=True)]
    return cases


def answer_child(spec: dict) -> int:
    """In a fresh process: open the knowledge base, warm up, answer every case; print one JSON line."""
    import logging

    from eval.cases import Case
    from eval.runner import RunContext, run_cases, summarize
    from eval.systems import SYSTEMS
    from kb.knowledge import KnowledgeBase
    from kb.settings import load_settings

    logging.basicConfig(level=logging.ERROR)
    t0 = time.perf_counter()
    settings = load_settings(data_dir=Path(spec["data_dir"]), embedder=spec["embedder"])
    kb = KnowledgeBase.open(settings)
    ask = SYSTEMS[spec["system"]](settings, kb)
    ready = time.perf_counter() - t0
    texts = {d["doc_id"]: kb.text_of(d["doc_id"]) for d in kb.docs}
    cases = [Case.model_validate(c) for c in spec["cases"]]
    rows = run_cases(cases, RunContext(ask, texts), spec["system"])
    lines = summarize(rows)
    per_category = {s["category"]: [s["p50_ms"], s["p95_ms"]] for s in lines[:-1]}
    overall = lines[-1]
    print(json.dumps({"ready_s": round(ready, 2), "chunks": len(kb.chunks), "questions": len(rows),
                      "pass_rate": overall["pass_rate"], "p50_ms": overall["p50_ms"], "p95_ms": overall["p95_ms"],
                      "median_ms": round(statistics.median(r["latency_ms"] for r in rows), 2),
                      "per_category": per_category}, ensure_ascii=False))
    return 0


def answer_section(ctx):
    """Build each knowledge base once (a fresh process), then answer in another fresh process per system."""
    from eval.bench import BUNDLED_PLAN, SectionResult, _child_env, _progress, measure
    from eval.generate import write_corpus

    result = SectionResult("answer", ANSWER_COLUMNS)
    corpora = [("bundled plan", BUNDLED_PLAN, ctx.bundled_embedder, None)]
    for n in ctx.sizes:
        folder = ctx.work / "answer-corpora" / f"n{n}"
        plans = write_corpus(folder, n, seed=ctx.seed, formats=ctx.formats)
        corpora.append((f"generated ×{n}", folder, ctx.embedder, plans))
    for label, path, embedder, plans in corpora:
        data_dir = Path(tempfile.mkdtemp(prefix="kb-answer-", dir=ctx.work))
        env = _child_env(None, data_dir)
        _progress(f"answer: building {label}")
        built = measure({"paths": [str(path)], "data_dir": str(data_dir), "embedder": embedder}, env)
        if not built.ok:
            result.notes.append(f"{label}: knowledge base not built ({built.error})")
            continue
        cases = _cases_for_kb(label, plans or [])
        systems = ["assistant", "naive-rag"] if label == "bundled plan" else ["assistant"]
        for system in systems:
            _progress(f"answer: {label} · {system} · {len(cases)} questions")
            spec = {"kind": "answer", "data_dir": str(data_dir), "embedder": embedder, "system": system, "cases": cases}
            m = measure(spec, env)
            row = {"corpus": label, "system": system, "peak_rss_mb": round(m.peak_rss_mb, 1)}
            if m.ok:
                r = m.result
                row.update({k: r[k] for k in ("chunks", "questions", "pass_rate", "ready_s", "p50_ms", "p95_ms")})
                row["pass_rate"] = f"{r['pass_rate'] * 100:.0f}%" if r["pass_rate"] is not None else None
                row["per_category"] = "; ".join(f"{c} {v[0]:.1f}/{v[1]:.1f}" for c, v in sorted(r["per_category"].items()))
            else:
                result.notes.append(f"{label} ({system}) failed: {m.error}")
            result.rows.append(row)
        shutil.rmtree(data_dir, ignore_errors=True)
    result.notes += [
        "latency: one answer (the last turn of a case) with the knowledge base loaded and warmed up; "
        "ready s: opening the knowledge base + warm-up in a fresh process.",
        "peak RSS: the serving process's high-water mark (wait4), knowledge base loaded, all questions answered.",
        "bundled plan questions: the dev set; generated corpora: questions written from the first plans' ground truth "
        "(eval.synth), asked against the whole corpus.",
        "naive-rag: RecursiveCharacterTextSplitter + the same Chroma and embedder, answer = the best chunk.",
    ]
    return result
