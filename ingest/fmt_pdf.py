"""PDF → text by the page's geometry (pdfplumber): characters in reading order, tables from ruling lines or
aligned columns, pages without a text layer read by OCR (fmt_ocr)."""

from __future__ import annotations

import io
import logging
import re

from ingest.fmt_layout import (
    COLUMN_GAP_EM,
    Line,
    PageContent,
    Piece,
    TableBlock,
    aligned_tables,
    assemble,
    column_edges,
    grid_rows,
)
from kb.errors import EmptyDocument, UnsupportedFile

logger = logging.getLogger(__name__)

MIN_TEXT_CHARS = 10  # fewer characters than this on a page with an image: a scan (perhaps with a stamp)
MAX_PAGES = 2000
TRUNCATED_TAIL = 2048  # an intact PDF ends with %%EOF within its last bytes


def pdf_to_loaded(data: bytes):
    """Read a PDF: text layer where there is one, OCR for scanned pages."""
    from ingest.loaders import Loaded

    if b"%%EOF" not in data[-TRUNCATED_TAIL:]:
        raise UnsupportedFile("pdf: no %%EOF at the end (truncated)",
                              "PDF 文件不完整（可能下载或复制时被截断），请重新获取完整文件后再导入。")
    try:
        import pdfplumber

        pdf = pdfplumber.open(io.BytesIO(data))
        n_pages = len(pdf.pages)
    except Exception as exc:  # pdfminer raises many types for broken files
        if "password" in str(exc).lower() or type(exc).__name__ == "PDFPasswordIncorrect":
            raise UnsupportedFile(f"pdf: encrypted: {exc}", "PDF 文件已加密，请先解除密码保护后再导入。") from exc
        raise UnsupportedFile(f"pdf: {exc}", "PDF 文件已损坏，无法读取。") from exc
    if n_pages > MAX_PAGES:
        raise UnsupportedFile(f"pdf: {n_pages} pages", f"PDF 页数过多（{n_pages} 页），超过上限 {MAX_PAGES} 页。")
    pages: list[PageContent] = []
    scanned: list[int] = []
    warnings: list[str] = []
    try:
        with pdf:
            for number, page in enumerate(pdf.pages, 1):
                content = read_page(page, number)
                if content is None:
                    scanned.append(number)
                    content = ocr_page(page, number, warnings)
                pages.append(content)
    except (EmptyDocument, UnsupportedFile):
        raise
    except Exception as exc:
        raise UnsupportedFile(f"pdf: {exc}", "PDF 文件已损坏，部分页面无法读取。") from exc
    text, starts = assemble(pages)
    if not text.strip() and scanned:
        raise EmptyDocument("pdf: OCR found no text", "PDF 没有文字层，扫描页也没有识别出文字（可能是空白页、"
                            "图片或噪点）。")
    if not text.strip():
        raise EmptyDocument("pdf without text", "PDF 中没有文字层，也没有可识别的扫描图像（页面是空白的）。")
    if scanned:
        warnings.insert(0, f"第 {_ranges(scanned)} 页没有文字层，已用文字识别（OCR）读取；数字请与原件核对")
    fmt = "pdf-ocr" if scanned else "pdf"
    return Loaded(text, fmt, page_starts=starts, warnings=warnings, pages=n_pages)


def read_page(page, number: int) -> PageContent | None:
    """A page's lines and tables from its text layer; None for a page to OCR."""
    page = page.dedupe_chars()
    chars = [c for c in page.chars if c.get("upright", True) and c["text"].strip() or c["text"] == " "]
    if len([c for c in chars if c["text"].strip()]) < MIN_TEXT_CHARS:
        return None if page.images else PageContent(number, lines=chars_to_lines(chars, number))
    content = PageContent(number)
    boxes = []
    for table in page.find_tables():
        cells = list(table.cells)
        rows = grid_rows(cells, lambda bbox: cell_text(chars, bbox))
        if len(rows) < 2 or all(len({c for c in r if c}) <= 1 for r in rows) or prose_grid(rows):
            continue  # a box drawn around text (a 专栏 frame), not a table: its text stays in the flow
        _, top, _, bottom = table.bbox
        boxes.append(table.bbox)
        content.tables.append(TableBlock(rows, top, bottom, column_edges(cells), number))
    free = [c for c in chars if not any(_inside(c, b) for b in boxes)]
    lines, more = aligned_tables(chars_to_lines(free, number), number)
    content.lines = lines
    content.tables += more
    return content


