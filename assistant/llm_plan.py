"""The optional LLM fills the same typed plan the rules fill; the executor stays deterministic.

    filler = PlanFiller(load_settings())          # LLM_BASE_URL, LLM_MODEL
    answer = filler.ask("闵行城市更新规划里燃气管道改多少公里")

The model is asked for a :class:`PlanModel` (structured output against its JSON schema, validated with
pydantic, ``extra="forbid"``); the figures then come from the same executor and number guard as every other
answer, so a model never writes a figure. An invalid plan, a model error, or a plan the executor cannot
answer falls back to the rules' own plan, with a note in the trace.
"""

from __future__ import annotations

import json
import logging
from dataclasses import replace

from pydantic import ValidationError

from assistant.core import Assistant
from assistant.plan import PlanModel, QueryPlan
from kb.records import Answer
from kb.settings import Settings, load_settings

logger = logging.getLogger(__name__)

PLAN_PROMPT = """你把用户关于政府规划文件的问题转换成结构化的查询计划（JSON），不回答问题本身，不写任何数字结果。
字段含义：documents 为问题所指的文档ID（从下面的文档清单中选，没有明确指向则留空）；regions 为地区名（按表格原文）；
overall 表示问全域合计；indicators 为指标名称（按规划原文）；role 为所问的列：base 现状/基期，target 目标，
change 变化幅度，annual 年均，cumulative 累计，attribute 属性，unit 单位，milestone 阶段节点；year 为所问年份；
meta_field 为文件信息字段（doc_number 文号、signed_date 成文日期、published_date 发布日期、issuers 发文机关、
validity 有效期、attachments 附件、period 规划期限）；operation 为运算（lookup 查数值、rank 排序、compare 比较、sum 求和、
count 计数、filter 按条件筛选、metadata 查文件信息、refuse 文件中没有相关内容）。
知识库中的文档：
{documents}"""


class PlanFiller:
    """An LLM reads the question into a QueryPlan; the deterministic executor answers it."""

    def __init__(self, settings: Settings | None = None, model=None, rules: Assistant | None = None):
        self.settings = settings or load_settings()
        self.rules = rules or Assistant(self.settings)
        self._model = model

    @property
    def model(self):
        if self._model is None:
            from assistant.agent import make_model

            self._model = make_model(self.settings)
        return self._model

    def plan(self, question: str) -> QueryPlan:
        """The model's plan for a question; raises ValueError when it gives none that validates."""
        kb = self.rules.kb
        listing = "\n".join(f"- {d['doc_id']}：{(d.get('meta') or {}).get('title') or d['name']}" for d in kb.docs[:60])
        structured = self.model.with_structured_output(PlanModel)
        raw = structured.invoke([("system", PLAN_PROMPT.format(documents=listing)), ("human", question)])
        try:
            if isinstance(raw, PlanModel):
                model = raw
            elif isinstance(raw, str):
                model = PlanModel.model_validate(json.loads(raw))
            else:
                model = PlanModel.model_validate(raw)
        except (ValidationError, ValueError, TypeError) as exc:
            raise ValueError(f"plan did not validate: {exc}") from exc
        known = {d["doc_id"] for d in kb.docs}
        plan = model.to_plan(question)
        if not set(plan.scope.doc_ids) <= known:  # a made-up document id: the plan names nothing real
            plan = replace(plan, scope=replace(plan.scope, doc_ids=tuple(d for d in plan.scope.doc_ids if d in known)))
        return plan

    def ask(self, question: str) -> Answer:
        try:
            plan = self.plan(question)
        except Exception as exc:  # a model or a plan that fails: the rules answer, and say why
            logger.warning("LLM plan failed: %s", exc)
            answer = self.rules.ask(question)
            return replace(answer, trace=answer.trace + (f"llm plan unavailable: {type(exc).__name__}",))
        answer = self.rules.answer_plan(plan)
        if answer is None:
            answer = self.rules.ask(question)
            return replace(answer, trace=answer.trace + ("llm plan not answerable; rules plan used",))
        return replace(answer, trace=answer.trace + ("plan filled by the LLM",))
