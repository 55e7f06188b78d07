"""Question sets written from a generated plan's ground truth, and a run over many generated plans.

    python -m eval.synth --seeds 0-19 --formats txt,md,docx,html,txt-gb18030

Each plan is ingested into its own temporary knowledge base and asked questions of every kind the truth
supports (region lookup, rank, compare, overall lookup, annual rate, prose quantity, out of scope), phrased
from templates. This measures how the assistant does on plans it was not tuned on.
"""

from __future__ import annotations

import argparse
import random
import re
import sys
import tempfile
from pathlib import Path

from eval.cases import Case
from eval.generate import FORMATS, GeneratedPlan, generate_plan
from eval.runner import RunContext, run_cases, summarize

OUT_OF_SCOPE_REGIONS = ("上海市", "深圳市", "拉萨市", "三亚市")


def _short(region: str) -> str:
    return region.split("/")[0]


def cases_for(plan: GeneratedPlan, rng: random.Random, scoped: bool = False) -> list[Case]:
    """Questions with expected answers for one generated plan; `scoped` names the plan (《file name》) in each
    question, as people do when a knowledge base holds many plans."""
    cases: list[dict] = []
    key = plan.indicator_keys
    numeric = [(r, i) for (r, i), v in plan.targets.items() if v.value is not None and "%" in (v.unit or "")]
    for region, indicator in rng.sample(numeric, min(4, len(numeric))):
        v = plan.targets[(region, indicator)]
        name = key.get(indicator, indicator)
        template = rng.choice(["{r}{i}降低目标是多少", "{r}的{i}要降多少", "{i}{r}下降多少"])
        cases.append({"category": "table", "turns": [template.format(r=region, i=name)],
                      "expect": {"numbers": [v.value], "keywords": [region[:2]]}})
    by_indicator: dict[str, list[tuple[str, float]]] = {}
    for (region, indicator), v in plan.targets.items():
        if v.value is not None and "%" in (v.unit or "") and "降低" in indicator:
            by_indicator.setdefault(indicator, []).append((region, v.value))
    for indicator, values in list(by_indicator.items())[:2]:
        name = key.get(indicator, indicator)
        best = max(v for _, v in values)
        winners = [r for r, v in values if v == best]
        cases.append({"category": "compare", "turns": [f"哪个地区{name}降幅最大"],
                      "expect": {"numbers": [best], "keywords": [winners[0]]}})
        (r1, v1), (r2, v2) = rng.sample(values, 2)
        if v1 != v2:
            big = r1 if v1 > v2 else r2
            cases.append({"category": "compare", "turns": [f"{r1}和{r2}哪个{name}降幅更大"],
                          "expect": {"numbers": [max(v1, v2)], "keywords": [big]}})
        region, value = rng.choice(values)
        expected = round((1 - (1 - value / 100) ** 0.2) * 100, 2)
        cases.append({"category": "compute", "turns": [f"{region}{name}年均降幅是多少"],
                      "expect": {"numbers": [expected], "keywords": []}})
    for (row, column), v in list(plan.overall.items()):
        if not column.endswith("年"):
            continue
        if v.value is None and column == f"{plan.target_year}年" and v.raw not in ("—", ""):
            # a target in words is answered in its words
            cases.append({"category": "table", "turns": [f"{row}的目标是什么"],
                          "expect": {"numbers": [], "keywords": [v.raw]}})
            continue
        if v.value is None or (rng.random() > 0.3 and not re.search(r"[≥以上]", v.raw)):
            continue
        cases.append({"category": "table", "turns": [f"{column}全省{row}是多少"],
                      "expect": {"numbers": [v.value], "keywords": []}})
    if plan.meta:
        cases.append({"category": "metadata", "turns": ["这份文件的发文字号是什么"],
                      "expect": {"keywords": [plan.meta["doc_number"]]}})
        cases.append({"category": "metadata", "turns": ["这个规划是由哪个部门印发的"],
                      "expect": {"keywords": [plan.meta["issuer"]]}})
    for q in rng.sample(plan.quantities, min(3, len(plan.quantities))):
        verb = "淘汰" if q.action == "淘汰" else q.action
        cases.append({"category": "fact", "turns": [f"{q.subject}{verb}多少"],
                      "expect": {"numbers": [q.value], "keywords": []}})
    cases.append({"category": "out_of_scope", "turns": [f"{rng.choice(OUT_OF_SCOPE_REGIONS)}单位GDP能耗目标是多少"],
                  "expect": {"refuse": True}})
    other = {"十二五": "十五", "十三五": "十一五", "十四五": "十二五"}[plan.period]
    cases.append({"category": "out_of_scope", "turns": [f"“{other}”期间的节能目标是什么"], "expect": {"refuse": True}})
    if scoped:
        prefix = f"《{plan.name.rsplit('.', 1)[0]}》中，"
        for c in cases:
            c["turns"] = [prefix + c["turns"][0]]
    return [Case.model_validate({"id": f"{plan.name}#{n}", **c}) for n, c in enumerate(cases)]


