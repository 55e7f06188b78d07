"""The answering and retrieval parts of `python -m eval.bench`.

answer: latency per category, memory while serving and time to ready, at several knowledge-base sizes, on an
embedded Chroma and a Chroma server, and the assistant against the naive chunk-and-embed baseline.
retrieval: recall@5 of BM25 alone, with dense fusion on every search, and with the dense gate (the default).
Questions: the dev set for the bundled plan; for the real plans, their question set (eval/questions) and
questions written from their own tables, facts and headings (no expected answers: latency and retrieval
only); for generated plans, eval.synth.
"""

from __future__ import annotations

import json
import random
import re
import statistics
import time
from pathlib import Path

_SHARED_DEV = Path(__file__).resolve().parents[2] / "shared" / "eval" / "dev.jsonl"
# the development set as received; the repository keeps a copy so a clone anywhere can run the benchmark
DEV_SET = _SHARED_DEV if _SHARED_DEV.exists() else Path(__file__).resolve().parent / "questions" / "dev.jsonl"
REAL_SET = Path(__file__).resolve().parent / "questions" / "real_docs.jsonl"  # questions on the real plans
FALLBACK_QUESTIONS = [
    ("table", "乌海市二氧化硫目标是多少"), ("table", "2010年全区氮氧化物排放量是多少"), ("compare", "哪个盟市氮氧化物降幅最大"),
    ("compute", "呼伦贝尔市氮氧化物年均降幅是多少"), ("fact", "电石淘汰量"), ("narrative", "工业粉尘治理有哪些措施"),
    ("out_of_scope", "上海市氮氧化物减排目标是多少"),
]
OUT_OF_SCOPE = ["火星基地建设目标是多少", "2035年人均预期寿命目标是多少", "量子计算产业规模要达到多少",
                "北京市氮氧化物减排目标是多少"]
PER_DOC = 3  # questions of each kind per real plan
ANSWER_COLUMNS = [
    ("corpus", "corpus"), ("chroma", "chroma"), ("system", "system"), ("chunks", "chunks"),
    ("questions", "questions"), ("pass_rate", "pass"), ("ready_s", "ready s"),
    ("dense_ready_s", "dense ready s"), ("p50_ms", "p50 ms"), ("p95_ms", "p95 ms"),
    ("lexical_mb", "RSS MB ready"), ("serving_mb", "peak RSS MB serving"), ("dense_share", "asked dense"),
    ("per_category", "p50 / p95 ms by category"),
]
RETRIEVAL_COLUMNS = [
    ("corpus", "corpus"), ("kind", "questions"), ("searches", "n"), ("lexical", "recall@5 BM25"),
    ("always", "recall@5 BM25 + dense"), ("gated", "recall@5 gated (default)"),
    ("gated_share", "gated: asked dense"), ("always_ms", "ms/search always"), ("gated_ms", "ms/search gated"),
]


# ---------- questions ----------

def _dev_cases(path: Path = DEV_SET) -> list[dict]:
    if path.exists():
        return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    if path != DEV_SET:
        return []
    return [{"id": f"q{i}", "category": c, "turns": [q]} for i, (c, q) in enumerate(FALLBACK_QUESTIONS)]


def _evidence_searches(cases: list[dict], kind: str) -> list[dict]:
    return [{"kind": kind, "query": " ".join(c["turns"]), "evidence": c["evidence"]}
            for c in cases if c.get("evidence")]


def _title(path: str) -> str:
    last = path.split(" › ")[-1] if path else ""
    return re.sub(r"^[（(]?[一二三四五六七八九十\d]+[)）、.．]?\s*", "", last).strip()


