"""A follow-up comparing the quantity just answered with the same quantity in another plan period.

"旧住房更新改造的十四五目标是多少？" → "和十三五实际完成的比呢？": the plan's review of the earlier period states
"实施各类旧住房更新改造5300余万平方米"; both are shown with their sentences and the difference is computed.
"""

from __future__ import annotations

import re

from kb.records import Answer, Figure
from kb.tokens import plain_bigrams
from tools.base import dedupe, fact_citation, fact_figure, fmt_num

AGAINST_PERIOD = re.compile(
    r"(?:和|与|跟|同|比|较|对比)“?(十[一二三四五六七八九]五)”?(?:期间|时期|末)?(?:的)?(?:实际)?"
    r"(?:完成|实施|实现|情况|成果|完成情况|实际值)?(?:的|量|数)?(?:相比|比较|对比|比)?(?:呢|如何|怎么样|怎样|相比呢)?[？?]?$")


def _fact_of(kb, answer: Answer):
    """The prose fact the previous answer stated (its first figure's sentence), or None."""
    for fig in answer.figures:
        cite = fig.citation
        if cite is None or cite.table:
            continue
        for f in kb.facts:
            if f.doc_id == cite.doc_id and f.quote == cite.quote and abs(f.value - fig.value) < 1e-9:
                return f
    return None


def against_period(kb, conversation, text: str) -> Answer | None:
    m = AGAINST_PERIOD.search(text)
    if m is None or conversation is None:
        return None
    prev = conversation.last()
    if prev is None:
        return None
    asked = m.group(1)
    before = _fact_of(kb, prev.answer)
    if before is None or before.period == asked:
        return None
    want = plain_bigrams(re.sub(r"^(?:各类|各项|全市|全区)", "", before.subject))
    best, best_score = None, 0.0
    for f in kb.facts:
        if f.doc_id != before.doc_id or f.period != asked or f.unit != before.unit:
            continue
        score = len(want & plain_bigrams(f.subject)) / max(len(want), 1)
        if score > best_score:
            best, best_score = f, score
    label = f"“{asked}”时期"
    if best is None or best_score < 0.6:
        return Answer(f"规划中没有写明{label}的“{before.subject}”数量，无法与“{before.subject}”{before.raw}比较。",
                      (fact_citation(kb, before),), refused=True, intent="compare",
                      trace=(f"no {asked} fact for {before.subject}",))
    now, then = fact_figure(kb, before), fact_figure(kb, best)
    diff = Figure("相差", abs(before.value - best.value), before.unit,
                  f"|{fmt_num(before.value, 4)} − {fmt_num(best.value, 4)}|", (now, then))
    more = "高于" if before.value > best.value else "低于" if before.value < best.value else "等于"
    period_now = f"“{before.period}”" if before.period else "规划"
    text = (f"{period_now}：“{before.quote}”。\n{label}：“{best.quote}”。\n"
            f"前者{more}后者" + (f"，相差{fmt_num(diff.value, 4)}{diff.unit}" if more != "等于" else "")
            + ("（原文数值带“余/约”等限定，差值为按所写数字计算的近似值）" if best.qualifier or before.qualifier else "")
            + "。")
    return Answer(text, dedupe([fact_citation(kb, before), fact_citation(kb, best)]), (now, then, diff),
                  intent="compare", trace=(f"against period {asked}: {best.subject} {best.raw}",))
