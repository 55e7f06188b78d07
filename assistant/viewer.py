"""The document viewer's lookups: where a citation stands in its document, the section tree, the context
around a passage, the PDF page and (when pypdfium2 is installed) the page image with the cited area marked.

    place = locate(kb, citation)          # Place(doc_id, start, end, section path, page, problem)
    before, quote, after = context(kb.text_of(place.doc_id), place.start, place.end)
    tree = outline(kb.text_of(place.doc_id))
"""

from __future__ import annotations

import functools
import io
import logging
from dataclasses import dataclass
from pathlib import Path

from kb.records import PATH_SEP, Citation

logger = logging.getLogger(__name__)
CONTEXT_CHARS = 360  # text shown each side of a passage, in whole paragraphs where they fit
PAGE_SCALE = 1.6  # 72 dpi × 1.6 ≈ 115 dpi: readable on screen, ~100–300 KB a page
DELETED = "这个出处所在的文档《{doc}》已不在知识库中（可能已被删除），无法打开原文。"
NOT_FOUND = "在文档中没有找到这段引文（文档可能已更新），下面显示文档开头。"


@dataclass(frozen=True)
class Place:
    """Where a passage stands in a document of the knowledge base."""
    doc_id: str
    doc: str
    start: int = -1
    end: int = -1
    section_path: tuple[str, ...] = ()
    page: int | None = None  # 1-based PDF page
    quote: str = ""
    problem: str = ""

    @property
    def found(self) -> bool:
        return self.start >= 0 and not self.problem


@dataclass(frozen=True)
class OutlineEntry:
    level: int  # 1 = top-level heading
    title: str
    path: tuple[str, ...]
    start: int
    end: int


@functools.lru_cache(maxsize=32)
def outline(text: str) -> tuple[OutlineEntry, ...]:
    """The section tree of a stored text, in document order (what ingest's heading parser sees)."""
    from ingest.structure import parse_outline

    parsed = parse_outline(text)
    entries = [OutlineEntry(len(path), path[-1], path, start, end)
               for path, start, end in parsed.sections if path]
    return tuple(sorted(entries, key=lambda e: (e.start, e.level)))


def section_at(text: str, offset: int) -> tuple[str, ...]:
    """The deepest section holding an offset."""
    best: tuple[str, ...] = ()
    for e in outline(text):
        if e.start <= offset <= e.end and len(e.path) > len(best):
            best = e.path
    return best


def section_span(text: str, path: tuple[str, ...]) -> tuple[int, int] | None:
    return next(((e.start, e.end) for e in outline(text) if e.path == tuple(path)), None)


def _doc_of(kb, doc_id: str = "", name: str = "") -> tuple[str, str]:
    """(doc_id, name) of a document still in the knowledge base; ('', name) when it is not."""
    if kb is None:
        return "", name
    for d in kb.docs:
        if (doc_id and d["doc_id"] == doc_id) or (not doc_id and name and d["name"] == name):
            return d["doc_id"], d["name"]
    renamed = [d for d in kb.docs if doc_id and name and d["name"] == name]
    if renamed:  # re-ingested under a new id: the same name still finds it
        return renamed[0]["doc_id"], renamed[0]["name"]
    return "", name


def page_at(kb, doc_id: str, offset: int) -> int | None:
    """The PDF page holding an offset (chunks carry their page); None for formats without pages."""
    paged = [c for c in getattr(kb, "chunks", ()) if c.doc_id == doc_id and c.page is not None and c.start <= offset]
    best = max(paged, key=lambda c: c.start, default=None)
    return int(best.page) if best is not None else None


def locate(kb, citation: Citation | None = None, doc_id: str = "", quote: str = "", start: int = -1) -> Place:
    """Find a citation (or a doc_id + quote, or a doc_id + offset) in the live knowledge base."""
    if citation is not None:
        doc_id, quote = doc_id or citation.doc_id, quote or citation.quote
    name = citation.doc if citation is not None else ""
    found_id, found_name = _doc_of(kb, doc_id, name)
    if not found_id:
        return Place(doc_id, name, quote=quote, problem=DELETED.format(doc=name or doc_id or "未知"))
    text = kb.text_of(found_id)
    at = text.find(quote) if quote else start
    if quote and at < 0 and len(quote) > 30:  # a quote reflowed since: its head may still be there
        at = text.find(quote[:30])
        end = at + 30 if at >= 0 else -1
    else:
        end = at + len(quote) if at >= 0 else -1
    if at < 0 or at > len(text):
        return Place(found_id, found_name, quote=quote, problem=NOT_FOUND if quote else "")
    path = section_at(text, at)
    if not path and citation is not None and citation.section_path:
        path = tuple(citation.section_path.split(PATH_SEP))
    return Place(found_id, found_name, at, end, path, page_at(kb, found_id, at), quote)