def prose_grid(rows: list[list[str]]) -> bool:
    """A page of prose caught in a ruled frame: the grid repeats a few long sentences over many merged cells."""
    cells = [c for r in rows for c in r if c]
    if len(cells) < 20:
        return False
    prose = sum(1 for c in cells if len(c) >= 25 and re.search(r"[，。；、]", c))
    return prose >= 0.3 * len(cells) and len(set(cells)) < 0.2 * len(cells)


def _inside(char: dict, bbox) -> bool:
    x, y = (char["x0"] + char["x1"]) / 2, (char["top"] + char["bottom"]) / 2
    return bbox[0] <= x <= bbox[2] and bbox[1] <= y <= bbox[3]


def cell_text(chars: list[dict], bbox) -> str:
    lines = chars_to_lines([c for c in chars if _inside(c, bbox)], 0)
    return "\n".join(ln.text for ln in lines)


def chars_to_lines(chars: list[dict], number: int) -> list[Line]:
    """Characters → lines of pieces; a piece ends at a gap as wide as a column boundary."""
    rows: list[list[dict]] = []
    for c in sorted(chars, key=lambda c: ((c["top"] + c["bottom"]) / 2, c["x0"])):
        mid = (c["top"] + c["bottom"]) / 2
        if rows:
            top = min(x["top"] for x in rows[-1])
            bottom = max(x["bottom"] for x in rows[-1])
            if top - 0.5 <= mid <= bottom + 0.5 and c["text"].strip() or c["text"] == " " and mid <= bottom:
                rows[-1].append(c)
                continue
        if c["text"].strip():
            rows.append([c])
    lines = []
    for row in rows:
        pieces: list[Piece] = []
        run: list[dict] = []
        size = _size(row)
        for c in sorted(row, key=lambda c: c["x0"]):
            if run and c["x0"] - run[-1]["x1"] >= COLUMN_GAP_EM * size:
                pieces.append(_piece(run))
                run = []
            run.append(c)
        if run:
            pieces.append(_piece(run))
        pieces = [p for p in pieces if p.text]
        if pieces:
            lines.append(Line(pieces, number))
    return lines


def _size(chars: list[dict]) -> float:
    sizes = sorted(c["bottom"] - c["top"] for c in chars if c["text"].strip()) or [10.0]
    return max(sizes[len(sizes) // 2], 1.0)


def _piece(chars: list[dict]) -> Piece:
    size = _size(chars)
    text = ""
    prev = None
    for c in chars:
        ch = c["text"]
        if ch == " " or ch == "\u3000":
            if text and not text.endswith(" "):
                text += " "
            prev = c
            continue
        if prev is not None and text and not text.endswith(" "):
            gap = c["x0"] - prev["x1"]
            latin = re.match(r"[0-9A-Za-z%.,)]", text[-1]) and re.match(r"[0-9A-Za-z(]", ch)
            if gap >= 0.6 * size or (latin and gap >= 0.15 * size):
                text += " "
        text += ch
        prev = c
    words = [c for c in chars if c["text"].strip()]
    return Piece(min(c["x0"] for c in words), min(c["top"] for c in words), max(c["x1"] for c in words),
                 max(c["bottom"] for c in words), text.strip())


def ocr_page(page, number: int, warnings: list[str]) -> PageContent:
    from ingest.fmt_ocr import DPI, ocr_image

    image = page.to_image(resolution=DPI).original
    return ocr_image(image, number, warnings, scale=72 / DPI)


def _ranges(numbers: list[int]) -> str:
    out, start = [], None
    for k, n in enumerate(numbers):
        if start is None:
            start = n
        if k + 1 == len(numbers) or numbers[k + 1] != n + 1:
            out.append(str(start) if start == n else f"{start}–{n}")
            start = None
    return "、".join(out)

