"""The targets a document sets for one year ("2035年的目标是什么", "到2025年要达到什么目标"): every sentence of the
documents in scope that sets something by that year, quoted as printed and cited, in the documents' order."""

from __future__ import annotations

import re

from assistant.executor import _docs_in_scope, doc_title, quote_citation
from assistant.plan import QueryPlan
from ingest.structure import cn_to_int
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


TABLE_NUMBER = re.compile(r"(附表|表)\s*([一二三四五六七八九十]{1,3}|\d{1,2})(?![\u4e00-\u9fff]{0,1}(?:中的|里的)?(?:指标|数据)?[\u4e00-\u9fff]*表)")
def _table_no(s: str) -> str:
    return str(cn_to_int(s))  # "表二" and "表2" are one table


def answer_missing_table(kb, plan: QueryPlan) -> Answer | None:
    """"规定的《表二》里…是多少": the documents in scope refer to a numbered table that the file does not carry
    (the page left the attachment out). Say so instead of answering from other passages."""
    m = TABLE_NUMBER.search(plan.question)
    if m is None or not (plan.scope.doc_ids or len(kb.docs) == 1):
        return None
    kind, no = m.group(1), _table_no(m.group(2))
    tables = [t for t in kb.tables if not plan.scope.doc_ids or t.doc_id in plan.scope.doc_ids]
    for t in tables:
        for name in (t.title, t.caption, t.section_path):
            for found in TABLE_NUMBER.finditer(name or ""):
                if _table_no(found.group(2)) == no:
                    return None  # the table is there
    docs = [d for d in _docs_in_scope(kb, plan)]
    mentioned = [d for d in docs if re.search(rf"{kind}\s*(?:{m.group(2)}|{no})(?!\d)", kb.text_of(d["doc_id"]))]
    if not mentioned:
        return None
    d = mentioned[0]
    text = kb.text_of(d["doc_id"])
    if re.search(rf"(?m)^\s*[《]?{kind}\s*(?:{m.group(2)}|{no})(?!\d)[》]?(?:\s|[：:]|[\u4e00-\u9fff]{{0,30}}$)", text):
        return None  # a caption line of its own: the table is in the file, only not read as one
    at = re.search(rf"[^。\n]*{kind}\s*(?:{m.group(2)}|{no})(?!\d)[^。\n]*[。]?", text)
    citation = quote_citation(kb, d["doc_id"], at.group(0).strip()) if at else None
    return Answer(f"《{doc_title(kb, d['doc_id'])}》正文提到了{m.group(0)}，但知识库收录的文件中没有这张表的内容"
                  "（原页面未附表格），无法给出表中的数值。", (citation,) if citation else (), refused=True,
                  intent="out_of_scope", trace=(f"{m.group(0)} referred to, not in the file",))
