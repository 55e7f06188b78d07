"""Bytes → text. Detects the format by content and encodings; renders every table as pipe rows so one parser
serves all formats. Readers: Word here; HTML in fmt_html; PDF by geometry in fmt_pdf (fmt_layout), scans and
images by OCR in fmt_ocr; .doc/.wps/.rtf/.odt through LibreOffice in fmt_office; workbooks and .csv in
fmt_sheet."""

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
OFFICE_SUFFIXES = {".doc", ".wps", ".rtf", ".odt"}  # converted with LibreOffice
SHEET_SUFFIXES = {".xlsx", ".xlsm", ".xls", ".csv"}
IMAGE_SUFFIXES = {".png", ".jpg", ".jpeg", ".tif", ".tiff", ".bmp"}  # read by OCR
# Found when a folder is searched: documents. A .csv or a picture in a plans folder is more often data or a
# logo than a plan, so those are read only when named (ACCEPTED_SUFFIXES).
SUPPORTED_SUFFIXES = TEXT_SUFFIXES | HTML_SUFFIXES | {".docx", ".pdf"} | OFFICE_SUFFIXES | SHEET_SUFFIXES - {".csv"}
ACCEPTED_SUFFIXES = SUPPORTED_SUFFIXES | {".csv"} | IMAGE_SUFFIXES
SUPPORTED_NAMES = "txt、md、docx、doc、wps、rtf、odt、pdf（含扫描件）、html、xlsx、xls、csv、png、jpg、tif"
MAX_UNZIPPED_BYTES = 200 * 1024 * 1024  # a .docx/.xlsx that inflates past this is treated as a zip bomb
MAX_ZIP_RATIO = 200
IMAGE_MAGIC = (b"\x89PNG\r\n\x1a\n", b"\xff\xd8\xff", b"II*\x00", b"MM\x00*")
OLE_MAGIC = b"\xd0\xcf\x11\xe0"
ODT_MIME = b"application/vnd.oasis.opendocument.text"


@dataclass
class Loaded:
    text: str
    # txt | md | html | docx | pdf | pdf-ocr (some pages read by OCR) | image | doc | wps | rtf | odt
    # | xlsx | xls | csv
    fmt: str
    encoding: str = ""
    page_starts: list[int] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)  # what a person should know about this file's reading
    pages: int = 0  # pages (PDF) or sheets (workbook); 0 when the format has none


def sniff_format(name: str, data: bytes) -> str:
    """Decide the type by content first, then by name."""
    suffix = Path(name).suffix.lower()
    if suffix and suffix not in ACCEPTED_SUFFIXES:
        raise UnsupportedFile(f"{name}: unsupported suffix {suffix}",
                              f"不支持的文件类型“{suffix}”，支持 {SUPPORTED_NAMES}。")
    if data.startswith(b"%PDF-"):
        return "pdf"
    if data.startswith(OLE_MAGIC):
        return _ole_format(name, suffix, data)
    if data.startswith(b"PK\x03\x04"):
        if suffix == ".docx" or _zip_has(data, "word/document.xml"):
            return "docx"
        if suffix in (".xlsx", ".xlsm") or _zip_has(data, "xl/workbook.xml"):
            return "xlsx"
        if data[30:38] == b"mimetype" and ODT_MIME in data[:100] or suffix == ".odt":
            return "odt"
        raise UnsupportedFile(f"{name}: zip archive that is not a Word document", "文件是压缩包而不是 Word 文档（.docx）。")
    if data.lstrip()[:5] == b"{\\rtf":
        return "rtf"
    if data.startswith(IMAGE_MAGIC) or suffix == ".bmp" and data.startswith(b"BM"):
        return "image"
    if suffix == ".docx":
        raise UnsupportedFile(f"{name}: not a docx", "文件扩展名是 .docx，但内容不是有效的 Word 文档（可能已损坏）。")
    if suffix == ".pdf":
        raise UnsupportedFile(f"{name}: not a pdf", "文件扩展名是 .pdf，但内容不是有效的 PDF。")
    head = data[:2048].lstrip().lower()
    is_html = head.startswith((b"<!doctype html", b"<html"))
    if suffix in HTML_SUFFIXES or is_html:
        return "html"  # Word's "web page" saved as .doc is HTML too
    if suffix in OFFICE_SUFFIXES or suffix in (".xlsx", ".xlsm", ".xls") or suffix in IMAGE_SUFFIXES:
        raise UnsupportedFile(f"{name}: content does not match {suffix}",
                              f"文件扩展名是 {suffix}，但内容不是有效的该类文件（可能已损坏）。")
    if suffix == ".csv":
        return "csv"
    return "md" if suffix in {".md", ".markdown"} else "txt"


