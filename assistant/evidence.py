"""An answer's citations grouped by source passage: one entry per table, one per prose paragraph.

The flat `Answer.citations` list repeats a table once per cited row (13 entries for a region ranking);
a reader wants each source once, with what was cited marked inside it. Pure functions over an Answer and
the knowledge base; the app, the API, the exports and the CLI all render the same groups::

    sources = group_sources(answer, kb)
    print(marked_text(answer, sources))   # "…乌海市“二氧化硫排放量降低”为8.5%[1]。"
    print(render_sources(sources))        # [1] 《…》 二、… › 专栏二… (table with the cited row marked)
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from kb.records import PATH_SEP, Answer, Citation, Figure, Table
from tools.base import fmt_num

PARAGRAPH_CHARS = 600  # a longer paragraph is shown as windows around its quotes
WINDOW_CHARS = 160  # context each side of a quote inside a long paragraph
DELETED = "该出处所在的文档《{doc}》已不在知识库中（可能已被删除），无法显示原文。"
NOT_FOUND = "这条引文在知识库原文中没有找到，请谨慎核对。"


@dataclass(frozen=True)
class TableView:
    """A cited table as a grid: header, printed cells, the cited rows and cells marked."""
    table_id: str
    title: str
    caption: str
    unit: str
    columns: tuple[str, ...]
    rows: tuple[tuple[str, ...], ...]  # printed cell texts; column 0 is the row label
    cited_rows: tuple[int, ...] = ()
    cited_cells: tuple[tuple[int, int], ...] = ()  # (row, column) in `rows`
    notes: tuple[str, ...] = ()
    cell_notes: tuple[tuple[int, int, str], ...] = ()  # (row, column, note): e.g. a value missing its %


@dataclass(frozen=True)
class Source:
    """One numbered entry of the 出处 list."""
    number: int
    kind: str  # table | passage | missing
    doc_id: str
    doc: str
    section_path: str
    citations: tuple[int, ...]  # indices into answer.citations
    quotes: tuple[str, ...]
    text: str = ""  # passage: the paragraph as shown ("…" where it is cut)
    highlights: tuple[tuple[int, int], ...] = ()  # spans of `text` that are quoted
    table: TableView | None = None
    start: int = -1  # span of the source in the document's stored text (for the viewer)
    end: int = -1
    problem: str = ""  # a Chinese note when the document or the quote cannot be found

    @property
    def title(self) -> str:
        if self.table:
            return self.table.title
        return self.section_path.split(PATH_SEP)[-1] if self.section_path else ""

    def to_dict(self) -> dict:
        out = {"number": self.number, "kind": self.kind, "doc_id": self.doc_id, "doc": self.doc,
               "section_path": self.section_path, "citations": list(self.citations),
               "quotes": list(self.quotes),
               "text": self.text, "highlights": [list(h) for h in self.highlights], "start": self.start,
               "end": self.end, "problem": self.problem, "table": None}
        if self.table is not None:
            t = self.table
            out["table"] = {"table_id": t.table_id, "title": t.title, "caption": t.caption, "unit": t.unit,
                            "columns": list(t.columns), "rows": [list(r) for r in t.rows],
                            "cited_rows": list(t.cited_rows), "cited_cells": [list(c) for c in t.cited_cells],
                            "notes": list(t.notes)}
        return out


@dataclass
class _Group:
    key: tuple
    kind: str
    citation: Citation
    indices: list[int] = field(default_factory=list)


# ---------- lookups ----------

def document_text(kb, citation: Citation) -> tuple[str, str]:
    """(doc_id, stored text) of a citation's document; ('', '') when it is no longer in the knowledge base."""
    if kb is None:
        return "", ""
    texts = getattr(kb, "texts", {}) or {}
    if citation.doc_id and citation.doc_id in texts:
        return citation.doc_id, texts[citation.doc_id]
    for d in getattr(kb, "docs", []):
        if d.get("name") == citation.doc and d["doc_id"] in texts:
            return d["doc_id"], texts[d["doc_id"]]
    return "", ""


def find_table(kb, doc_id: str, citation: Citation) -> Table | None:
    if kb is None or not citation.table:
        return None
    candidates = [t for t in kb.tables if t.doc_id == doc_id and t.title == citation.table]
    if len(candidates) > 1:  # two tables with one title: the one holding the quoted row
        holding = [t for t in candidates if any(c.quote == citation.quote for c in t.cells)]
        candidates = holding or candidates
    return candidates[0] if candidates else None


def paragraph_span(text: str, start: int, end: int) -> tuple[int, int]:
    """The blank-line-delimited paragraph around text[start:end]."""
    left = text.rfind("\n\n", 0, start)
    right = text.find("\n\n", end)
    return (0 if left < 0 else left + 2), (len(text) if right < 0 else right)


