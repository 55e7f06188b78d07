"""Page geometry → text, for PDF text layers (fmt_pdf) and OCR boxes (fmt_ocr) alike.

Lines are read top to bottom; a line that runs to the right margin continues into the next one unless the
next is indented, set apart, another size or starts a heading; tables come as pipe rows, from ruling lines
(cells found by pdfplumber) or from columns of aligned text; a table running onto the next page is one table;
running headers, footers and page numbers are dropped. ``assemble`` returns the text and each page's offset.
"""

from __future__ import annotations

import difflib
import re
import statistics
from collections.abc import Callable
from dataclasses import dataclass, field
from itertools import pairwise

CJK = "\u2e80-\u9fff\u3000-\u303f\uf900-\ufaff\uff00-\uffef\u2014\u2018-\u201f\u2026"
LATIN = re.compile(r"[0-9A-Za-z%.,\-+/)(:]")
VISIBLE_GAP_EM = 0.6  # a gap this wide between characters reads as a space
COLUMN_GAP_EM = 1.6  # and this wide as a column boundary
# A line starting so opens a new block even when the line before runs to the margin.
BLOCK_START = re.compile(
    r"^(?:第[一二三四五六七八九十百零\d]+[章节条部分篇]|[一二三四五六七八九十]+[、.．]|[（(][一二三四五六七八九十\d]+[)）]"
    r"|\d{1,2}[、.．](?!\d)|[①-⑳]|——|－－|--|专栏|附表|附件|表\s*[一二三四五六七八九十\d]|注[：:]|#)")
PAGE_NUMBER = re.compile(r"^[-—–－\s]*(?:第\s*)?\d{1,4}(?:\s*页)?(?:\s*[/共]\s*\d{1,4}\s*页?)?[-—–－\s]*$")
EDGE_LINES = 2  # lines at each end of a page looked at for running headers and footers


@dataclass
class Piece:
    """Text on one line with its box: a run of PDF characters or one OCR box."""

    x0: float
    top: float
    x1: float
    bottom: float
    text: str
    conf: float = 1.0

    @property
    def height(self) -> float:
        return max(self.bottom - self.top, 1.0)


@dataclass
class Line:
    pieces: list[Piece]
    page: int = 0
    noisy: bool = False  # OCR boxes: heights vary by a few pixels from line to line

    @property
    def x0(self) -> float:
        return min(p.x0 for p in self.pieces)

    @property
    def x1(self) -> float:
        return max(p.x1 for p in self.pieces)

    @property
    def top(self) -> float:
        return min(p.top for p in self.pieces)

    @property
    def bottom(self) -> float:
        return max(p.bottom for p in self.pieces)

    @property
    def height(self) -> float:
        return statistics.median(p.height for p in self.pieces)

    @property
    def text(self) -> str:
        return join_pieces(self.pieces)

    def fields(self) -> list[list[Piece]]:
        """Pieces grouped into fields split at column-wide gaps."""
        out: list[list[Piece]] = []
        for p in sorted(self.pieces, key=lambda p: p.x0):
            if out and p.x0 - out[-1][-1].x1 < COLUMN_GAP_EM * self.height:
                out[-1].append(p)
            else:
                out.append([p])
        return out


@dataclass
class TableBlock:
    rows: list[list[str]]
    top: float
    bottom: float
    edges: list[float]  # column boundaries, to tell a table continued on the next page
    page: int = 0
    row_pages: list[int] = field(default_factory=list)  # the page of each row, once continued

    def __post_init__(self) -> None:
        self.row_pages = self.row_pages or [self.page] * len(self.rows)


@dataclass
class PageContent:
    number: int  # 1-based
    lines: list[Line] = field(default_factory=list)
    tables: list[TableBlock] = field(default_factory=list)


def join_pieces(pieces: list[Piece]) -> str:
    out = ""
    prev: Piece | None = None
    for p in sorted(pieces, key=lambda p: p.x0):
        if prev is not None and out and p.text:
            gap = p.x0 - prev.x1
            em = max(min(prev.height, p.height), 1.0)
            latin = LATIN.match(out[-1]) and LATIN.match(p.text[0])
            if gap >= VISIBLE_GAP_EM * em or (latin and gap >= 0.15 * em):
                out += " "
        out += p.text
        prev = p
    return re.sub(r" {2,}", " ", out)


