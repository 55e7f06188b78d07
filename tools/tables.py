"""Lookups over the extracted tables: one value, a region series, ranks, comparisons and aggregates."""

from __future__ import annotations

import re
from dataclasses import dataclass

from kb.errors import NotInKnowledgeBase, ToolError
from kb.records import Cell, Figure, Table
from kb.vocab import indicator_key, indicator_keys, is_overall, is_region_table, region_short
from tools import calc
from tools.base import ToolResult, cell_citations, cell_figure, dedupe, fmt_num


@dataclass(frozen=True)
class Match:
    table: Table
    cell: Cell


def _key_match(query_key: str, name: str) -> int:
    """2 exact, 1 containment, 0 none; a name with a code in brackets ("细颗粒物（PM2.5）…") answers to both."""
    if not query_key:
        return 0
    best = 0
    for key in indicator_keys(name):
        if key == query_key:
            return 2
        if len(query_key) >= 2 and (query_key in key or key in query_key):
            best = 1
    return best


def _region_match(query: str, label: str) -> bool:
    return query == label or region_short(query) == region_short(label)


def _tables(kb, doc_id: str | None) -> list[Table]:
    return [t for t in kb.tables if doc_id is None or t.doc_id == doc_id]


def find_cells(kb, indicator: str, region: str | None = None, column: str | None = None,
               doc_id: str | None = None) -> list[Match]:
    """Cells of `indicator` for a region (region tables) or for the whole plan area (indicator tables)."""
    qkey = indicator_key(indicator)
    best: list[tuple[int, Match]] = []
    for table in _tables(kb, doc_id):
        region_table = is_region_table(table)
        for cell in table.cells:
            if region_table:
                score = _key_match(qkey, cell.column)
                if region is None or is_overall(region):
                    if not is_overall(cell.row_label):
                        continue
                elif not _region_match(region, cell.row_label):
                    continue
            else:
                if region is not None and not is_overall(region):
                    continue
                score = _key_match(qkey, cell.row_label)
            if not score:
                continue
            if column and column not in cell.column:
                continue
            best.append((score, Match(table, cell)))
    if not best:
        return []
    top = max(s for s, _ in best)
    return [m for s, m in best if s == top]


def lookup(kb, indicator: str, region: str | None = None, column: str | None = None,
           doc_id: str | None = None) -> ToolResult:
    """One indicator's value(s) for a region or the whole area, each with its table row as citation."""
    if not indicator or not indicator.strip():
        raise ToolError("empty indicator", "请指明要查询的指标。")
    matches = find_cells(kb, indicator, region, column, doc_id)
    if not matches:
        where = f"{region}的" if region else ""
        raise NotInKnowledgeBase(f"no cell for {indicator}/{region}/{column}", f"知识库的表格中没有{where}“{indicator}”这一指标。")
    figures, citations = [], []
    for m in matches:
        title, row = cell_citations(kb, m.table, m.cell)
        citations += [title, row]
        if m.cell.value is not None:
            figures.append(cell_figure(kb, m.table, m.cell))
    return ToolResult(tuple(figures), dedupe(citations), {"matches": matches})


def series(kb, indicator: str, doc_id: str | None = None) -> list[Match]:
    """The indicator for every region of the best-matching region table."""
    qkey = indicator_key(indicator)
    candidates: list[tuple[int, Table, str]] = []
    for table in _tables(kb, doc_id):
        if not is_region_table(table):
            continue
        for col in table.columns[1:]:
            score = _key_match(qkey, col)
            if score:
                candidates.append((score, table, col))
    if not candidates:
        raise NotInKnowledgeBase(f"no region series for {indicator}", f"知识库中没有按地区列出的“{indicator}”指标。")
    candidates.sort(key=lambda x: -x[0])
    _, table, col = candidates[0]
    return [Match(table, c) for c in table.cells if c.column == col and not is_overall(c.row_label)]


def _numeric(matches: list[Match]) -> list[Match]:
    return [m for m in matches if m.cell.value is not None]


