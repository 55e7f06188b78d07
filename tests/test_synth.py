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


def test_many_plans_in_one_knowledge_base_answer_questions_that_name_their_plan(tmp_path):
    """Thirty plans (several per province and period): a question naming its plan (《file name》) is answered
    from that plan, with other plans' identical wording and region names kept out."""
    import random

    from eval.generate import write_corpus
    from eval.runner import RunContext, run_cases
    from eval.systems import assistant_system
    from ingest.pipeline import ingest_paths
    from kb.knowledge import KnowledgeBase
    from kb.settings import load_settings

    plans = write_corpus(tmp_path / "corpus", 30, seed=0, formats=tuple(FORMATS))
    settings = load_settings(data_dir=tmp_path / "kb", embedder="hash")
    assert not ingest_paths(settings, [tmp_path / "corpus"]).failed
    kb = KnowledgeBase.open(settings)
    cases = [c for p in plans[:4] for c in cases_for(p, random.Random(0), scoped=True)]
    texts = {d["doc_id"]: kb.text_of(d["doc_id"]) for d in kb.docs}
    rows = run_cases(cases, RunContext(assistant_system(settings, kb), texts), "assistant")
    failed = [(r["turns"], r["answer"]["text"][:80]) for r in rows if not r["passed"]]
    assert summarize(rows)[-1]["pass_rate"] >= 0.95, failed
    assert summarize(rows)[-1]["unsupported"] == 0
