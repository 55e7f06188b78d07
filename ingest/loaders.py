"""Bytes → text. Detects encodings; renders Word/HTML tables as pipe rows so one parser serves all formats."""

from __future__ import annotations

import io
import logging
import re
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

from kb.errors import EmptyDocument, IngestError, UnsupportedFile

logger = logging.getLogger(__name__)

TEXT_SUFFIXES = {".txt", ".md", ".markdown", ".text"}
HTML_SUFFIXES = {".html", ".htm"}
SUPPORTED_SUFFIXES = TEXT_SUFFIXES | HTML_SUFFIXES | {".docx", ".pdf"}
MAX_UNZIPPED_BYTES = 200 * 1024 * 1024  # a .docx that inflates past this is treated as a zip bomb
MAX_ZIP_RATIO = 200


@dataclass
class Loaded:
    text: str
    fmt: str  # txt | md | docx | pdf | html
    encoding: str = ""
    page_starts: list[int] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)  # what a person should know about this file's reading
    pages: int = 0  # pages (PDF) or sheets (workbook); 0 when the format has none


def sniff_format(name: str, data: bytes) -> str:
    """Decide the type by content first, then by name."""
    suffix = Path(name).suffix.lower()
    if suffix and suffix not in SUPPORTED_SUFFIXES and suffix != ".doc":
        raise UnsupportedFile(f"{name}: unsupported suffix {suffix}",
                              f"不支持的文件类型“{suffix}”，支持 txt、md、docx、pdf、html。")
    if data.startswith(b"%PDF-"):
        return "pdf"
    if suffix == ".doc" or data.startswith(b"\xd0\xcf\x11\xe0"):
        raise UnsupportedFile(f"{name}: legacy .doc", "不支持旧版 Word（.doc）文件，请另存为 .docx 后再导入。")
    if data.startswith(b"PK\x03\x04"):
        if suffix == ".docx" or _zip_has(data, "word/document.xml"):
            return "docx"
        raise UnsupportedFile(f"{name}: zip archive that is not a Word document", "文件是压缩包而不是 Word 文档（.docx）。")
    if suffix == ".docx":
        raise UnsupportedFile(f"{name}: not a docx", "文件扩展名是 .docx，但内容不是有效的 Word 文档（可能已损坏）。")
    if suffix == ".pdf":
        raise UnsupportedFile(f"{name}: not a pdf", "文件扩展名是 .pdf，但内容不是有效的 PDF。")
    head = data[:2048].lstrip().lower()
    if suffix in HTML_SUFFIXES or head.startswith((b"<!doctype html", b"<html")):
        return "html"
    return "md" if suffix in {".md", ".markdown"} else "txt"


def _zip_has(data: bytes, member: str) -> bool:
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as zf:
            return member in zf.namelist()
    except zipfile.BadZipFile:
        return False


def decode_text(data: bytes) -> tuple[str, str]:
    """Decode plain text: BOMs, strict UTF-8, the likeliest of GB18030 / BOM-less UTF-16, then detection."""
    if data.startswith(b"\xef\xbb\xbf"):
        return data[3:].decode("utf-8", errors="replace"), "utf-8-sig"
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        return data.decode("utf-16", errors="replace"), "utf-16"
    if b"\x00" not in data:
        try:
            return data.decode("utf-8"), "utf-8"
        except UnicodeDecodeError:
            pass
    # GB18030 is a superset of GBK and GB2312. UTF-16 without a BOM has NUL bytes only when it holds
    # ASCII, so Chinese-only UTF-16 is told apart by how plausible each decoding reads.
    candidates = []
    for enc in ("gb18030", "utf-16-le", "utf-16-be"):
        if enc.startswith("utf-16") and len(data) % 2:
            continue
        try:
            text = data.decode(enc)
        except UnicodeDecodeError:
            continue
        candidates.append((_plausibility(text), enc == "gb18030", enc, text))
    if candidates:
        score, _, enc, text = max(candidates)
        if score > 0.9:
            return text, enc
    from charset_normalizer import from_bytes

    best = from_bytes(data).best()
    if best is None or "\x00" in str(best):
        raise IngestError("undecodable text", "无法识别文本编码（不是 UTF-8、GB18030/GBK 或 UTF-16）。")
    return str(best), best.encoding


def _plausibility(text: str) -> float:
    """Share of characters a Chinese plan is made of: hanzi, ASCII, CJK and full-width punctuation."""
    if not text:
        return 1.0
    good = sum(1 for ch in text if (" " <= ch <= "~") or ch in "\n\r\t" or "\u4e00" <= ch <= "\u9fff"
               or "\u3000" <= ch <= "\u303f" or "\uff00" <= ch <= "\uffef" or "\u2010" <= ch <= "\u2027"
               or ch in "\u00a0\u00b7\u00d7")
    return good / len(text)


