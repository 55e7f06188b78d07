"""Scanned pages and images → text by OCR (rapidocr-onnxruntime: PP-OCR models inside the wheel, nothing is
downloaded). Rows and columns are rebuilt from the text boxes' positions and the ruling lines drawn on the
page; each box keeps its confidence, and a number read with low confidence is marked in the text and named
in the ingest report."""

from __future__ import annotations

import io
import logging
import re
import threading

from ingest.fmt_layout import (
    PageContent,
    Piece,
    TableBlock,
    aligned_tables,
    column_edges,
    grid_rows,
    group_lines,
)
from kb.errors import EmptyDocument, IngestError, UnsupportedFile

logger = logging.getLogger(__name__)

DPI = 150  # scanned PDF pages are rendered at this resolution (PP-OCR reads 11 pt text well from ~120)
MIN_SCORE = 0.5  # boxes read below this are noise, not text
LOW_CONFIDENCE = 0.8  # a number read below this is marked and reported, never taken as read
DOUBT_MARK = "（识别存疑）"
MAX_IMAGE_PIXELS = 60_000_000
DET_MAX_SIDE = 1024  # text lines are found at this size (PaddleOCR's own default is 960)
MAX_BOXES = 1500  # more "lines" than a dense page holds: noise
MIN_LINE_PX = 8  # a box lower than this (at 150 dpi, a 4 pt line) is a speck
PROBE_BOXES = 24
SPECKLE_SHARE = 0.05  # text keeps ≥ 20% of its ink through the opening, even at 100 dpi; noise ~0.1%
DASH_START = re.compile(r"^(?:一一|-一|一-|--|－－|—一|一—)(?=[\u4e00-\u9fff])")
QUOTES = "“”\""
MAX_REPORTED = 20  # low-confidence numbers named one by one in the report; the rest are counted
_engine = None
_lock = threading.Lock()


def ocr_available() -> bool:
    try:
        import rapidocr_onnxruntime  # noqa: F401
    except ImportError:
        return False
    return True


def engine():
    """The OCR engine, loaded once (≈0.2 s; its models ship inside the package)."""
    global _engine
    with _lock:
        if _engine is None:
            try:
                from rapidocr_onnxruntime import RapidOCR
            except ImportError as exc:
                raise IngestError("rapidocr-onnxruntime missing",
                                  "扫描件需要文字识别组件：请安装 rapidocr-onnxruntime（pip install "
                                  "rapidocr-onnxruntime==1.4.4）后再导入。") from exc
            logging.getLogger("RapidOCR").setLevel(logging.WARNING)
            _engine = RapidOCR()
    return _engine


def image_to_loaded(data: bytes, fmt: str):
    """A .png/.jpg upload: one page of OCR."""
    from ingest.fmt_layout import assemble
    from ingest.loaders import Loaded

    try:
        from PIL import Image

        Image.MAX_IMAGE_PIXELS = MAX_IMAGE_PIXELS
        image = Image.open(io.BytesIO(data))
        image.load()
    except Exception as exc:  # Pillow raises many types (and DecompressionBombError) for bad images
        raise UnsupportedFile(f"image: {exc}", "图片文件已损坏或尺寸过大，无法读取。") from exc
    warnings: list[str] = []
    page = ocr_image(image, 1, warnings)
    text, starts = assemble([page])
    if not text.strip():
        raise EmptyDocument("image without text", "图片中没有识别出文字（可能不是文件扫描件，或过于模糊）。")
    warnings.insert(0, "图片已用文字识别（OCR）读取；数字请与原件核对")
    return Loaded(text, fmt, page_starts=starts, warnings=warnings, pages=1)


