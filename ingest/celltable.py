"""Find tables laid out one cell per line in plain text and render them as pipe rows.

Two layouts come from the web and from exports: every cell its own paragraph (blank lines between cells,
a wrapped cell is two lines with no blank between them), or every row its own paragraph (one cell per
line, a blank line between rows). A table is recognised by a caption line (专栏/表N/附表, …主要指标,
…一览表, …分解表) and/or a header whose cells name columns (序号, 指标, 单位, 属性, 目标值, years, 街镇 …);
its rows and columns are rebuilt by :mod:`ingest.cellgrid` and its column names by :mod:`ingest.header`.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass, field

from ingest.cellgrid import (DROPPED, StreamCell, T_INDEX, align, cell_type, find_anchors, initial_rows, is_unit_cell,
                             width_candidates)
from ingest.structure import TOC_ENTRY
from ingest.header import STRONG, column_names, header_score, is_header_run
from ingest.values import GAP, parse_value

TABLE_TITLE = re.compile(r"^(专栏|附表|表)\s*[一二三四五六七八九十百\d]+(?:[-－.．]\d+)?\s*[：:、\s]?")
CAPTION_TAIL = re.compile(
    r"(?:[^，。；;]{2,}(?:表|一览表|清单|指标|指标体系|目标|任务|计划|分解|汇总|情况|名录|名单|目录|价格标准|基价|明细))"
    r"(?:[（(][^（）()]{1,16}[）)])?$")
UNIT_LINE = re.compile(r"(?:^|\s)(?:面积)?单位[：:]\s*\S+")
NOTE_LINE = re.compile(r"^(?:注|备注|说明|资料来源|数据来源)\s*\d*\s*[：:]")
ATTACHMENT = re.compile(r"^附[件表]\s*\d*\s*[：:]?\s*$")
STOP_HEADING = re.compile(
    r"^(?:#{1,6}\s|第[一二三四五六七八九十百\d]+(?:章|节|部分)|[一二三四五六七八九十]+、|[（(][一二三四五六七八九十]+[）)]|"
    r"附录\s*[一二三四五六七八九十\d]*\s*$|第[一二三四五六七八九十百零\d]+条\s)")
TEXT_COLUMN = re.compile(r"内容|任务|职责|措施|说明|要求|方法|定义|解释|情况|备注|名称|项目|指标|区域|范围|四至|地址|位置|地点")
MAX_CELLS = 4000


@dataclass
class CellTable:
    begin: int  # line index where the table (its caption) begins
    end: int  # line index after the table (notes included)
    out: list[str]  # caption, unit line, pipe rows
    notes: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)


def is_caption(line: str) -> bool:
    s = line.strip()
    if not s or len(s) > 70 or s[-1] in "。；;，,：:" or STOP_HEADING.match(s) or TOC_ENTRY.search(s):
        return False  # "专栏 7 保障措施 ....... 36" is the table of contents
    return bool(TABLE_TITLE.match(s) or CAPTION_TAIL.search(s))


def may_start(line: str) -> bool:
    """Cheap test: could a cell table start at this line (a caption, or a header word)?"""
    s = line.strip()
    return bool(s) and (is_caption(s) or header_score(s) == 2)


def _join(parts: list[str]) -> str:
    out = ""
    for p in parts:
        p = p.strip(" \t\u3000")
        if out and out[-1].isascii() and out[-1].isalnum() and p[:1].isascii() and p[:1].isalnum():
            out += " "
        out += p
    return out


def _stop(line: str, has_text_column: bool) -> bool:
    s = line.strip()
    if STOP_HEADING.match(s) or ATTACHMENT.match(s) or NOTE_LINE.match(s) or s.startswith("|"):
        return True
    if TABLE_TITLE.match(s) and len(s) <= 60:
        return True
    # a sentence ("当认定房屋存在安全隐患时，应…。") ends a table of values; a table with a text column may hold one
    return not has_text_column and s.endswith("。") and (len(s) > 100 or len(s) > 20 and "，" in s)


def read_cell_table(lines: list[str], start: int) -> CellTable | None:
    """The table that starts at lines[start] (its caption or first header cell), or None."""
    i = start
    caption = ""
    pre: list[str] = []
    units: list[str] = []
    first = lines[i].strip()
    if is_caption(first) and header_score(first) < 2:
        # A caption wrapped by the page ("2014" ⏎ "年嘉定区…计划表") is one line again.
        while start > 0 and lines[start - 1].strip() and len(lines[start - 1].strip()) <= 20:
            start -= 1
        caption = _join(lines[start:i + 1])
        pre.append(caption)
        i += 1
    # Lines between a caption and the header: "附件1", the real caption, a unit or date line, an
    # attachment list ("附件：1.…表" ⏎ "2.…表"). The last caption names the table.
    while True:
        while i < len(lines) and not lines[i].strip():
            i += 1
        if i >= len(lines) or len(pre) > 8:
            break
        s = lines[i].strip()
        j = i + 1
        while j < len(lines) and lines[j].strip() and len(lines[j].strip()) <= 40 and not header_score(
                lines[j].strip()) == 2 and is_caption(_join(lines[i:j + 1])):
            j += 1
        joined = _join(lines[i:j])
        if header_score(s) == 2:
            break
        glued = re.sub(r"(?<=[表单录图])附件\s*\d{1,2}$", "", joined)
        if glued != joined and is_caption(re.sub(r"^\d+[.、．]\s*", "", glued)):
            # "8.…资金测算表附件1": the last title of an attachment list with the next attachment's marker glued on
            pre.append(joined)
            i = j
            continue
        if ATTACHMENT.match(s) or re.match(r"^附[件表]\s*\d*\s*[：:]", s):
            pre.append(joined)
            if is_caption(re.sub(r"^附[件表]\s*\d*\s*[：:]\s*(?:\d+[.、．])?", "", joined)):
                caption = caption or re.sub(r"^附[件表]\s*\d*\s*[：:]\s*", "", joined)
        elif UNIT_LINE.search(s) and len(s) <= 160:
            # "制表日期：2026.1 … 单位：亩": the unit goes on its own line, under the caption
            m = UNIT_LINE.search(joined)
            before = joined[: m.start()].strip()
            if before:
                pre.append(before)
            units.append(joined[m.start():].strip())
        elif is_caption(joined):
            caption = re.sub(r"^\d+[.、．]\s*", "", joined)
            pre.append(joined)
        else:
            break
        i = j
    groups = _groups(lines, i)
    if len(groups) < 4:
        return None
    sizes = [hi - lo for lo, hi in groups[:30]]
    lines_layout = sorted(sizes)[len(sizes) // 2] >= 3
    head_text = [lines[x].strip() for lo, hi in groups[:3 if lines_layout else 8] for x in range(lo, hi)]
    if not is_header_run(head_text[:14], bool(caption)) and not (caption and lines_layout is False):
        return None
    has_text_column = any(TEXT_COLUMN.search(t) for t in head_text[:16] if header_score(t) >= 1)
    cells: list[StreamCell] = []
    end = groups[0][0]
    common = Counter(hi - lo for lo, hi in groups[1:30]).most_common(1)[0][0] if len(groups) > 2 else 0
    prev_size = 0
    for lo, hi in groups:
        if _stop(lines[lo], has_text_column) and cells:
            break
        if lines_layout:
            first_type = cell_type(lines[lo].strip())
            if 0 < prev_size < common and hi - lo <= 2 and prev_size + (hi - lo) < common and first_type in (
                    "num", "pct", "bound", "int", "empty", "text", "short") and not re.match(r"^\*?\d+$",
                                                                                     lines[lo].strip()):
                # One row broken by a blank line before its last values: that blank was an empty cell.
                cells.append(StreamCell("", lo, lo, gap=False))
            for x in range(lo, hi):
                cells.append(StreamCell(lines[x].strip(), x, x + 1, gap=(x == lo and not (
                    0 < prev_size < common and prev_size + (hi - lo) <= common and first_type != "seq"
                    and not re.match(r"^\*?\d+$", lines[lo].strip())))))
            prev_size = hi - lo
        else:
            text = _join(lines[lo:hi])
            if cells and _continues_cell(cells[-1].text, text):
                # "建设用地总规模" ⏎⏎ "（平方公里）", "36" ⏎⏎ "（2021年-2025年）": a cell the page wrapped into two
                cells[-1] = StreamCell(cells[-1].text + text, cells[-1].lo, hi, gap=cells[-1].gap)
            else:
                cells.append(StreamCell(text, lo, hi, gap=True))
        end = hi
        if len(cells) > MAX_CELLS:
            break
    header, data = _split_header(cells, lines_layout, bool(caption))
    if header is None or len(data) < 4:
        return None
    grid = _grid(header, data, lines_layout)
    if grid is None:
        return None
    names, rows, warnings = grid
    title = caption or "表格"
    warnings = [w.replace("{title}", title) for w in warnings]
    notes, end = _notes(lines, end)
    if caption and caption in pre:
        pre.remove(caption)
        pre.append(caption)  # the caption right above the table (and its unit line) names it
    out = pre + units + [""] + [render_row(names)] + [render_row(r) for r in rows] + [""]
    return CellTable(start, end, out, notes, warnings)


def _groups(lines: list[str], start: int) -> list[tuple[int, int]]:
    groups, i = [], start
    while i < len(lines) and len(groups) <= MAX_CELLS:
        if not lines[i].strip():
            i += 1
            continue
        j = i
        while j < len(lines) and lines[j].strip():
            j += 1
        if j - i > 12 and all(len(lines[x].strip()) <= 40 for x in range(i, j)):
            # one cell per line and no blank line anywhere: every line is a cell of its own
            groups += [(x, x + 1) for x in range(i, j)]
        else:
            groups.append((i, j))
        i = j
    return groups


def _notes(lines: list[str], end: int) -> tuple[list[str], int]:
    """Note lines right under a table ("注：〔 〕内为5年累计数。", "备注：1.… 2.…")."""
    notes: list[str] = []
    j = end
    while j < len(lines) and not lines[j].strip():
        j += 1
    if j < len(lines) and NOTE_LINE.match(lines[j].strip()):
        notes.append(lines[j].strip())
        k = j + 1
        while k < len(lines) and k <= j + 8:
            s = lines[k].strip()
            if s and re.match(r"^\d+[.、．]", s) and len(s) < 200:
                notes.append(s)
            elif s:
                break
            k += 1
    return notes, end


PAREN_ONLY = re.compile(r"^[（(][^（）()]{1,24}[）)]$")
UNIT_TAIL = re.compile(r"^[\u4e00-\u9fff]{1,12}[（(](?:%|[万亿千百]?(?:平方公里|平方千米|平方米|公里|千米|米|公顷|亩|吨|元|个|项|座|"
                       r"处|人|户|套|间|张|条|辆|台|家)(?:[（(][^（）()]{1,4}[）)])?(?:/[\u4e00-\u9fff]{1,3})?)[）)]$")


def _continues_cell(before: str, text: str) -> bool:
    """Is this block the rest of the cell before it? A block wholly in brackets (a unit, a period, a note) is;
    so is "规模（平方公里）" after a name that has no unit of its own ("年均土地储备计划")."""
    if not before or before.endswith(("）", ")")) or header_score(before) == 2:
        return False
    if re.search(r"(?:19|20)\d{2}$", before) and re.match(r"^[年月][\u4e00-\u9fff\d]", text) and len(text) <= 12:
        return True  # "2024-2026" ⏎⏎ "年任务量", "2014" ⏎⏎ "年12月底": a year the page broke off its word
    named = header_score(before) >= 1  # a column name: its bracket is its own cell ("现状" ⏎ "（2025年）")
    if PAREN_ONLY.match(text):
        return not named and header_score(text) != 2
    return bool(UNIT_TAIL.match(text)) and bool(re.fullmatch(r"[\u4e00-\u9fff“”]{4,30}", before)) and not named and (
        not is_unit_cell(text) and len(text.split("（")[0].split("(")[0]) >= 2)  # "块（条）" is a unit cell of its own


def _split_header(cells: list[StreamCell], lines_layout: bool,
                  captioned: bool = False) -> tuple[list[str] | None, list[StreamCell]]:
    if not cells:
        return None, []
    if lines_layout:
        first_hi = next((k for k, c in enumerate(cells) if k and c.gap), len(cells))
        head = [c.text for c in cells[:first_hi]]
        if is_header_run(head, captioned):
            return head, cells[first_hi:]
        return [], cells
    texts = [c.text for c in cells]
    f = next((k for k, t in enumerate(texts) if header_score(t) == -1 and cell_type(t) in (
        "int", "num", "pct", "bound", "empty") or cell_type(t) == "check"), None)
    if f is None:
        # A table of words (街镇 | 目标任务): the header is its leading run of column names.
        s = 0
        while s < len(texts) and header_score(texts[s]) >= 1:
            s += 1
        return (texts[:s], cells[s:]) if s >= 2 and is_header_run(texts[:s], captioned) else (None, [])
    if f == 0:
        return [], cells
    head = texts[:f]
    index_at = next((k for k, t in enumerate(head) if re.sub(r"\s", "", t) in ("序号", "编号", "序")), None)
    if index_at is not None and f - index_at >= 0 and re.match(r"^\*?1$", texts[f]):
        s = f - index_at
        if any(header_score(t) >= 1 for t in texts[s:f]):
            s = f
    else:
        s = f - 1 if f >= 1 and header_score(texts[f - 1]) <= 0 else f
        while s >= 3 and header_score(texts[s - 1]) <= 0 and (len(texts[s - 1].strip()) <= 2 or len(texts[s - 1]) > 24):
            s -= 1  # "A" ⏎ "华山路以东…" ⏎ "/": a short code and a description before the first value are data too
        later = Counter(t.strip() for t in texts[f:f + 400])
        while s >= 3 and (later[texts[s - 1].strip()] >= 2 or header_score(texts[s - 1]) <= 0 and re.fullmatch(
                r"[\u4e00-\u9fff]{1,6}(?:镇|街道|乡|新区|区|县)", texts[s - 1].strip())):
            # "南桥镇 ⏎ 等级 ⏎ 0.55 …": a word the rows below print again (等级 | 社区 under every town), and the
            # place before it, are the first row's labels even when they look like column names
            s -= 1
    if s <= 0 or not (is_header_run(texts[:s], captioned) or captioned and _word_header(texts[:s], texts[s:s + 12])):
        return ([], cells) if _headerless_ok(texts) else (None, [])
    return texts[:s], cells[s:]


def _word_header(head: list[str], after: list[str]) -> bool:
    """Under a caption, a run of short column words ("末端处置 | 水运运输 | … | 总计") over rows that are mostly
    numbers is a header even when none of its words is a usual column name."""
    if not 3 <= len(head) <= 12 or not all(re.fullmatch(r"[\u4e00-\u9fff“”（）()/、]{2,14}", h.strip()) for h in head):
        return False
    numbers = sum(cell_type(t) in ("int", "num", "pct", "bound", "empty") or t.strip() in ("/", "—", "-") for t in after)
    return numbers >= 0.5 * len(after)


def _headerless_ok(texts: list[str]) -> bool:
    # A table printed without its header (or whose header the page lost) still has its 序号 run.
    return len(find_anchors([StreamCell(t, 0, 0) for t in texts])) >= 5


def _grid(header: list[str], data: list[StreamCell], lines_layout: bool):
    anchors = find_anchors(data)
    if anchors and min(anchors) > 3:
        anchors = {}
    index_col = None
    if anchors:
        named = next((k for k, h in enumerate(header) if re.sub(r"\s", "", h) in ("序号", "编号", "序")), None)
        index_col = named if named is not None and named <= 3 else min(anchors)
    flat = len(header)
    candidates = width_candidates(data, anchors, index_col, lines_layout, flat)
    if not anchors and not lines_layout:
        rows0 = initial_rows(data, {}, max(candidates), None, False)
        lengths = Counter(len(r) for r in rows0)
        widest = max(lengths)
        candidates += [lengths.most_common(1)[0][0], widest]
        if flat > widest:  # a column the data never fills still has its header cell
            candidates += list(range(widest + 1, min(flat, widest + 3) + 1))
    best = None
    for n in dict.fromkeys(c for c in candidates if 2 <= c <= 40):
        if index_col is not None and index_col >= n:
            continue
        found = _fit_width(header, data, n, anchors, index_col, lines_layout)
        # Each column costs a little: a wider model must explain the cells better to win.
        total = found[0] - 2.0 * n - (6.0 if flat and n > flat else 0.0) + (3.0 if n == flat and not lines_layout else 0.0)
        if best is None or total > best[0]:
            best = (total, n) + found[1:]
    if best is None:
        return None
    _, n, rows, names = best
    grid, warnings = _rows(data, rows, n, names, index_col)
    if len(grid) < 2:
        return None
    return names, grid, warnings


def _fit_width(header, data, n, anchors, index_col, lines_layout):
    """Align the cells to n columns, name the columns; re-align once the names say which columns are
    merged down (groups) and which are always printed (labels, values)."""
    lead_group = bool(header) and bool(GROUP_NAME.search(re.sub(r"\s", "", header[0])))
    rows, score = align(data, n, anchors, index_col, lines_layout, lead_group=lead_group)
    profile = _profiles(data, rows, n, anchors)
    names, fit = column_names(header, n, _Fits(profile, _sums(data, rows, n, anchors)), lines_layout)
    seen = Counter(col for row in rows for col, _ in row if col >= 0)
    observed = [seen[c] / max(1, len(rows)) for c in range(n)]
    expect = [_expectation(name, c, index_col) for c, name in enumerate(names)]
    if any(e is not None for e in expect):
        # Re-align knowing what each column's name says it holds, and which columns are merged down.
        presence = [e[0] if e else max(observed[c], 0.05) for c, e in enumerate(expect)]
        types = [_type_counts(e[1] if e else ()) for e in expect]
        rows2, score2 = align(data, n, anchors, index_col, lines_layout, presence, lead_group, types)
        if rows2 != rows:
            rows, score = rows2, score2
            profile = _profiles(data, rows, n, anchors)
            names, fit = column_names(header, n, _Fits(profile, _sums(data, rows, n, anchors)), lines_layout)
    return score + 2.0 * fit, rows, names


GROUP_NAME = re.compile(r"类别|类目|板块|领域|维度|任务类型|指标类别|一级指标|分类|主要领域|^所属(?:区|区县|街镇)?$")


WORDS = ("short", "text", "long", "mixed")
VALUES = ("int", "num", "pct", "bound", "empty", "short", "mixed", "text")  # targets may be words


def _expectation(name: str, col: int, index_col) -> tuple[float, tuple[str, ...]] | None:
    """(how often the column is printed, the cell types its name promises), or None when the name says
    nothing."""
    s = re.sub(r"\s", "", name).split("·")[-1]
    if s in ("序号", "编号", "序"):
        return 0.9, ("seq",)
    if _is_group_name(name, col, index_col):
        return 0.3, WORDS
    if "单位" in s and len(s) <= 4:
        return 0.85, ("unit", "empty")
    if s in ("属性", "指标属性", "类型", "指标类型"):
        return 0.85, ("attr", "empty")
    if re.search(r"(?:19|20)\d{2}|目标|现状|基期|完成值|值$|率$|面积$|数$|数量$|累计|合计|任务量|月底|月前", s):
        return 0.85, VALUES
    if re.search(r"指标|名称|项目|任务|内容|街镇|乡镇|地区|区县", s):
        return 0.9, WORDS
    if re.search(r"备注|说明|情况|部门|单位$|时间|节点", s):
        return 0.7, WORDS + ("date",)
    return None


def _type_counts(kinds: tuple[str, ...], strength: float = 3.0) -> list[float]:
    counts = [0.0] * len(T_INDEX)
    for k in kinds:
        counts[T_INDEX[k]] += strength / len(kinds)
    return counts


def _is_group_name(name: str, col: int, index_col) -> bool:
    return bool(GROUP_NAME.search(re.sub(r"\s", "", name))) or (index_col is not None and col < index_col)


def _profiles(data, rows, n, anchors) -> list[Counter]:
    prof = [Counter() for _ in range(n)]
    for row in rows:
        for col, i in row:
            if col >= 0:
                prof[col][cell_type(data[i].text, i in anchors)] += 1
    return prof


def _sums(data, rows, n, anchors) -> list[float]:
    sums = [0.0] * n
    for row in rows:
        for col, i in row:
            if col >= 0 and i not in anchors:
                v = parse_value(data[i].text.strip())
                if v.is_number and v.value is not None:
                    sums[col] += v.value
    return sums


STATED_TOTAL = re.compile(r"约?(\d+(?:\.\d+)?)\s*(万|亿)?(?:亩|公顷|平方米|平方公里|个|项|处|件|万元|元)")


class _Fits:
    """How well a header name suits a column's values, and whether a total printed in a name ("总面积1.06万亩",
    "2024年约1900亩") is the sum of the column's values (or of them with their 合计 row)."""

    def __init__(self, profile, sums):
        self.profile, self.sums = profile, sums

    def __call__(self, c: int, name: str) -> float:
        return _fit(self.profile[c], name)

    def total(self, c: int, name: str) -> float:
        m = STATED_TOTAL.search(re.sub(r"(?:19|20)\d{2}(?:[-—–](?:19|20)?\d{2})?年", "", name))
        if not m or not self.sums[c]:
            return 0.0
        stated = float(m.group(1)) * {"万": 1e4, "亿": 1e8}.get(m.group(2) or "", 1)
        return 2.0 if any(abs(s - stated) <= 0.03 * stated for s in (self.sums[c], self.sums[c] / 2)) else 0.0


