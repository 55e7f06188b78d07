"""Pipe-table blocks → Table records: header, column roles, row hierarchy, typed values and row quotes.

Every column gets a role from its header and its values: ``index`` (序号), ``group`` (类别 merged down the
rows), ``label`` (the indicator or place a row is about), ``unit`` (单位), ``attribute`` (属性: 约束性/预期性),
``text`` (备注, 责任单位 …), or a value role: ``base`` (现状, 基期值, the earlier year), ``target`` (目标值,
规划, the later year), ``change``, ``annual`` (年均), ``cumulative`` (累计, values in 〔〕), ``milestone``
(3月底前完成20%) or plain ``value``. Cells are typed by :mod:`ingest.values`; a number printed without the
``%`` its column carries is flagged, never given a neighbour's unit.
"""

from __future__ import annotations

import hashlib
import re
from collections import Counter
from itertools import combinations
from dataclasses import replace

from ingest.cellgrid import is_unit_cell
from ingest.values import EMPTY_MARKS, GAP, parse_value, split_footnotes
from kb.records import Cell, Table, join_path

UNIT_COLUMN_HEADERS = {"单位", "计量单位", "单 位", "指标单位"}
UNIT_IN_PARENS = re.compile(r"[（(]\s*(?:单位[：:]\s*)?(?P<unit>[^（）()]{1,16}(?:[（(][^（）()]{1,4}[）)])?)\s*[）)]\s*$")
TITLE_UNIT = re.compile(r"单位[：:]\s*(?P<unit>[^）)\s，,；;]{1,16})")
SEPARATOR = re.compile(r"^\|?\s*:?-{2,}:?\s*(\|\s*:?-{2,}:?\s*)*\|?\s*$")
DITTO_MARKS = {"〃", "同上", "\""}
UNIT_CHARS = set("%‰万亿千百吨元标准煤千瓦时公里米平方立方个家座处台套辆人户项箱张度重量蒸天倍/·²³亩公顷条株栋")
UNIT_LINE = re.compile(r"^[（(]?\s*单位[：:]")
TITLE_ROW = re.compile(r"^(?:专栏|附表|表)\s*[一二三四五六七八九十百\d]")
NOTE_ROW = re.compile(r"^(?:注|备注|说明|资料来源|数据来源)\s*[0-9]*[：:]")
INDEX_HEADERS = {"序号", "编号", "序", "No", "No.", "#"}
GROUP_HEADER = re.compile(r"类别|类目|板块|领域|维度|任务类型|指标类别|一级指标|分类|主要领域|行动|^类型$")
LABEL_HEADER = re.compile(r"指标|名称|项目|任务|内容|地区|区域|区县|街镇|乡镇|盟市|地市|城市|单位名称|措施|事项|工程")
ATTRIBUTE_HEADER = re.compile(r"^(?:属性|指标属性|类型|指标类型|性质|指标性质)$")
TEXT_HEADER = re.compile(r"备注|说明|情况|责任|牵头|配合|推进|部门|时间|节点|进度|方式|来源|依据|要求|内容|方法|职责")
UNIT_WORDS = re.compile(r"%|％|‰|万|亿|吨|元|米|克|瓦|焦|度|天|个|台|套|辆|户|人|箱|张|标|百分点|倍|小时|年|亩|公顷|条|座|处|"
                        r"栋|幢|间|株|块|段|家|所|项|次|床|起|件|km|㎡")
YEAR = re.compile(r"((?:19|20)\d{2})")


def split_pipe_row(line: str) -> list[str]:
    inner = line.strip()
    if inner.startswith("|"):
        inner = inner[1:]
    if inner.endswith("|"):
        inner = inner[:-1]
    return [c.strip() for c in inner.split("|")]


def parse_number(raw: str) -> tuple[float | None, bool]:
    """'-3.8%' → (-3.8, True); '〔13.5〕' (a five-year total) → (13.5, False); words → (None, False)."""
    v = parse_value(raw)
    if not v.is_number:
        return None, False
    return v.value, v.unit == "%"


