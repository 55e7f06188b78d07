"""Search the prose quantities (facts) by subject and action."""

from __future__ import annotations

import re

from kb.errors import NotInKnowledgeBase, ToolError
from kb.records import Fact
from kb.tokens import bigrams
from tools.base import ToolResult, dedupe, fact_citation, fact_figure

ACTION_GROUPS = {
    "淘汰": ("淘汰",),
    "下降": ("下降", "降低", "减少", "削减", "累计下降", "下降到", "降低到"),
    "达到": ("达到", "提高到", "超过", "为", "占"),
    "控制": ("控制在",),
    "建设": ("建设", "新建", "建成", "新增"),
    "节约": ("节约",),
    "实施": ("实施", "执行"),
}


def _action_ok(fact: Fact, action: str | None) -> bool:
    if not action:
        return True
    group = next((g for g in ACTION_GROUPS.values() if action in g), (action,))
    return fact.action in group or action in fact.quote


INDUSTRY = re.compile(r"行业|工业|产业")


def _grams(text: str) -> set[str]:
    # "钢铁行业" and "钢铁工业" name the same sector.
    return bigrams(INDUSTRY.sub("业", text))


def _tail_penalty(fact: Fact, query: str) -> float:
    """The asked phrase inside a longer subject with another head ("能源消费总量" in "…消费总量比重"): a Chinese
    noun phrase ends in its head, so the subject's last word must be asked for too."""
    subject = re.sub(r"[^\u4e00-\u9fffA-Za-z]+", "", re.sub(r"[（(][^）)]*[）)]", "", fact.subject))
    q = _grams(query)
    if len(subject) < 3 or len(_grams(subject) & q) < 2:
        return 0.0
    return 0.0 if _grams(subject[-2:]) <= q else 0.4


def score_fact(fact: Fact, query: str, action: str | None = None) -> float:
    """How much of the question the fact covers (subject, action, clause and, for its action, its section title),
    plus how much of the subject is asked, minus a penalty when the subject's head is something else."""
    q = _grams(query)
    subject = _grams(fact.subject)
    if not q or not subject:
        return 0.0
    text = subject | _grams(fact.quote) | _grams(fact.action)
    section = _grams(fact.section_path.split(" › ")[-1]) if fact.section_path else set()
    weight = 1.0 if action and _action_ok(fact, action) else 0.5
    covered = len(q & text) / len(q) + weight * len((q & section) - text) / len(q)
    return covered + 0.3 * len(subject & q) / len(subject) - _tail_penalty(fact, query)


def find_facts(kb, query: str, action: str | None = None, doc_id: str | None = None, min_score: float = 0.5,
               limit: int = 5) -> list[tuple[float, Fact]]:
    scored = []
    for fact in kb.facts:
        if doc_id and fact.doc_id != doc_id:
            continue
        if not _action_ok(fact, action):
            continue
        s = score_fact(fact, query, action)
        if s >= min_score:
            scored.append((s, fact))
    scored.sort(key=lambda x: (-x[0], x[1].start))
    return scored[:limit]


def fact(kb, subject: str, action: str | None = None, doc_id: str | None = None) -> ToolResult:
    """Quantities stated in the prose for a subject (e.g. 电石 淘汰 → 178.1万吨)."""
    if not subject or not subject.strip():
        raise ToolError("empty subject", "请指明要查的事项。")
    found = find_facts(kb, subject, action, doc_id)
    if not found:
        raise NotInKnowledgeBase(f"no fact for {subject}/{action}", f"规划正文中没有找到“{subject}”{('的' + action) if action else ''}数量。")
    facts = [f for _, f in found]
    return ToolResult(tuple(fact_figure(kb, f) for f in facts), dedupe(fact_citation(kb, f) for f in facts),
                      {"facts": facts, "scores": [s for s, _ in found]})