def context(text: str, start: int, end: int, chars: int = CONTEXT_CHARS) -> tuple[str, str, str]:
    """(before, passage, after): whole paragraphs around text[start:end] up to `chars` each side."""
    lo = max(0, start - chars)
    cut = text.find("\n\n", lo, start)
    lo = cut + 2 if cut >= 0 and lo > 0 else lo
    hi = min(len(text), end + chars)
    cut = text.rfind("\n\n", end, hi)
    hi = cut if cut >= 0 and hi < len(text) else hi
    before = ("…" if lo > 0 else "") + text[lo:start]
    after = text[end:hi] + ("…" if hi < len(text) else "")
    return before, text[start:end], after


# ---------- what ingest understood ----------

def understood(kb, doc_id: str) -> dict:
    """A document as ingest understood it: its row (format, counts, warnings, metadata when stored), tables
    with typed cells, and prose facts."""
    row = next((dict(d) for d in kb.docs if d["doc_id"] == doc_id), None)
    if row is None:
        return {}
    tables = [t for t in kb.tables if t.doc_id == doc_id]
    facts = [f for f in kb.facts if f.doc_id == doc_id]
    meta = row.get("meta") if isinstance(row.get("meta"), dict) else {}
    return {"doc": row, "tables": tables, "facts": facts, "warnings": list(row.get("warnings") or []),
            "meta": meta, "items": list(row.get("items") or [])}


def table_cells(table) -> list[dict]:
    """A table's cells as typed rows: what each printed cell was read as."""
    kinds = {"number": "数值", "range": "区间", "text": "文字", "empty": "空"}
    out = []
    for c in table.cells:
        label = f"{c.parent_label} › {c.row_label}" if c.parent_label else c.row_label
        out.append({"行": label, "列": c.column,
                    "原文": c.raw, "数值": c.value, "上限": c.value_hi, "单位": c.unit,
                    "类型": kinds.get(c.kind, c.kind or ("数值" if c.value is not None else "文字")),
                    "比较": c.comparator, "限定": c.qualifier, "年份": c.year, "角色": c.role, "标记": c.flag})
    return out


# ---------- PDF pages ----------

def original_path(settings, doc_id: str) -> Path | None:
    """The uploaded original of a document (kept for rebuilds), if it is still there."""
    from assistant.admin import originals

    try:
        return next((u.path for u in originals(settings) if u.doc_id == doc_id and u.path.is_file()), None)
    except OSError:
        return None


def can_render_pages() -> bool:
    try:
        import pypdfium2  # noqa: F401
    except ImportError:
        return False
    return True


def _probes(quote: str) -> list[str]:
    """Search strings from long to short: PDF text breaks lines where the normalized text does not."""
    quote = " ".join(quote.split())
    out = [quote] + [quote[:n] for n in (40, 20, 10) if len(quote) > n]
    return [p for p in out if len(p) >= 4]


def page_image(pdf: bytes | Path, page: int, quote: str = "",
               scale: float = PAGE_SCALE) -> tuple[bytes, bool] | None:
    """(PNG of a PDF page, whether the quote was found and boxed in red); None when it cannot be rendered."""
    try:
        import pypdfium2 as pdfium
        from PIL import ImageDraw
    except ImportError:
        return None
    try:
        document = pdfium.PdfDocument(str(pdf) if isinstance(pdf, Path) else pdf)
        if not 1 <= page <= len(document):
            return None
        p = document[page - 1]
        image = p.render(scale=scale).to_pil().convert("RGB")
        height = p.get_height()
        boxes = _quote_boxes(p.get_textpage(), quote) if quote else []
        draw = ImageDraw.Draw(image, "RGBA")
        for left, bottom, right, top in boxes:
            xy = (left * scale - 3, (height - top) * scale - 3,
                  right * scale + 3, (height - bottom) * scale + 3)
            draw.rectangle(xy, fill=(255, 224, 138, 90), outline=(217, 72, 15, 255), width=3)
        out = io.BytesIO()
        image.save(out, format="PNG", optimize=True)
        document.close()
        return out.getvalue(), bool(boxes)
    except Exception as exc:  # a damaged PDF: the viewer still shows the text
        logger.warning("page %s could not be rendered: %s", page, exc)
        return None


def _quote_boxes(textpage, quote: str) -> list[tuple[float, float, float, float]]:
    for probe in _probes(quote):
        searcher = textpage.search(probe, match_case=False)
        hit = searcher.get_next()
        if hit:
            index, count = hit
            return [textpage.get_rect(i) for i in range(textpage.count_rects(index, count))]
    return []


__all__ = ["OutlineEntry", "Place", "context", "locate", "outline", "page_at", "page_image", "section_at",
           "understood"]
