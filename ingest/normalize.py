"""Text normalization that keeps meaning; every quote the assistant shows is a substring of its output.

- full-width digits, Latin letters and % become ASCII (Chinese punctuation stays as written);
- indentation and trailing spaces go; blank-line runs collapse;
- tables laid out one cell per line (or tab-separated) become pipe rows, wrapped cells joined;
- a number broken from its unit across lines ("铜冶炼3.5" ⏎ ⏎ "万吨") is joined;
- markdown: bold markers, blockquote markers and <br> go; pipe rows without outer pipes get them.
"""

from __future__ import annotations

import re
import unicodedata

TABLE_TITLE = re.compile(r"^(专栏|附表|表)\s*[一二三四五六七八九十百\d]+(?:[-－.．]\d+)?\s*[：:、\s]?")
SENTENCE_END = "。；！？;!?"
# unit characters that also begin a word ("1" ⏎ "天津市…" is an attachment number and a name, not "1天")
NAME_SAFE_UNITS = r"座(?!谈)|家(?!庭|居|具)|户(?!籍|外)|项(?!目)|天(?!津|然|气|下)"
UNIT_START = re.compile(r"^(万|亿|千|百|吨|%|个|台|套|处|辆|平方|立方|公里|千米|米|标|重量箱|人(?!民|员|口)|元|千瓦|兆瓦|度|蒸吨|"
                        r"年|倍|多|以上|以内|左右|" + NAME_SAFE_UNITS + ")")
MAX_CELL_CHARS = 40
FIELD_GAP = re.compile(r"\t+| {2,}|\u3000+")  # between table fields in plain text
NUMERIC_FIELD = re.compile(r"^[〔\[(（]?[+-]?\d+(?:\.\d+)?%?[〕\])）]?$")
MD_COMMENT = re.compile(r"<!--.*?-->", re.DOTALL)
MD_IMAGE = re.compile(r"!\[[^\]]*\]\([^)]*\)")
MD_LINK = re.compile(r"\[([^\]]+)\]\([^)]*\)")
MD_RULE = re.compile(r"^(?:={3,}|-{3,}|\*{3,}|_{3,}|(?:- ){2,}-|(?:\* ){2,}\*)$")
MD_EMPHASIS = re.compile(r"(\*\*|__)(?=\S)(.+?)(?<=\S)\1")
MD_BREAK = re.compile(r"<br\s*/?>", re.IGNORECASE)
MD_SEPARATOR = re.compile(r"^\|?\s*:?-{3,}:?\s*(?:\|\s*:?-{3,}:?\s*)+\|?$")


def to_halfwidth(text: str) -> str:
    """Full-width digits/letters/%/.+- → ASCII; everything else as written."""
    out = []
    for ch in text:
        code = ord(ch)
        if 0xFF10 <= code <= 0xFF19 or 0xFF21 <= code <= 0xFF3A or 0xFF41 <= code <= 0xFF5A:
            out.append(chr(code - 0xFEE0))
        elif ch in "％":
            out.append("%")
        elif ch in "\u00a0\u2002\u2003\u2009":
            out.append(" ")
        else:
            out.append(ch)
    text = "".join(out)
    # "１．５" → "1.5", "－３％" → "-3%": only between or before digits, where the meaning is a number.
    text = re.sub(r"(?<=\d)[．·](?=\d)", ".", text)
    text = re.sub(r"[－−–](?=\d)", "-", text)
    text = re.sub(r"[＋](?=\d)", "+", text)
    return text


def normalize_question(text: str) -> str:
    """Questions get the stronger NFKC form (full-width, compatibility characters) plus our text rules."""
    return to_halfwidth(unicodedata.normalize("NFKC", text or "")).strip()


def normalize_text(raw: str, fmt: str = "txt") -> str:
    return normalize_document(raw, fmt)[0]