def real_questions(data_dir: Path) -> tuple[list[dict], list[dict]]:
    """(answer cases, retrieval cases) written from the real plans' own tables, facts, headings and sentences.

    Retrieval cases carry evidence (a string of the document a top-5 chunk must hold): a heading asked about
    ("…有哪些要求" → the section's first sentence), a fact ("主体+动作+多少" → its clause), and three words of a
    sentence in shuffled order (→ that sentence).
    """
    import jieba

    from kb.knowledge import KnowledgeBase
    from kb.settings import load_settings

    jieba.setLogLevel(60)
    kb = KnowledgeBase.open(load_settings(data_dir=data_dir, embedder="hash"))
    rng = random.Random(0)
    answers: list[dict] = []
    searches: list[dict] = []
    for _, part in sorted(kb.by_document().items()):
        cells = [c for t in part["tables"] for c in t.cells if c.value is not None and c.row_label]
        for c in rng.sample(cells, min(PER_DOC, len(cells))):
            answers.append({"category": "table", "turns": [f"{c.row_label}{c.column}是多少"]})
        facts = [f for f in part["facts"] if len(f.subject) >= 2]
        for f in rng.sample(facts, min(PER_DOC, len(facts))):
            answers.append({"category": "fact", "turns": [f"{f.subject}{f.action}多少"]})
            searches.append({"kind": "fact", "query": f"{f.subject}{f.action}多少", "evidence": [f.quote]})
        titled = {}
        for c in part["chunks"]:
            first = re.split(r"[。；]", c.text.split("\n", 1)[-1])[0].strip()
            if c.kind == "text" and len(re.findall(r"[\u4e00-\u9fff]", _title(c.section_path))) >= 4 \
                    and len(first) >= 12:
                titled.setdefault(_title(c.section_path), first[:20])
        for title, first in rng.sample(sorted(titled.items()), min(PER_DOC, len(titled))):
            answers.append({"category": "narrative", "turns": [f"{title}有哪些措施"]})
            searches.append({"kind": "heading", "query": f"{title}有哪些要求", "evidence": [first]})
        sentences = [s.strip() for c in part["chunks"] if c.kind == "text"
                     for s in re.split(r"[。；\n]", c.text) if len(s.strip()) >= 20]
        for sentence in rng.sample(sentences, min(PER_DOC, len(sentences))):
            words = [w for w in jieba.cut(sentence) if len(w) >= 2 and re.fullmatch(r"[\u4e00-\u9fff]+", w)]
            if len(words) >= 3:
                searches.append({"kind": "words", "query": "".join(rng.sample(words, 3)),
                                 "evidence": [sentence[:20]]})
    answers += [{"category": "out_of_scope", "turns": [q]} for q in OUT_OF_SCOPE]
    for i, case in enumerate(answers):
        case["id"] = f"real-{i:03d}"
    return answers, searches


def _generated_cases(plans) -> list[dict]:
    from eval.synth import cases_for

    cases = []
    for plan in plans[:8]:
        cases += [c.model_dump() for c in cases_for(plan, random.Random(0), scoped=True)]
    return cases


# ---------- children (fresh processes) ----------

def answer_child(spec: dict) -> int:
    """Open the knowledge base, warm up as the app does, answer every case; print one JSON line."""
    import logging
    import resource

    from eval.cases import Case
    from eval.runner import RunContext, run_cases, summarize
    from eval.systems import SYSTEMS
    from kb.knowledge import open_kb
    from kb.settings import load_settings

    logging.basicConfig(level=logging.ERROR)
    t0 = time.perf_counter()
    settings = load_settings(data_dir=Path(spec["data_dir"]), embedder=spec["embedder"])
    kb = open_kb(settings)  # the instance the assistant uses too: one copy of the knowledge base in memory
    ask = SYSTEMS[spec["system"]](settings, kb)
    ready = time.perf_counter() - t0
    lexical_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    # As the app should (it warms in the background): embedder and Chroma loaded before the first question
    # the gate sends to them, or that question pays ~2 s of imports.
    kb.warm_dense()
    dense_ready = time.perf_counter() - t0
    warm_calls = kb.dense_calls
    texts = {d["doc_id"]: kb.text_of(d["doc_id"]) for d in kb.docs}
    cases = [Case.model_validate(c) for c in spec["cases"]]
    rows = run_cases(cases, RunContext(ask, texts), spec["system"])
    lines = summarize(rows)
    overall = lines[-1]
    print(json.dumps({"lexical_mb": round(lexical_mb, 1),
                      "serving_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
                      "ready_s": round(ready, 2), "dense_ready_s": round(dense_ready, 2),
                      "chunks": len(kb.chunks), "questions": len(rows),
                      "pass_rate": overall["pass_rate"], "p50_ms": overall["p50_ms"],
                      "p95_ms": overall["p95_ms"],
                      "median_ms": round(statistics.median(r["latency_ms"] for r in rows), 2),
                      "dense_calls": kb.dense_calls - warm_calls,
                      "per_category": {s["category"]: [s["p50_ms"], s["p95_ms"]] for s in lines[:-1]}},
                     ensure_ascii=False))
    return 0