def group_lines(pieces: list[Piece], page: int = 0, noisy: bool = False) -> list[Line]:
    """Pieces whose vertical middles fall inside one another's box share a line."""
    lines: list[Line] = []
    for p in sorted(pieces, key=lambda p: (p.top + p.bottom) / 2):
        mid = (p.top + p.bottom) / 2
        if lines and lines[-1].top <= mid <= lines[-1].bottom and \
                (mid - (lines[-1].top + lines[-1].bottom) / 2) < 0.5 * lines[-1].height:
            lines[-1].pieces.append(p)
        else:
            lines.append(Line([p], page, noisy))
    return lines


# ---------- ruled tables ----------

Box = tuple[float, float, float, float]  # x0, top, x1, bottom


def grid_rows(cells: list[Box], cell_text: Callable[[Box], str]) -> list[list[str]]:
    """Rows of a ruled table from its cell boxes; a merged cell's text fills every slot it covers."""
    xs = _snap(sorted({c[0] for c in cells} | {c[2] for c in cells}))
    ys = _snap(sorted({c[1] for c in cells} | {c[3] for c in cells}))
    texts = {c: cell_text(c).strip() for c in cells}
    rows = []
    for top, bottom in pairwise(ys):
        row = []
        for left, right in pairwise(xs):
            cx, cy = (left + right) / 2, (top + bottom) / 2
            owner = next((c for c in cells if c[0] <= cx <= c[2] and c[1] <= cy <= c[3]), None)
            row.append(texts[owner] if owner else "")
        rows.append(row)
    return rows


def _snap(values: list[float], tol: float = 2.0) -> list[float]:
    out: list[float] = []
    for v in values:
        if not out or v - out[-1] > tol:
            out.append(v)
    return out


def column_edges(cells: list[tuple[float, float, float, float]]) -> list[float]:
    return _snap(sorted({c[0] for c in cells} | {c[2] for c in cells}))


# ---------- tables of aligned text ----------

def aligned_tables(lines: list[Line], page: int) -> tuple[list[Line], list[TableBlock]]:
    """Runs of lines whose fields stand in the same columns become tables; the rest stays text."""
    kept: list[Line] = []
    tables: list[TableBlock] = []
    i = 0
    while i < len(lines):
        run = _aligned_run(lines, i)
        if run:
            table = _aligned_table(lines[i:run], page)
            if table is not None:
                tables.append(table)
                i = run
                continue
        kept.append(lines[i])
        i += 1
    return kept, tables


def _is_row(line: Line) -> bool:
    fields = line.fields()
    if len(fields) < 2:
        return False
    # Prose set apart by a wide gap is no row: every field of a row is short.
    return all(len(join_pieces(f)) <= 40 and not join_pieces(f).endswith("。") for f in fields)


def _aligned_run(lines: list[Line], i: int) -> int:
    """End of a run of ≥ 2 aligned rows starting at lines[i] (0 when none)."""
    if not _is_row(lines[i]):
        return 0
    j, rows = i + 1, 1
    while j < len(lines):
        prev, cur = lines[j - 1], lines[j]
        if cur.top - prev.bottom > 2.0 * max(prev.height, cur.height):
            break
        if _is_row(cur):
            rows += 1
        elif not (len(cur.fields()) == 1 and _within(cur, lines[i]) and len(cur.text) <= 40):
            break
        j += 1
    while j > i and not _is_row(lines[j - 1]):
        j -= 1  # a run ends on a row (what follows is text) …
    if rows >= 2 and j < len(lines) and _wraps_first_cell(lines[j - 1], lines[j]):
        j += 1  # … or on the last row's label wrapped onto the next line
    return j if rows >= 2 else 0


def _wraps_first_cell(row: Line, line: Line) -> bool:
    first = row.fields()[0]
    cell_right = min(p.x0 for p in row.fields()[1])
    return (len(line.fields()) == 1 and abs(line.x0 - min(p.x0 for p in first)) <= 2 * row.height
            and line.x1 < cell_right and line.top - row.bottom < 0.6 * row.height
            and not BLOCK_START.match(line.text.strip()))


def _within(line: Line, first: Line) -> bool:
    right = max(p.x1 for p in first.pieces)
    return line.x0 >= first.x0 - first.height and line.x1 <= right + 4 * first.height