def normalize_document(raw: str, fmt: str = "txt") -> tuple[str, list[str]]:
    """The normalized text and what a person should know about how its tables were read."""
    text = raw.replace("\r\n", "\n").replace("\r", "\n").replace("\ufeff", "")
    text = "".join(ch for ch in text if ch in "\n\t" or unicodedata.category(ch)[0] != "C" or ch == "\f")
    text = to_halfwidth(text)
    lines = text.split("\n")
    if fmt == "md":
        lines = clean_markdown(lines)
    warnings: list[str] = []
    lines = join_inline_fragments(lines)
    lines = open_pipe_rows(lines)
    lines = rebuild_cell_tables(lines, warnings)
    lines = [strip_line(line) for line in lines]
    if fmt == "pdf":
        lines = join_wrapped_lines(lines)
    lines = join_broken_numbers(lines)
    return collapse_blank_lines(lines), warnings


def strip_line(line: str) -> str:
    line = line.strip(" \t\u3000\f")
    # Inner full-width spaces ("第一章　总体要求") and space runs read as one space.
    return re.sub(r"[ \t\u3000]{2,}|\u3000", " ", line) if not line.startswith("|") else line


def collapse_blank_lines(lines: list[str]) -> str:
    out: list[str] = []
    for line in lines:
        if not line and (not out or not out[-1]):
            continue
        out.append(line)
    while out and not out[-1]:
        out.pop()
    return "\n".join(out) + "\n"


def join_broken_numbers(lines: list[str]) -> list[str]:
    out: list[str] = []
    i = 0
    while i < len(lines):
        line = lines[i]
        if line and re.search(r"\d$", line) and not line.startswith("|"):
            j = i + 1
            while j < len(lines) and not lines[j]:
                j += 1
            if j < len(lines) and UNIT_START.match(lines[j]) and not lines[j].startswith("|"):
                out.append(line + lines[j])
                i = j + 1
                continue
        out.append(line)
        i += 1
    return out


def clean_markdown(lines: list[str]) -> list[str]:
    """Markup that carries no meaning here: "**专栏1 …**" must read as a title, "单位GDP<br>能耗" as one cell."""
    out: list[str] = []
    text = MD_COMMENT.sub("", "\n".join(lines))
    split = text.split("\n")
    if split and split[0].strip() == "---":
        # Front matter: its "标题: …" lines stay as text, its fences go (a fence is no setext underline).
        close = next((i for i, line in enumerate(split[1:60], 1) if line.strip() == "---"), None)
        if close is not None:
            split = split[1:close] + [""] + split[close + 1:]
    for line in split:
        quote = re.match(r"^\s*(?:>\s?)+", line)
        # 专栏 boxes are often blockquotes; ">2" in a scraped table cell is a bound, not a quote mark.
        if quote and not (quote.group(0).rstrip() == quote.group(0) and re.match(r"[\d.]", line[quote.end():])):
            line = line[quote.end():]
        line = MD_EMPHASIS.sub(r"\2", line)
        line = MD_IMAGE.sub("", line)
        line = MD_LINK.sub(r"\1", line)
        stripped = line.strip()
        if MD_RULE.match(stripped):
            prev = out[-1].strip() if out else ""
            if stripped[0] in "=-" and prev and not prev.startswith(("|", "#")):
                out[-1] = ("# " if stripped[0] == "=" else "## ") + prev  # a setext heading's underline
            continue  # a thematic break carries no text
        if line.lstrip().startswith("|"):
            out.append(MD_BREAK.sub("", line).replace("\\|", "｜"))
        else:
            out.extend(MD_BREAK.split(line))
    # GFM allows pipe rows without the outer pipes ("指标 | 2015年" ⏎ "---|---").
    for i, line in enumerate(out):
        if "|" in line and MD_SEPARATOR.match(line.strip()) and not line.strip().startswith("|"):
            j = i - 1 if i and "|" in out[i - 1] else i
            while j < len(out) and "|" in out[j] and out[j].strip():
                if not out[j].strip().startswith("|"):
                    out[j] = "| " + out[j].strip() + " |"
                j += 1
    return out