# ---------- grouping ----------

def _group_key(kb, index: int, c: Citation) -> tuple[tuple, str]:
    if kb is None:  # nothing to look up: group by what the citations say
        return ("plain", c.doc_id or c.doc, c.table or c.section_path), "plain"
    doc_id, text = document_text(kb, c)
    if not text:
        return ("missing", c.doc_id or c.doc, c.table or c.section_path), "missing"
    if c.table and find_table(kb, doc_id, c) is not None:
        return ("table", doc_id, c.table), "table"
    at = text.find(c.quote) if c.quote else -1
    if at < 0:
        return ("unfound", doc_id, index), "passage"
    return ("passage", doc_id, paragraph_span(text, at, at + len(c.quote))), "passage"


def group_sources(answer: Answer, kb) -> list[Source]:
    """The answer's citations as numbered sources, in the order they are first cited. With kb None the
    grouping uses the citations alone (no table grid, no paragraph)."""
    groups: dict[tuple, _Group] = {}
    for i, c in enumerate(answer.citations):
        key, kind = _group_key(kb, i, c)
        groups.setdefault(key, _Group(key, kind, c)).indices.append(i)
    sources = []
    for number, g in enumerate(groups.values(), 1):
        cites = [answer.citations[i] for i in g.indices]
        if g.kind == "plain":
            c = g.citation
            sources.append(Source(number, "table" if c.table else "passage", c.doc_id, c.doc, c.section_path,
                                  tuple(g.indices), _unique(x.quote for x in cites)))
        elif g.kind == "missing":
            sources.append(_missing(number, g, cites))
        elif g.kind == "table":
            sources.append(_table_source(number, g, cites, answer, kb))
        else:
            sources.append(_passage_source(number, g, cites, kb))
    return sources


def _missing(number: int, g: _Group, cites: list[Citation]) -> Source:
    c = g.citation
    return Source(number, "missing", c.doc_id, c.doc, c.section_path, tuple(g.indices),
                  _unique(x.quote for x in cites), problem=DELETED.format(doc=c.doc or c.doc_id or "未知"))


def _unique(items) -> tuple:
    return tuple(dict.fromkeys(x for x in items if x))


def _table_source(number: int, g: _Group, cites: list[Citation], answer: Answer, kb) -> Source:
    c = g.citation
    doc_id, _ = document_text(kb, c)
    table = find_table(kb, doc_id, c)
    quotes = _unique(x.quote for x in cites)
    view = table_view(table, quotes, _figures_of(answer.figures))
    return Source(number, "table", doc_id, c.doc, table.section_path or c.section_path, tuple(g.indices),
                  quotes, table=view, start=table.start, end=table.end)


def _figures_of(figures) -> list[Figure]:
    out = []
    for f in figures:
        out.append(f)
        out.extend(_figures_of(f.inputs))
    return out


def table_view(table: Table, quotes: tuple[str, ...], figures: list[Figure]) -> TableView:
    """The table's grid with the quoted rows, and the cells figures were read from, marked."""
    row_ids = sorted({cell.row for cell in table.cells})
    row_pos = {r: i for i, r in enumerate(row_ids)}
    width = max([len(table.columns)] + [cell.col + 1 for cell in table.cells])
    grid = [[""] * width for _ in row_ids]
    for cell in table.cells:
        i = row_pos[cell.row]
        label = f"{cell.parent_label} › {cell.row_label}" if cell.parent_label else cell.row_label
        grid[i][0] = grid[i][0] or label
        grid[i][cell.col] = cell.raw
    cited_rows = sorted({row_pos[cell.row] for cell in table.cells if cell.quote in quotes})
    cited_cells, ambiguous = set(), []
    for f in figures:
        if f.citation is None or f.citation.quote not in quotes:
            continue
        in_row = [cell for cell in table.cells if cell.quote == f.citation.quote and cell.value is not None
                  and abs(cell.value - f.value) < 1e-9]
        named = [cell for cell in in_row if cell.column and cell.column in f.label] or in_row
        if len(named) == 1:
            cited_cells.add((row_pos[named[0].row], named[0].col))
        elif named:
            ambiguous.append(named)
    # "8%" twice in one row: the column the answer's other figures were read from decides
    columns = [c for _, c in cited_cells]
    for named in ambiguous:
        best = max(named, key=lambda cell: columns.count(cell.col))
        if columns.count(best.col):
            cited_cells.add((row_pos[best.row], best.col))
    columns = tuple(table.columns) + ("",) * (width - len(table.columns))
    return TableView(table.table_id, table.title, table.caption or table.title, table.unit, columns,
                     tuple(tuple(r) for r in grid), tuple(cited_rows), tuple(sorted(cited_cells)),
                     tuple(table.notes), _missing_units(table, row_pos))


