"""The typed query plan between a question and the tools: scope, measure, operation, context.

A parser fills it from the question and the knowledge base's own vocabulary (assistant/planner.py), or an
optional LLM fills the same fields (validated by :class:`PlanModel`); the executor runs it on tables, prose
facts and metadata; the renderer writes the Answer. A wrong answer can be read off the plan as a
misreading, so every Answer carries it and a one-line "我理解为：…".
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, replace
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

ROLE_WORDS = {"base": "现状/基期值", "target": "规划目标", "change": "变化幅度", "annual": "年均", "cumulative": "累计",
              "attribute": "属性（约束性/预期性）", "unit": "单位", "milestone": "阶段目标", "": ""}
OPERATION_WORDS = {"lookup": "查数值", "list": "逐项列出", "filter": "按条件筛选", "count": "计数", "rank": "排序",
                   "nth": "第N名", "sum": "求和", "mean": "求平均", "range": "最大最小之差", "difference": "求差",
                   "ratio": "求比值", "compare": "比较", "annual": "折算年均", "backcast": "倒推基期值",
                   "project": "按速度推算", "per_year": "年均分摊", "narrative": "摘录原文", "requirements": "汇总要求",
                   "metadata": "查文件信息", "alias": "查简称", "audit": "核对一致性", "refuse": "无法回答",
                   "profile": "查该地区全部指标", "fact": "查原文数量"}
META_WORDS = {"doc_number": "发文字号", "signed_date": "成文日期", "published_date": "发布日期", "issuers": "发文机关",
              "validity": "有效期", "status": "状态", "attachments": "附件", "title": "标题", "period": "规划期限"}


@dataclass(frozen=True)
class Scope:
    doc_ids: tuple[str, ...] = ()  # documents the question names or implies; () = the whole knowledge base
    regions: tuple[str, ...] = ()  # row labels that are places ("乌海市", "马陆镇")
    overall: bool = False  # the whole area ("全区", "全市", the 合计 row)
    exclude: tuple[str, ...] = ()  # "除中心城区外"
    subset: str = ""  # a named group of regions ("北部各县"), as asked


@dataclass(frozen=True)
class Measure:
    indicators: tuple[str, ...] = ()  # indicator keys, or row labels of a document's own tables
    subject: str = ""  # a prose-fact subject ("电石", "水泥熟料")
    role: str = ""  # base | target | change | annual | cumulative | attribute | unit | milestone | ""
    year: str = ""
    quantity: str = ""  # percent | points | amount | level | date | count | text | ""
    unit: str = ""  # the unit the question asks in ("吨", "亩")
    meta_field: str = ""  # doc_number | signed_date | published_date | issuers | validity | attachments | title | period; "+" joins several


@dataclass(frozen=True)
class Operation:
    kind: str = "lookup"
    order: str = "desc"  # rank: desc = largest first
    n: int = 1  # rank: top n / the n-th place
    comparator: str = ""  # filter: ≥ > ≤ < =
    threshold: float | None = None


@dataclass(frozen=True)
class QueryPlan:
    question: str
    scope: Scope = field(default_factory=Scope)
    measure: Measure = field(default_factory=Measure)
    operation: Operation = field(default_factory=Operation)
    inherited: tuple[str, ...] = ()  # what a follow-up carried over from the turn before ("地区", "指标")
    topic: str = ""  # the words rows and columns are matched with (a follow-up keeps the earlier question's)
    unknown: tuple[str, ...] = ()  # names the knowledge base does not have
    suggestions: tuple[str, ...] = ()

    def understood(self, doc_names: dict[str, str] | None = None) -> str:
        """One line a person can check: "我理解为：乌海市 · 二氧化硫排放量降低 · 规划目标 · 查数值"."""
        parts: list[str] = []
        if self.scope.doc_ids and doc_names:
            parts.append("、".join(f"《{doc_names.get(d, d)}》" for d in self.scope.doc_ids[:2]))
        if self.scope.regions:
            parts.append("、".join(self.scope.regions))
        elif self.scope.overall:
            parts.append("全域")
        if self.scope.exclude:
            parts.append("除" + "、".join(self.scope.exclude))
        if self.measure.meta_field:
            parts.append("、".join(META_WORDS.get(f, f) for f in self.measure.meta_field.split("+")))
        parts += list(self.measure.indicators) or ([self.measure.subject] if self.measure.subject and
                                                    self.measure.subject not in self.scope.regions else [])
        if self.measure.year:
            parts.append(f"{self.measure.year}年")
        if ROLE_WORDS.get(self.measure.role):
            parts.append(ROLE_WORDS[self.measure.role])
        parts.append(OPERATION_WORDS.get(self.operation.kind, self.operation.kind))
        line = "我理解为：" + " · ".join(p for p in parts if p)
        if self.inherited:
            line += f"（沿用上一轮的{'、'.join(self.inherited)}）"
        return line

    def to_dict(self) -> dict:
        return asdict(self)

    @property
    def about(self) -> str:
        return self.topic or self.question

    @classmethod
    def from_dict(cls, d: dict) -> "QueryPlan":
        def tup(x):
            return tuple(x or ())
        sc, me, op = d.get("scope") or {}, d.get("measure") or {}, d.get("operation") or {}
        return cls(
            question=d.get("question", ""),
            scope=Scope(tup(sc.get("doc_ids")), tup(sc.get("regions")), bool(sc.get("overall")), tup(sc.get("exclude")),
                        sc.get("subset", "")),
            measure=Measure(tup(me.get("indicators")), me.get("subject", ""), me.get("role", ""), me.get("year", ""),
                            me.get("quantity", ""), me.get("unit", ""), me.get("meta_field", "")),
            operation=Operation(op.get("kind", "lookup"), op.get("order", "desc"), int(op.get("n") or 1),
                                op.get("comparator", ""), op.get("threshold")),
            inherited=tup(d.get("inherited")), topic=d.get("topic", ""))

    def with_operation(self, **changes) -> "QueryPlan":
        return replace(self, operation=replace(self.operation, **changes))


class PlanModel(BaseModel):
    """The plan as an LLM may fill it (structured output against this JSON schema); validated, then turned
    into a QueryPlan. The executor stays deterministic: a model never writes a figure."""

    model_config = ConfigDict(extra="forbid")
    documents: list[str] = Field(default_factory=list, description="文档ID；空表示全部文档")
    regions: list[str] = Field(default_factory=list, description="地区（表格中的行名）")
    overall: bool = Field(False, description="是否问全域（全区/全市/合计）")
    exclude: list[str] = Field(default_factory=list)
    indicators: list[str] = Field(default_factory=list, description="指标名称（按规划原文）")
    subject: str = ""
    role: Literal["", "base", "target", "change", "annual", "cumulative", "attribute", "unit", "milestone"] = ""
    year: str = ""
    quantity: Literal["", "percent", "points", "amount", "level", "date", "count", "text"] = ""
    meta_field: Literal["", "doc_number", "signed_date", "published_date", "issuers", "validity", "attachments",
                        "title", "period"] = ""
    operation: Literal["lookup", "list", "filter", "count", "rank", "nth", "sum", "mean", "range", "difference",
                       "compare", "annual", "backcast", "project", "narrative", "requirements", "metadata", "alias",
                       "refuse"] = "lookup"
    order: Literal["desc", "asc"] = "desc"
    n: int = Field(1, ge=1, le=50)
    comparator: Literal["", "≥", ">", "≤", "<", "="] = ""
    threshold: float | None = None

    def to_plan(self, question: str) -> QueryPlan:
        return QueryPlan(
            question=question,
            scope=Scope(tuple(self.documents), tuple(self.regions), self.overall, tuple(self.exclude)),
            measure=Measure(tuple(self.indicators), self.subject, self.role, self.year, self.quantity, "",
                            self.meta_field),
            operation=Operation(self.operation, self.order, self.n, self.comparator, self.threshold),
        )
