"""Run question cases through a system and score every answer with eval.checks."""

from __future__ import annotations

import statistics
import time
from dataclasses import dataclass

from eval import checks
from eval.cases import Case

CHECKS = ("number", "unit", "keywords", "refuse", "cited", "grounded")
PASS_CHECKS = ("number", "unit", "keywords", "refuse", "cited")


def score(case: Case, answer: dict, texts_by_doc: dict[str, str]) -> dict:
    """The checks of one answer (a dict in the Answer record's JSON shape)."""
    text, cites, refused = answer.get("text", ""), answer.get("citations", []), bool(answer.get("refused"))
    result = {
        "number": checks.check_number(text, case.expect.numbers),
        "unit": checks.check_unit(text, case.expect.unit),
        "keywords": checks.check_keywords(text, case.expect.keywords),
        "refuse": checks.check_refuse(refused, case.expect.refuse),
        "cited": checks.check_cited(cites, case.evidence, refused),
        "grounded": checks.check_grounded(cites, texts_by_doc),
    }
    unsupported = checks.unsupported_numbers(text, cites, answer.get("figures", []), case.turns)
    return {"checks": result, "passed": all(result[k] for k in PASS_CHECKS), "unsupported_numbers": unsupported}


@dataclass
class RunContext:
    ask: object  # callable(turns: list[str]) -> dict
    texts_by_doc: dict[str, str]
    search: object | None = None  # callable(query) -> list[str] of top-5 chunk texts


def run_cases(cases: list[Case], ctx: RunContext, system: str, progress=None) -> list[dict]:
    rows = []
    for n, case in enumerate(cases, 1):
        started = time.perf_counter()
        try:
            answer, latency = ctx.ask(case.turns)
        except Exception as exc:  # a failing case is recorded, the run goes on
            answer, latency = {"text": f"错误：{exc}", "citations": [], "figures": [], "refused": False}, (time.perf_counter() - started) * 1000
        row = {"id": case.id, "category": case.category, "system": system, "turns": case.turns,
               "expect": case.expect.model_dump(), "evidence": case.evidence,
               "answer": {k: answer.get(k) for k in ("text", "citations", "figures", "refused", "intent", "trace")},
               "latency_ms": round(latency, 2)}
        row.update(score(case, answer, ctx.texts_by_doc))
        if ctx.search is not None and case.evidence:
            row["recall_at_5"] = checks.evidence_hit(ctx.search(" ".join(case.turns)), case.evidence)
        rows.append(row)
        if progress:
            progress(n, len(cases))
    return rows


def summarize(rows: list[dict]) -> list[dict]:
    """One line per category plus 'overall'."""
    groups: dict[str, list[dict]] = {}
    for r in rows:
        groups.setdefault(r["category"], []).append(r)
    lines = [_line(cat, rs) for cat, rs in sorted(groups.items())]
    lines.append(_line("overall", rows))
    return lines


def _pct(values) -> float | None:
    values = list(values)
    return sum(values) / len(values) if values else None


def _percentile(values: list[float], q: float) -> float:
    if not values:
        return 0.0
    ordered = sorted(values)
    k = min(len(ordered) - 1, max(0, int(round(q * (len(ordered) - 1)))))
    return ordered[k]


def _line(name: str, rows: list[dict]) -> dict:
    latencies = [r.get("latency_ms", 0.0) for r in rows]
    answered = [r for r in rows if not r["answer"].get("refused")]
    return {
        "category": name, "items": len(rows),
        "pass_rate": _pct(r["passed"] for r in rows),
        "cited": _pct(r["checks"].get("cited", False) for r in answered) if answered else None,
        "grounded": _pct(r["checks"].get("grounded", False) for r in rows),
        "unsupported": sum(len(r.get("unsupported_numbers", [])) for r in rows),
        "recall_at_5": _pct(r["recall_at_5"] for r in rows if "recall_at_5" in r),
        "p50_ms": round(statistics.median(latencies), 1) if latencies else 0.0,
        "p95_ms": round(_percentile(latencies, 0.95), 1),
    }
