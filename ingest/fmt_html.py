"""HTML → text: blocks as paragraphs, headings as '#' lines, tables as pipe rows (rowspan/colspan filled)."""

from __future__ import annotations

import re

from ingest.loaders import render_table

HEADING_TAGS = ("h1", "h2", "h3", "h4", "h5", "h6")
BLOCK_TAGS = {"p", "div", "li", "ul", "ol", "section", "article", "blockquote", "pre", "dd", "dt", "dl",
              "header", "footer", "main", "aside", "nav", "figure", "figcaption", "form", "center", "hr",
              "table", "caption",
              "tr", "td", "th", "thead", "tbody", "tfoot", "body", "html", *HEADING_TAGS}
LINE_BREAK = "\u2028"  # stands for <br> while whitespace is collapsed
CJK = "\u3000-\u303f\u4e00-\u9fff\uff00-\uffef"
CJK_GAP = re.compile(rf"(?<=[{CJK}]) (?=[{CJK}])")


def html_to_text(html: str) -> str:
    from bs4 import BeautifulSoup

    soup = BeautifulSoup(html, "html.parser")
    for bad in soup(["script", "style", "noscript", "template", "head"]):
        bad.decompose()
    for br in soup.find_all("br"):
        br.replace_with(LINE_BREAK)
    out: list[str] = []
    _walk_html(soup.body or soup, out)
    return "\n".join(out)


def _inline_text(node) -> str:
    """Text of inline content the way a browser shows it: whitespace runs collapse, none between CJK."""
    text = re.sub(r"[ \t\r\n\f\u00a0]+", " ", node if isinstance(node, str) else node.get_text(""))
    return CJK_GAP.sub("", text)


def _emit_inline(buffer: list[str], out: list[str]) -> None:
    text = _inline_text("".join(buffer))
    buffer.clear()
    for line in text.split(LINE_BREAK):
        if line.strip():
            out += [line.strip(), ""]


MAX_HTML_DEPTH = 150  # deeper nesting is read as plain text, never recursed into (no RecursionError)


def _walk_html(node, out: list[str], depth: int = 0) -> None:
    from bs4 import Comment, NavigableString, Tag

    if depth > MAX_HTML_DEPTH:
        out += ["", node.get_text("\n").strip(), ""]
        return

    buffer: list[str] = []  # inline text (strings, <b>, <span>…) between block elements
    for child in node.children:
        if isinstance(child, Comment):
            continue
        if isinstance(child, NavigableString):
            buffer.append(str(child))
            continue
        if not isinstance(child, Tag):
            continue
        name = child.name.lower()
        if name not in BLOCK_TAGS and not child.find(list(BLOCK_TAGS)):
            buffer.append(child.get_text(""))
            continue
        _emit_inline(buffer, out)
        if name in HEADING_TAGS:
            title = _inline_text(child).replace(LINE_BREAK, "").strip()
            if title:
                out += ["", "#" * int(name[1]) + " " + title, ""]
        elif name == "table":
            _html_table(child, out, depth + 1)
        else:
            _walk_html(child, out, depth + 1)
    _emit_inline(buffer, out)


def _html_table(table, out: list[str], depth: int = 0) -> None:
    caption = table.find("caption")
    if caption is not None and _inline_text(caption).strip():
        out += ["", _inline_text(caption).replace(LINE_BREAK, "").strip(), ""]
    rows = _own_rows(table)
    # Tables used for page layout, or a 专栏 drawn as a one-cell box: read their cells as ordinary content.
    if table.find("table") is not None or all(len(_own_cells(tr)) <= 1 for tr in rows):
        for tr in rows:
            for td in _own_cells(tr):
                _walk_html(td, out, depth + 1)
        return
    out += ["", render_table(html_table_rows(table)), ""]


def _own_rows(table) -> list:
    return [tr for tr in table.find_all("tr") if tr.find_parent("table") is table]


def _own_cells(tr) -> list:
    return tr.find_all(["td", "th"], recursive=False)


def html_table_rows(table) -> list[list[str]]:
    """Rows of an HTML table with rowspan/colspan filled in."""
    grid: dict[tuple[int, int], str] = {}
    for r, tr in enumerate(_own_rows(table)):
        c = 0
        for td in _own_cells(tr):
            while (r, c) in grid:
                c += 1
            text = _inline_text(td).replace(LINE_BREAK, "").strip()
            rowspan = _span(td.get("rowspan"))
            colspan = _span(td.get("colspan"))
            for dr in range(rowspan):
                for dc in range(colspan):
                    grid[(r + dr, c + dc)] = text
            c += colspan
    if not grid:
        return []
    height = max(r for r, _ in grid) + 1
    width = max(c for _, c in grid) + 1
    return [[grid.get((r, c), "") for c in range(width)] for r in range(height)]


def _span(value) -> int:
    try:
        return max(1, min(int(value), 100))
    except (TypeError, ValueError):
        return 1