def split_unit(header: str) -> tuple[str, str]:
    """'二氧化硫排放量（万吨）' → ('二氧化硫排放量', '万吨'); '市（州）' and '达标率（居住小区/单位）' stay names."""
    m = UNIT_IN_PARENS.search(header)
    if not m or YEAR.search(m.group("unit")):
        return header.strip(), ""
    unit = m.group("unit").strip()
    if not (is_unit_cell(unit) or (UNIT_WORDS.search(unit) and len(unit) <= 8
                                   and not re.search(r"含|其中|居住|小区|以上|以下|单位|按|及", unit))):
        return header.strip(), ""
    return header[: m.start()].strip(), unit


def table_id_for(doc_id: str, start: int, title: str) -> str:
    return "t_" + hashlib.sha1(f"{doc_id}:{start}:{title}".encode()).hexdigest()[:12]


def _read_rows(text: str, start: int, end: int) -> tuple[list[list[str]], list[str]]:
    lines = []
    for line in text[start:end].split("\n"):
        if line.strip() and not SEPARATOR.match(line.strip()):
            lines.append(line)
    return [split_pipe_row(line) for line in lines], lines


def build_table(doc_id: str, text: str, start: int, end: int, title: str, section_path: tuple[str, ...],
                intro: str, table_unit: str, notes: tuple[str, ...] = ()) -> tuple[Table | None, list[str]]:
    """Parse the pipe lines text[start:end]; returns (table, warnings)."""
    warnings: list[str] = []
    rows, lines = _read_rows(text, start, end)
    filled = [i for i, r in enumerate(rows) if any(c.strip() for c in r)]
    if len(filled) == 1:
        rows, lines = unflatten_row(rows[filled[0]], lines[filled[0]])
    if len(rows) < 2:
        return None, [f"表格“{title or '未命名'}”只有表头，没有数据行"]
    spanned = spanning_header(rows)
    if spanned:
        names, runs = spanned
        rows = [names] + [_spread(r, runs, len(names)) for r in rows[2:]]
        lines = [lines[0]] + lines[2:]
    width = max(len(r) for r in rows)
    ragged = [i for i, r in enumerate(rows) if len(r) != width]
    if ragged:
        warnings.append(f"表格“{title or '未命名'}”有 {len(ragged)} 行列数不齐，已按空格补齐")
    rows = [r + [""] * (width - len(r)) for r in rows]
    caption = ""
    # Rows merged across the whole width: a title or "单位：万吨" drawn inside the table, notes under it.
    while len(rows) > 2 and _spanning_text(rows[0]):
        only = _spanning_text(rows[0])
        if UNIT_LINE.match(only):
            table_unit = table_unit or title_unit(only)
        elif (TITLE_ROW.match(only) and not TITLE_ROW.match(title)
              or title in ("", "表格") and set(rows[0]) == {only}):
            caption, title = title, only  # the table's own title row beats a caption guessed from the line above
        elif set(rows[0]) != {only}:
            break  # a header with one filled cell, not a spanning row
        rows.pop(0)
        lines.pop(0)
    table_notes = list(notes)
    while len(rows) > 2 and _spanning_text(rows[-1]) and NOTE_ROW.match(_spanning_text(rows[-1])):
        table_notes.insert(0, _spanning_text(rows[-1]))
        rows.pop()
        lines.pop()
    header_rows = _header_rows(rows, width)
    header = []
    for c in range(width):
        parts = [rows[h][c] for h in range(header_rows)]
        header.append("".join(dict.fromkeys(p for p in parts if p)) if len(set(parts)) > 1 else parts[0])
    data = rows[header_rows:]
    data_lines = lines[header_rows:]
    header, data = _split_counts(header, data)
    width = len(header)
    col_names, col_units, col_marks = [], [], []
    for h in header:
        name, mark = split_footnotes(h)
        name, unit = split_unit(name)
        if not unit and re.search(r"百分比$|百分率$", name):
            unit = "%"  # "折减率（J）百分比": the values are percentages
        if not unit and "·" in name:
            # "到2025年规划指标(万亩)·累计建成面积": the heading's unit is its columns' unit
            parts = [split_unit(part) for part in name.split("·")]
            unit = next((u for _, u in parts if u), "")
            if unit:
                name = "·".join(part for part, _ in parts)
        padded = PADDED.match(name.split("·")[-1].strip()) or re.fullmatch(r"[\u4e00-\u9fff ]+", name)
        col_names.append(unpad(name) if padded else name)  # "总 面 积" → 总面积
        col_units.append(unit)
        col_marks.append(mark)
    roles = column_roles(col_names, data, table_notes)
    table_id = table_id_for(doc_id, start, title)
    cells, cell_warnings = _cells(table_id, title, data, data_lines, col_names, col_units, roles, table_unit)
    warnings += cell_warnings
    columns = tuple(col_names[c] for c in range(width) if roles[c] != "unit")
    # Cells are numbered by the columns the table keeps (the 单位 column lives on as each cell's unit).
    kept = {c: i for i, c in enumerate(c for c in range(width) if roles[c] != "unit")}
    cells = [replace(c, col=kept.get(c.col, c.col)) for c in cells]
    columns, kept_roles, cells = fold_kind_rows(columns, tuple(roles[c] for c in range(width) if roles[c] != "unit"),
                                                cells)
    table = Table(
        table_id=table_id, doc_id=doc_id, title=title, section_path=join_path(section_path), unit=table_unit,
        columns=columns, intro=intro, cells=tuple(cells), start=start, end=end,
        roles=kept_roles, notes=tuple(table_notes),
        caption=caption,
    )
    return table, warnings


