"""The heading tree of a plan document: 第X章 › 一、 › （一） › 1、 › （1） › ①, markdown '#', and 专栏 boxes.

Numbered headings must continue their sibling sequence (一 → 二 → 三); numbering that restarts
inside a 专栏 box belongs to the box, not to the document's outline.
"""

from __future__ import annotations

import bisect
import re
from dataclasses import dataclass, field

from ingest.normalize import TABLE_TITLE

CN_DIGITS = {"零": 0, "〇": 0, "一": 1, "二": 2, "两": 2, "三": 3, "四": 4, "五": 5, "六": 6, "七": 7, "八": 8, "九": 9}
CN = "一二三四五六七八九十百零〇两"
CIRCLED = "①②③④⑤⑥⑦⑧⑨⑩⑪⑫⑬⑭⑮⑯⑰⑱⑲⑳"

# (kind, order, pattern); the pattern's group 1 is the number.
HEADING_PATTERNS = [
    ("part", 6, re.compile(rf"^第([{CN}\d]+)(?:编|部分)\s*")),
    ("chapter", 7, re.compile(rf"^第([{CN}\d]+)章\s*")),
    ("section", 8, re.compile(rf"^第([{CN}\d]+)节\s*")),
    ("cn", 9, re.compile(rf"^([{CN}]+)[、．.]\s*")),
    ("cn_paren", 10, re.compile(rf"^[（(]([{CN}]+)[）)]\s*")),
    ("arabic", 11, re.compile(r"^(\d{1,2})(?:[、．]|\.(?!\d))\s*")),
    ("arabic_paren", 12, re.compile(r"^[（(](\d{1,2})[）)]\s*")),
    ("circled", 13, re.compile(rf"^([{CIRCLED}])\s*")),
]
MD_HEADING = re.compile(r"^(#{1,6})\s+(.+?)\s*#*$")
MAX_HEADING_CHARS = 50
BOX_ORDER = 5.5  # a 专栏 box sits below markdown headings and is closed by any real heading


def cn_to_int(text: str) -> int:
    if len(text) == 1 and text in CIRCLED:  # before isdigit(): '①'.isdigit() is True but int('①') fails
        return CIRCLED.index(text) + 1
    if text.isascii() and text.isdigit():
        return int(text)
    total, current = 0, 0
    for ch in text:
        if ch in CN_DIGITS:
            current = CN_DIGITS[ch]
        elif ch == "十":
            total += (current or 1) * 10
            current = 0
        elif ch == "百":
            total += (current or 1) * 100
            current = 0
    return total + current


TOC_ENTRY = re.compile(r"(?:\.{4,}|…{2,}|·{4,}|－{4,}|-{6,})\s*\d{1,4}\s*$")


ATTACHMENT_LIST = re.compile(r"^附\s*件\s*[：:]\s*(?:\d{1,2}|[一二三四五六七八九十])\s*[.、．]")
ATTACHMENT_ITEM = re.compile(r"^(?:\d{1,2}|[一二三四五六七八九十])\s*[.、．]\s*[^\d\s].{1,60}(?:表|单|录|图|则|书|案|南|告|划|函)"
                             r"(?:附件\s*\d{1,2})?$")


def heading_kind(line: str) -> tuple[str, int, int, str] | None:
    """(kind, order, number, title) when the line can start a section, else None."""
    md = MD_HEADING.match(line)
    if md:
        return ("md", len(md.group(1)) - 1, 0, md.group(2).strip())
    if TOC_ENTRY.search(line):
        return None  # "二、总体要求 ........ 2": a line of the table of contents, not the section itself
    for kind, order, pattern in HEADING_PATTERNS:
        m = pattern.match(line)
        if not m:
            continue
        rest = line[m.end():]
        if not rest or rest[0] in "%万亿年月日个":
            return None
        if len(line) <= MAX_HEADING_CHARS and line[-1] not in "。；;，,":
            return (kind, order, cn_to_int(m.group(1)), line)
        stop = line.find("。")
        if 0 < stop <= MAX_HEADING_CHARS:
            return (kind, order, cn_to_int(m.group(1)), line[:stop])
        return None
    return None


