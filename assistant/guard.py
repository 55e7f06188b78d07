"""The number guard: every number stated in an answer must be traceable to a quote, a figure or the question."""

from __future__ import annotations

import re

from kb.records import Answer, Figure

NUMBER = re.compile(r"(?<![\d.])[-+]?\d+(?:\.\d+)?")
YEAR_LIKE = re.compile(r"^(?:19|20)\d{2}$")
TITLE = re.compile(r"《[^》]{1,80}》")


def stated_numbers(text: str) -> list[float]:
    """Numbers a reader takes as figures: not years (2015年), not enumerations (1、), not part of names (PM2.5)."""
    out = []
    titles = [(t.start(), t.end()) for t in TITLE.finditer(text or "")]
    for m in NUMBER.finditer(text or ""):
        if any(a <= m.start() < b for a, b in titles):
            continue  # 《…2021—2025年…》: part of a document's name
        raw = m.group(0)
        after = text[m.end(): m.end() + 1]
        before = text[m.start() - 1: m.start()] if m.start() else ""
        if YEAR_LIKE.match(raw.lstrip("+-")) and (after in ("年", "—", "-", "～", "~", "至", "") or before in ("年", "—", "-")):
            continue
        if after == "、" or (before in "(（" and after in ")）"):
            continue
        if before.isascii() and before.isalpha():
            continue  # PM2.5, NH3-N, CO2: part of a name
        out.append(float(raw))
    return out


def _figure_values(figures) -> list[float]:
    out = []
    for f in figures:
        out.append(f.value)
        out.extend(_figure_values(f.inputs))
        if f.citation:
            out.extend(stated_numbers(f.citation.quote))
    return out


def close(a: float, b: float) -> bool:
    return abs(abs(a) - abs(b)) <= max(0.01, 0.005 * abs(b))


def unsupported_numbers(text: str, citations, figures: tuple[Figure, ...] | list[Figure], question: str = "") -> list[float]:
    pool = []
    for c in citations:
        pool.extend(stated_numbers(c.quote))
        pool.extend(stated_numbers(getattr(c, "section_path", "") or ""))  # "【专栏1 …】": the cited section's name
    pool.extend(_figure_values(figures))
    pool.extend(stated_numbers(question))
    return [n for n in stated_numbers(text) if not any(close(n, p) for p in pool)]


def check(answer: Answer, question: str) -> list[float]:
    return unsupported_numbers(answer.text, answer.citations, answer.figures, question)