def _bare_cells(line: str) -> list[str] | None:
    """"全市 | 3.4 |": the cells of a pipe row printed without its leading pipe (None when it is not one)."""
    s = line.strip()
    if s.startswith("|") or "|" not in s or len(s) > 400:
        return None
    cells = [c.strip() for c in s.strip("|").split("|")]
    if len(cells) < 2 and not s.endswith("|"):
        return None
    if any(len(c) > 60 or re.search(r"[。；]", c) for c in cells):
        return None  # prose with a stray bar in it
    return cells


ROW_END = re.compile(r"\|\s*\|\s*$")


def _join_cell_lines(lines: list[str]) -> list[str]:
    """One cell per line, each closed by a bar, the row closed by two ("全区 |" ⏎ "5.56 |" ⏎ "0.80 | ||"): the lines
    of a row become one row."""
    out: list[str] = []
    i = 0
    while i < len(lines):
        j = i
        while j < len(lines) and lines[j].strip().endswith("|") and not lines[j].strip().startswith("|") and len(
                lines[j].strip()) <= 80:
            j += 1
        run = lines[i:j]
        ends = [x for x, line in enumerate(run) if ROW_END.search(line)]
        if len(run) >= 6 and len(ends) >= 2 and len(run) >= 2 * len(ends):
            row: list[str] = []
            for x, line in enumerate(run):
                row += [c.strip() for c in line.strip().split("|") if c.strip()]
                if x in ends or x == len(run) - 1:
                    out.append(" | ".join(row) + " |")
                    row = []
            i = j
            continue
        out.append(lines[i])
        i += 1
    return out


def open_pipe_rows(lines: list[str]) -> list[str]:
    """Scraped tables often lose the outer pipes ("地区 | 降幅目标(%) |" ⏎ "全市 | 3.4 |"): three or more such rows
    in a run become pipe rows. Leading rows with one word only ("附件 | ||", "单位:万亩 | ||") are the caption
    and unit lines above the table, kept as text."""
    out: list[str] = []
    for line in _join_cell_lines(list(lines)):
        if line.strip() == "|" and out and _bare_cells(out[-1]) is not None:
            out[-1] = out[-1].rstrip() + " |"  # "…| 0% |" ⏎ "|": the row's last, empty cell wrapped onto a line
        else:
            out.append(line)
    i = 0
    while i < len(out):
        run: list[list[str]] = []  # the cells of each bare row from line i on, split once
        while i + len(run) < len(out) and (cells := _bare_cells(out[i + len(run)])) is not None:
            run.append(cells)
        if len(run) >= 3:
            k = 0
            while k < len(run) and sum(1 for c in run[k] if c) <= 1:
                out[i + k] = next((c for c in run[k] if c), "")
                k += 1
            if len(run) - k >= 2:
                for x in range(k, len(run)):
                    out[i + x] = "| " + " | ".join(run[x]) + " |"
        i += max(len(run), 1)
    return out


STRONG_HEADER = re.compile(r"^(?:序号|编号|单位|名称|单位名称|用户名称|项目|项目名称|指标|地区|区县|备注|合计|小计|总计|时间|日期)$")
NUMBER_LINE = re.compile(r"^\s*[\d.,]+\s*$")
GOES_ON = re.compile(r"^\s*(?:[年月日号个元万亿%％、，。；：）)/／~～—\-]|千瓦|平方|公里|千米|米|亩|吨|倍|小时|"
                     + NAME_SAFE_UNITS + ")")
OPEN_END = re.compile(r"[（(“《、，：/／\-—~～]\s*$")