COUNT_IN_NAME = re.compile(r"^(.{2,24}?)\s*[（(]\s*(?:共\s*)?(\d+)\s*(个|项|家|处|座|条|所|名|人|户|村|宗)\s*[）)]$")


def _split_counts(header: list[str], data: list[list[str]]) -> tuple[list[str], list[list[str]]]:
    """"浦东新区（5个）| 张江镇长元村、…": a name printed with how many it has. The count becomes a column of its own
    ("行政区·数量"), so it is a value to look up, add and rank, never a unit of the name."""
    for c in range(len(header)):
        values = [r[c].strip() for r in data if c < len(r) and r[c].strip()]
        counted = [COUNT_IN_NAME.match(v) for v in values]
        if len(values) < 2 or sum(bool(m) for m in counted) < 0.6 * len(values):
            continue
        name = re.sub(r"\s", "", header[c]) or "名称"
        header = header[:c + 1] + ["数量" if "数量" not in header else f"{name}·数量"] + header[c + 1:]
        split = []
        for r in data:
            m = COUNT_IN_NAME.match(r[c].strip()) if c < len(r) else None
            first, count = (m.group(1), m.group(2) + m.group(3)) if m else (r[c] if c < len(r) else "", "")
            split.append(r[:c] + [first, count] + r[c + 1:])
        return header, split
    return header, data


KIND_WORD = re.compile(r"^[\u4e00-\u9fff]{1,4}$")


def fold_kind_rows(columns: tuple[str, ...], roles: tuple[str, ...], cells: list[Cell]):
    """Each place printed as rows told apart by a kind column ("南桥镇 | 等级 | 0.55 …" then " | 社区 | 0.00 …", the
    place merged down): one row per place, its columns named by kind ("等级·2021年任务", "社区·2021年任务"). A kind
    the page scraped into the place's column ("社区 | | 0.00 …") is read back as the kind. Each cell keeps the quote
    of its own printed row."""
    if "group" in roles and "label" in roles and roles.index("label") == roles.index("group") + 1:
        return _fold_grouped_kinds(columns, roles, cells)
    if "label" not in roles or "text" not in roles:
        return columns, roles, cells
    label_col, kind_col = roles.index("label"), roles.index("text")
    if kind_col != label_col + 1:
        return columns, roles, cells
    rows: dict[int, list[Cell]] = {}
    for c in cells:
        rows.setdefault(c.row, []).append(c)
    order = sorted(rows)
    label = {r: rows[r][0].row_label for r in order}
    kind = {r: next((c.raw.strip() for c in rows[r] if c.col == kind_col), "") for r in order}
    counts = Counter(label.values())
    scraped = {x for x, n in counts.items() if n >= 2 and KIND_WORD.match(x)}  # 社区, repeated under every place
    if order and label[order[0]] in scraped:
        return columns, roles, cells
    keyed, place, odd = [], "", []
    for r in order:
        if label[r] in scraped:
            if kind[r]:
                odd.append(r)  # a row the page misaligned further (总计's second row): its word cell is kept
            keyed.append((r, place, label[r]))
        else:
            place = label[r]
            keyed.append((r, place, kind[r]))
    places = Counter(p for _, p, _ in keyed)
    if not _kinds_fold([(p, k) for _, p, k in keyed]) or len(odd) > 1 or sum(
            n >= 2 for n in places.values()) < 0.8 * len(places):
        return columns, roles, cells
    new_columns, new_roles, where = _kind_columns(columns, roles, [k for _, _, k in keyed], kind_col, roles)
    keep = {i: new_columns.index(columns[i]) for i in range(len(columns))
            if roles[i] in ("label", "index", "group", "unit") and i != kind_col}
    for r in odd:
        where[(label[r], kind_col)] = len(new_columns)
        new_columns.append(f"{label[r]}·{columns[kind_col]}")
        new_roles.append("text")
    out = []
    for r, p, k in keyed:
        for c in rows[r]:
            if c.col == kind_col and (k, kind_col) not in where:
                continue
            col = where.get((k, c.col), keep.get(c.col, c.col))
            out.append(replace(c, row_label=p, column=new_columns[col], col=col))
    return tuple(new_columns), tuple(new_roles), out