def _result(kb, matches: list[Match], figures: list[Figure], data: dict, note: str = "") -> ToolResult:
    citations = []
    for m in matches:
        citations += list(cell_citations(kb, m.table, m.cell))
    return ToolResult(tuple(figures), dedupe(citations), data, note)


def rank(kb, indicator: str, order: str = "desc", exclude: tuple[str, ...] = (), top: int = 1,
         doc_id: str | None = None) -> ToolResult:
    """Regions ordered by the indicator (desc = largest first); ties at the cut are all kept."""
    if order not in ("desc", "asc"):
        raise ToolError(f"bad order {order}", "排序方式只能是从大到小（desc）或从小到大（asc）。")
    if top < 1:
        raise ToolError("bad top", "名次数必须至少为 1。")
    all_matches = _numeric(series(kb, indicator, doc_id))
    excluded = [m for m in all_matches if any(_region_match(x, m.cell.row_label) for x in exclude)]
    pool = [m for m in all_matches if m not in excluded]
    if not pool:
        raise NotInKnowledgeBase("nothing left to rank", "排除之后没有可比较的地区。")
    pool.sort(key=lambda m: m.cell.value, reverse=(order == "desc"))
    cut = pool[min(top, len(pool)) - 1].cell.value
    chosen = [m for m in pool if (m.cell.value >= cut if order == "desc" else m.cell.value <= cut)]
    figures = [cell_figure(kb, m.table, m.cell, m.cell.row_label) for m in chosen]
    data = {"ranked": pool, "chosen": chosen, "excluded": excluded, "all": all_matches}
    return _result(kb, chosen + excluded, figures, data)


def compare(kb, indicator: str, regions: list[str], doc_id: str | None = None) -> ToolResult:
    """The indicator for each named region, and the difference between the first two."""
    if len(regions) < 2:
        raise ToolError("need two regions", "比较至少需要两个地区。")
    all_matches = _numeric(series(kb, indicator, doc_id))
    chosen = []
    for region in regions:
        found = [m for m in all_matches if _region_match(region, m.cell.row_label)]
        if not found:
            raise NotInKnowledgeBase(f"{region} missing", f"表格中没有{region}的“{indicator}”数据。")
        chosen.append(found[0])
    figures = [cell_figure(kb, m.table, m.cell, m.cell.row_label) for m in chosen]
    a, b = figures[0], figures[1]
    diff = Figure(f"{a.label} − {b.label}", a.value - b.value, a.unit,
                  f"{fmt_num(a.value, 4)} − {fmt_num(b.value, 4)} = {fmt_num(a.value - b.value, 4)}", (a, b))
    return _result(kb, chosen, figures + [diff], {"chosen": chosen, "all": all_matches})


def aggregate(kb, indicator: str, op: str = "mean", exclude: tuple[str, ...] = (), doc_id: str | None = None) -> ToolResult:
    """Mean / sum / count / max / min of the indicator over all regions."""
    matches = [m for m in _numeric(series(kb, indicator, doc_id))
               if not any(_region_match(x, m.cell.row_label) for x in exclude)]
    figures = [cell_figure(kb, m.table, m.cell, m.cell.row_label) for m in matches]
    result = calc.aggregate(figures, op)
    flagged = [m.cell.row_label for m in matches if m.cell.flag]
    note = f"注意：{'、'.join(flagged)}的原值缺少单位，已按原数参与计算。" if flagged else ""
    return _result(kb, matches, [result], {"all": matches}, note)


def column_kind(name: str) -> str:
    """'2010年' → 'year:2010', '年均下降/增长' → 'annual', '下降/增长' → 'change', else ''."""
    if "年均" in name or "每年" in name:
        return "annual"
    m = re.search(r"(\d{4})", name)
    if m:
        return "year:" + m.group(1)
    if re.search(r"下降|增长|变化|降低|减少|增减|增幅|降幅", name):
        return "change"
    return ""