def _aligned_table(lines: list[Line], page: int) -> TableBlock | None:
    rows_lines = [ln for ln in lines if _is_row(ln)]
    widest = max(len(ln.fields()) for ln in rows_lines)
    # Columns from the rows with the most fields; other rows' fields are placed by overlap.
    bands: list[list[float]] = []
    for ln in rows_lines:
        if len(ln.fields()) != widest:
            continue
        for k, f in enumerate(ln.fields()):
            x0, x1 = min(p.x0 for p in f), max(p.x1 for p in f)
            if k < len(bands):
                bands[k] = [min(bands[k][0], x0), max(bands[k][1], x1)]
            else:
                bands.append([x0, x1])
    if len(bands) < 2 or not any(re.search(r"\d", ln.text) for ln in rows_lines[1:]):
        return None
    cuts = [(a[1] + b[0]) / 2 for a, b in pairwise(bands)]

    def place(f: list[Piece]) -> list[int]:
        x0, x1 = min(p.x0 for p in f), max(p.x1 for p in f)
        covered = [k for k, (a, b) in enumerate(bands) if x0 < b and x1 > a]
        if len(covered) > 1 and f[0].text and len(covered) < len(bands):
            return covered  # a merged header cell over several columns
        mid = (x0 + x1) / 2
        return [sum(mid > c for c in cuts)]

    # Each line joins the nearest row line (a wrapped cell sits just above or below its row's line).
    anchors = rows_lines
    grid: list[list[list[tuple[float, str]]]] = [[[] for _ in bands] for _ in anchors]
    for ln in lines:
        mid = (ln.top + ln.bottom) / 2
        r = min(range(len(anchors)), key=lambda k: (abs((anchors[k].top + anchors[k].bottom) / 2 - mid), -k))
        for f in ln.fields():
            for k in place(f):
                grid[r][k].append((ln.top, join_pieces(f)))
    rows = [["".join(t for _, t in sorted(cell)) for cell in row] for row in grid]
    edges = [bands[0][0]] + cuts + [bands[-1][1]]
    return TableBlock(rows, lines[0].top, lines[-1].bottom, edges, page)


# ---------- running lines ----------

def drop_running_lines(pages: list[PageContent]) -> None:
    """Page numbers and running headers/footers would be glued into the sentences they interrupt."""
    def key(line: Line) -> str:
        return re.sub(r"\d+", "#", line.text.strip())

    counts: dict[str, int] = {}
    for page in pages:
        for ln in {key(ln): ln for ln in _edges(page.lines)}.values():
            counts[key(ln)] = counts.get(key(ln), 0) + 1
    running = {k for k, n in counts.items() if k and n >= 3 and n >= len(pages) / 2}
    for page in pages:
        edge = {id(ln) for ln in _edges(page.lines)}
        page.lines = [ln for ln in page.lines if not (id(ln) in edge and (
            key(ln) in running or PAGE_NUMBER.match(ln.text.strip())))]


def _edges(lines: list[Line]) -> list[Line]:
    return lines[:EDGE_LINES] + lines[-EDGE_LINES:] if len(lines) > 2 * EDGE_LINES else list(lines)


# ---------- assembly ----------

def assemble(pages: list[PageContent]) -> tuple[str, list[int]]:
    """Text of the pages with paragraphs joined and tables as pipe rows; and each page's start offset."""
    from ingest.loaders import render_table

    drop_running_lines(pages)
    blocks: list[tuple[str, object]] = []  # ("line", Line) | ("table", TableBlock), in reading order
    for page in pages:
        items = [(ln.top, "line", ln) for ln in page.lines] + [(t.top, "table", t) for t in page.tables]
        for _, kind, obj in sorted(items, key=lambda x: x[0]):
            blocks.append((kind, obj))
    blocks = _merge_continued_tables(blocks)
    text_lines = [obj for kind, obj in blocks if kind == "line"]
    left_right = _margins(text_lines)
    parts: list[str] = []
    starts: dict[int, int] = {}
    offset = 0
    para: list[Line] = []

    def flush() -> None:
        nonlocal offset, para
        if not para:
            return
        text = ""
        for k, ln in enumerate(para):
            piece = ln.text.strip()
            if k and text and LATIN.match(text[-1]) and piece and LATIN.match(piece[0]):
                text += " "  # an English line wrapped at a space
            starts.setdefault(ln.page, offset + len(text))
            text += piece
        parts.append(text)
        offset += len(text) + 2
        para = []

    for kind, obj in blocks:
        if kind == "table":
            flush()
            rendered = _table_text(obj, render_table, starts, offset)
            parts.append(rendered)
            offset += len(rendered) + 2
            continue
        if para and not _continues(para[-1], obj, *left_right):
            flush()
        para.append(obj)
    flush()
    text = "\n\n".join(parts) + "\n"
    page_starts, last = [], 0
    for page in pages:
        last = starts.get(page.number, last)
        page_starts.append(last)
    return text, page_starts