def _kinds_fold(pairs: list[tuple[str, str]]) -> bool:
    """(place, kind) of each printed row: 2–4 kinds, short words each on two rows or more, at least two places,
    and no place printed twice with one kind."""
    kinds = Counter(k for _, k in pairs)
    return 2 <= len(kinds) <= 4 and min(kinds.values()) >= 2 and all(KIND_WORD.match(k) for k in kinds) and len(
        {p for p, _ in pairs}) >= 2 and max(Counter(pairs).values()) == 1


def _kind_columns(columns, roles, kinds: list[str], dropped: int, kept_roles):
    """The folded table's columns: the non-value columns but `dropped` (with `kept_roles`), then each value column
    once per kind in order ("等级·2021年任务", "社区·2021年任务"); `where[(kind, old column)]` is the new index."""
    value_cols = [i for i, role in enumerate(roles) if role not in ("label", "index", "group", "unit") and i != dropped]
    new_columns = [columns[i] for i in range(len(columns)) if i not in value_cols and i != dropped]
    new_roles = [kept_roles[i] for i in range(len(roles)) if i not in value_cols and i != dropped]
    where = {}
    for k in dict.fromkeys(kinds):
        for i in value_cols:
            where[(k, i)] = len(new_columns)
            new_columns.append(f"{k}·{columns[i]}")
            new_roles.append(roles[i])
    return new_columns, new_roles, where


def _fold_grouped_kinds(columns, roles, cells):
    """"甲镇 | 等级 | …" then " | 社区 | …" read as a group (the place) over rows named by kind: one row per place."""
    by_row: dict[int, Cell] = {}
    for c in cells:
        by_row.setdefault(c.row, c)
    pairs = [(c.parent_label, c.row_label) for c in by_row.values()]
    if not _kinds_fold(pairs) or any(not p for p, _ in pairs):
        return columns, roles, cells
    kept_roles = tuple("label" if role == "group" else role for role in roles)  # the group names the row now
    new_columns, new_roles, where = _kind_columns(columns, roles, [k for _, k in pairs], roles.index("label"),
                                                  kept_roles)
    out = [replace(c, row_label=c.parent_label, parent_label="", column=new_columns[where[(c.row_label, c.col)]],
                   col=where[(c.row_label, c.col)]) for c in cells if (c.row_label, c.col) in where]
    if len(out) != len(cells):
        return columns, roles, cells  # a cell that would have no column: leave the table as read
    return tuple(new_columns), tuple(new_roles), out