def load_bytes(name: str, data: bytes) -> Loaded:
    """Turn a file's bytes into text; raises IngestError with a Chinese message."""
    if not data or not data.strip():
        raise EmptyDocument(f"{name}: empty file", "文件是空的。")
    fmt = sniff_format(name, data)
    if fmt in ("txt", "md"):
        text, enc = decode_text(data)
        if "\x00" in text:
            raise UnsupportedFile(f"{name}: binary content", "文件内容是二进制数据，不是文本。")
        return Loaded(text, fmt, enc)
    if fmt == "html":
        text, enc = decode_text(data)
        return Loaded(html_to_text(text), "html", enc)
    if fmt == "docx":
        return Loaded(docx_to_text(data), "docx")
    text, starts = pdf_to_text(data)
    return Loaded(text, "pdf", page_starts=starts)


def load_path(path: Path) -> Loaded:
    try:
        data = Path(path).read_bytes()
    except OSError as exc:
        raise IngestError(f"{path}: {exc}", f"无法读取文件：{exc.strerror or exc}") from exc
    return load_bytes(Path(path).name, data)


# ---------- tables as pipe rows ----------

def pipe_row(cells: list[str]) -> str:
    return "| " + " | ".join(_cell_text(c) for c in cells) + " |"


def _cell_text(text: str) -> str:
    # A cell wrapped over lines in Word ("单位GDP\n能耗降低") is one name; pipes would break the row.
    return "".join(part.strip() for part in str(text).splitlines()).replace("|", "｜")


def render_table(rows: list[list[str]]) -> str:
    rows = [r for r in rows if any(str(c).strip() for c in r)]
    if not rows:
        return ""
    width = max(len(r) for r in rows)
    rows = [r + [""] * (width - len(r)) for r in rows]
    lines = [pipe_row(rows[0]), "|" + "---|" * width]
    lines += [pipe_row(r) for r in rows[1:]]
    return "\n".join(lines)


# ---------- docx ----------

def _check_zip(data: bytes) -> None:
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as zf:
            total = sum(info.file_size for info in zf.infolist())
    except zipfile.BadZipFile as exc:
        raise UnsupportedFile("bad zip", "Word 文档已损坏（压缩结构无效）。") from exc
    if total > MAX_UNZIPPED_BYTES or total > MAX_ZIP_RATIO * max(len(data), 1) and total > 20 * 1024 * 1024:
        raise UnsupportedFile("zip bomb", "Word 文档解压后体积异常（疑似压缩炸弹），已拒绝导入。")


def docx_to_text(data: bytes) -> str:
    _check_zip(data)
    try:
        import docx

        document = docx.Document(io.BytesIO(data))
    except Exception as exc:  # python-docx raises many types for broken files
        raise UnsupportedFile(f"docx: {exc}", "Word 文档已损坏，无法读取。") from exc
    out: list[str] = []
    _docx_blocks(document.element.body, document, out)
    return "\n".join(out)


def _docx_blocks(container, parent, out: list[str]) -> None:
    """Paragraphs and tables of a body or table cell, in order; content controls are looked into."""
    from docx.table import Table as DocxTable
    from docx.text.paragraph import Paragraph

    for child in container.iterchildren():
        tag = child.tag.rsplit("}", 1)[-1]
        if tag == "p":
            para = Paragraph(child, parent)
            text = para.text.strip()
            if text:
                level = _heading_level(para)
                out += ["#" * level + " " + text if level and not text.startswith("#") else text, ""]
            # A 专栏 drawn as a text box anchored here: python-docx does not read into it. Word writes each
            # box twice (DrawingML and a VML fallback); read the first only.
            for box in child.iter(_qn("w:txbxContent")):
                between = []  # ancestors of the box inside this paragraph
                for ancestor in box.iterancestors():
                    if ancestor is child:
                        break
                    between.append(ancestor.tag)
                if MC_FALLBACK not in between and _qn("w:txbxContent") not in between:
                    _docx_blocks(box, parent, out)
        elif tag == "tbl":
            _docx_table(DocxTable(child, parent), out)
        elif tag in ("sdt", "sdtContent", "customXml", "ins", "smartTag"):
            _docx_blocks(child, parent, out)


