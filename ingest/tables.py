"""Pipe-table blocks → Table records: headers, units, row hierarchy, numeric values and row quotes."""

from __future__ import annotations

import hashlib
import re
from collections import Counter

from kb.records import Cell, Table, join_path

NUMBER = re.compile(
    r"^(?P<pre>约|近|超过|不低于|不高于|不少于|≥|≤|>|<|＞|＜|≧|≦)?\s*[〔\[【]?(?P<num>[+-]?\d+(?:\.\d+)?)"
    r"\s*(?P<pct>%)?[〕\]】]?\s*(?P<post>以上|以下|以内|左右)?$"
)
# "92.1万吨" in a cell: the value with its unit (kept only when the unit is a known one).
NUMBER_WITH_UNIT = re.compile(r"^(?P<num>[+-]?\d+(?:\.\d+)?)\s*(?P<unit>[^\d\s]{1,10})$")
UNIT_COLUMN_HEADERS = {"单位", "计量单位", "单 位"}
UNIT_IN_PARENS = re.compile(r"[（(]\s*(?:单位[：:]\s*)?(?P<unit>[^（）()]{1,16})\s*[）)]\s*$")
TITLE_UNIT = re.compile(r"单位[：:]\s*(?P<unit>[^）)\s，,；;]{1,16})")
SEPARATOR = re.compile(r"^\|?\s*:?-{2,}:?\s*(\|\s*:?-{2,}:?\s*)*\|?\s*$")
EMPTY_MARKS = {"", "-", "—", "--", "/", "／"}
DITTO_MARKS = {"〃", "同上", "\""}
UNIT_CHARS = set("%‰万亿千百吨元标准煤千瓦时公里米平方立方个家座处台套辆人户项箱张度重量蒸天倍/·²³")
UNIT_LINE = re.compile(r"^[（(]?\s*单位[：:]")
TITLE_ROW = re.compile(r"^(?:专栏|附表|表)\s*[一二三四五六七八九十百\d]")
NOTE_ROW = re.compile(r"^(?:注|备注|说明|资料来源|数据来源)\s*[0-9]*[：:]")
INDEX_HEADERS = {"序号", "编号", "序", "No", "No.", "#"}


def split_pipe_row(line: str) -> list[str]:
    inner = line.strip()
    if inner.startswith("|"):
        inner = inner[1:]
    if inner.endswith("|"):
        inner = inner[:-1]
    return [c.strip() for c in inner.split("|")]


def parse_number(raw: str) -> tuple[float | None, bool]:
    """'-3.8%' → (-3.8, True); '〔13.5〕' (a five-year total) → (13.5, False); text → (None, False)."""
    m = NUMBER.match(raw.replace(",", "").replace("，", "").strip())
    if not m:
        return None, False
    return float(m.group("num")), bool(m.group("pct"))


def inline_unit(raw: str) -> tuple[float | None, str]:
    """'92.1万吨' → (92.1, '万吨') when the suffix is a unit; else (None, '')."""
    m = NUMBER_WITH_UNIT.match(raw.replace(",", "").strip())
    if m and all(ch in UNIT_CHARS for ch in m.group("unit")):
        return float(m.group("num")), m.group("unit")
    return None, ""


UNIT_WORDS = re.compile(r"%|％|‰|万|亿|吨|元|米|克|瓦|焦|度|天|个|台|套|辆|户|人|箱|张|标|单位|百分点|倍|小时|年")


def split_unit(header: str) -> tuple[str, str]:
    """'二氧化硫排放量（万吨）' → ('二氧化硫排放量', '万吨'); '市（州）' stays a name, 州 is no unit."""
    m = UNIT_IN_PARENS.search(header)
    if not m or not UNIT_WORDS.search(m.group("unit")):
        return header.strip(), ""
    return header[: m.start()].strip(), m.group("unit").strip()


def table_id_for(doc_id: str, start: int, title: str) -> str:
    return "t_" + hashlib.sha1(f"{doc_id}:{start}:{title}".encode()).hexdigest()[:12]