def retrieval_child(spec: dict) -> int:
    """recall@5 and ms per search of kb.search with dense=False, True and "auto" (the gate)."""
    from kb.knowledge import KnowledgeBase
    from kb.settings import load_settings

    kb = KnowledgeBase.open(load_settings(data_dir=Path(spec["data_dir"]), embedder=spec["embedder"]))
    kb.warm_dense()
    out: dict = {}
    for case in spec["cases"]:
        group = out.setdefault(case["kind"], {"n": 0})
        group["n"] += 1
        for mode, dense in (("lexical", False), ("always", True), ("gated", "auto")):
            calls, t0 = kb.dense_calls, time.perf_counter()
            texts = [h.chunk.text for h in kb.search(case["query"], k=5, dense=dense)]
            group[f"{mode}_ms"] = group.get(f"{mode}_ms", 0.0) + (time.perf_counter() - t0) * 1000
            group[mode] = group.get(mode, 0) + any(e in t for t in texts for e in case["evidence"])
            group[f"{mode}_dense"] = group.get(f"{mode}_dense", 0) + (kb.dense_calls > calls)
    print(json.dumps(out, ensure_ascii=False))
    return 0


# ---------- sections ----------

def _answer_row(label: str, mode: str, system: str, m, notes: list[str]) -> dict:
    row = {"corpus": label, "chroma": mode, "system": system, "peak_rss_mb": round(m.peak_rss_mb, 1)}
    if not m.ok:
        notes.append(f"{label} ({mode}, {system}) failed: {m.error}")
        return row
    r = m.result
    row.update({k: r.get(k) for k in ("chunks", "questions", "ready_s", "dense_ready_s", "p50_ms", "p95_ms",
                                      "lexical_mb", "serving_mb")})
    scored = r["pass_rate"] is not None and "generated questions" not in label
    row["pass_rate"] = f"{r['pass_rate'] * 100:.0f}%" if scored else None
    row["dense_share"] = f"{r['dense_calls']}/{r['questions']}"
    row["per_category"] = "; ".join(f"{c} {v[0]:.1f}/{v[1]:.1f}"
                                    for c, v in sorted(r["per_category"].items()))
    return row


def answer_section(ctx):
    """Each knowledge base built once (reused from the ingest section), answered in a fresh process each."""
    from eval.bench import SectionResult, _child_env, _progress, measure

    result = SectionResult("answer", ANSWER_COLUMNS)
    sizes = {1, 100, 1000} & set(ctx.sizes) or set(ctx.sizes)
    corpora = [c for c in ctx.corpora() if not c.plans or c.docs in sizes]
    versus: dict[str, dict] = {}
    for mode in ctx.chroma_modes:
        for corpus in corpora:
            data_dir, built = ctx.knowledge_base(corpus, mode)
            if not built.ok:
                result.notes.append(f"{corpus.label} ({mode}): knowledge base not built ({built.error})")
                continue
            if corpus.label == "bundled plan":
                runs = [(corpus.label, _dev_cases())]
            elif corpus.label == "real plans":
                runs = [("real plans (question set)", _dev_cases(REAL_SET)),
                        ("real plans (generated questions)", real_questions(data_dir)[0])]
            else:
                runs = [(corpus.label, _generated_cases(corpus.plans))]
            naive = corpus.label == "bundled plan" and mode == "embedded"
            for (label, cases), system in [(r, s) for r in runs if r[1]
                                           for s in (["assistant", "naive-rag"] if naive else ["assistant"])]:
                _progress(f"answer: {label} · {mode} · {system} · {len(cases)} questions")
                spec = {"kind": "answer", "data_dir": str(data_dir), "embedder": ctx.embedder,
                        "system": system, "cases": cases}
                m = measure(spec, _child_env(ctx.server if mode == "server" else None, data_dir))
                row = _answer_row(label, mode, system, m, result.notes)
                if mode == "server":
                    row.update(ctx.server.memory_mb())
                result.rows.append(row)
                if corpus.label == "bundled plan" and mode == "embedded" and m.ok:
                    versus[system] = {**m.result, "peak_rss_mb": m.result["serving_mb"]}
    if {"assistant", "naive-rag"} <= set(versus):
        result.notes.append(_versus(versus["assistant"], versus["naive-rag"]))
    result.notes += [
        "latency: one answer (the last turn of a case), knowledge base loaded and warmed up; ready s: "
        "opening it + the assistant's warm-up in a fresh process (table and fact answers need no more); "
        "dense ready s: + kb.warm_dense() (embedder and Chroma loaded, as the app should do in the "
        "background).",
        "RSS ready: high-water mark of the serving process when ready (lexical side only); peak RSS serving: "
        "its high-water mark with the dense side loaded and all questions answered (wait4 agrees).",
        "asked dense: questions whose answer asked the dense index (the gate lets BM25 answer when sure).",
        "bundled plan: the dev set; real plans: eval/questions/real_docs.jsonl, and questions written from "
        "their own tables, facts and headings (no expected answers, so no pass rate); generated: eval.synth "
        "questions naming their plan.",
        "naive-rag: RecursiveCharacterTextSplitter + the same Chroma and embedder, answer = the best chunk.",
    ]
    return result