def _docx_table(table, out: list[str]) -> None:
    rows: list[list[str]] = []
    for row in table.rows:
        # python-docx repeats a merged cell across its span (both ways): spans come out filled.
        cells = [cell.text for cell in row.cells]
        rows.append([""] * row.grid_cols_before + cells + [""] * row.grid_cols_after)
    nested = table._tbl.find(".//" + _qn("w:tbl")) is not None
    if nested or all(len({c for c in r if c.strip()}) <= 1 for r in rows):
        # A 专栏 drawn as a one-cell frame, a one-column list, or a layout table: its cells are content.
        seen = set()
        for row in table.rows:
            for cell in row.cells:
                if id(cell._tc) not in seen:
                    seen.add(id(cell._tc))
                    _docx_blocks(cell._tc, cell, out)
        return
    out += [render_table(rows), ""]


def _qn(tag: str) -> str:
    from docx.oxml.ns import qn

    return qn(tag)


MC_FALLBACK = "{http://schemas.openxmlformats.org/markup-compatibility/2006}Fallback"
HEADING_STYLE = re.compile(
    r"^(?:heading|标题|überschrift|titre|título|titulo|titolo|kop|nagłówek|rubrik|заголовок|見出し|제목)\s*(\d)$",
    re.IGNORECASE,
)
CN_LEVEL_STYLE = re.compile(r"^(?:([一二三四五六])级标题|标题([一二三四五六]))$")
CN_LEVELS = "一二三四五六"


def _heading_level(para) -> int:
    """Heading level of a Word paragraph: its style's name (any language) or its outline level."""
    style = para.style
    names = []
    s = style
    while s is not None and len(names) < 10:
        names.append((s.name or "").strip())
        s = s.base_style
    for name in names:
        m = HEADING_STYLE.match(name)
        if m:
            return min(max(int(m.group(1)), 1), 6)
        m = CN_LEVEL_STYLE.match(name)
        if m:
            return CN_LEVELS.index(m.group(1) or m.group(2)) + 1
    level = _outline_level(para._p.pPr)
    s = style
    while level is None and s is not None:
        level = _outline_level(s.element.pPr)
        s = s.base_style
    return min(level + 1, 6) if level is not None and level < 9 else 0


def _outline_level(ppr) -> int | None:
    if ppr is None:
        return None
    el = ppr.find(_qn("w:outlineLvl"))
    if el is None:
        return None
    try:
        return int(el.get(_qn("w:val")))
    except (TypeError, ValueError):
        return None


# ---------- html ----------

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


# ---------- pdf ----------

def pdf_to_text(data: bytes) -> tuple[str, list[int]]:
    try:
        from pypdf import PdfReader

        reader = PdfReader(io.BytesIO(data))
        pages = [page.extract_text() or "" for page in reader.pages]
    except Exception as exc:  # pypdf raises many types for broken files
        raise UnsupportedFile(f"pdf: {exc}", "PDF 文件已损坏或加密，无法读取文字。") from exc
    pages = drop_running_lines(pages)
    starts, parts, offset = [], [], 0
    for text in pages:
        starts.append(offset)
        parts.append(text)
        offset += len(text) + 1
    text = "\n".join(parts)
    if not text.strip():
        raise EmptyDocument("pdf without text layer", "PDF 中没有文字层（可能是扫描件），请先做文字识别（OCR）。")
    return text, starts


PAGE_NUMBER = re.compile(r"^[-—–－\s]*(?:第\s*)?\d{1,4}(?:\s*页)?(?:\s*[/共]\s*\d{1,4}\s*页?)?[-—–－\s]*$")


def drop_running_lines(pages: list[str]) -> list[str]:
    """Page numbers and running headers/footers would be glued into the sentences they interrupt."""
    split = [page.split("\n") for page in pages]

    def key(line: str) -> str:
        return re.sub(r"\d+", "#", line.strip())

    edges: dict[str, int] = {}
    for lines in split:
        filled = [ln for ln in lines if ln.strip()]
        for ln in set(filled[:2] + filled[-2:]):
            edges[key(ln)] = edges.get(key(ln), 0) + 1
    running = {k for k, n in edges.items() if n >= 3 and n >= len(pages) / 2 and k}
    out = []
    for lines in split:
        kept = [ln for ln in lines if not PAGE_NUMBER.match(ln.strip()) or not ln.strip()]
        filled = [i for i, ln in enumerate(kept) if ln.strip()]
        edge = set(filled[:2] + filled[-2:])
        # No blank line at a page break, so a sentence running onto the next page is rejoined.
        text = "\n".join(ln for i, ln in enumerate(kept) if not (i in edge and key(ln) in running))
        out.append(text.strip("\n"))
    return out
