"""The scoring contract, one small function per check (see the eval README). Each takes plain data."""

from __future__ import annotations

import re
import unicodedata

NUMBER = re.compile(r"(?<![\d.])-?\d+(?:\.\d+)?")
CITED_MIN_CHARS = 8


def _nfkc(text: str) -> str:
    return unicodedata.normalize("NFKC", text or "")


def numbers_in(text: str, years: bool = False) -> list[float]:
    """Figures stated in text. Full-width digits count; years (2015年), enumerations (1、 （三）), and digits inside
    names (PM2.5, NH3-N) do not, unless `years`: the scoring contract's "numbers stated in the answer text" include
    the year, month and day of a date the question asks for ("哪天成文的" → 2023年12月12日)."""
    text = _nfkc(text)
    out = []
    titles = [(t.start(), t.end()) for t in re.finditer(r"《[^》]{1,80}》", text)]
    for m in NUMBER.finditer(text):
        if any(a <= m.start() < b for a, b in titles):
            continue  # inside 《…》: part of a document's name
        raw, start, end = m.group(0), m.start(), m.end()
        before = text[start - 1] if start else ""
        after = text[end] if end < len(text) else ""
        if not years and re.fullmatch(r"-?(?:19|20)\d{2}", raw) and (after in "年—-～~至" or before in "年—-~"):
            continue
        if after == "、" or (before in "(（" and after in ")）"):
            continue
        if before.isascii() and before.isalpha():
            continue
        out.append(float(raw))
    return out


def near(stated: float, expected: float) -> bool:
    """Within max(0.01, 0.5% of the number); a fall may be written as 15 or -15."""
    return abs(abs(stated) - abs(expected)) <= max(0.01, 0.005 * abs(expected))


def check_number(text: str, expected: list[float]) -> bool:
    stated = numbers_in(text, years=True)
    return all(any(near(s, e) for s in stated) for e in expected)


def check_unit(text: str, unit: str) -> bool:
    return not unit or unit in _nfkc(text) or unit in (text or "")


def check_keywords(text: str, keywords: list[str]) -> bool:
    return all(k in (text or "") or _nfkc(k) in _nfkc(text) for k in keywords)


def check_refuse(refused: bool, expected: bool) -> bool:
    return bool(refused) == bool(expected)


def _shares_run(a: str, b: str, n: int = CITED_MIN_CHARS) -> bool:
    if len(a) < n or len(b) < n:
        return False
    grams = {b[i:i + n] for i in range(len(b) - n + 1)}
    return any(a[i:i + n] in grams for i in range(len(a) - n + 1))


def check_cited(citations: list[dict], evidence: list[str], refused: bool) -> bool:
    """Unless refused: some quote shares 8+ consecutive characters with an evidence string, or contains a 专栏 title
    that an evidence string names."""
    if refused or not evidence:
        return True
    titles = [e for e in evidence if e.startswith("专栏")]
    for c in citations:
        quote = c.get("quote", "")
        if any(_shares_run(quote, e) for e in evidence):
            return True
        if any(t in quote for t in titles):
            return True
    return False


def check_grounded(citations: list[dict], texts_by_doc: dict[str, str]) -> bool:
    """Every quote is an exact substring of its (normalized) source document."""
    for c in citations:
        doc = texts_by_doc.get(c.get("doc_id") or "") or texts_by_doc.get(c.get("doc") or "")
        if doc is None or c.get("quote", "") not in doc:
            return False
    return True


def _figure_numbers(figures: list[dict]) -> list[float]:
    out = []
    for f in figures:
        if f.get("value") is not None:
            out.append(float(f["value"]))
        out.extend(_figure_numbers(f.get("inputs", [])))
        if f.get("citation"):
            out.extend(numbers_in(f["citation"].get("quote", "")))
    return out


def unsupported_numbers(text: str, citations: list[dict], figures: list[dict], questions: list[str]) -> list[float]:
    pool = [n for c in citations for n in numbers_in(c.get("quote", ""))]
    pool += _figure_numbers(figures)
    pool += [n for q in questions for n in numbers_in(q)]
    return [n for n in numbers_in(text) if not any(near(n, p) for p in pool)]


def evidence_hit(chunk_texts: list[str], evidence: list[str]) -> bool:
    return any(e in t for t in chunk_texts for e in evidence)
