"""The plan-document format in one place: loaded text → normalized text → Document (outline, tables, facts, chunks)."""

from __future__ import annotations

import bisect
import hashlib
import re
from dataclasses import replace
from pathlib import Path

from ingest.chunk import chunk_id_for, make_chunks
from ingest.facts import extract_facts, is_instruction, sentences
from ingest.loaders import Loaded, load_bytes
from ingest.metadata import extract_aliases, extract_metadata, front_matter
from ingest.normalize import TABLE_TITLE, normalize_document, normalize_text
from ingest.structure import parse_outline
from ingest.tables import build_table, title_unit
from kb.errors import EmptyDocument
from kb.records import Chunk, Document, Section, join_path

INTRO_MAX_CHARS = 200
MD_HEADING_MARK = re.compile(r"^#{1,6}\s+")


def doc_id_for(name: str, sha: str) -> str:
    stem = re.sub(r"[^0-9A-Za-z\u4e00-\u9fff]+", "_", Path(name).stem).strip("_")[:40] or "doc"
    return f"{stem}_{sha[:8]}"


LABEL_LINE = re.compile(r"^([^\d：:。；，,]{2,20})[：:]$")  # "B类普通商品房小区：" over the lines it heads
ITEM_HEAD = re.compile(r"^([^\d：:。；，,]{1,8})[：:](?=.*\d)")  # "一等奖：…7.5万元"


def parse_bytes(name: str, data: bytes) -> Document:
    """Parse one file's bytes into a Document; raises IngestError subclasses with Chinese messages."""
    loaded = load_bytes(name, data)
    sha = hashlib.sha256(data).hexdigest()
    return parse_loaded(name, loaded, sha)


def parse_loaded(name: str, loaded: Loaded, sha: str) -> Document:
    text, table_notes = normalize_document(loaded.text, loaded.fmt)
    if not text.strip():
        raise EmptyDocument(f"{name}: no text", "文件中没有可识别的文字。")
    doc_id = doc_id_for(name, sha)
    doc = Document(doc_id=doc_id, name=Path(name).name, sha256=sha, text=text, fmt=loaded.fmt, encoding=loaded.encoding)
    doc.warnings.extend(loaded.warnings)
    doc.warnings.extend(table_notes)
    front = front_matter(loaded.text)[0] if loaded.fmt == "md" else {}
    doc.meta.update(extract_metadata(text, front))
    doc.aliases = extract_aliases(text)
    if loaded.pages:
        doc.meta["pages"] = loaded.pages
    outline = parse_outline(text)
    doc.sections = [Section(doc_id, path, len(path), s, e) for path, s, e in outline.sections]
    page_of = None
    if loaded.page_starts:
        doc.page_starts = _page_starts(loaded, text)
        page_of = lambda off: bisect.bisect_right(doc.page_starts, off)  # noqa: E731 (1-based pages)
    blocks = outline.blocks
    label = ""
    for idx, block in enumerate(blocks):
        if block.kind in ("para", "item", "heading"):
            facts = extract_facts(doc_id, block.text, block.start, block.path)
            head = ITEM_HEAD.match(block.text.strip())
            if label and head:
                # "B类普通商品房小区：" ⏎ "一等奖：给予物业项目奖励7.5万元": the item's quantity is the label's
                facts = [replace(f, subject=(label + head.group(1) + f.subject)[-60:]) for f in facts]
            elif not head:
                m = LABEL_LINE.match(block.text.strip())
                label = m.group(1) if m else ""
            doc.facts.extend(facts)
            if is_instruction(block.text):
                doc.warnings.append(f"第 {text.count(chr(10), 0, block.start) + 1} 行含有像是给机器的指令的文字，"
                                    "已按普通文本保存，不从中提取数字")
        if block.kind == "item":
            doc.items.append(block.text)
        if block.kind == "table":
            title, intro, unit_hint = _caption(blocks, idx, text)
            table, warnings = build_table(doc_id, text, block.start, block.end, title, block.path, intro,
                                          title_unit(title) or unit_hint, _notes_after(blocks, idx))
            doc.warnings.extend(warnings)
            if table is not None:
                doc.tables.append(table)
                doc.facts.extend(_cell_facts(doc_id, text, table, block.path))
    doc.chunks = make_chunks(doc_id, text, blocks, page_of)
    doc.chunks.extend(_table_chunks(doc, page_of))
    doc.chunks.sort(key=lambda c: c.start)
    if not doc.chunks:
        raise EmptyDocument(f"{name}: no chunks", "文件有内容，但没有切分出任何可检索的段落。")
    return doc


def _page_starts(loaded: Loaded, text: str) -> list[int]:
    # Map each page's first line into the normalized text (normalization only shortens lines).
    starts, pos = [], 0
    raw = loaded.text
    for p, raw_start in enumerate(loaded.page_starts):
        snippet = normalize_text(raw[raw_start: raw_start + 200]).strip().split("\n")[0][:20]
        found = text.find(snippet, pos) if snippet else -1
        starts.append(found if found >= 0 else pos)
        pos = max(pos, starts[-1])
    return starts


