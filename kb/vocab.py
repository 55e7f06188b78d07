"""The knowledge base's own names: regions (row labels of region tables) and indicators (headers / row labels)."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import lru_cache

from kb.records import Cell, Table

REGION_SUFFIXES = ("自治区", "自治州", "地区", "街道", "工业区", "新区", "园区", "市", "盟", "州", "县", "区", "旗", "省", "镇",
                   "乡")
OVERALL_WORDS = ("全区", "全省", "全市", "全国", "全盟", "全州", "全县", "自治区", "全自治区", "总体", "合计", "总计", "全域",
                 "小计", "全镇", "全街道")
_UNIT_PARENS = re.compile(r"[（(][^（）()]*[）)]")
_INDICATOR_NOISE = re.compile(r"(排放总量|排放量|排放|总量)")
_INDICATOR_SUFFIX = re.compile(r"(降低率|下降率|减排率|减排量|减排|降低|下降|减少|削减|降幅|目标值|目标|指标|控制|增长|提高|变化|幅度)+$")


def indicator_key(name: str) -> str:
    """'二氧化硫排放量（万吨）' / '二氧化硫排放量降低' → '二氧化硫'."""
    s = _UNIT_PARENS.sub("", name or "")
    s = re.sub(r"\s+", "", s)
    s = _INDICATOR_SUFFIX.sub("", s)
    s = _INDICATOR_NOISE.sub("", s)
    s = _INDICATOR_SUFFIX.sub("", s)
    return s or re.sub(r"\s+", "", name or "")


_CODE_ALIAS = re.compile(r"([\u4e00-\u9fff]{2,8})[（(]((?=[^）)]*[A-Za-z])[A-Za-z0-9.₂₅]{1,8})[）)]")


def indicator_keys(name: str) -> tuple[str, ...]:
    """The keys a name answers to: "细颗粒物（PM2.5）年均浓度" is both 细颗粒物年均浓度 and PM2.5年均浓度."""
    keys = [indicator_key(name)]
    m = _CODE_ALIAS.search(name or "")
    if m:
        keys.append(indicator_key(name[:m.start()] + m.group(2) + name[m.end():]))
    return tuple(dict.fromkeys(k for k in keys if k))


SHORT_FORM_SUFFIXES = ("自治区", "自治州", "地区", "街道", "市", "盟", "州", "县", "区", "旗", "省", "镇", "乡")


def region_short(name: str) -> str:
    # 工业区/新区/园区 keep their full names: "嘉定" is the district, not 嘉定工业区.
    if name.endswith(("工业区", "新区", "园区")):
        return name
    for suffix in SHORT_FORM_SUFFIXES:
        if name.endswith(suffix) and len(name) - len(suffix) >= 2:
            return name[: -len(suffix)]
    return name


def looks_like_region(label: str) -> bool:
    return bool(label) and len(label) <= 12 and (label.endswith(REGION_SUFFIXES) or label in OVERALL_WORDS)


REGION_HEADER = re.compile(r"^(?:地区|区域|行政区|盟市|地市|城市|各市|设区市|市|市州|市[（(]州[）)]|区县|县区|县市区|县[（(]市、?区[）)]|"
                           r"街镇|乡镇|镇|街道|街镇、园区|街镇（园区）|单位|各区|区|"
                           r"旗县|旗县区|旗县[（(]市、?区[）)]|省份|省[（(]区、市[）)]|地州市?)$")


def is_region_table(table: Table) -> bool:
    """Rows are places: the first header says so (地区, 设区市, 市（州）…), or the labels look like place names."""
    return _region_table(table.table_id, table.columns[0] if table.columns else "", tuple(table.row_labels))


@lru_cache(maxsize=4096)
def _region_table(table_id: str, first_header: str, labels: tuple[str, ...]) -> bool:
    if not labels:
        return False
    if REGION_HEADER.match(re.sub(r"\s+", "", first_header)):
        return True
    if sum(looks_like_region(lab) for lab in labels) >= max(2, 0.6 * len(labels)):
        return True
    return sum(_is_place(lab) for lab in labels) >= max(3, 0.8 * len(labels))


def _is_place(label: str) -> bool:
    import jieba
    import jieba.posseg as pseg

    jieba.setLogLevel(30)
    words = list(pseg.cut(label))
    return len(words) == 1 and words[0].flag == "ns"


def is_overall(label: str) -> bool:
    return label in OVERALL_WORDS or label.startswith("全")


@dataclass
class Vocabulary:
    regions: list[str] = field(default_factory=list)  # canonical region labels, as in the tables
    indicators: dict[str, list[str]] = field(default_factory=dict)  # key → names as printed

    @classmethod
    def from_tables(cls, tables: list[Table]) -> "Vocabulary":
        vocab = cls()
        seen_regions: dict[str, None] = {}
        for table in tables:
            region_table = is_region_table(table)
            if region_table:
                for label in table.row_labels:
                    if not is_overall(label):
                        seen_regions.setdefault(label, None)
                names = list(table.columns[1:])
            else:
                names = [c.row_label for c in table.cells]
            for name in names:
                key = indicator_key(name)
                # Words name an indicator; a bare number or a sentence-long task does not.
                if len(re.findall(r"[\u4e00-\u9fffA-Za-z]", key)) >= 2 and len(key) <= 40:
                    vocab.indicators.setdefault(key, [])
                    if name not in vocab.indicators[key]:
                        vocab.indicators[key].append(name)
        vocab.regions = list(seen_regions)
        return vocab


def cell_indicator_key(table: Table, cell: Cell) -> str:
    return indicator_key(cell.column if is_region_table(table) else cell.row_label)
