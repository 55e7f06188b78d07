"""The LLM fills the typed plan; the deterministic executor answers it (a fake model stands in for the LLM)."""

from __future__ import annotations

from pathlib import Path

import pytest
from langchain_core.language_models.fake_chat_models import GenericFakeChatModel
from langchain_core.messages import AIMessage
from langchain_core.runnables import RunnableLambda

from assistant.core import Assistant
from assistant.llm_plan import PlanFiller
from assistant.plan import PlanModel
from ingest.pipeline import ingest_files
from kb.settings import load_settings

DOCS = Path(__file__).parent / "data" / "real_docs"


class PlanModelFake(GenericFakeChatModel):
    """A fake chat model whose structured output is a scripted plan (or a scripted failure)."""

    plan: object = None

    def with_structured_output(self, schema, **kwargs):
        def run(_messages):
            if isinstance(self.plan, Exception):
                raise self.plan
            return self.plan
        return RunnableLambda(run)


@pytest.fixture(scope="module")
def real_kb(tmp_path_factory):
    settings = load_settings(data_dir=tmp_path_factory.mktemp("kb"), embedder="hash")
    names = [p for p in DOCS.glob("*.md") if "闵行" in p.name or "普陀区国土" in p.name]
    assert not ingest_files(settings, [(p.name, p.read_bytes()) for p in names]).failed
    return settings


def _filler(settings, plan):
    return PlanFiller(settings, model=PlanModelFake(messages=iter([AIMessage("")]), plan=plan),
                      rules=Assistant(settings))


def _doc_id(settings, part):
    return next(d["doc_id"] for d in Assistant(settings).kb.docs if part in d["name"])


def test_a_plan_from_the_model_is_answered_by_the_executor_with_citations(real_kb):
    doc = _doc_id(real_kb, "闵行")
    plan = PlanModel(documents=[doc], indicators=["燃气老化管道改造数量"], role="target", operation="lookup")
    answer = _filler(real_kb, plan).ask("闵行那个规划里燃气管道要改多少")
    assert "421" in answer.text and "公里" in answer.text
    assert answer.citations and any("燃气老化管道改造数量" in c.quote for c in answer.citations)
    assert answer.plan["scope"]["doc_ids"] == (doc,) and "plan filled by the LLM" in answer.trace


def test_metadata_plans_cite_the_document(real_kb):
    doc = _doc_id(real_kb, "普陀区国土")
    answer = _filler(real_kb, PlanModel(documents=[doc], meta_field="doc_number", operation="metadata")).ask("文号？")
    assert "普府办〔2026〕14号" in answer.text and answer.citations


def test_an_invalid_plan_or_a_failing_model_falls_back_to_the_rules(real_kb):
    with pytest.raises(Exception):
        PlanModel.model_validate({"operation": "lookup", "indicators": ["x"], "invented_field": 1})
    question = "闵行区城市更新十五五规划中燃气老化管道改造数量目标是多少公里"
    broken = _filler(real_kb, RuntimeError("endpoint down")).ask(question)
    assert "421" in broken.text and any("llm plan unavailable" in t for t in broken.trace)
    unknown = _filler(real_kb, {"operation": "lookup", "documents": ["no-such-doc"], "bogus": 2}).ask(question)
    assert "421" in unknown.text and any("llm plan unavailable" in t for t in unknown.trace)


def test_a_model_never_writes_a_figure(real_kb):
    """The plan carries no numbers to state: whatever the model 'thinks', the figure is the table's."""
    doc = _doc_id(real_kb, "闵行")
    plan = PlanModel(documents=[doc], indicators=["人均公园绿地面积"], role="target", operation="lookup",
                     threshold=99.0)
    answer = _filler(real_kb, plan).ask("人均公园绿地面积目标")
    assert "11.5" in answer.text and "99" not in answer.text