def build_table(doc_id: str, text: str, start: int, end: int, title: str, section_path: tuple[str, ...],
                intro: str, table_unit: str) -> tuple[Table | None, list[str]]:
    """Parse the pipe lines text[start:end]; returns (table, warnings)."""
    warnings: list[str] = []
    lines, offsets = [], []
    pos = start
    for line in text[start:end].split("\n"):
        if line.strip() and not SEPARATOR.match(line.strip()):
            lines.append(line)
            offsets.append(pos)
        pos += len(line) + 1
    rows = [split_pipe_row(line) for line in lines]
    if len(rows) < 2:
        return None, [f"表格“{title or '未命名'}”只有表头，没有数据行"]
    width = max(len(r) for r in rows)
    ragged = [i for i, r in enumerate(rows) if len(r) != width]
    if ragged:
        warnings.append(f"表格“{title or '未命名'}”有 {len(ragged)} 行列数不齐，已按空格补齐")
    rows = [r + [""] * (width - len(r)) for r in rows]
    # Rows merged across the whole width: a title or "单位：万吨" drawn inside the table, notes under it.
    while len(rows) > 2 and _spanning_text(rows[0]):
        only = _spanning_text(rows[0])
        if UNIT_LINE.match(only):
            table_unit = table_unit or title_unit(only)
        elif (TITLE_ROW.match(only) and not TITLE_ROW.match(title)
              or title in ("", "表格") and set(rows[0]) == {only}):
            title = only  # the table's own title row beats a caption guessed from the line above
        elif set(rows[0]) != {only}:
            break  # a header with one filled cell, not a spanning row
        rows.pop(0)
        lines.pop(0)
    while len(rows) > 2 and _spanning_text(rows[-1]) and NOTE_ROW.match(_spanning_text(rows[-1])):
        rows.pop()
        lines.pop()
    header_rows = 1
    # A second all-text row under a header with repeated (merged) or blank (spanned) cells is a sub-header.
    if len(rows) > 2 and (len(set(rows[0])) < width or "" in rows[0][1:]) and any(rows[1][1:]) and not any(
            parse_number(c)[0] is not None for c in rows[1][1:]):
        header_rows = 2
        for c in range(1, width):
            if not rows[0][c] and rows[0][c - 1] and rows[1][c]:
                rows[0][c] = rows[0][c - 1]  # "目标值" spans the blank cells to its right
    header = []
    for c in range(width):
        parts = [rows[h][c] for h in range(header_rows)]
        name = parts[0] if len(set(parts)) == 1 else "".join(dict.fromkeys(p for p in parts if p))
        header.append(name)
    data = rows[header_rows:]
    data_lines = lines[header_rows:]
    # Leading label columns: text in every data row (a merged first column gives a hierarchy).
    label_cols = 1
    index_col = False
    if width > 2 and _is_index_column(header[0], [r[0] for r in data]):
        label_cols, index_col = 2, True  # "序号 | 工程 | 投资": the number is no label
    elif width > 2 and all(parse_number(r[1])[0] is None and r[1] not in EMPTY_MARKS for r in data) and any(
        parse_number(c)[0] is not None for r in data for c in r[2:]
    ):
        label_cols = 2
    col_names, col_units = [], []
    for h in header:
        name, unit = split_unit(h)
        col_names.append(name)
        col_units.append(unit)
    # "指标 | 单位 | 2020年 | 2025年": each row's unit stands in a column of its own.
    unit_col = next((c for c in range(label_cols, width)
                     if col_names[c].replace(" ", "") in UNIT_COLUMN_HEADERS), -1)
    table_id = table_id_for(doc_id, start, title)
    cells: list[Cell] = []
    parent = ""
    raw_rows: list[tuple[int, str, str, list[str], str]] = []
    for r, (row, quote) in enumerate(zip(data, data_lines)):
        if len(set(row)) == 1 and row[0] and parse_number(row[0])[0] is None:
            parent = row[0]  # a group row merged across the table ("一、东部地区")
            continue
        if label_cols == 2:
            if not index_col and row[0] not in EMPTY_MARKS:
                parent = row[0]
            # An empty first cell continues the group above (a merged cell exported without its text).
            parent_label, label = ("" if index_col else parent), row[1]
        else:
            label = row[0]
            values = row[1:]
            if label and all(v in EMPTY_MARKS for v in values):
                parent = label  # a group row: its children follow
                continue
            parent_label = parent
        raw_rows.append((r, parent_label, label, row[label_cols:], quote.strip()))
    # Column-level unit evidence, to flag a value printed without its "%".
    pct_share = []
    for c in range(width - label_cols):
        numeric = [parse_number(vals[c]) for _, _, _, vals, _ in raw_rows if c < len(vals)
                   and not (unit_col >= 0 and vals[unit_col - label_cols] not in EMPTY_MARKS)]
        numeric = [n for n in numeric if n[0] is not None]
        pct_share.append(sum(1 for _, is_pct in numeric if is_pct) / len(numeric) if numeric else 0.0)
    for r, parent_label, label, values, quote in raw_rows:
        label_name, row_unit = split_unit(label)
        if unit_col >= 0 and values[unit_col - label_cols] not in EMPTY_MARKS:
            row_unit = values[unit_col - label_cols]
        for c, raw in enumerate(values):
            col = c + label_cols
            if col == unit_col:
                continue
            raw = raw.strip()
            if raw in DITTO_MARKS and cells:
                prev = [x for x in cells if x.col == col]
                raw = prev[-1].raw if prev else raw
            value, is_pct = parse_number(raw)
            cell_unit = ""
            if value is None:
                value, cell_unit = inline_unit(raw)
            flag, unit = "", ""
            if raw in EMPTY_MARKS:
                flag = "empty"
            elif value is None:
                flag = "not_numeric"
            elif is_pct:
                unit = "%"
            elif cell_unit or row_unit or col_units[col]:
                unit = cell_unit or row_unit or col_units[col]
            elif table_unit:
                unit = table_unit
            elif pct_share[c] >= 0.6:
                if value == 0:
                    unit = "%"  # zero is zero in any unit; the column is in percent
                else:
                    flag = "missing_percent"
            cells.append(Cell(
                table_id=table_id, row=r, col=col, row_label=label_name, parent_label=parent_label,
                column=col_names[col], column_unit=col_units[col] or row_unit, raw=raw, value=value,
                unit=unit, flag=flag, quote=quote,
            ))
            if flag == "missing_percent":
                warnings.append(f"表格“{title}”中“{label_name}/{col_names[col]}”的值 {raw} 缺少“%”，未作推断")
    table = Table(
        table_id=table_id, doc_id=doc_id, title=title, section_path=join_path(section_path), unit=table_unit,
        columns=tuple(name for c, name in enumerate(col_names) if c != unit_col), intro=intro,
        cells=tuple(cells), start=start, end=end,
    )
    return table, warnings


def title_unit(title: str) -> str:
    """Unit a title or caption line gives for the whole table: "（单位：万吨）", "…目标（%）"."""
    m = TITLE_UNIT.search(title)
    if m:
        return m.group("unit")
    m = UNIT_IN_PARENS.search(title)
    if m and all(ch in UNIT_CHARS for ch in m.group("unit").strip()):
        return m.group("unit").strip()
    return ""


def _spanning_text(row: list[str]) -> str:
    """The one text of a row whose filled cells all say the same thing, else ""."""
    filled = {c for c in row if c}
    return next(iter(filled)) if len(filled) == 1 else ""


def _is_index_column(header: str, values: list[str]) -> bool:
    if header.strip() in INDEX_HEADERS:
        return True
    if header.strip() not in ("", "序号") or len(values) < 2:
        return False
    numbers = [parse_number(v)[0] for v in values]
    if not all(n is not None and n == int(n) for n in numbers):
        return False
    return [int(n) for n in numbers] == list(range(int(numbers[0]), int(numbers[0]) + len(numbers)))


def majority_unit(table: Table) -> str:
    units = Counter(c.unit for c in table.cells if c.unit)
    return units.most_common(1)[0][0] if units else ""
