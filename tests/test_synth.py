"""Plans the assistant was not tuned on: generated plans in every format, questions from their ground truth."""

from __future__ import annotations

import random

from eval.generate import FORMATS, generate_plan
from eval.runner import summarize
from eval.synth import cases_for, run


def test_cases_come_from_the_ground_truth():
    plan = generate_plan(3, "md")
    cases = cases_for(plan, random.Random(3))
    kinds = {c.category for c in cases}
    assert {"table", "compare", "compute", "fact", "out_of_scope"} <= kinds
    lookups = [c for c in cases if c.category == "table" and c.expect.keywords]
    region = lookups[0].expect.keywords[0]
    assert any(region == r[:2] for r in plan.regions)


def test_assistant_answers_generated_plans_in_every_format():
    rows = run([0, 1], list(FORMATS))
    overall = summarize(rows)[-1]
    failed = [(r["id"], r["turns"], r["answer"]["text"][:80]) for r in rows if not r["passed"]]
    assert overall["pass_rate"] >= 0.95, failed
    assert overall["unsupported"] == 0
    assert overall["grounded"] == 1.0