@dataclass
class Node:
    kind: str
    order: float
    number: int
    title: str
    start: int
    children_last: dict[str, int] = field(default_factory=dict)  # kind → last number seen under this node


@dataclass
class Block:
    kind: str  # heading | para | table | box_title | item
    start: int
    end: int
    text: str
    path: tuple[str, ...]
    box: str = ""


@dataclass
class Outline:
    text: str
    blocks: list[Block]
    sections: list[tuple[tuple[str, ...], int, int]]  # (path, start, end)
    _starts: list[int] = field(default_factory=list)
    _paths: list[tuple[str, ...]] = field(default_factory=list)

    def path_at(self, offset: int) -> tuple[str, ...]:
        if not self._starts:
            self._starts = [b.start for b in self.blocks]
            self._paths = [b.path for b in self.blocks]
        i = bisect.bisect_right(self._starts, offset) - 1
        return self._paths[i] if i >= 0 else ()


class _Context:
    """A heading stack with sibling bookkeeping: the document's, or a box's own."""

    def __init__(self, base: list[Node] | None = None):
        self.base: list[Node] = list(base or [])  # enclosing sections of a box: never popped
        self.stack: list[Node] = []
        self.root_last: dict[str, int] = {}

    def _siblings(self, order: float) -> tuple[list[Node], dict[str, int]]:
        kept = [n for n in self.stack if n.order < order]
        if kept:
            return kept, kept[-1].children_last
        return kept, (self.base[-1].children_last if self.base else self.root_last)

    def accepts(self, kind: str, order: float, number: int) -> bool:
        if kind == "md":
            return True
        _, last = self._siblings(order)
        prev = last.get(kind)
        return number == 1 if prev is None else number == prev + 1

    def push(self, node: Node) -> None:
        kept, last = self._siblings(node.order)
        if node.kind not in ("md", "box"):
            last[node.kind] = node.number
        self.stack = kept + [node]

    def path(self) -> tuple[str, ...]:
        return tuple(n.title for n in self.base + self.stack)


def numbered_kind(title: str) -> tuple[str, int, int] | None:
    """(kind, order, number) when a heading's own text starts with plan numbering (一、 （一） 1、 第一章 …)."""
    found = heading_kind(title)
    if found and found[0] != "md":
        return found[0], found[1], found[2]
    return None


def box_title_of(line: str) -> str:
    """The 专栏 title a line holds ("专栏一：…", also as a markdown heading), else ""."""
    md = MD_HEADING.match(line)
    title = md.group(2).strip() if md else line
    if TABLE_TITLE.match(title) and len(title) <= 60 and title.startswith("专栏") and not TOC_ENTRY.search(title):
        return title
    return ""


def _md_plan(lines: list[str]) -> tuple[dict[int, float], int]:
    """Markdown heading levels → outline orders, and the index of a lone '#' document title (-1 if none).

    A '#' heading that carries plan numbering ("## 一、总体要求") sits where its numbering says, so a
    sibling written as plain text ("二、主要任务") continues its sequence; an unnumbered heading sits at
    the order of the numbered headings of its level ("## 前言" beside "## 第一章").
    """
    numbered: dict[int, float] = {}
    h1 = []
    for i, line in enumerate(lines):
        md = MD_HEADING.match(line)
        if not md:
            continue
        level = len(md.group(1))
        found = numbered_kind(md.group(2).strip())
        if found:
            numbered[level] = min(numbered.get(level, found[1]), found[1])
        if level == 1:
            h1.append(i)
    orders: dict[int, float] = {}
    for level in range(1, 7):
        above = [lv for lv in numbered if lv <= level]
        orders[level] = numbered[max(above)] + 0.1 * (level - max(above)) if above else level - 1
    first = next((i for i, line in enumerate(lines) if line), -1)
    is_title = h1 == [first] and not numbered_kind(MD_HEADING.match(lines[first]).group(2).strip())
    return orders, first if is_title else -1


