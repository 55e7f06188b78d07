"""Bytes → text. Detects encodings; renders Word/HTML tables as pipe rows so one parser serves all formats."""

from __future__ import annotations

import io
import logging
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


def sniff_format(name: str, data: bytes) -> str:
    """Decide the type by content first, then by name."""
    suffix = Path(name).suffix.lower()
    if data.startswith(b"%PDF-"):
        return "pdf"
    if data.startswith(b"PK\x03\x04"):
        if suffix == ".docx" or _zip_has(data, "word/document.xml"):
            return "docx"
        raise UnsupportedFile(f"{name}: zip archive that is not a Word document", "文件是压缩包而不是 Word 文档（.docx）。")
    if suffix == ".docx":
        raise UnsupportedFile(f"{name}: not a docx", "文件扩展名是 .docx，但内容不是有效的 Word 文档（可能已损坏或是旧版 .doc）。")
    if suffix == ".pdf":
        raise UnsupportedFile(f"{name}: not a pdf", "文件扩展名是 .pdf，但内容不是有效的 PDF。")
    if suffix == ".doc" or data.startswith(b"\xd0\xcf\x11\xe0"):
        raise UnsupportedFile(f"{name}: legacy .doc", "不支持旧版 Word（.doc）文件，请另存为 .docx 后再导入。")
    head = data[:2048].lstrip().lower()
    if suffix in HTML_SUFFIXES or head.startswith((b"<!doctype html", b"<html")):
        return "html"
    if suffix in TEXT_SUFFIXES or suffix == "":
        return "md" if suffix in {".md", ".markdown"} else "txt"
    raise UnsupportedFile(f"{name}: unsupported suffix {suffix}", f"不支持的文件类型“{suffix}”，支持 txt、md、docx、pdf、html。")


def _zip_has(data: bytes, member: str) -> bool:
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as zf:
            return member in zf.namelist()
    except zipfile.BadZipFile:
        return False


def decode_text(data: bytes) -> tuple[str, str]:
    """Decode plain text: BOMs, then strict UTF-8, then GB18030, then charset detection."""
    if data.startswith(b"\xef\xbb\xbf"):
        return data[3:].decode("utf-8", errors="replace"), "utf-8-sig"
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        return data.decode("utf-16"), "utf-16"
    if _looks_utf16(data):
        enc = "utf-16-le" if data[1:2] == b"\x00" else "utf-16-be"
        return data.decode(enc, errors="replace"), enc
    try:
        return data.decode("utf-8"), "utf-8"
    except UnicodeDecodeError:
        pass
    try:
        # GB18030 is a superset of GBK and GB2312 and decodes every valid Chinese legacy file.
        text = data.decode("gb18030")
        if _mostly_cjk_or_ascii(text):
            return text, "gb18030"
    except UnicodeDecodeError:
        pass
    from charset_normalizer import from_bytes

    best = from_bytes(data).best()
    if best is None:
        raise IngestError("undecodable text", "无法识别文本编码（不是 UTF-8、GB18030/GBK 或 UTF-16）。")
    return str(best), best.encoding


def _looks_utf16(data: bytes) -> bool:
    sample = data[:400]
    if len(sample) < 8:
        return False
    zeros_even = sum(1 for b in sample[0::2] if b == 0)
    zeros_odd = sum(1 for b in sample[1::2] if b == 0)
    half = len(sample) / 2
    return zeros_odd > 0.3 * half or zeros_even > 0.3 * half


def _mostly_cjk_or_ascii(text: str) -> bool:
    if not text:
        return True
    good = sum(1 for ch in text if ch.isascii() or "\u4e00" <= ch <= "\u9fff" or "\u3000" <= ch <= "\u303f" or "\uff00" <= ch <= "\uffef")
    return good / len(text) > 0.9


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
        from docx.table import Table as DocxTable
        from docx.text.paragraph import Paragraph

        document = docx.Document(io.BytesIO(data))
    except Exception as exc:  # python-docx raises many types for broken files
        raise UnsupportedFile(f"docx: {exc}", "Word 文档已损坏，无法读取。") from exc
    out: list[str] = []
    body = document.element.body
    for child in body.iterchildren():
        tag = child.tag.rsplit("}", 1)[-1]
        if tag == "p":
            para = Paragraph(child, document)
            text = para.text.strip()
            if not text:
                out.append("")
                continue
            style = (para.style.name if para.style is not None else "") or ""
            level = _heading_level(style)
            if level and not text.startswith("#"):
                out.append("#" * level + " " + text)
            else:
                out.append(text)
            out.append("")
        elif tag == "tbl":
            table = DocxTable(child, document)
            rows = []
            for row in table.rows:
                # python-docx repeats a merged cell's text across its span: spans come out filled.
                rows.append([cell.text for cell in row.cells])
            out.append(render_table(rows))
            out.append("")
    return "\n".join(out)


def _heading_level(style: str) -> int:
    style = style.lower()
    if style == "title":
        return 1
    for prefix in ("heading ", "标题 "):
        if style.startswith(prefix):
            try:
                return min(int(style[len(prefix):]), 6)
            except ValueError:
                return 0
    return 0


# ---------- html ----------

def html_to_text(html: str) -> str:
    from bs4 import BeautifulSoup

    soup = BeautifulSoup(html, "html.parser")
    for bad in soup(["script", "style", "noscript", "template"]):
        bad.decompose()
    out: list[str] = []
    root = soup.body or soup
    _walk_html(root, out)
    return "\n".join(out)


BLOCK_TAGS = {"p", "div", "li", "section", "article", "blockquote", "pre", "br", "tr", "dd", "dt"}


def _walk_html(node, out: list[str]) -> None:
    from bs4 import NavigableString, Tag

    for child in node.children:
        if isinstance(child, NavigableString):
            text = str(child).strip()
            if text:
                out.append(text)
            continue
        if not isinstance(child, Tag):
            continue
        name = child.name.lower()
        if name in {"h1", "h2", "h3", "h4", "h5", "h6"}:
            out += ["", "#" * int(name[1]) + " " + child.get_text(" ", strip=True), ""]
        elif name == "table":
            out += ["", render_table(html_table_rows(child)), ""]
        elif name in BLOCK_TAGS and not child.find(["table", "h1", "h2", "h3", "h4", "h5", "h6", "p", "div"]):
            text = child.get_text("", strip=True)
            if text:
                out += [text, ""]
        else:
            _walk_html(child, out)


def html_table_rows(table) -> list[list[str]]:
    """Rows of an HTML table with rowspan/colspan filled in."""
    grid: dict[tuple[int, int], str] = {}
    rows = table.find_all("tr")
    for r, tr in enumerate(rows):
        c = 0
        for td in tr.find_all(["td", "th"], recursive=False):
            while (r, c) in grid:
                c += 1
            text = td.get_text("", strip=True)
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
    starts, parts, offset = [], [], 0
    for text in pages:
        starts.append(offset)
        parts.append(text)
        offset += len(text) + 1
    text = "\n".join(parts)
    if not text.strip():
        raise EmptyDocument("pdf without text layer", "PDF 中没有文字层（可能是扫描件），请先做文字识别（OCR）。")
    return text, starts