MISSING_PERCENT = "原文缺少“%”，按原文照录"


def missing_unit_notes(table: Table) -> dict[tuple[int, int], str]:
    """(cell.row, cell.col) → note, for cells printed without the % their column carries elsewhere: a value
    ingest flagged (14.5), and also a bare 0, which ingest leaves unflagged."""
    with_percent = {cell.col for cell in table.cells if "%" in cell.raw or "％" in cell.raw}
    out = {}
    for cell in table.cells:
        bare = cell.value is not None and "%" not in cell.raw and "％" not in cell.raw
        if cell.flag == "missing_percent" or (bare and cell.col in with_percent and cell.unit == "%"):
            out[(cell.row, cell.col)] = MISSING_PERCENT
    return out


def _missing_units(table: Table, row_pos: dict[int, int]) -> tuple[tuple[int, int, str], ...]:
    return tuple((row_pos[r], c, note) for (r, c), note in missing_unit_notes(table).items())


def _passage_source(number: int, g: _Group, cites: list[Citation], kb) -> Source:
    c = g.citation
    doc_id, text = document_text(kb, c)
    quotes = _unique(x.quote for x in cites)
    if g.key[0] == "unfound":
        return Source(number, "passage", doc_id, c.doc, c.section_path, tuple(g.indices), quotes,
                      text=c.quote, problem=NOT_FOUND)
    start, end = g.key[2]
    spans = []
    for q in quotes:
        at = text.find(q, start, end)
        if at >= 0:
            spans.append((at, at + len(q)))
    shown, highlights = _passage_text(text, start, end, spans)
    section = c.section_path
    if section and section.split(PATH_SEP)[-1].strip() not in text:
        problem = f"章节“{section}”在原文中没有找到，请核对。"
    else:
        problem = ""
    return Source(number, "passage", doc_id, c.doc, section, tuple(g.indices), quotes, text=shown,
                  highlights=highlights, start=min(s for s, _ in spans), end=max(e for _, e in spans),
                  problem=problem)


def _passage_text(text: str, start: int, end: int, spans: list[tuple[int, int]]):
    """(shown text, highlight spans in it): the paragraph, or windows around the quotes if it is long."""
    spans = sorted(spans)
    if end - start <= PARAGRAPH_CHARS:
        windows = [(start, end)]
    else:
        windows = []
        for s, e in spans:
            lo, hi = max(start, s - WINDOW_CHARS), min(end, e + WINDOW_CHARS)
            if windows and lo <= windows[-1][1]:
                windows[-1] = (windows[-1][0], max(windows[-1][1], hi))
            else:
                windows.append((lo, hi))
    out, marks, length = [], [], 0
    for lo, hi in windows:
        lead = "…" if lo > start and not out else ("…" if out else "")
        piece = lead + text[lo:hi]
        for s, e in spans:
            if lo <= s and e <= hi:
                marks.append((length + len(lead) + s - lo, length + len(lead) + e - lo))
        out.append(piece)
        length += len(piece)
    shown = "".join(out) + ("…" if windows[-1][1] < end else "")
    return shown, tuple(marks)


# ---------- markers in the answer text ----------

def citation_numbers(sources: list[Source]) -> dict[int, int]:
    """citation index → source number."""
    return {i: s.number for s in sources for i in s.citations}


def figure_numbers(answer: Answer, sources: list[Source]) -> list[tuple[int, ...]]:
    """For each figure, the sources it comes from (a computed figure: those of its inputs)."""
    by_quote = {}
    for s in sources:
        for q in s.quotes:
            by_quote.setdefault((s.doc_id, q), s.number)
            by_quote.setdefault(("", q), s.number)

    def numbers(f: Figure) -> list[int]:
        found = []
        if f.citation is not None:
            n = by_quote.get((f.citation.doc_id, f.citation.quote)) or by_quote.get(("", f.citation.quote))
            if n:
                found.append(n)
        for i in f.inputs:
            found.extend(numbers(i))
        return found

    return [tuple(dict.fromkeys(numbers(f))) for f in answer.figures]


def _value_texts(f: Figure) -> list[str]:
    out = []
    for digits in (4, 2, 1, 0):
        v = fmt_num(abs(f.value), digits)
        if v not in out and v != "0":
            out.append(v)
    return out


def _after_number(text: str, value: str, taken: set[int]) -> int:
    """Offset just after the first untaken occurrence of a number (with its unit) in text; -1 if none."""
    for m in re.finditer(rf"(?<![\d.]){re.escape(value)}(?![\d])", text):
        tail = UNIT_TAIL.match(text, m.end())
        end = tail.end() if tail else m.end()
        if end not in taken:
            return end
    return -1