def join_inline_fragments(lines: list[str]) -> list[str]:
    """A page scraped with every inline element on its own line ("按现行燃煤发电基准价" ⏎ "0.4012" ⏎ "元" ⏎ "/" ⏎
    "千瓦时…", "2025" ⏎ "年" ⏎ "9" ⏎ "月"): the sentences made whole again. Only a text with no blank lines and
    many numbers broken off their 年/月/unit is read so; a table printed one cell per line keeps its lines."""
    from ingest.structure import heading_kind

    blank = sum(1 for line in lines if not line.strip())
    broken = sum(1 for a, b in zip(lines, lines[1:]) if NUMBER_LINE.match(a) and GOES_ON.match(b))
    if broken < 10 or blank > 0.05 * len(lines):
        return lines
    out: list[str] = []
    for i, line in enumerate(lines):
        prev = out[-1].rstrip() if out else ""
        nxt = lines[i + 1] if i + 1 < len(lines) else ""
        joins = prev and line.strip() and prev[-1] not in SENTENCE_END and (
            GOES_ON.match(line) or OPEN_END.search(prev)
            or (NUMBER_LINE.match(line) and re.search(r"[\u4e00-\u9fff]$", prev) and GOES_ON.match(nxt))
            or (NUMBER_LINE.match(line) and re.search(r"(?:如|见|详见|附|按)(?:表|图|附件|附录)$", prev))  # "如表" ⏎ "1"
            or (re.fullmatch(r"[\u4e00-\u9fff]{1,4}[。；）)]+", line.strip()) and re.search(r"[\u4e00-\u9fff\d]$", prev)
                and not heading_kind(prev))  # "所示。" closes the sentence
            # "…低于日申报响应量的" ⏎ "80%，按照…": a number and its unit starting the rest of the sentence
            or (re.match(r"^[\d.]+", line.strip()) and GOES_ON.match(re.sub(r"^\s*[\d.]+", "", line))
                and re.search(r"[\u4e00-\u9fff、，]$", prev) and not heading_kind(prev))
            # "…户，" ⏎ "响应" ⏎ "电" ⏎ "量" ⏎ "1346.7": an inline span of a few characters (not a column name)
            or (re.fullmatch(r"[\u4e00-\u9fff]{1,4}", line.strip()) and re.search(r"[\u4e00-\u9fff，、]$", prev)
                and not STRONG_HEADER.match(line.strip()) and not heading_kind(prev) and _flows_on(lines, i + 1)))
        if joins:
            out[-1] = prev + line.strip()
        else:
            out.append(line)
    return out


def _flows_on(lines: list[str], i: int) -> bool:
    """Do the next few short fragments lead to a number or a comma (a sentence going on), not to more words?"""
    for line in lines[i:i + 3]:
        s = line.strip()
        if NUMBER_LINE.match(s) or re.match(r"^[，、。；：]", s) or GOES_ON.match(s):
            return True
        if not re.fullmatch(r"[\u4e00-\u9fff]{1,4}", s):
            return False
    return False


def join_wrapped_lines(lines: list[str]) -> list[str]:
    """PDF text layers break paragraphs at the page width; rejoin lines that do not end a sentence."""
    from ingest.structure import heading_kind

    out: list[str] = []
    for line in lines:
        if (
            out
            and out[-1]
            and line
            and out[-1][-1] not in SENTENCE_END + "：:"
            and not heading_kind(line)
            and not heading_kind(out[-1])
            and not line.startswith("|")
            and not TABLE_TITLE.match(line)
            and len(out[-1]) > 15
        ):
            out[-1] += line
        else:
            out.append(line)
    return out


# ---------- one-cell-per-line and tab-separated tables ----------

def _indent(line: str) -> str:
    return line[: len(line) - len(line.lstrip(" \t\u3000"))]


def _groups(lines: list[str], start: int) -> list[tuple[int, int]]:
    """(start, end) index ranges of non-blank line groups from `start`."""
    groups, i = [], start
    while i < len(lines):
        if not lines[i].strip():
            i += 1
            continue
        j = i
        while j < len(lines) and lines[j].strip():
            j += 1
        groups.append((i, j))
        i = j
        if len(groups) > 400:
            break
    return groups


def _cells(lines: list[str], lo: int, hi: int, cell_indent: str) -> list[str]:
    cells: list[str] = []
    for line in lines[lo:hi]:
        if cells and cell_indent and not line.startswith(cell_indent):
            cells[-1] += line.strip(" \t\u3000")  # a wrapped cell: "单位GDP" ⏎ "能耗降低"
        else:
            cells.append(line.strip(" \t\u3000"))
    return cells