def ocr_image(image, number: int, warnings: list[str], scale: float = 1.0) -> PageContent:
    """OCR one page image; coordinates come back multiplied by ``scale`` (pixels → PDF points)."""
    import numpy as np

    array = np.ascontiguousarray(np.asarray(image.convert("RGB")))
    if is_speckle(array):
        warnings.append(f"第 {number} 页图像只有散乱的噪点，没有文字，已跳过")
        return PageContent(number)
    result, boxes_found = read_boxes(array)
    pieces = [_piece(box, text, score, scale) for box, text, score in result if text.strip()]
    if not _readable(pieces):
        if boxes_found:
            warnings.append(f"第 {number} 页图像中没有识别出可信的文字（可能是空白、图片或噪点），已跳过")
        return PageContent(number)
    heights = sorted(p.height for p in pieces)
    char_px = heights[len(heights) // 2] / scale
    _pair_quotes(group_lines(pieces))
    _flag_doubtful(pieces, number, warnings)
    content = PageContent(number)
    used: set[int] = set()
    for cells in ruled_cells(array, char_px):
        cells = [tuple(v * scale for v in c) for c in cells]
        inside = {i for i, p in enumerate(pieces) if any(_centre_in(p, c) for c in cells)}
        rows = grid_rows(cells, lambda bbox: _cell_text([p for p in pieces if _centre_in(p, bbox)]))
        if len(rows) < 2 or all(len({c for c in r if c}) <= 1 for r in rows):
            continue  # a frame around text
        used |= inside
        top = min(c[1] for c in cells)
        bottom = max(c[3] for c in cells)
        content.tables.append(TableBlock(rows, top, bottom, column_edges(cells), number))
    free = [p for i, p in enumerate(pieces) if i not in used]
    content.lines, more = aligned_tables(group_lines(free, number, noisy=True), number)
    content.tables += more
    return content


def is_speckle(array) -> bool:
    """Ink that a 2×2 opening wipes out is isolated dots, not strokes: a dirty blank sheet, or noise."""
    import cv2
    import numpy as np

    gray = cv2.cvtColor(array, cv2.COLOR_RGB2GRAY)
    ink = (gray < 128).astype(np.uint8)
    total = int(ink.sum())
    if total < 50:
        return False  # a nearly blank page: nothing to tell
    strokes = int(cv2.morphologyEx(ink, cv2.MORPH_OPEN, np.ones((2, 2), np.uint8)).sum())
    return strokes < SPECKLE_SHARE * total


def read_boxes(array) -> tuple[list[tuple], int]:
    """(box, text, score) for each text line found, and how many boxes the detector saw.

    Lines are found on a copy scaled down to DET_MAX_SIDE pixels (the detector's memory grows with the
    page's area) and read from the full-resolution page."""
    import cv2
    import numpy as np

    eng = engine()
    h, w = array.shape[:2]
    factor = min(1.0, DET_MAX_SIDE / max(h, w))
    small = array if factor >= 1 else cv2.resize(array, None, fx=factor, fy=factor,
                                                  interpolation=cv2.INTER_AREA)
    boxes, _ = eng.text_det(small)
    if boxes is None or len(boxes) == 0:
        return [], 0
    if len(boxes) > MAX_BOXES:
        return [], len(boxes)  # speckle or a picture, not a page of text
    boxes = [np.asarray(b, dtype=np.float32) / factor for b in eng.sorted_boxes(boxes)]
    found = len(boxes)
    # Specks too thin to be a line of text; they cost the recognizer most (it pads a batch to its widest).
    heights = sorted(float(b[:, 1].max() - b[:, 1].min()) for b in boxes)
    low = max(MIN_LINE_PX, 0.3 * heights[-1 - len(heights) // 4])  # against the taller lines' height
    boxes = [b for b in boxes if b[:, 1].max() - b[:, 1].min() >= low]
    if not boxes:
        return [], found
    # Read the biggest boxes first: if they are not text, the page is not either.
    order = sorted(range(len(boxes)), key=lambda k: -_area(boxes[k]))
    probe = order[:PROBE_BOXES]
    read: dict[int, tuple[str, float]] = {}
    for k, r in zip(probe, eng.text_rec(eng.get_crop_img_list(array, [boxes[k] for k in probe]))[0]):
        read[k] = (r[0], float(r[1]))
    if sum(score >= MIN_SCORE and _texty(text) for text, score in read.values()) < 0.3 * len(probe):
        return [], found
    rest = order[PROBE_BOXES:]
    if rest:
        for k, r in zip(rest, eng.text_rec(eng.get_crop_img_list(array, [boxes[k] for k in rest]))[0]):
            read[k] = (r[0], float(r[1]))
    out = [(boxes[k].tolist(), *read[k]) for k in range(len(boxes)) if read[k][1] >= MIN_SCORE]
    return out, found


def _area(box) -> float:
    return float((box[:, 0].max() - box[:, 0].min()) * (box[:, 1].max() - box[:, 1].min()))


def _piece(box, text: str, score: float, scale: float) -> Piece:
    xs = [pt[0] for pt in box]
    ys = [pt[1] for pt in box]
    text = DASH_START.sub("——", text.strip())  # "——" read as 一一 or -一
    text = re.sub(r"(?<=\d)一(?=\d)", "—", text)  # "8—10%"
    text = re.sub(r"(?<=\d)方(?=吨|千瓦|标准煤|平方米|立方米|元|人|户|辆|台|亩)", "万", text)  # 万 read as 方
    return Piece(min(xs) * scale, min(ys) * scale, max(xs) * scale, max(ys) * scale, text, float(score))


def _pair_quotes(lines) -> None:
    """OCR reads Chinese quote marks as ASCII '"' or the wrong way round: they alternate open, close."""
    is_open = False
    for line in lines:
        for p in sorted(line.pieces, key=lambda p: p.x0):
            if not any(q in p.text for q in QUOTES):
                continue
            out = []
            for ch in p.text:
                if ch in QUOTES:
                    out.append("”" if is_open else "“")
                    is_open = not is_open
                else:
                    out.append(ch)
            p.text = "".join(out)


def _texty(text: str) -> bool:
    """Reads like writing: a hanzi, or two letters or digits (noise reads as ■, ?, +, one digit)."""
    return bool(re.search(r"[\u4e00-\u9fff]", text)) or len(re.findall(r"[0-9A-Za-z]", text)) >= 2


def _readable(pieces: list[Piece]) -> bool:
    if not pieces or sum(_texty(p.text) for p in pieces) < 0.5 * len(pieces):
        return False
    chars = sum(len(re.findall(r"[\u4e00-\u9fff0-9]", p.text)) for p in pieces)
    mean = sum(p.conf * len(p.text) for p in pieces) / max(sum(len(p.text) for p in pieces), 1)
    return chars >= 4 and mean >= 0.6


def _flag_doubtful(pieces: list[Piece], number: int, warnings: list[str]) -> None:
    doubtful = [p for p in pieces if p.conf < LOW_CONFIDENCE and re.search(r"\d", p.text)]
    for k, p in enumerate(doubtful):
        if k < MAX_REPORTED:
            warnings.append(f"第 {number} 页“{p.text}”识别置信度 {p.conf:.2f}，其中的数字可能有误，"
                            f"已在文中标注“{DOUBT_MARK}”，请与原件核对")
        p.text += DOUBT_MARK  # the pieces are shared with the page's lines and cells
    if len(doubtful) > MAX_REPORTED:
        warnings.append(f"第 {number} 页另有 {len(doubtful) - MAX_REPORTED} 处数字识别置信度低，已标注")


def _centre_in(p: Piece, bbox) -> bool:
    x, y = (p.x0 + p.x1) / 2, (p.top + p.bottom) / 2
    return bbox[0] <= x <= bbox[2] and bbox[1] <= y <= bbox[3]


def _cell_text(pieces: list[Piece]) -> str:
    return "\n".join(ln.text for ln in group_lines(pieces))


def ruled_cells(array, char_px: float) -> list[list[tuple[float, float, float, float]]]:
    """Cell boxes of the ruled tables on a page image, one list per table (pdfplumber's cell finder)."""
    import cv2
    from pdfplumber.table import cells_to_tables, edges_to_intersections, intersections_to_cells, merge_edges

    gray = cv2.cvtColor(array, cv2.COLOR_RGB2GRAY)
    ink = cv2.threshold(gray, 0, 255, cv2.THRESH_BINARY_INV | cv2.THRESH_OTSU)[1]
    # Longer than any stroke of a character: only ruling lines survive the opening.
    span = max(int(2.5 * char_px), 20)
    horizontal = cv2.morphologyEx(ink, cv2.MORPH_OPEN, cv2.getStructuringElement(cv2.MORPH_RECT, (span, 1)))
    vertical = cv2.morphologyEx(ink, cv2.MORPH_OPEN, cv2.getStructuringElement(cv2.MORPH_RECT, (1, span)))
    edges = []
    for mask, orientation in ((horizontal, "h"), (vertical, "v")):
        count, _, stats, _ = cv2.connectedComponentsWithStats(mask)
        for x, y, w, h, _area in stats[1:count]:
            if orientation == "h":
                mid = y + h / 2
                edges.append({"x0": float(x), "x1": float(x + w), "top": mid, "bottom": mid,
                              "width": float(w),
                              "height": 0.0, "orientation": "h"})
            else:
                mid = x + w / 2
                edges.append({"x0": mid, "x1": mid, "top": float(y), "bottom": float(y + h), "width": 0.0,
                              "height": float(h), "orientation": "v"})
    if not edges:
        return []
    tol = max(3.0, char_px / 5)
    edges = merge_edges(edges, tol, tol, tol, tol)
    cells = intersections_to_cells(edges_to_intersections(edges, tol, tol))
    return [table for table in cells_to_tables(cells) if len(table) >= 2]