def _fit(profile: Counter, name: str) -> float:
    """How well a header name suits the values under it."""
    total = sum(profile.values()) or 1
    share = {t: profile[t] / total for t in profile}
    s = re.sub(r"\s", "", name)
    if s in ("序号", "编号", "序"):
        return 2.0 * share.get("seq", 0) + share.get("int", 0) - 1.0
    if "单位" in s and len(s) <= 4:
        return 2.0 * share.get("unit", 0) - 1.0
    if s in ("属性", "指标属性", "类型", "指标类型"):
        return 2.0 * share.get("attr", 0) + 0.5 * share.get("short", 0) - 1.0
    numeric = sum(share.get(t, 0) for t in ("int", "num", "pct", "bound", "empty"))
    if re.search(r"(?:19|20)\d{2}|目标|现状|基期|完成值|值$|率$|量$|面积|数$|数量|累计|合计", s):
        return 1.5 * numeric - 0.5
    if re.search(r"时间|节点|期限", s):
        return 1.5 * share.get("date", 0) - 0.3
    if re.search(r"备注|说明|情况|内容|单位$|部门", s):
        return 1.0 * sum(share.get(t, 0) for t in ("short", "text", "long", "mixed")) - 0.5
    if re.search(r"指标|名称|项目|任务|内容|街镇|乡镇|地区|区县|类别|领域|板块", s):
        return 1.0 * sum(share.get(t, 0) for t in ("short", "text", "long", "mixed")) - 0.5
    return 0.0


