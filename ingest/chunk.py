"""Section-aware chunks: sentences (split with jieba, never mid-word or mid-number) grouped per section."""

from __future__ import annotations

import hashlib
import logging
import re

from kb.records import Chunk, join_path

logger = logging.getLogger(__name__)

TARGET_CHARS = 320
MAX_CHARS = 600
SENTENCE_END = re.compile(r"[。！？!?；;]")


def chunk_id_for(doc_id: str, start: int, text: str) -> str:
    return "c_" + hashlib.sha1(f"{doc_id}:{start}:{text}".encode()).hexdigest()[:16]


def _tokenizer():
    import jieba

    jieba.setLogLevel(logging.WARNING)
    return jieba


def sentence_spans(text: str, start: int, end: int) -> list[tuple[int, int]]:
    """Sentence spans in text[start:end]; a sentence longer than MAX_CHARS is cut at a jieba word boundary."""
    spans, lo = [], start
    for m in SENTENCE_END.finditer(text, start, end):
        spans.append((lo, m.end()))
        lo = m.end()
    if lo < end:
        spans.append((lo, end))
    out: list[tuple[int, int]] = []
    for s, e in spans:
        while s < e and text[s] in " \n":
            s += 1
        if s >= e:
            continue
        if e - s <= MAX_CHARS:
            out.append((s, e))
            continue
        out.extend(_cut_long(text, s, e))
    return out


def _cut_long(text: str, s: int, e: int) -> list[tuple[int, int]]:
    jieba = _tokenizer()
    pieces, pos, cur = [], s, s
    for tok in jieba.cut(text[s:e], HMM=False):
        nxt = pos + len(tok)
        # Prefer to cut after a comma; never inside a jieba token (so never inside a number), and before
        # the token that would take the piece past MAX_CHARS.
        if nxt - cur > MAX_CHARS and pos > cur:
            pieces.append((cur, pos))
            cur = pos
        if nxt - cur >= TARGET_CHARS and (tok in "，,、：:" or nxt - cur >= MAX_CHARS):
            pieces.append((cur, nxt))
            cur = nxt
        pos = nxt
    if cur < e:
        pieces.append((cur, e))
    return pieces


def make_chunks(doc_id: str, text: str, blocks, page_of=None) -> list[Chunk]:
    """Group outline blocks (ingest.structure.Block) into chunks; tables become their own chunks."""
    chunks: list[Chunk] = []
    group: list[tuple[int, int]] = []
    group_path: tuple[str, ...] | None = None

    def flush():
        nonlocal group
        if group:
            s, e = group[0][0], group[-1][1]
            body = text[s:e]
            path = join_path(group_path or ())
            chunks.append(Chunk(chunk_id_for(doc_id, s, body), doc_id, body, path, s, e, "text",
                                page_of(s) if page_of else None))
        group = []

    for block in blocks:
        if block.kind == "table":
            flush()
            continue  # tables are chunked by the pipeline with their title and unit
        if block.path != group_path:
            flush()
            group_path = block.path
        for s, e in sentence_spans(text, block.start, block.end):
            if group and e - group[0][0] > TARGET_CHARS:
                flush()
            group.append((s, e))
    flush()
    return chunks
