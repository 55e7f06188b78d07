"""A value as a plan prints it → a typed value: number, range, bound, qualifier, unit, or words.

Plans write targets in many ways: ``≥80``, ``＞1.7``, ``95以上``, ``4.1左右``, ``约48公里``, ``〔3000—4000〕``
(a five-year total), ``12。5`` (a full stop typed for the decimal point), ``1,620``, ``-4.40``, and also in words:
``动态调整``, ``完成市考核要求``, ``5分钟覆盖区超80%``. Words stay words: they are answered verbatim and never
turned into a number, so a comparison or a ranking only ever sees values that really are numbers.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

# Words before a number that make it a bound or an estimate; the comparator is what the words mean.
PREFIX_BOUNDS = {
    "不低于": "≥", "不少于": "≥", "不小于": "≥", "至少": "≥", "大于等于": "≥", "≥": "≥", "≧": "≥", ">=": "≥",
    "不高于": "≤", "不超过": "≤", "不大于": "≤", "不多于": "≤", "最多": "≤", "小于等于": "≤", "≤": "≤", "≦": "≤",
    "<=": "≤", "低于": "<", "小于": "<", "<": "<", "＜": "<", "高于": ">", "大于": ">", "超过": ">", "超": ">",
    ">": ">", "＞": ">", "多于": ">",
}
PREFIX_QUALIFIERS = ("力争达到", "力争", "争取", "约", "近", "大约", "累计", "达到", "控制在", "保持在", "保持")
SUFFIX_BOUNDS = {"以上": "≥", "及以上": "≥", "以下": "≤", "及以下": "≤", "以内": "≤"}
SUFFIX_QUALIFIERS = ("左右", "上下", "多", "余")
_PREFIX = "|".join(sorted(map(re.escape, list(PREFIX_BOUNDS) + list(PREFIX_QUALIFIERS)), key=len, reverse=True))
_SUFFIX = "|".join(sorted(map(re.escape, list(SUFFIX_BOUNDS) + list(SUFFIX_QUALIFIERS)), key=len, reverse=True))
NUM = r"[+-]?\d+(?:\.\d+)?"
UNIT = r"[%‰]|[a-zA-Z²³/·\u4e00-\u9fff（）()]{1,12}?"
VALUE = re.compile(
    rf"^(?P<pre>(?:{_PREFIX})+)?\s*(?P<open>[〔\[【(（])?\s*(?P<num>{NUM})\s*(?:(?!{_SUFFIX})(?P<u1>{UNIT}))?"
    rf"(?:\s*(?P<dash>[—–~～至到-]{{1,2}}|—)\s*(?P<hi>{NUM})\s*(?:(?!{_SUFFIX})(?P<u2>{UNIT}))?)?"
    rf"\s*(?P<close>[〕\]】)）])?"
    rf"\s*(?P<post>{_SUFFIX})?\s*$"
)
# A cell the scraped page left out of a row ("| 徐行镇 | 10 | （缺） | 221 |"): shown where it was missing, empty.
GAP = "（缺）"
EMPTY_MARKS = {"", "-", "—", "--", "——", "/", "／", "—/—", "－", "\\", "无", GAP}
# Units a bare number may carry in a cell; anything else after a number makes the cell words.
KNOWN_UNIT = re.compile(
    r"^(?:[%‰]|万?亿?[元人户套间台辆个座处家项条块张株棵次艘栋幢所篇件批只]|万?千?(?:吨|公里|千米|米|平方米|平方公里|"
    r"平方千米|公顷|亩|立方米|千瓦|瓦|千瓦时|吨标准煤|标准煤|蒸吨|小时|分钟|天|年|个月|月|倍|百分点|分)(?:/[\u4e00-\u9fff]{1,4})?|"
    r"万[\u4e00-\u9fff]{1,4}|[a-zA-Z]{1,6}(?:/[a-zA-Z\u4e00-\u9fff]{1,4})?|万套（间）|㎡|km|cm|mm|m|t)$"
)


@dataclass(frozen=True)
class Value:
    kind: str  # number | range | text | empty
    raw: str
    value: float | None = None
    value_hi: float | None = None
    comparator: str = ""  # ≥ > ≤ <
    qualifier: str = ""  # 约 / 左右 / 力争 / 累计 …
    unit: str = ""  # printed with the number ("%" included)
    cumulative: bool = False  # printed in 〔〕: a total over the plan period
    decimal_fixed: bool = False  # "12。5" read as 12.5

    @property
    def is_number(self) -> bool:
        return self.kind in ("number", "range")


def clean_number_text(raw: str) -> tuple[str, bool]:
    """Thousands separators go; a full stop between digits is a decimal point ("12。5" → "12.5")."""
    text = raw.strip()
    fixed = bool(re.search(r"\d。\d", text))
    text = re.sub(r"(?<=\d)。(?=\d)", ".", text)
    text = re.sub(r"(?<=\d)[,，](?=\d{3}(?!\d))", "", text)
    return text, fixed


def parse_value(raw: str) -> Value:
    """Type one cell or target as printed. Words (even with digits inside) stay text."""
    text = (raw or "").strip()
    if text in EMPTY_MARKS:
        return Value("empty", raw or "")
    cleaned, fixed = clean_number_text(text)
    m = VALUE.match(cleaned.replace(" ", ""))
    if not m:
        return Value("text", raw)
    unit = (m.group("u1") or "") or (m.group("u2") or "")
    if unit and not KNOWN_UNIT.match(unit):
        return Value("text", raw)
    if m.group("u1") and m.group("u2") and m.group("u1") != m.group("u2"):
        return Value("text", raw)
    pre = m.group("pre") or ""
    post = m.group("post") or ""
    comparator = ""
    qualifiers = []
    rest = pre
    while rest:  # "力争不低于" = 力争 + ≥
        for word in sorted(list(PREFIX_BOUNDS) + list(PREFIX_QUALIFIERS), key=len, reverse=True):
            if rest.startswith(word):
                if word in PREFIX_BOUNDS:
                    comparator = PREFIX_BOUNDS[word]
                elif word not in ("达到", "控制在", "保持在", "保持"):
                    qualifiers.append(word)
                rest = rest[len(word):]
                break
        else:
            break
    if post in SUFFIX_BOUNDS:
        comparator = comparator or SUFFIX_BOUNDS[post]
    elif post:
        qualifiers.append(post)
    opened, closed = m.group("open") or "", m.group("close") or ""
    if bool(opened) != bool(closed):
        return Value("text", raw)  # "(2025年" is a fragment of words, not a value
    if m.group("hi") and re.match(r"0\d", m.group("num")) or re.match(r"0\d", m.group("hi") or ""):
        return Value("text", raw)  # "06-050" is a code (an ID, a file number), never the range 6—50
    value = float(m.group("num"))
    hi = float(m.group("hi")) if m.group("hi") else None
    if unit == "年" and hi is None and value.is_integer() and 1900 <= value <= 2100:
        return Value("text", raw)  # "2025年" in a cell is a date, answered as printed
    kind = "range" if hi is not None else "number"
    cumulative = opened == "〔"
    return Value(kind, raw, value, hi, comparator, "".join(qualifiers), unit, cumulative, fixed)


FOOTNOTE_TAIL = re.compile(r"(?<=[\u4e00-\u9fff）)])([1-9]|[¹²³⁴⁵⁶⁷⁸⁹]|[①-⑨])$")
FOOTNOTE_INNER = re.compile(r"(?<=[\u4e00-\u9fff])([1-9]|[¹²³⁴⁵⁶⁷⁸⁹])(?=[\u4e00-\u9fff])")
NOT_FOOTNOTE_AFTER = re.compile(r"^[个年月日万亿千百条项类级星号次倍分号岁期批座处家人户套台栋名位列行页章节款部轮]")


def split_footnotes(label: str) -> tuple[str, str]:
    """Footnote marks glued to a name ("地级及以上城市2空气质量优良天数比率", "…比例3") → (name, marks).

    A digit counts as a mark only between or after Chinese characters and when no counter word follows it
    ("5个", "3年", "二星级" keep their digits).
    """
    marks = []
    if len(label) > 40:
        return label, ""  # a sentence ("全年培训不少于5场") carries figures, not footnote marks
    m = FOOTNOTE_TAIL.search(label)
    if m and not re.search(r"\d[\d.]*$", label[: m.start()]):
        marks.append(m.group(1))
        label = label[: m.start()]
    out = []
    last = 0
    for m in FOOTNOTE_INNER.finditer(label):
        after = label[m.end():]
        if NOT_FOOTNOTE_AFTER.match(after) or re.search(r"[于超达约近第前后共每至余逾满]$", label[:m.start()]):
            continue
        out.append(label[last:m.start()])
        marks.insert(0, m.group(1)) if not marks else marks.append(m.group(1))
        last = m.end()
    out.append(label[last:])
    return "".join(out), "".join(marks)