UNIT_TAIL = re.compile(r"(?:%|％|个百分点|[万亿]?(?:吨标准煤|吨|元|千瓦时|千瓦|公顷|立方米|平方米|千米|公里|辆|台|户|个|座|套|家|项))?")


def marker_positions(answer: Answer, sources: list[Source]) -> dict[int, list[int]]:
    """offset in answer.text → the source numbers whose marker goes there: after each figure's value (a
    computed figure's own value, marked with its inputs' sources), else after a quote or the table title."""
    text = answer.text
    placed: dict[int, list[int]] = {}
    taken: set[int] = set()
    for f, numbers in zip(answer.figures, figure_numbers(answer, sources)):
        if not numbers:
            continue
        at = next((p for p in (_after_number(text, v, taken) for v in _value_texts(f)) if p >= 0), -1)
        if at >= 0:
            taken.add(at)
            placed.setdefault(at, [])
            placed[at] += [n for n in numbers if n not in placed[at]]
    done = {n for ns in placed.values() for n in ns}
    for s in sources:
        if s.number in done:
            continue
        at = -1
        for q in s.quotes:
            full = text.find(q) if len(q) >= 6 else -1
            probe = text.find(q[:24]) if len(q) >= 6 else -1
            at = full + len(q) if full >= 0 else (probe + min(len(q), 24) if probe >= 0 else -1)
            if at >= 0:
                break
        if at < 0 and s.table is not None and s.table.title and s.table.title in text:
            at = text.find(s.table.title) + len(s.table.title)
        if at >= 0:
            if text[at:at + 1] in "”」』":  # a quote ends inside “…”: the marker goes after the closing mark
                at += 1
            placed.setdefault(at, []).append(s.number)
    return placed


def marked_text(answer: Answer, sources: list[Source], fmt: str = "[{}]") -> str:
    """The answer text with numbered markers after the figures and quotes each source backs; markers that fit
    nowhere go at the end, so every source is pointed to."""
    text = answer.text
    if not sources:
        return text
    placed = marker_positions(answer, sources)
    done = {n for ns in placed.values() for n in ns}
    out, last = [], 0
    for at in sorted(placed):
        out.append(text[last:at])
        out.append("".join(fmt.format(n) for n in sorted(placed[at])))
        last = at
    out.append(text[last:])
    result = "".join(out)
    rest = [s.number for s in sources if s.number not in done]
    if rest:
        result = result.rstrip() + "".join(fmt.format(n) for n in rest)
    return result


def documents_named(sources: list[Source]) -> list[str]:
    """The documents an answer's sources come from, in order, each once."""
    return list(dict.fromkeys(s.doc for s in sources if s.doc))


# ---------- plain text (CLI, Markdown export) ----------

def render_table_text(view: TableView) -> list[str]:
    """Pipe rows with the cited row marked ▶ and cited cells in 【】."""
    lines = ["| " + " | ".join(view.columns) + " |"]
    marked = set(view.cited_cells)
    for i, row in enumerate(view.rows):
        cells = [f"【{v}】" if (i, j) in marked else v for j, v in enumerate(row)]
        lead = "▶ " if i in view.cited_rows else "  "
        lines.append(lead + "| " + " | ".join(cells) + " |")
    return lines


def render_sources(sources: list[Source], indent: str = "  ") -> str:
    """The 出处 list as plain text: one entry per source, tables as grids with the cited rows marked."""
    lines = []
    for s in sources:
        where = f"《{s.doc}》 {s.section_path}".rstrip()
        lines.append(f"{indent}[{s.number}] {where}")
        pad = indent + "    "
        if s.problem:
            lines.append(f"{pad}（{s.problem}）")
        if s.kind == "table" and s.table is not None:
            t = s.table
            head = f"表格：{t.caption}" + (f"（单位：{t.unit}）" if t.unit else "")
            lines.append(pad + head)
            lines += [pad + row for row in render_table_text(t)]
            lines += [pad + n for n in t.notes]
        else:
            lines += [f"{pad}“{q}”" for q in s.quotes]
    return "\n".join(lines)


def render_answer_text(answer: Answer, kb) -> str:
    """Answer with markers, then its sources grouped: what the CLI can print instead of the flat list."""
    sources = group_sources(answer, kb)
    lines = [("【未能作答】" if answer.refused else "") + marked_text(answer, sources)]
    if sources:
        lines += ["", "出处：", render_sources(sources)]
    return "\n".join(lines)


__all__ = ["Source", "TableView", "citation_numbers", "documents_named", "figure_numbers", "group_sources",
           "marked_text", "render_answer_text", "render_sources", "table_view"]