def _is_cell(text: str) -> bool:
    # A pipe row is already a table row, never one cell of a one-cell-per-line table.
    return 0 < len(text) <= MAX_CELL_CHARS and text[-1] not in "。；;" and not text.startswith("|")


def rebuild_cell_tables(lines: list[str], warnings: list[str] | None = None) -> list[str]:
    from ingest.celltable import may_start, read_cell_table

    out: list[str] = []
    i = 0
    while i < len(lines):
        stripped = lines[i].strip(" \t\u3000")
        if TABLE_TITLE.match(stripped) and len(stripped) <= 60:
            consumed = _try_cell_table(lines, i, out)
            if consumed:
                i = consumed
                continue
        if not stripped.startswith("|") and may_start(stripped):
            table = read_cell_table(lines, i)
            if table is not None and out[len(out) - (i - table.begin):] == lines[table.begin:i]:
                del out[len(out) - (i - table.begin):]
                out += [""] + table.out
                if warnings is not None:
                    warnings.extend(table.warnings)
                i = table.end
                continue
        tab_end = _try_tab_table(lines, i, out)
        if tab_end:
            i = tab_end
            continue
        out.append(lines[i])
        i += 1
    return out


def _try_cell_table(lines: list[str], title_idx: int, out: list[str]) -> int:
    title = lines[title_idx].strip(" \t\u3000")
    groups = _groups(lines, title_idx + 1)
    if not groups:
        return 0
    gi = 0
    lo, hi = groups[0]
    # The same title repeated inside the box (the bundled plan does this).
    if hi - lo == 1 and lines[lo].strip(" \t\u3000") == title:
        gi = 1
    if gi >= len(groups):
        return 0
    unit_line = ""
    lo, hi = groups[gi]
    if hi - lo == 1 and re.match(r"^[（(]?单位[：:]", lines[lo].strip(" \t\u3000")):
        unit_line = lines[lo].strip(" \t\u3000")
        gi += 1
        if gi >= len(groups):
            return 0
    lo, hi = groups[gi]
    if len(_split_tabs(lines[lo])) > 1:
        return 0  # fields side by side on a line: a tab- or space-aligned table, read row by row
    cell_indent = _indent(lines[lo])
    header = _cells(lines, lo, hi, cell_indent)
    if len(header) < 2 or not all(_is_cell(c) for c in header):
        return 0
    rows, end = [], hi
    for lo, hi in groups[gi + 1:]:
        cells = _cells(lines, lo, hi, cell_indent)
        if not (2 <= len(cells) <= len(header)) or not all(_is_cell(c) for c in cells):
            break
        if _indent(lines[lo]) != cell_indent:
            break
        rows.append(cells)
        end = hi
    if not rows:
        return 0
    from ingest.loaders import render_table

    out += [title, ""]
    if unit_line:
        out += [unit_line, ""]
    out += render_table([header] + [r + [""] * (len(header) - len(r)) for r in rows]).split("\n")
    out.append("")
    return end


def _split_tabs(line: str) -> list[str]:
    return [c.strip(" \u3000") for c in FIELD_GAP.split(line.strip(" \t\u3000"))]


def _try_tab_table(lines: list[str], i: int, out: list[str]) -> int:
    """Consecutive lines with the same number (≥2) of short fields separated by tabs or aligned with
    spaces form a table; space-aligned ones must hold numbers, so headings in a row are not taken for one."""
    first = lines[i].strip(" \t\u3000")
    if not FIELD_GAP.search(first):
        return 0
    cells = _split_tabs(lines[i])
    if len(cells) < 2 or not all(_is_cell(c) for c in cells):
        return 0
    rows = [cells]
    j = i + 1
    while j < len(lines) and lines[j].strip():
        nxt = _split_tabs(lines[j])
        if len(nxt) != len(cells) or not all(_is_cell(c) for c in nxt):
            break
        rows.append(nxt)
        j += 1
    if len(rows) < 2:
        return 0
    if "\t" not in first and not any(NUMERIC_FIELD.match(c) for row in rows[1:] for c in row[1:]):
        return 0
    from ingest.loaders import render_table

    out += [""] + render_table(rows).split("\n") + [""]
    return j