def _versus(a: dict, n: dict) -> str:
    """One line: each figure of the assistant and the naive baseline, and naive ÷ assistant."""
    def pair(key: str, unit: str, scale: float = 1.0) -> str:
        x, y = a[key] * scale, n[key] * scale
        return f"{x:.4g} vs {y:.4g}{unit} (×{y / x:.2f})" if x else f"{x:.4g} vs {y:.4g}{unit}"

    return ("assistant vs naive-rag on the bundled plan (naive ÷ assistant in brackets): pass "
            + pair("pass_rate", "%", 100) + "; p50 " + pair("p50_ms", " ms")
            + "; p95 " + pair("p95_ms", " ms")
            + "; ready " + pair("ready_s", " s") + "; peak RSS " + pair("peak_rss_mb", " MB") + ".")


def retrieval_section(ctx):
    """The dense gate measured: recall@5 with BM25 alone, dense on every search, and gated."""
    from eval.bench import SectionResult, _child_env, _progress, measure

    result = SectionResult("retrieval", RETRIEVAL_COLUMNS)
    for corpus in ctx.corpora():
        if corpus.label not in ("bundled plan", "real plans"):
            continue
        data_dir, built = ctx.knowledge_base(corpus, "embedded")
        if not built.ok:
            result.notes.append(f"{corpus.label}: knowledge base not built ({built.error})")
            continue
        cases = (_evidence_searches(_dev_cases(), "dev") if corpus.label == "bundled plan"
                 else _evidence_searches(_dev_cases(REAL_SET), "question set") + real_questions(data_dir)[1])
        _progress(f"retrieval: {corpus.label} · {len(cases)} searches")
        spec = {"kind": "retrieval", "data_dir": str(data_dir), "embedder": ctx.embedder, "cases": cases}
        m = measure(spec, _child_env(None, data_dir))
        if not m.ok:
            result.notes.append(f"{corpus.label}: retrieval failed ({m.error})")
            continue
        groups = dict(m.result)
        if len(groups) > 1:
            groups["all"] = {k: sum(g[k] for g in m.result.values()) for k in next(iter(m.result.values()))}
        for kind, g in groups.items():
            n = g["n"]
            result.rows.append({"corpus": corpus.label, "kind": kind, "searches": n,
                                **{mode: round(g[mode] / n, 3) for mode in ("lexical", "always", "gated")},
                                "gated_share": f"{g['gated_dense'] / n * 100:.0f}%",
                                "always_ms": round(g["always_ms"] / n, 2),
                                "gated_ms": round(g["gated_ms"] / n, 2)})
    result.notes += [
        "hit: a top-5 chunk of kb.search holds an evidence string (as eval reports recall@5).",
        "dense fusion: weighted RRF, BM25 1.0 + dense settings.dense_weight; gated: dense only when BM25 is "
        "unsure (kb.knowledge.lexical_sure: the best hit leads the next by less than settings.dense_margin "
        "and holds under 70% of the question's tokens).",
        "real plans: question set = eval/questions/real_docs.jsonl with its evidence; heading = a section "
        "title asked about, fact = subject + action, words = three words of a sentence shuffled; all "
        "searched across every real plan at once.",
    ]
    return result