def _rows(data, rows, n, names, index_col) -> tuple[list[list[str]], list[str]]:
    grid: list[list[str]] = []
    warnings: list[str] = []
    label_cols = _label_columns(names, index_col)
    # Where a group heading goes in the pipe rows: the first column that is not the 序号.
    head_col = next((c for c, name in enumerate(names) if re.sub(r"\s", "", name) not in ("序号", "编号", "序")), 0)
    for row in rows:
        for col, i in row:
            if col == DROPPED:
                warnings.append(f"表格“{{title}}”第{len(grid) + 1}行多出一个单元格“{data[i].text[:20]}”，未计入")
        group = "".join(data[i].text for col, i in row if col == -1)
        row = [(col, i) for col, i in row if col >= 0]
        if group:
            heading = [""] * n
            heading[head_col] = group
            grid.append(heading)  # a group row ("行动一：…"): its words head the rows below
        if not row:
            continue
        cells = [""] * n
        for col, i in row:
            cells[col] = (cells[col] + data[i].text) if cells[col] else data[i].text
        present = [col for col, _ in row]
        missing = [c for c in range(n) if c not in present and c not in label_cols]
        if missing and len(present) >= 2:
            warnings.append(f"表格“{{title}}”第{len(grid) + 1}行少{len(missing)}个单元格"
                            f"（{'、'.join(names[c] for c in missing[:3])}），已按列对齐")
            for c in missing:
                if any(p > c for p in present):
                    cells[c] = GAP  # the cells right of it were placed by alignment, not by the page
        grid.append(cells)
    return grid, warnings


def _label_columns(names: list[str], index_col) -> set[int]:
    """Columns whose cells may be merged down (group and label columns left of the values)."""
    out = set(range(index_col or 0))
    for c, name in enumerate(names):
        s = re.sub(r"\s", "", name)
        if re.search(r"类别|类型|类目|板块|领域|维度|一级指标|任务类型|街镇|乡镇|地区|区县", s) and c <= 3:
            out.add(c)
    return out


def render_row(cells: list[str]) -> str:
    return "| " + " | ".join(c.replace("|", "｜").replace("\n", "") for c in cells) + " |"


__all__ = ["CellTable", "read_cell_table", "may_start", "is_caption", "render_row", "STRONG", "T_INDEX"]