def parse_outline(text: str) -> Outline:
    blocks: list[Block] = []
    main = _Context()
    box: _Context | None = None
    box_title = ""
    box_has_table = False
    offset = 0
    lines = text.split("\n")
    md_orders, title_idx = _md_plan(lines)
    i = 0
    line_starts = []
    pos = 0
    for line in lines:
        line_starts.append(pos)
        pos += len(line) + 1

    def ctx() -> _Context:
        return box if box is not None else main

    listing = False  # inside an "附件：1.… ⏎ 2.…" list: its numbered lines are titles of attachments, not sections
    while i < len(lines):
        line = lines[i]
        offset = line_starts[i]
        if not line:
            i += 1
            continue
        if ATTACHMENT_LIST.match(line):
            listing = True
        elif listing and not ATTACHMENT_ITEM.match(line):
            listing = False
        if listing:
            blocks.append(Block("para", offset, offset + len(line), line, ctx().path(), box_title))
            i += 1
            continue
        if line.startswith("|"):
            j = i
            while j < len(lines) and lines[j].startswith("|"):
                j += 1
            end = line_starts[j - 1] + len(lines[j - 1])
            blocks.append(Block("table", offset, end, text[offset:end], ctx().path(), box_title))
            if box is not None:
                box_has_table = True
            i = j
            continue
        if i == title_idx:
            # The document's own title ("# 某某规划"): not a section every path should start with.
            blocks.append(Block("heading", offset, offset + len(line), line, (), ""))
            i += 1
            continue
        new_box = box_title_of(line)
        if new_box:
            if box is not None and new_box == box_title and not box_has_table:
                i += 1  # the title repeated inside its own box
                continue
            # A 专栏 box: its own numbering context, closed by the next real heading.
            node = Node("box", BOX_ORDER, 0, new_box, offset)
            box = _Context(main.stack + [node])
            box_title, box_has_table = new_box, False
            blocks.append(Block("box_title", offset, offset + len(line), line, box.path(), box_title))
            i += 1
            continue
        found = heading_kind(line)
        if found:
            kind, order, number, title = found
            is_md = kind == "md"
            if is_md:
                level = order + 1
                kind, order, number = numbered_kind(title) or ("md", md_orders[level], 0)
            in_main = main.accepts(kind, order, number)
            in_box = box is not None and box.accepts(kind, order, number)
            if is_md and not in_box:
                in_main = True  # a styled heading opens a section even when its numbering skips
            if box is not None and in_main and (not in_box or box_has_table or kind == "md"):
                box, box_title = None, ""
                in_box = False
            if box is not None and box_has_table and not in_box:
                box, box_title = None, ""
            if in_box or (box is None and in_main):
                node = Node(kind, order, number, title, offset)
                ctx().push(node)
                # "1、节能改造工程。实施…": a heading run into its text; inside a box it is a project item.
                kind_name = "heading" if title == line or is_md else ("item" if box is not None else "para")
                end = offset + len(line)
                blocks.append(Block(kind_name, offset, end, line, ctx().path(), box_title))
                i += 1
                continue
        if box is not None and box_has_table and not found:
            # Prose after a box's table belongs to the enclosing section again.
            box, box_title = None, ""
        end = offset + len(line)
        kind_name = "item" if box is not None else "para"
        blocks.append(Block(kind_name, offset, end, line, ctx().path(), box_title))
        i += 1
    sections = _sections(blocks, len(text))
    return Outline(text, blocks, sections)


def _sections(blocks: list[Block], text_len: int) -> list[tuple[tuple[str, ...], int, int]]:
    spans: dict[tuple[str, ...], list[int]] = {}
    for b in blocks:
        for depth in range(1, len(b.path) + 1):
            key = b.path[:depth]
            span = spans.setdefault(key, [b.start, b.end])
            span[1] = max(span[1], b.end)
    return [(path, s, e) for path, (s, e) in spans.items()]
