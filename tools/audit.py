"""The plan's own inconsistencies: changes that do not match base and target, annual rates that do not match
the five-year change, one indicator stated differently in two places, and values printed without units."""

from __future__ import annotations

from dataclasses import dataclass

from kb.records import Citation, Figure, Table
from kb.vocab import indicator_key, is_region_table, region_short
from tools import calc
from tools.base import ToolResult, cell_citations, cell_figure, cn_int, dedupe, fact_citation, fact_figure, fmt_num
from tools.tables import column_kind

CHANGE_TOLERANCE = 0.15  # percentage points: printed changes are rounded to one decimal
ANNUAL_TOLERANCE = 0.05


@dataclass(frozen=True)
class Issue:
    kind: str  # change_mismatch | annual_mismatch | conflict | missing_unit
    indicator: str
    message: str  # Chinese, every number in it is in the figures or quotes
    citations: tuple[Citation, ...]
    figures: tuple[Figure, ...]


def _row_columns(table: Table) -> dict[str, dict[str, object]]:
    rows: dict[str, dict[str, object]] = {}
    for cell in table.cells:
        kind = column_kind(cell.column)
        if kind and cell.value is not None:
            rows.setdefault(cell.row_label, {})[kind] = cell
    return rows


def table_issues(kb, table: Table) -> list[Issue]:
    issues: list[Issue] = []
    if is_region_table(table):
        return issues
    for label, cols in _row_columns(table).items():
        years = sorted(k for k in cols if k.startswith("year:"))
        if len(years) < 2:
            continue
        base_cell, target_cell = cols[years[0]], cols[years[-1]]
        n_years = int(years[-1][5:]) - int(years[0][5:])
        base, target = cell_figure(kb, table, base_cell), cell_figure(kb, table, target_cell)
        title, row = cell_citations(kb, table, base_cell)
        change_cell = cols.get("change")
        printed_change = cell_figure(kb, table, change_cell) if change_cell is not None else None
        _, computed_pct = calc.change(base, target)
        if change_cell is not None and change_cell.unit == "%" and base_cell.unit != "%":
            if abs(printed_change.value - computed_pct.value) > CHANGE_TOLERANCE:
                issues.append(Issue(
                    "change_mismatch", label,
                    f"{label}：表中变化为{change_cell.raw}，但由{fmt_num(base.value)}到{fmt_num(target.value)}"
                    f"计算应为{fmt_num(computed_pct.value)}%。",
                    (title, row), (printed_change, computed_pct)))
        annual_cell = cols.get("annual")
        if annual_cell is not None and change_cell is not None and n_years > 0 and base_cell.unit != "%":
            printed_annual = cell_figure(kb, table, annual_cell)
            expected = calc.annual_rate(printed_change, n_years)
            if abs(printed_annual.value - expected.value) > ANNUAL_TOLERANCE:
                issues.append(Issue(
                    "annual_mismatch", label,
                    f"{label}：表中年均变化为{annual_cell.raw}，但{cn_int(n_years)}年变化{change_cell.raw}按复合计算约为"
                    f"{fmt_num(expected.value)}%/年。",
                    (title, row), (printed_annual, expected)))
        # The same indicator in the prose: a stated change that differs from the table's.
        key = indicator_key(label)
        for f in kb.facts:
            if f.doc_id != table.doc_id or f.unit != "%" or f.action not in ("下降", "降低", "减少", "增长") or not f.base_year:
                continue
            if indicator_key(f.subject) != key or f.base_year != years[0][5:]:
                continue
            printed = abs(change_cell.value) if change_cell is not None else None
            if printed is not None and abs(printed - f.value) > 0.01:
                issues.append(Issue(
                    "conflict", label,
                    f"{label}：正文写{f.raw}，表中为{change_cell.raw}。",
                    (row, fact_citation(kb, f)), (cell_figure(kb, table, change_cell), fact_figure(kb, f))))
    return issues


def unit_issues(kb, table: Table) -> list[Issue]:
    out = []
    for cell in table.cells:
        if cell.flag == "missing_percent":
            title, row = cell_citations(kb, table, cell)
            out.append(Issue(
                "missing_unit", cell.column,
                f"{cell.row_label}的“{cell.column}”印为{cell.raw}，缺少“%”（同列其他值均为百分数），按原文照录，未作推断。",
                (title, row), (cell_figure(kb, table, cell, f"{cell.row_label} {cell.column}"),)))
    return out


def conflicting_facts(kb, table: Table, cell) -> list:
    """Prose quantities (in any document of kb) stating another value for this region × indicator cell."""
    if cell.value is None:
        return []
    key = indicator_key(cell.column)
    names = {cell.row_label, region_short(cell.row_label)}
    out = []
    for f in kb.facts:
        if f.unit != cell.unit or abs(f.value - cell.value) < 1e-9 or not key or key not in f.subject + f.quote:
            continue
        if any(n and len(n) >= 2 and n in f.subject + f.quote for n in names):
            out.append(f)
    return out


def cross_document_issues(kb) -> list[Issue]:
    """The same region × indicator given different values by two documents' tables, or by a table and prose."""
    issues: list[Issue] = []
    seen: dict[tuple[str, str], list] = {}
    for table in kb.tables:
        if not is_region_table(table):
            continue
        for cell in table.cells:
            if cell.value is None:
                continue
            seen.setdefault((cell.row_label, indicator_key(cell.column)), []).append((table, cell))
            for f in conflicting_facts(kb, table, cell):
                title, row = cell_citations(kb, table, cell)
                issues.append(Issue(
                    "conflict", cell.column,
                    f"{cell.row_label}“{cell.column}”：《{kb.doc_label(table.doc_id)}》表中为{cell.raw}，"
                    f"《{kb.doc_label(f.doc_id)}》正文写{f.raw}。",
                    (row, fact_citation(kb, f)), (cell_figure(kb, table, cell), fact_figure(kb, f))))
    for (region, _), entries in seen.items():
        docs = {t.doc_id for t, _ in entries}
        values = {c.value for _, c in entries}
        if len(docs) < 2 or len(values) < 2:
            continue
        (t1, c1), (t2, c2) = entries[0], next((t, c) for t, c in entries[1:] if c.value != entries[0][1].value)
        issues.append(Issue(
            "conflict", c1.column,
            f"{region}“{c1.column}”：《{kb.doc_label(t1.doc_id)}》为{c1.raw}，《{kb.doc_label(t2.doc_id)}》为{c2.raw}。",
            (cell_citations(kb, t1, c1)[1], cell_citations(kb, t2, c2)[1]),
            (cell_figure(kb, t1, c1), cell_figure(kb, t2, c2))))
    return issues


def audit(kb, doc_id: str | None = None) -> ToolResult:
    """Every inconsistency found in the tables, between tables and prose, and between documents."""
    issues: list[Issue] = []
    for table in kb.tables:
        if doc_id and table.doc_id != doc_id:
            continue
        issues += table_issues(kb, table)
        issues += unit_issues(kb, table)
    issues += [i for i in cross_document_issues(kb)
               if not doc_id or any(c.doc_id == doc_id for c in i.citations)]
    figures = [f for i in issues for f in i.figures]
    citations = [c for i in issues for c in i.citations]
    return ToolResult(tuple(figures), dedupe(citations), {"issues": issues})


__all__ = ["Issue", "audit", "conflicting_facts", "cross_document_issues"]