def run(seeds: list[int], formats: list[str], embedder: str = "hash", progress=None) -> list[dict]:
    from eval.systems import assistant_system
    from ingest.pipeline import ingest_files
    from kb.knowledge import KnowledgeBase
    from kb.settings import load_settings

    rows: list[dict] = []
    for seed in seeds:
        for fmt in formats:
            plan = generate_plan(seed, fmt)
            settings = load_settings(data_dir=Path(tempfile.mkdtemp(prefix="synth_")), embedder=embedder)
            report = ingest_files(settings, [(plan.name, plan.data)])
            if report.failed:
                rows.append({"id": plan.name, "category": "ingest", "passed": False, "checks": {}, "turns": [],
                             "answer": {"text": report.failed[0].error, "citations": [], "refused": True},
                             "latency_ms": 0.0, "unsupported_numbers": [], "expect": {}, "evidence": []})
                continue
            kb = KnowledgeBase.open(settings)
            texts = {d["doc_id"]: kb.text_of(d["doc_id"]) for d in kb.docs}
            ask = assistant_system(settings, kb)
            cases = cases_for(plan, random.Random(seed))
            for row in run_cases(cases, RunContext(ask, texts), "assistant"):
                row["format"] = f"{fmt}/{plan.layout}"
                rows.append(row)
            if progress:
                progress(f"{plan.name} ({fmt}/{plan.layout})")
    return rows


def _seeds(text: str) -> list[int]:
    if "-" in text:
        lo, hi = text.split("-")
        return list(range(int(lo), int(hi) + 1))
    return [int(x) for x in text.split(",")]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m eval.synth", description="用生成的规划及其真值出题，检验助手在未见过的规划上的表现。")
    parser.add_argument("--seeds", default="0-4", help="随机种子，如 0-19 或 1,5,9")
    parser.add_argument("--formats", default=",".join(FORMATS), help="格式，逗号分隔")
    parser.add_argument("--failures", type=int, default=15, help="列出的失败题目数")
    args = parser.parse_args(argv)
    import logging

    logging.basicConfig(level=logging.ERROR)
    rows = run(_seeds(args.seeds), args.formats.split(","), progress=lambda m: print(m, file=sys.stderr))
    from eval.report import summary_table

    print(summary_table(rows))
    by_format: dict[str, list[dict]] = {}
    for r in rows:
        by_format.setdefault(r.get("format", "ingest"), []).append(r)
    for fmt, rs in sorted(by_format.items()):
        s = summarize(rs)[-1]
        print(f"  {fmt:24s} {s['items']:4d} 题  通过 {s['pass_rate'] * 100:.0f}%")
    for r in [r for r in rows if not r["passed"]][: args.failures]:
        print(f"✗ {r['id']} {r['turns']} 期望 {r['expect'].get('numbers')} {r['expect'].get('keywords')} → "
              f"{r['answer']['text'][:120]!r}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
