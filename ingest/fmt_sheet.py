"""Workbooks (.xlsx, .xls) and .csv → text: each sheet a '# 工作表：…' heading, each block of filled rows a
table whose caption names its cell range (so a citation says sheet and range); merged cells filled."""

from __future__ import annotations

import csv
import datetime as dt
import io
import re

from kb.errors import EmptyDocument, UnsupportedFile

MAX_CELLS = 2_000_000  # a sheet past this is refused rather than read into memory
TITLE_MAX_CHARS = 60
UNIT_LINE = re.compile(r"^[（(]?\s*单位[：:]")


def column_letter(index: int) -> str:
    """0 → A, 25 → Z, 26 → AA."""
    out = ""
    index += 1
    while index:
        index, rem = divmod(index - 1, 26)
        out = chr(65 + rem) + out
    return out


def cell_range(r0: int, c0: int, r1: int, c1: int) -> str:
    return f"{column_letter(c0)}{r0 + 1}:{column_letter(c1)}{r1 + 1}"


def format_number(value: float, number_format: str = "") -> str:
    """A cell's number as the sheet shows it: 0.155 with format '0.0%' → '15.5%'."""
    if "%" in (number_format or ""):
        decimals = len(re.search(r"0(?:\.(0+))?%", number_format).group(1) or "") \
            if re.search(r"0(?:\.(0+))?%", number_format) else 2
        text = f"{value * 100:.{decimals}f}"
        return (text.rstrip("0").rstrip(".") if "." in text else text) + "%"
    if isinstance(value, bool):
        return "是" if value else "否"
    if float(value).is_integer() and abs(value) < 1e15:
        return str(int(value))
    text = f"{value:.10f}".rstrip("0").rstrip(".")
    return text


def display(value, number_format: str = "") -> str:
    if value is None:
        return ""
    if isinstance(value, (dt.datetime, dt.date)):
        if isinstance(value, dt.datetime) and value.time() == dt.time(0):
            value = value.date()
        return value.isoformat()
    if isinstance(value, (int, float)):
        return format_number(value, number_format)
    return str(value).strip()


# ---------- readers ----------

def xlsx_sheets(data: bytes) -> list[tuple[str, list[list[str]], bool]]:
    """(name, grid of shown values, hidden) per sheet of an .xlsx; merged ranges filled."""
    import openpyxl

    try:
        book = openpyxl.load_workbook(io.BytesIO(data), data_only=True)
    except Exception as exc:  # openpyxl raises many types for broken files
        raise UnsupportedFile(f"xlsx: {exc}", "Excel 工作簿（.xlsx）已损坏，无法读取。") from exc
    out = []
    for ws in book.worksheets:
        if ws.max_row * ws.max_column > MAX_CELLS:
            raise UnsupportedFile("xlsx: too many cells",
                                  f"工作表“{ws.title}”过大（{ws.max_row} 行 × {ws.max_column} 列），超过上限。")
        grid = [[display(c.value, c.number_format) for c in row]
                for row in ws.iter_rows(min_row=1, max_row=ws.max_row, max_col=ws.max_column)]
        for merged in ws.merged_cells.ranges:
            _fill(grid, merged.min_row - 1, merged.min_col - 1, merged.max_row - 1, merged.max_col - 1)
        out.append((ws.title, grid, ws.sheet_state != "visible"))
    return out


def xls_sheets(data: bytes) -> list[tuple[str, list[list[str]], bool]]:
    """The same for a legacy .xls (xlrd)."""
    import xlrd

    try:
        book = xlrd.open_workbook(file_contents=data, formatting_info=True, on_demand=True)
    except Exception as exc:  # xlrd raises XLRDError, CompDocError and others
        raise UnsupportedFile(f"xls: {exc}", "Excel 97-2003 工作簿（.xls）已损坏，无法读取。") from exc
    out = []
    for index in range(book.nsheets):
        sh = book.sheet_by_index(index)
        if sh.nrows * sh.ncols > MAX_CELLS:
            raise UnsupportedFile("xls: too many cells", f"工作表“{sh.name}”过大，超过上限。")
        grid = []
        for r in range(sh.nrows):
            row = []
            for c in range(sh.ncols):
                cell = sh.cell(r, c)
                row.append(_xls_display(book, cell))
            grid.append(row)
        for r0, r1, c0, c1 in sh.merged_cells:
            _fill(grid, r0, c0, r1 - 1, c1 - 1)
        out.append((sh.name, grid, sh.visibility != 0))
    return out


def _xls_display(book, cell) -> str:
    import xlrd

    if cell.ctype in (xlrd.XL_CELL_EMPTY, xlrd.XL_CELL_BLANK):
        return ""
    if cell.ctype == xlrd.XL_CELL_DATE:
        return display(xlrd.xldate.xldate_as_datetime(cell.value, book.datemode))
    if cell.ctype == xlrd.XL_CELL_NUMBER:
        fmt = ""
        try:
            fmt = book.format_map[book.xf_list[cell.xf_index].format_key].format_str
        except (IndexError, KeyError, AttributeError):
            pass
        return format_number(cell.value, fmt)
    if cell.ctype == xlrd.XL_CELL_BOOLEAN:
        return "是" if cell.value else "否"
    if cell.ctype == xlrd.XL_CELL_ERROR:
        return ""
    return str(cell.value).strip()


