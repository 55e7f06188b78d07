"""What every tool returns, and how table cells and facts become citations."""

from __future__ import annotations

import bisect
from dataclasses import dataclass, field

from kb.errors import ToolError
from kb.records import Cell, Citation, Fact, Figure, Table


@dataclass(frozen=True)
class ToolResult:
    figures: tuple[Figure, ...] = ()
    citations: tuple[Citation, ...] = ()
    data: dict = field(default_factory=dict)
    note: str = ""


def fmt_num(value: float, digits: int = 2) -> str:
    """12.0 → '12', 7.725 → '7.73': half-up rounding on the decimal text, as people round."""
    if value is None:
        return "—"
    from decimal import ROUND_HALF_UP, Decimal

    quantum = Decimal(1).scaleb(-digits)
    # 92.7 / 12 is 7.72499999… in binary; 12 significant digits restore the decimal people computed
    text = format(Decimal(f"{float(value):.12g}").quantize(quantum, rounding=ROUND_HALF_UP), "f")
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return "0" if text in ("-0", "") else text


CN_SMALL = "零一二三四五六七八九十"


def cn_int(n: float) -> str:
    """3 → '三' for counts written in prose, so a reader never sees a figure nobody stated."""
    n = int(n)
    if 0 <= n <= 10:
        return CN_SMALL[n]
    if n < 20:
        return "十" + (CN_SMALL[n - 10] if n > 10 else "")
    if n < 100:
        return CN_SMALL[n // 10] + "十" + (CN_SMALL[n % 10] if n % 10 else "")
    return str(n)


def _chunk_at(kb, doc_id: str, offset: int) -> str:
    index = getattr(kb, "_chunk_index", None)
    if index is None:
        index = {}
        for c in sorted(kb.chunks, key=lambda c: c.start):
            index.setdefault(c.doc_id, ([], []))
            index[c.doc_id][0].append(c.start)
            index[c.doc_id][1].append(c)
        kb._chunk_index = index
    starts, chunks = index.get(doc_id, ([], []))
    i = bisect.bisect_right(starts, offset) - 1
    while i >= 0:
        if chunks[i].start <= offset < chunks[i].end:
            return chunks[i].chunk_id
        i -= 1
    return ""


def cell_citations(kb, table: Table, cell: Cell) -> tuple[Citation, Citation]:
    """The table title and the row (label + values) as it stands in the document."""
    doc = kb.doc_name(table.doc_id)
    text = kb.text_of(table.doc_id)
    row_at = text.find(cell.quote, table.start)
    chunk_id = _chunk_at(kb, table.doc_id, row_at if row_at >= 0 else table.start)
    title = Citation(doc, table.section_path, table.title, chunk_id, table.doc_id, table.title)
    row = Citation(doc, table.section_path, cell.quote, chunk_id, table.doc_id, table.title)
    return title, row


def header_citation(kb, table: Table) -> Citation | None:
    """The table's header row as printed: column names carry figures too ("3月底前完成20%", "2025年")."""
    text = kb.text_of(table.doc_id)
    line = text[table.start: table.end].split("\n", 1)[0].strip()
    if not line:
        return None
    return Citation(kb.doc_name(table.doc_id), table.section_path, line, _chunk_at(kb, table.doc_id, table.start),
                    table.doc_id, table.title)


def cell_figure(kb, table: Table, cell: Cell, label: str | None = None) -> Figure:
    _, row = cell_citations(kb, table, cell)
    if cell.value is None:
        raise ToolError(f"cell {cell.row_label}/{cell.column} is not numeric", f"“{cell.row_label}”的“{cell.column}”不是数值：{cell.raw}")
    return Figure(label or f"{cell.row_label} {cell.column}", cell.value, cell.unit, "", (), row, cell.flag)


def fact_citation(kb, fact: Fact) -> Citation:
    return Citation(kb.doc_name(fact.doc_id), fact.section_path, fact.quote, _chunk_at(kb, fact.doc_id, fact.start),
                    fact.doc_id)


def fact_figure(kb, fact: Fact) -> Figure:
    return Figure(f"{fact.subject}（{fact.action}）", fact.value, fact.unit, "", (), fact_citation(kb, fact))


def dedupe(citations) -> tuple[Citation, ...]:
    seen: dict[tuple, Citation] = {}
    for c in citations:
        seen.setdefault((c.doc_id, c.quote), c)
    return tuple(seen.values())