def spanning_header(rows: list[list[str]]) -> list[str] | None:
    """Two header rows scraped without their spans ("单位 | 到2025年规划指标 | 到2030年规划指标" over six cells): the
    column names, each second-row cell under the first-row cell it belongs to. None when the rows are not that.

    A first-row cell either names its own column down both rows (单位, 备注) or heads a run of second-row cells;
    every choice of headings is tried with the best cut of the second row for that many runs, preferring runs that
    repeat the same cells (建成 | 改造 | 节水 under
    each year) and heading words over column words."""
    if len(rows) < 3:
        return None
    top = [c for c in rows[0] if c.strip()]
    sub = [c for c in rows[1] if c.strip()]
    words = lambda r: r and not any(parse_value(c).is_number for c in r)
    if not (2 <= len(top) < len(sub) <= 24 and len(top) <= 8 and words(top) and words(sub)) or len(rows[0]) >= len(
            rows[1]):
        return None
    strong = [bool(LEAF_HEADER.match(re.sub(r"\s", "", cell))) for cell in top]
    best: tuple[float, tuple, list[list[str]]] | None = None
    for p in range(1, len(top) + 1):
        groups, bonus = _runs(sub, p)
        for heads in combinations(range(len(top)), p):
            # a column word heading a run costs; one standing alone pays
            score = sum((-1.5 if strong[i] else 0.3) if i in heads else (1.0 if strong[i] else 0.0)
                        for i in range(len(top))) + bonus - 0.3 * (len(top) - p)
            if best is None or score > best[0]:
                best = (score, heads, groups)
    if best is None:
        return None
    _, heads, groups = best
    names: list[str] = []
    starts: list[int] = []
    for i, cell in enumerate(top):
        if i in heads:
            starts.append(len(names))
            names += [f"{cell}·{x}" for x in groups[len(starts) - 1]]
        else:
            names.append(cell)
    same = len(groups) > 1 and all(g == groups[0] for g in groups)
    return names, [(st, len(groups[0])) for st in starts] if same else []


def _runs(sub: list[str], p: int) -> tuple[list[list[str]], float]:
    """The best way to cut the second row into p runs, and what it scores: the same cells in every run (3), runs
    of one length (1), or, when no equal cut exists, the first cut in reading order (0)."""
    n = len(sub)
    if p == 1:
        return [sub], 0.0
    if n % p == 0:
        k = n // p
        groups = [sub[g * k:(g + 1) * k] for g in range(p)]
        return groups, (3.0 if all(g == groups[0] for g in groups) else 1.0)
    return [[x] for x in sub[:p - 1]] + [sub[p - 1:]], 0.0


def _spread(row: list[str], runs: list[tuple[int, int]], width: int) -> list[str]:
    """A data row short of cells under headings that repeat the same columns ("5.56 | 0.80 | 5.56 | 0.80" under
    建成|改造|节水 for 2025 and for 2030): each heading keeps an equal share, the cells it lacks marked missing."""
    cells = [c for c in row]
    while cells and not cells[-1].strip():
        cells.pop()
    if not runs or len(cells) >= width:
        return row
    lead, size, count = runs[0][0], runs[0][1], len(runs)
    if runs[-1][0] + size != width or lead >= len(cells):
        return row
    have, rest = divmod(len(cells) - lead, count)
    if rest or not 0 < have < size:
        return row
    out = cells[:lead]
    for g in range(count):
        part = cells[lead + g * have: lead + (g + 1) * have]
        out += part + [GAP] * (size - have)
    return out


LEAF_HEADER = re.compile(r"^(?:序号|编号|单位|地区|区县|街镇|乡镇|县（市、区）|县\(市、区\)|名称|指标|指标名称|项目|备注|说明|属性|"
                         r"合计|小计|总计|牵头单位|责任单位)$")


def _header_rows(rows: list[list[str]], width: int) -> int:
    """One header row, or two when the second is all words under a first with merged or blank cells."""
    if len(rows) > 2 and (len(set(rows[0])) < width or "" in rows[0][1:]) and any(rows[1][1:]) and not any(
            parse_value(c).is_number for c in rows[1][1:]):
        for c in range(1, width):
            if not rows[0][c] and rows[0][c - 1] and rows[1][c]:
                rows[0][c] = rows[0][c - 1]  # "目标值" spans the blank cells to its right
        return 2
    return 1


