"""“规划对X有什么要求”: every requirement about X across the plan, grouped by section, quantified ones first.

A passage search returns the two or three best passages; a requirement question wants all of them — the
deadlines, standards and areas written in other chapters too. Sentences are scored by how much of the topic's
words they hold (rare words weigh more), requirement sentences kept, grouped by the section they stand in.
"""

from __future__ import annotations

import math
import re

from assistant.executor import doc_title
from assistant.plan import QueryPlan
from kb.records import Answer, Citation
from tools.base import cn_int

MAX_SHOWN = 8
ASKS = re.compile(r"规划|方案|计划|文件|通知|意见|对于|对|关于|在|中|里|有什么|有哪些|什么|哪些|具体|要求|规定|提出|明确|部署|"
                  r"安排|怎么|如何|怎样|了|的|呢|吗|请问|[？?，,。！!\s“”\"]")
REQUIREMENT = re.compile(r"要|必须|应当|应|全部|全面|严格|达到|不低于|不少于|不超过|以上|以下|以内|禁止|严禁|加快|确保|力争|"
                         r"完成|实施|推进|执行|控制在|提高到|降低|建立|健全|推动|实行|开展")
QUANTITY = re.compile(r"\d+(?:\.\d+)?\s*(?:%|万|亿|吨|千瓦|公里|平方米|公顷|亩|个|座|项|年|家|台|辆|套|户)")
SENTENCE = re.compile(r"[^。；;！？!?\n]+[。；;！？!?]?")


def _n(n: int) -> str:
    return "两" if n == 2 else cn_int(n)


def topic_terms(question: str) -> list[str]:
    import jieba

    text = ASKS.sub(" ", re.sub(r"《[^》]*》", " ", question))
    words = []
    for w in jieba.lcut(text):
        w = w.strip()
        if len(w) >= 2 and re.match(r"^[\u4e00-\u9fffA-Za-z0-9.]+$", w) and w not in words:
            words.append(w)
    return words


def _sentences(kb):
    """(doc_id, chunk, sentence) for the prose of the documents in scope, each sentence once."""
    seen = set()
    for chunk in kb.chunks:
        if chunk.kind == "table":
            continue
        for m in SENTENCE.finditer(chunk.text):
            s = m.group(0).strip()
            if len(s) < 8 or s.startswith("|"):
                continue
            key = (chunk.doc_id, s)
            if key in seen:
                continue
            seen.add(key)
            yield chunk.doc_id, chunk, s


def answer_requirements(kb, plan: QueryPlan) -> Answer | None:
    if plan.operation.kind != "requirements":
        return None
    terms = topic_terms(plan.question)
    if not terms:
        return None
    sentences = list(_sentences(kb))
    if not sentences:
        return None
    df = {t: sum(1 for _, _, s in sentences if t in s) for t in terms}
    for t in terms:
        halves = (t[: len(t) // 2], t[len(t) // 2:]) if len(t) >= 4 else ()
        if not df[t] and not (halves and all(any(h in s for _, _, s in sentences) for h in halves)):
            return None  # "房地产市场": a topic the plan never names is refused elsewhere, not answered for "市场"
    terms = [t for t in terms if df[t]]
    if not terms:
        return None
    weight = {t: math.log(1 + len(sentences) / (1 + df[t])) for t in terms}
    total = sum(weight.values())
    found = []
    for i, (doc_id, chunk, s) in enumerate(sentences):
        hit = [t for t in terms if t in s]
        score = sum(weight[t] for t in hit) / total
        if hit and score >= 0.6 and REQUIREMENT.search(s):
            found.append((score, bool(QUANTITY.search(s)), i, doc_id, chunk, s))
    if not found:
        return None
    found.sort(key=lambda x: (-x[1], -x[0], x[2]))  # quantified first, then closest to the topic
    shown = sorted(found[:MAX_SHOWN], key=lambda x: x[2])  # in the document's order, grouped by section
    groups: dict[tuple[str, str], list] = {}
    for item in shown:
        groups.setdefault((item[3], item[4].section_path), []).append(item)
    many_docs = len({doc for doc, _ in groups}) > 1
    topic = "".join(terms) if len("".join(terms)) <= 16 else "、".join(terms[:4])
    lines = [f"规划中关于“{topic}”的要求（按章节列出{_n(len(shown))}条{'，含数量的在前' if any(x[1] for x in shown) else ''}）："]
    citations = []
    for (doc_id, section), items in groups.items():
        head = section.split(" › ")[-1] if section else "正文"
        head = re.sub(r"^[（(]?[一二三四五六七八九十\d]+[）)、.．]\s*", "", head) or head  # "2.强化…": no stray figure
        lines.append(f"【{'《' + doc_title(kb, doc_id) + '》' if many_docs else ''}{head}】")
        if re.search(r"\d", head) and head in kb.text_of(doc_id):
            chunk0 = items[0][4]
            citations.append(Citation(kb.doc_name(doc_id), section, head, chunk0.chunk_id, doc_id))
        for *_, chunk, s in sorted(items, key=lambda x: (-x[1], x[2])):
            lines.append(f"- {s}")
            citations.append(Citation(kb.doc_name(doc_id), chunk.section_path, s, chunk.chunk_id, doc_id))
    if len(found) > len(shown):
        lines.append(f"（另有{_n(len(found) - len(shown))}条相关内容未列出，可缩小问题范围查看。）")
    return Answer("\n".join(lines), tuple(citations), (), intent="narrative",
                  trace=(f"requirements({'、'.join(terms)}) → {len(found)} sentences",))
