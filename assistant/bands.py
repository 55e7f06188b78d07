"""A value asked against rows that are bands ("大于15000，小于、等于25000平方米" | 10): the row whose band holds
the value answers ("基地面积2万平方米的折减率是多少"). Bounds are read as printed: 大于 excludes, 小于、等于 includes."""

from __future__ import annotations

import math
import re

from assistant.executor import cell_citations, doc_title, value_words
from assistant.plan import QueryPlan
from kb.records import Answer, Figure
from tools.base import dedupe, fmt_num

NUMBER = r"(\d+(?:\.\d+)?)\s*(万|亿)?"
LOW = re.compile(rf"(大于、?等于|大于或等于|不小于|不低于|不少于|≥|大于|超过|高于|>){NUMBER}|{NUMBER}[^\d，,]{{0,6}}?(及以上|以上)")
HIGH = re.compile(rf"(小于、?等于|小于或等于|不大于|不超过|不高于|≤|小于|低于|不足|<){NUMBER}|{NUMBER}[^\d，,]{{0,6}}?(及以下|以下|以内)")
SPAN = re.compile(rf"^{NUMBER}[^\d]{{0,4}}?[-—–～~至到]{NUMBER}")
ASKED = re.compile(rf"{NUMBER}\s*(平方米|平方公里|公顷|亩|元|万元|米|吨|%|人|户|分)")


def _num(value: str, scale: str | None) -> float:
    return float(value) * {"万": 1e4, "亿": 1e8}.get(scale or "", 1)


def band(label: str) -> tuple[float, bool, float, bool] | None:
    """(low, low included, high, high included) of a label that states a band, else None."""
    s = re.sub(r"\s", "", label)
    span = SPAN.match(s)
    if span:
        return _num(span.group(1), span.group(2)), True, _num(span.group(3), span.group(4)), True
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


def _holds(b, v: float) -> bool:
    low, low_in, high, high_in = b
    return (v > low or low_in and v == low) and (v < high or high_in and v == high)


def answer_band(kb, plan: QueryPlan) -> Answer | None:
    asked = ASKED.search(plan.question)
    if asked is None:
        return None
    v = _num(asked.group(1), asked.group(2))
    unit = asked.group(3)
    for t in kb.tables:
        if plan.scope.doc_ids and t.doc_id not in plan.scope.doc_ids:
            continue
        labels = list(dict.fromkeys(c.row_label for c in t.cells))
        bands = {label: band(label) for label in labels}
        banded = [label for label, b in bands.items() if b is not None]
        if len(banded) < 2 or len(banded) < 0.6 * len(labels):
            continue
        if unit not in "".join(banded) + t.columns[0] + t.title + "".join(t.columns):
            continue  # the bands are of another quantity than the one asked
        holding = [label for label in banded if _holds(bands[label], v)]
        if len(holding) != 1:
            continue
        label = holding[0]
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