def column_roles(names: list[str], data: list[list[str]], notes: list[str] = ()) -> list[str]:
    """The role of every column, from its header and what its cells hold."""
    width = len(names)
    kinds = [Counter(parse_value(r[c]).kind for r in data if c < len(r)) for c in range(width)]

    def share(c: int, kind: str) -> float:
        total = sum(v for k, v in kinds[c].items() if k != "empty") or 1
        return kinds[c].get(kind, 0) / total

    roles = [""] * width
    for c, name in enumerate(names):
        s = re.sub(r"\s", "", name)
        values = [r[c] for r in data if c < len(r)]
        if s in INDEX_HEADERS or (c == 0 and _is_index_column(s, values)):
            roles[c] = "index"
        elif s in UNIT_COLUMN_HEADERS and sum(is_unit_cell(v) or v in EMPTY_MARKS for v in values) >= 0.6 * len(values):
            roles[c] = "unit"  # "单位" over 万平方米/%; over 区规划资源局 it names departments
        elif ATTRIBUTE_HEADER.match(s) and sum(bool(re.match(r"^(?:约束|预期|指导|引导)", v)) for v in values) >= max(
                1, len(values) // 2):
            roles[c] = "attribute"
    label_at = None
    for c, name in enumerate(names):
        if roles[c]:
            continue
        s = re.sub(r"\s", "", name)
        textual = share(c, "text") >= 0.6
        nxt = c + 1
        values = [r[c] for r in data if c < len(r)]
        merged = sum(v in EMPTY_MARKS for v in values) >= max(2, 0.3 * len(values))
        next_full = nxt < width and not roles[nxt] and share(nxt, "text") >= 0.6 and sum(
            r[nxt] in EMPTY_MARKS for r in data if nxt < len(r)) <= 0.1 * len(data)
        # "指标 | 指标 | 2025年": one header over two columns, the first repeating a few words (保护利用 …) down its
        # rows and the second naming each row: the first groups the rows.
        repeats = nxt < width and re.sub(r"\s", "", names[nxt]) == s and textual and not roles[nxt] and len(
            {v for v in values if v not in EMPTY_MARKS}) <= 0.5 * len(values) and len(
            {r[nxt] for r in data if nxt < len(r)}) >= 0.8 * len(data)
        # "所在区 | 产业区域名称": the place a named item lies in groups it; the name names the row
        located = re.match(r"^(?:所在|所属)(?:区|区县|地|区位|街镇|镇)?$", s) and nxt < width and re.search(
            r"名称$", re.sub(r"\s", "", names[nxt]))
        if label_at is None and (repeats or located or (GROUP_HEADER.search(s) and nxt < width and (
                roles[nxt] == "index" or (not roles[nxt] and share(nxt, "text") >= 0.6))) or (
                textual and merged and next_full)):
            # 类别 | 序号 | 指标 …, 一级指标 | 二级指标 …, 任务名称 (merged) | 任务内容: a group over its rows
            roles[c] = "group"
        elif label_at is None and (LABEL_HEADER.search(s) or textual or c == 0 or all(
                roles[x] in ("index", "group") for x in range(c))):
            roles[c] = "label"
            label_at = c
        elif textual and (TEXT_HEADER.search(s) or share(c, "number") + share(c, "range") < 0.2):
            roles[c] = "text"
        else:
            roles[c] = value_role(s, names, [r[c] for r in data if c < len(r)])
    if label_at is None:
        roles[next((c for c in range(width) if roles[c] == "group"), 0)] = "label"
    return roles


def value_role(name: str, names: list[str], values: list[str]) -> str:
    """base | target | change | annual | cumulative | milestone | value, from the header and the cells."""
    if re.search(r"年均(?!浓度|值|气温|温度|水平|降水)|每年|年平均(?!浓度)", name):
        return "annual"
    if re.search(r"累计|〔累计〕|合计", name):
        return "cumulative"
    if re.search(r"月底|月前|月中|季度|阶段|上半年|下半年", name):
        return "milestone"
    if re.search(r"下降|降低|增长|增幅|降幅|减少|变化|提高|增减|削减", name) and not re.search(r"目标值|规划值", name):
        return "change"
    if re.search(r"现状|基期|基准|基础|完成值|完成情况|实际|现值", name):
        return "base"
    if re.search(r"目标|规划|预期|任务量|计划|控制", name):
        return "target"
    years = [int(y) for n in names for y in YEAR.findall(n)]
    mine = [int(y) for y in YEAR.findall(name)]
    if mine and len(set(years)) >= 2:
        return "base" if mine[0] == min(years) else ("target" if mine[0] == max(years) else "value")
    numbers = [parse_value(v) for v in values]
    if numbers and sum(v.cumulative for v in numbers) >= max(1, len(numbers) // 2):
        return "cumulative"
    return "value"


TOTAL_LABEL = re.compile(r"^(?:合\s*计|小\s*计|总\s*计|共\s*计)$")


def _cells(table_id, title, data, data_lines, col_names, col_units, roles, table_unit):
    width = len(col_names)
    warnings: list[str] = []
    unit_col = next((c for c in range(width) if roles[c] == "unit"), -1)
    label_col = roles.index("label")
    group_cols = [c for c in range(width) if roles[c] == "group"]
    index_col = next((c for c in range(width) if roles[c] == "index"), -1)
    attr_col = next((c for c in range(width) if roles[c] == "attribute"), -1)
    value_cols = [c for c in range(width) if roles[c] not in ("index", "unit", "label", "group")]
    if not value_cols:
        value_cols = [label_col]  # a list of items: each item is the row's own cell
    # Column-level unit evidence, to flag a value printed without its "%".
    pct_share = {}
    for c in value_cols:
        typed = [parse_value(r[c]) for r in data if not (unit_col >= 0 and r[unit_col] not in EMPTY_MARKS)]
        typed = [v for v in typed if v.is_number]
        pct_share[c] = sum(v.unit == "%" for v in typed) / len(typed) if typed else 0.0
    cells: list[Cell] = []
    carried = {c: "" for c in group_cols}
    parent, last_label, last_unit, last_attr = "", "", "", ""
    for r, (row, quote) in enumerate(zip(data, data_lines)):
        # a label, group or index cell the page left out is merged down from the row above, not a name "（缺）"
        row = [("" if x.strip() == GAP and roles[c] in ("label", "group", "index") else x) for c, x in enumerate(row)]
        filled = [c for c in range(width) if row[c] not in EMPTY_MARKS]
        if len(set(row[c] for c in filled)) == 1 and filled and filled[0] in (group_cols + [label_col]) and (
                not parse_value(row[filled[0]]).is_number) and (width > 2 or len(filled) == width):
            # A group row merged across the table ("一、东部地区", "行动一：…"): its words head the rows below.
            if filled[0] in group_cols:
                carried[filled[0]] = row[filled[0]]
            else:
                parent = row[filled[0]]
            continue
        for c in group_cols:
            if row[c] not in EMPTY_MARKS:
                carried[c] = row[c]
        label_raw = row[label_col]
        if parent and _same_level(parent, label_raw):
            parent = ""  # "南桥镇" after the sub-rows of "奉城镇": a place never lies inside one of its own rank
        sub_row = label_raw.startswith("其中") or (index_col >= 0 and not row[index_col] and last_label
                                                   and any(d[index_col] for d in data))
        if not label_raw and index_col >= 0 and TOTAL_LABEL.match(row[index_col].strip()):
            label_raw, sub_row = row[index_col].strip(), False  # "合计" printed in the 序号 column names the row
        if not label_raw:
            if not any(row[c] not in EMPTY_MARKS for c in value_cols):
                continue
            label_raw = last_label  # a label merged down over this row too
        label, marks = split_footnotes(label_raw)
        label_name, row_unit = split_unit(label)
        label_name = clean_label(label_name)
        if unit_col >= 0:
            if row[unit_col] not in EMPTY_MARKS or row[unit_col] == "—":
                row_unit = row_unit or (row[unit_col] if row[unit_col] not in EMPTY_MARKS else "")
            elif sub_row:
                row_unit = row_unit or last_unit  # "其中 公园绿地" shares the unit cell of the row above
        attr = row[attr_col] if attr_col >= 0 and row[attr_col] not in EMPTY_MARKS else (last_attr if sub_row else "")
        group = "·".join(v for v in (carried[c] for c in group_cols) if v)
        parent_label = last_label if sub_row and label_raw.startswith("其中") else (parent or group)
        if not sub_row:
            last_label, last_unit, last_attr = label_raw, row_unit, attr
        gap = min((c for c in range(width) if row[c].strip() == GAP), default=width)
        for c in value_cols:
            raw = row[c].strip()
            if raw in DITTO_MARKS and cells:
                prev = [x for x in cells if x.col == c]
                raw = prev[-1].raw if prev else raw
            cell, warning = _cell(table_id, title, r, c, raw, label_name, parent_label, col_names[c],
                                  col_units[c], row_unit, table_unit, roles[c], pct_share.get(c, 0.0), quote, marks)
            if c > gap and cell.value is not None and not cell.flag:
                cell = replace(cell, flag="realigned")  # its column was inferred: the page left a cell out
            cells.append(cell)
            if warning:
                warnings.append(warning)
    return cells, warnings


def unflatten_row(cells: list[str], line: str) -> tuple[list[list[str]], list[str]]:
    """A whole table scraped onto one line: "| 县(市、区) | 总面积 | … |  | 合计 | 15.5 | … |  | 宝应县 | …": the rows
    are runs as wide as the header, each after one empty cell."""
    k = next((i for i, c in enumerate(cells) if not c.strip()), 0)
    if k < 2 or len(cells) < 3 * k:
        return [cells], [line]
    rows, i = [cells[:k]], k
    while i < len(cells):
        if cells[i].strip():
            return [cells], [line]  # not a separator where one should be
        chunk = cells[i + 1:i + 1 + k]
        if chunk and any(c.strip() for c in chunk):
            rows.append(chunk + [""] * (k - len(chunk)))
        i += k + 1
    return (rows, [line] * len(rows)) if len(rows) >= 3 else ([cells], [line])


PADDED = re.compile(r"^[\u4e00-\u9fff](?: {1,3}[\u4e00-\u9fff])+$")
ENUMERATOR = re.compile(r"^(?:[一二三四五六七八九十]{1,3}|\d{1,2})[、.．]\s*(?=[\u4e00-\u9fff]{2})")


def unpad(name: str) -> str:
    """The spaces that pad characters apart to align them ("宝 应 县") taken out."""
    return re.sub(r"(?<=[\u4e00-\u9fff]) {1,3}(?=[\u4e00-\u9fff])", "", name)


def clean_label(label: str) -> str:
    """A row name as it is said: "城 厢" (padded to align) → 城厢, "一、哈尔滨市" → 哈尔滨市."""
    s = label.strip()
    if PADDED.match(s):
        s = unpad(s)
    return ENUMERATOR.sub("", s)


def _cell(table_id, title, r, c, raw, label, parent, column, column_unit, row_unit, table_unit, role, pct_share,
          quote, marks) -> tuple[Cell, str]:
    v = parse_value(raw)
    flag, unit, warning = "", "", ""
    value = v.value if v.is_number else None
    if v.kind == "empty":
        flag = "empty"
    elif not v.is_number:
        flag = "not_numeric"
    elif v.unit:
        unit = v.unit
    elif row_unit and row_unit not in ("—", "-"):
        unit = row_unit
    elif column_unit:
        unit = column_unit
    elif table_unit:
        unit = table_unit
    elif pct_share >= 0.6:
        if value == 0:
            unit = "%"  # zero is zero in any unit; the column is in percent
        else:
            flag = "missing_percent"
            warning = f"表格“{title}”中“{label}/{column}”的值 {raw} 缺少“%”，未作推断"
    year = next(iter(YEAR.findall(column)), "")
    qualifier = v.qualifier
    if v.cumulative and "累计" not in qualifier:
        qualifier = (qualifier + "累计") if qualifier else "累计"
    return Cell(
        table_id=table_id, row=r, col=c, row_label=label, parent_label=parent, column=column,
        column_unit=column_unit or row_unit, raw=raw, value=value, unit=unit, flag=flag, quote=quote.strip(),
        kind=v.kind, comparator=v.comparator, qualifier=qualifier, value_hi=v.value_hi, footnote=marks,
        role="cumulative" if v.cumulative and role in ("value", "target", "base") else role, year=year,
    ), warning


PLACE_RANK = re.compile(r"(街道|镇|乡|区|县|市|盟|旗|园区|新区|工业区)$")


def _same_level(group: str, label: str) -> bool:
    a, b = PLACE_RANK.search(group), PLACE_RANK.search(label)
    return bool(a and b and a.group(1) == b.group(1))


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