def _caption(blocks, idx: int, text: str) -> tuple[str, str, str]:
    """Title, introducing sentence and unit line for the table at blocks[idx]."""
    block = blocks[idx]
    title, unit_hint, intro = block.box, "", ""
    j = idx - 1
    while j >= 0 and blocks[j].kind in ("para", "item", "box_title", "heading") and j >= idx - 3:
        prev = blocks[j]
        line = MD_HEADING_MARK.sub("", prev.text.strip())
        if re.match(r"^[（(]?[\u4e00-\u9fff]{0,4}单位[：:]", line):
            unit_hint = title_unit(line)
        elif prev.kind == "heading":
            # "### 表1 主要指标" right above its table names it; any other heading ends the caption.
            if not title and (TABLE_TITLE.match(line) or j == idx - 1 or (j == idx - 2 and unit_hint)):
                title = line
            break
        elif not title and (TABLE_TITLE.match(line) or (len(line) <= 40 and line[-1] not in "。；;，,")):
            title = line
        elif prev.kind != "box_title":
            intro = _last_sentence(line)
            break
        j -= 1
    if not intro:
        # The sentence before the box title introduces the table ("各盟市全面完成…指标…").
        k = j
        while k >= 0 and blocks[k].kind == "box_title":
            k -= 1
        if (k >= 0 and blocks[k].kind in ("para", "item") and blocks[k].text.rstrip()[-1:] in "。；;：:！!"
                and blocks[k].path[: len(block.path) - 1] == block.path[: len(block.path) - 1]):
            intro = _last_sentence(blocks[k].text)
    return title or "表格", intro, unit_hint


NOTE_LINE = re.compile(r"^(?:注|备注|说明|资料来源|数据来源)\s*\d*\s*[：:]")


def _notes_after(blocks, idx: int) -> tuple[str, ...]:
    """Note lines printed under a table ("注：〔 〕内为5年累计数。", "备注：1.… 2.…")."""
    notes: list[str] = []
    for block in blocks[idx + 1: idx + 8]:
        line = block.text.strip()
        if block.kind == "table":
            break
        if not notes and NOTE_LINE.match(line):
            notes.append(line)
        elif notes and re.match(r"^\d+[.、．]", line) and len(line) < 200:
            notes.append(line)
        else:
            break
    return tuple(notes)


def _last_sentence(text: str) -> str:
    parts = sentences(text)
    return parts[-1][1][:INTRO_MAX_CHARS] if parts else ""


def _table_chunks(doc: Document, page_of) -> list[Chunk]:
    out = []
    for table in doc.tables:
        start = table.start
        title_at = doc.text.rfind(table.title, 0, table.start)
        if title_at >= 0 and table.start - title_at < 200:
            start = title_at
        body = doc.text[start: table.end]
        units = sorted({c.unit for c in table.cells if c.unit})
        context = " ".join(filter(None, [table.title, table.intro, "单位：" + "、".join(units) if units else ""]))
        out.append(Chunk(chunk_id_for(doc.doc_id, start, body), doc.doc_id, body, table.section_path, start,
                         table.end, "table", page_of(start) if page_of else None, context))
    return out


def section_path_at(doc: Document, offset: int) -> str:
    best = ()
    for sec in doc.sections:
        if sec.start <= offset <= sec.end and len(sec.path) > len(best):
            best = sec.path
    return join_path(best)


def describe(doc: Document) -> dict:
    """What ingest understood of one file, for the per-file report: counts, each table's caption and shape,
    the metadata fields found."""
    tables = []
    for t in doc.tables:
        rows = len(t.row_labels)
        tables.append({"title": t.title, "rows": rows, "columns": len(t.columns)})
    found = [k for k in META_LABELS if doc.meta.get(k)]
    return {
        "format": doc.fmt, "encoding": doc.encoding, "chars": len(doc.text), "pages": doc.meta.get("pages", 0),
        "sections": len(doc.sections), "tables": len(doc.tables), "rows": sum(t["rows"] for t in tables),
        "table_shapes": tables, "facts": len(doc.facts), "chunks": len(doc.chunks),
        "metadata": [META_LABELS[k] for k in found], "aliases": len(doc.aliases),
    }


# Metadata fields in the order a report lists them, with their Chinese names.
META_LABELS = {"title": "标题", "doc_number": "文号", "issuers": "发文机关", "signed_date": "成文日期",
               "published_date": "发布日期", "validity": "有效期", "status": "状态",
               "attachment_titles": "附件", "attachments": "附件链接"}


def _cell_facts(doc_id: str, text: str, table, path) -> list:
    """Quantities written in the words of a task table's cells ("创建20个新时代“美丽家园”特色小区、10个…示范小区"):
    facts like those of the prose. A place table's cells are the places' own (never the whole area's), so not there."""
    from kb.vocab import is_region_table

    if is_region_table(table):
        return []
    out, seen = [], set()
    for cell in table.cells:
        for words in (cell.raw if cell.kind == "text" else "", cell.row_label):
            if len(words or "") < 10 or not re.search(r"\d", words) or words in seen:
                continue
            seen.add(words)
            at = text.find(words, table.start, table.end)
            if at < 0:
                continue
            out.extend(extract_facts(doc_id, words, at, tuple(path) + (table.title,)))
    return out