def _table_text(table: TableBlock, render_table, starts: dict[int, int], offset: int) -> str:
    kept = [(r, p) for r, p in zip(table.rows, table.row_pages) if any(c.strip() for c in r)]
    if not kept:
        return ""
    rendered = render_table([r for r, _ in kept])
    lines = rendered.split("\n")
    pos = offset
    for k, line in enumerate(lines):
        row = k - 1 if k > 1 else k  # line 1 is the separator
        if k != 1:
            starts.setdefault(kept[row][1], pos)
        pos += len(line) + 1
    return rendered


def _merge_continued_tables(blocks: list[tuple[str, object]]) -> list[tuple[str, object]]:
    out: list[tuple[str, object]] = []
    for kind, obj in blocks:
        if kind == "table" and out and out[-1][0] == "table":
            prev = out[-1][1]
            if obj.page == prev.page + 1 and _same_columns(prev.edges, obj.edges):
                rows = obj.rows[1:] if obj.rows and prev.rows and _same_row(obj.rows[0], prev.rows[0]) \
                    else obj.rows  # the header repeated on the new page
                if rows and prev.rows and _is_split_row(prev.rows[-1], rows[0]):
                    # A row broken at the page end: its second half tops the next page.
                    prev.rows[-1] = [a + b for a, b in zip(prev.rows[-1], rows[0])]
                    rows = rows[1:]
                prev.rows.extend(rows)
                prev.row_pages.extend([obj.page] * len(rows))
                prev.page = obj.page  # a third page may continue it again
                continue
        out.append((kind, obj))
    return out


def _same_row(a: list[str], b: list[str]) -> bool:
    """Equal rows, allowing for OCR reading a bracket or a character differently."""
    def bare(row: list[str]) -> str:
        return re.sub(r"[\s（）()【】\[\]、，,。.:：]", "", "".join(row))

    return len(a) == len(b) and difflib.SequenceMatcher(None, bare(a), bare(b)).ratio() >= 0.85


def _is_split_row(last: list[str], first: list[str]) -> bool:
    filled = [k for k, c in enumerate(first) if c.strip()]
    return (len(first) == len(last) and not first[0].strip() and 0 < len(filled) <= len(first) / 2
            and all(last[k].strip() for k in filled))


def _same_columns(a: list[float], b: list[float]) -> bool:
    return len(a) == len(b) and all(abs(x - y) <= max(4.0, 0.02 * (a[-1] - a[0])) for x, y in zip(a, b))


def _margins(lines: list[Line]) -> tuple[float, float]:
    """The right margin: where most full lines end."""
    ends = sorted(ln.x1 for ln in lines if len(ln.text) >= 5) or [0.0]
    right = ends[int(0.9 * (len(ends) - 1))]
    return 0.0, right


def _continues(prev: Line, cur: Line, _left: float, right: float) -> bool:
    """Whether cur carries on the paragraph prev's line belongs to."""
    em = max(prev.height, 1.0)
    tail = prev.text.rstrip()
    if not tail or BLOCK_START.match(cur.text.strip()):
        return False
    # The line ran to the margin when the next line's first word would not have fitted after it.
    if prev.x1 + _first_word_width(cur.text.strip(), em) + 0.6 * em < right:
        return False  # the line ends short of the margin: the paragraph ends there
    if cur.x0 > prev.x0 + 0.8 * em:
        return False  # indented: a new paragraph
    if abs(cur.height - prev.height) > (0.5 if cur.noisy else 0.3) * max(em, cur.height):
        return False  # another size: a heading or a note
    if cur.page == prev.page and cur.top - prev.bottom > 0.75 * em:
        return False  # set apart by paragraph spacing
    return True


def _first_word_width(text: str, em: float) -> float:
    word = re.match(r"[0-9A-Za-z.%,+\-/()]+", text)
    if word:
        return 0.6 * em * len(word.group())
    # A CJK character, with the punctuation that may not end or start a line kept beside it.
    return em * len(re.match(r"^.(?:[“‘（《〈【(]+.)?[，。、；：！？）》〉】”’%)]*", text).group())
