"""The targets a document sets for one year ("2035年的目标是什么", "到2025年要达到什么目标"): every sentence of the
documents in scope that sets something by that year, quoted as printed and cited, in the documents' order."""

from __future__ import annotations

import re

from assistant.executor import _docs_in_scope, doc_title, quote_citation
from assistant.plan import QueryPlan
from kb.records import Answer

GOALS_ASKED = re.compile(r"目标|任务|要求|要达到什么|达到什么|要实现什么|实现什么")
FILLERS = re.compile(r"(?:19|20)\d{2}年?|到|年底|年末|前|的|定|提出|确定|设定|规划|方案|计划|目标|任务|要求|是什么|有哪些|有什么|"
                     r"哪些|什么|要|达到|实现|总体|主要|具体|分别|里|中|对|关于|[，,。？?、\s]")
GOAL_VERBS = re.compile(r"达到|实现|建成|完成|力争|基本|全面|不低于|不少于|以上|控制在|超过|提高到|降低到|形成|满足")
MAX_SENTENCES = 8


def answer_year_goals(kb, plan: QueryPlan) -> Answer | None:
    year = plan.measure.year
    question = plan.question
    if not year or plan.measure.indicators or plan.scope.regions or not GOALS_ASKED.search(question):
        return None
    if FILLERS.sub("", plan.measure.subject or ""):
        return None  # a goal about something named ("2035年森林覆盖率目标") is that thing's lookup
    found = []
    for d in _docs_in_scope(kb, plan):
        text = kb.text_of(d["doc_id"])
        for line in text.split("\n"):
            if line.lstrip().startswith("|"):
                continue  # table rows are the tables' answers
            for sentence in re.split(r"(?<=[。；;])", line):
                s = sentence.strip()
                if re.search(rf"{year}年(?!\d)", s) and GOAL_VERBS.search(s) and len(s) >= 10:
                    citation = quote_citation(kb, d["doc_id"], s)
                    if citation is not None:
                        found.append((d["doc_id"], s, citation))
    if not found:
        return None
    shown = found[:MAX_SENTENCES]
    lines = []
    for doc_id in dict.fromkeys(x[0] for x in shown):
        lines.append(f"《{doc_title(kb, doc_id)}》中到{year}年的目标（原文）：")
        lines += [f"- {s}" for d, s, _ in shown if d == doc_id]
    if len(found) > len(shown):
        lines.append(f"（另有{len(found) - len(shown)}句也提到{year}年，未列出）")
    return Answer("\n".join(lines), tuple(c for _, _, c in shown), (), intent="narrative",
                  trace=(f"goals set for {year}: {len(found)} sentences",))