def csv_grid(text: str) -> list[list[str]]:
    sample = text[:4096]
    delimiter = max(",\t;，", key=lambda d: sample.split("\n", 1)[0].count(d))
    if delimiter == "，":
        text = text.replace("，", ",")  # a full-width comma as the separator (never inside a number)
        delimiter = ","
    return [[c.strip() for c in row] for row in csv.reader(io.StringIO(text), delimiter=delimiter)]


def _fill(grid: list[list[str]], r0: int, c0: int, r1: int, c1: int) -> None:
    if r0 >= len(grid):
        return
    value = grid[r0][c0] if c0 < len(grid[r0]) else ""
    for r in range(r0, min(r1, len(grid) - 1) + 1):
        for c in range(c0, min(c1, len(grid[r]) - 1) + 1):
            grid[r][c] = value


# ---------- grid → text ----------

Sheet = tuple[str, list[list[str]], bool]  # name, shown values, hidden


def sheets_to_text(sheets: list[Sheet], with_headings: bool = True) -> tuple[str, list[str]]:
    """Text of the visible sheets and warnings about the others."""
    from ingest.loaders import render_table

    parts: list[str] = []
    warnings: list[str] = []
    for name, grid, hidden in sheets:
        if hidden:
            warnings.append(f"工作表“{name}”是隐藏的，未导入")
            continue
        blocks = list(_blocks(grid))
        if not blocks:
            continue
        if with_headings:
            parts.append(f"# 工作表：{name}")
        for r0, r1, c0, c1 in blocks:
            parts += _block_text(grid, name if with_headings else "", r0, r1, c0, c1, render_table, name)
    if not parts:
        raise EmptyDocument("workbook without values", "工作簿中没有可读取的单元格内容。")
    return "\n\n".join(parts) + "\n", warnings


def _blocks(grid: list[list[str]]):
    """(r0, r1, c0, c1) of each run of filled rows, trimmed to its filled columns."""
    r = 0
    while r < len(grid):
        if not any(grid[r]):
            r += 1
            continue
        start = r
        while r < len(grid) and any(grid[r]):
            r += 1
        cols = [c for c in range(max(len(row) for row in grid[start:r]))
                if any(c < len(row) and row[c] for row in grid[start:r])]
        yield start, r - 1, cols[0], cols[-1]


def _block_text(grid, sheet: str, r0: int, r1: int, c0: int, c1: int, render_table, name: str) -> list[str]:
    """Caption, unit line and pipe rows of one block; ``sheet`` ("" for a .csv) qualifies the range."""
    rows = [[(grid[r][c] if c < len(grid[r]) else "") for c in range(c0, c1 + 1)] for r in range(r0, r1 + 1)]
    out: list[str] = []
    title = ""
    # Title and unit rows above the header: one text across the row (often a merged cell).
    while len(rows) > 2 and len({v for v in rows[0] if v}) == 1:
        only = next(v for v in rows[0] if v)
        if UNIT_LINE.match(only):
            out.append(only if only.startswith(("（", "(")) else f"（{only}）")
        elif not title and len(only) <= TITLE_MAX_CHARS:
            title = only
        else:
            out.append(only)
        rows.pop(0)
        r0 += 1
    if len(rows) < 2 or max(len([v for v in row if v]) for row in rows) < 2:
        return out + [v for row in rows for v in row if v]  # notes, not a table
    _units_below_groups(rows)
    where = f"{sheet}!" if sheet else ""
    caption = f"## {title or name}（{where}{cell_range(r0, c0, r1, c1)}）"
    return [caption] + out + [render_table(rows)]


UNIT_END = re.compile(r"[（(][^（）()]{1,12}[）)]$")


def _units_below_groups(rows: list[list[str]]) -> None:
    """"排放量降低（%）" merged over "二氧化硫 | 氮氧化物": the unit goes to the end of each sub-header,
    where a joined header name ("排放量降低二氧化硫（%）") still ends with it."""
    if len(rows) < 3 or any(re.match(r"^[+-]?\d", c) for c in rows[1][1:]):
        return
    for c in range(len(rows[0])):
        unit = UNIT_END.search(rows[0][c])
        if unit and rows[1][c] and rows[1][c] != rows[0][c] and not UNIT_END.search(rows[1][c]):
            rows[1][c] += unit.group()
    for c in range(len(rows[0])):
        if UNIT_END.search(rows[1][c]) and UNIT_END.search(rows[0][c]) and rows[1][c] != rows[0][c]:
            rows[0][c] = UNIT_END.sub("", rows[0][c])
