"""A value asked against rows that are bands ("大于15000，小于、等于25000平方米" | 10): the row whose band holds
the value answers ("基地面积2万平方米的折减率是多少"). Bounds are read as printed: 大于 excludes, 小于、等于 includes."""

from __future__ import annotations

import math
import re
from functools import lru_cache

from assistant.executor import _grams, caption_cover, cell_citations, doc_title, value_words
from assistant.plan import QueryPlan
from kb.records import Answer, Figure
from tools.base import dedupe, fmt_num

NUMBER = r"(\d+(?:\.\d+)?)\s*(万|亿)?"
LOW = re.compile(rf"(大于、?等于|大于或等于|不小于|不低于|不少于|≥|(?<!不)大于|(?<!不)超过|(?<!不)高于|>){NUMBER}|"
                 rf"{NUMBER}[^\d，,]{{0,6}}?(及以上|以上)")
HIGH = re.compile(rf"(小于、?等于|小于或等于|不大于|不超过|不高于|≤|(?<!不)小于|(?<!不)低于|不足|<){NUMBER}|"
                  rf"{NUMBER}[^\d，,]{{0,6}}?(及以下|以下|以内)")
BOUND_ASKED = re.compile(r"超过|以上|以下|不低于|不少于|不超过|不高于|大于|小于|低于|高于|至少|之间")
SPAN = re.compile(rf"^{NUMBER}[^\d]{{0,4}}?[-—–～~至到]{NUMBER}")
ASKED = re.compile(rf"{NUMBER}\s*(平方米|平方公里|公顷|亩|元|米|吨|%|人|户|分)")


def _num(value: str, scale: str | None) -> float:
    return float(value) * {"万": 1e4, "亿": 1e8}.get(scale or "", 1)


@lru_cache(maxsize=20000)
def band(label: str) -> tuple[float, bool, float, bool] | None:
    """(low, low included, high, high included) of a label that states a band, else None."""
    s = re.sub(r"\s", "", label)
    if re.search(r"[‹<＜].*[≤≦]|[（(]不?含[）)]", s):
        return None  # "1000‹S≤3000", "（不含）": bounds written in a way not read here are left alone
    span = SPAN.match(s)
    if span:
        scale = span.group(4) or span.group(2)  # "1-5万元": the 万 is printed once, after the high end
        return _num(span.group(1), scale), True, _num(span.group(3), scale), True
    lo = LOW.search(s)
    hi = HIGH.search(s)
    if not lo and not hi:
        return None
    low, low_in, high, high_in = -math.inf, False, math.inf, False
    if lo:
        if lo.group(1):
            low, low_in = _num(lo.group(2), lo.group(3)), "等于" in lo.group(1) or lo.group(1) in ("不小于", "不低于", "不少于", "≥")
        else:
            low, low_in = _num(lo.group(4), lo.group(5)), True
    if hi:
        if hi.group(1):
            high, high_in = _num(hi.group(2), hi.group(3)), "等于" in hi.group(1) or hi.group(1) in ("不大于", "不超过", "不高于", "≤")
        else:
            high, high_in = _num(hi.group(4), hi.group(5)), True  # "5000元以下" includes 5000
    if low >= high:
        return None
    return low, low_in, high, high_in


def band_table(t) -> bool:
    labels = list(dict.fromkeys(c.row_label for c in t.cells))
    return sum(band(x) is not None for x in labels) >= max(2, 0.6 * len(labels))


def _holds(b, v: float) -> bool:
    low, low_in, high, high_in = b
    return (v > low or low_in and v == low) and (v < high or high_in and v == high)


def answer_band(kb, plan: QueryPlan) -> Answer | None:
    asked = ASKED.search(plan.question)
    if asked is None or plan.operation.threshold is not None:
        return None
    if BOUND_ASKED.search(plan.question[max(0, asked.start() - 6): asked.end() + 4]):
        return None  # "超过2000平方米的": a bound asked spans bands; that is a filter
    v = _num(asked.group(1), asked.group(2))
    unit = asked.group(3)
    tables = [t for t in kb.tables if not plan.scope.doc_ids or t.doc_id in plan.scope.doc_ids]
    q = _grams(plan.question)
    scored = sorted(((caption_cover(t, q), k) for k, t in enumerate(tables)), reverse=True)
    if len(scored) > 1 and scored[0][0] < 0.6 and scored[0][0] - scored[1][0] < 0.2:
        scored = scored[:0] if sum(band_table(t) for t in tables) > 1 else scored
    found = []
    for _, k in scored:
        t = tables[k]
        labels = list(dict.fromkeys(c.row_label for c in t.cells))
        bands = {label: band(label) for label in labels}
        banded = [label for label, b in bands.items() if b is not None]
        if len(banded) < 2 or len(banded) < 0.6 * len(labels):
            continue
        printed = {re.sub(r"^[万亿]", "", u) for u in re.findall(
            r"\d\s*((?:万|亿)?(?:平方米|平方公里|公顷|亩|元|米|吨|%|人|户|分))", "".join(banded))}
        if printed and unit not in printed or not printed and unit not in t.title:
            continue  # the bands are of another quantity than the one asked (米 is not 平方米)
        holding = [label for label in banded if _holds(bands[label], v)]
        if len(holding) != 1:
            continue
        found.append((t, holding[0]))
        break
    for t, label in found[:1]:
        cells = [c for c in t.cells if c.row_label == label and c.raw.strip()]
        if not cells:
            continue
        said = "；".join(f"{c.column}{value_words(c)}" for c in cells)
        citations = dedupe(x for c in cells for x in cell_citations(kb, t, c))
        figures = tuple(Figure(f"{label} {c.column}", c.value, c.unit, "", (), cell_citations(kb, t, c)[1])
                        for c in cells if c.value is not None)
        said_v = re.sub(r"\s", "", asked.group(0))  # as the question wrote it ("2万平方米")
        return Answer(f"根据《{doc_title(kb, t.doc_id)}》{t.title}，{said_v}属于“{label}”一档：{said}。",
                      citations, figures, intent="lookup", trace=(f"{fmt_num(v)} in band {label} of {t.title}",))
    return None