def _ole_format(name: str, suffix: str, data: bytes) -> str:
    """An OLE compound file: Word 97-2003 (.doc, and a Kingsoft .wps), Excel 97-2003 (.xls), or refused."""
    from ingest.fmt_office import ole_kind

    kind = ole_kind(data)
    if kind == "doc":
        return "wps" if suffix == ".wps" else "doc"
    if kind == "xls":
        return "xls"
    if kind == "encrypted":
        raise UnsupportedFile(f"{name}: encrypted office file", "文件已加密，请先在 Office/WPS 中取消密码后再导入。")
    if kind == "ppt":
        raise UnsupportedFile(f"{name}: PowerPoint", "不支持演示文稿（.ppt），请导出为 PDF 后再导入。")
    what = {".xls": "Excel 工作簿（.xls）", ".wps": "WPS 文档（.wps）"}.get(suffix, "Word 文档（.doc）")
    raise UnsupportedFile(f"{name}: damaged or unknown OLE file ({kind or 'unreadable'})",
                          f"{what}已损坏或无法识别（旧版 Office 文件结构无效）。")


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
        from ingest.fmt_html import html_to_text

        text, enc = decode_text(data)
        return Loaded(html_to_text(text), "html", enc)
    if fmt == "docx":
        return Loaded(docx_to_text(data), "docx")
    if fmt == "pdf":
        from ingest.fmt_pdf import pdf_to_loaded

        return pdf_to_loaded(data)
    if fmt == "image":
        from ingest.fmt_ocr import image_to_loaded

        return image_to_loaded(data, "image")
    if fmt in ("doc", "wps", "rtf", "odt"):
        from ingest.fmt_office import office_to_text

        if fmt == "odt":
            _check_zip(data, "OpenDocument 文档")
        return Loaded(office_to_text(data, fmt), fmt)
    return _load_sheet(name, fmt, data)


def _load_sheet(name: str, fmt: str, data: bytes) -> Loaded:
    from ingest import fmt_sheet

    if fmt == "csv":
        text, enc = decode_text(data)
        grid = fmt_sheet.csv_grid(text)
        sheet = (Path(name).stem or "表格", grid, False)
        body, warnings = fmt_sheet.sheets_to_text([sheet], with_headings=False)
        return Loaded(body, "csv", enc, warnings=warnings)
    if fmt == "xlsx":
        _check_zip(data, "Excel 工作簿")
        sheets = fmt_sheet.xlsx_sheets(data)
    else:
        sheets = fmt_sheet.xls_sheets(data)
    body, warnings = fmt_sheet.sheets_to_text(sheets)
    return Loaded(body, fmt, warnings=warnings, pages=len(sheets))


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

def _check_zip(data: bytes, kind: str = "Word 文档") -> None:
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as zf:
            total = sum(info.file_size for info in zf.infolist())
    except zipfile.BadZipFile as exc:
        raise UnsupportedFile("bad zip", f"{kind}已损坏（压缩结构无效）。") from exc
    if total > MAX_UNZIPPED_BYTES or total > MAX_ZIP_RATIO * max(len(data), 1) and total > 20 * 1024 * 1024:
        raise UnsupportedFile("zip bomb", f"{kind}解压后体积异常（疑似压缩炸弹），已拒绝导入。")


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
