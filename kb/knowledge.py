"""The read side: a loaded generation with hybrid search (BM25 over tokens + dense via Chroma, weighted RRF).

Dense search is the second signal and the slow one (an embedder to load, a query to embed): it runs only
when the generation's vectors are sealed and BM25 is unsure (see ``lexical_sure``);
``search(..., dense=True/False)`` forces either way.
"""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

import numpy as np

from kb.dense import dense_info
from kb.embed import get_embedder, make_chroma_ef, query_vector
from kb.errors import StoreError
from kb.lexical import LexicalIndex
from kb.records import Chunk, Document, Fact, Table
from kb.settings import Settings
from kb.store import chroma_client, collection_name, current_generation, load_generation, release_free_memory
from kb.tokens import search_tokens

logger = logging.getLogger(__name__)
RRF_K = 60
DENSE_RECHECK_S = 1.0  # how often an unsealed generation looks again for its vectors
SURE_COVERAGE = 0.7  # BM25 is sure when its best hit holds this share of the question's tokens


@dataclass(frozen=True)
class Hit:
    chunk: Chunk
    score: float  # fused score
    lexical: float  # raw BM25 score (0 = no query term in the chunk)


class KnowledgeBase:
    def __init__(self, settings: Settings, gen: str, gen_dir: Path):
        self.settings = settings
        self.generation = gen
        self.gen_dir = gen_dir
        stored = load_generation(gen_dir, with_embeddings=False)
        self.docs: list[dict] = stored.docs
        self.texts = stored.texts
        self.chunks = stored.chunks
        self.tables: list[Table] = stored.tables
        self.facts: list[Fact] = stored.facts
        self.chunk_by_id = {c.chunk_id: c for c in self.chunks}
        # Queries must be embedded by the model that embedded the chunks, whatever the current setting says.
        self.embedder_setting = stored.embedder_setting or settings.embedder
        self.doc_names = {d["doc_id"]: d["name"] for d in self.docs}
        self._bm25 = None
        self._collection = None
        self._collection_lock = threading.Lock()
        self._by_doc: dict[str, dict] | None = None
        self._labels: dict[str, str] | None = None
        self._dense_sealed = stored.dense_ready
        self._dense_checked = time.monotonic()
        self.dense_calls = 0  # searches that asked the dense index (the gate's effect, for the benchmarks)
        self._build_bm25()
        release_free_memory()

    @classmethod
    def open(cls, settings: Settings) -> "KnowledgeBase":
        gen = current_generation(settings.kb_dir)
        if not gen:
            raise StoreError(f"no knowledge base at {settings.kb_dir}", "知识库还没有建立，请先导入规划文件。")
        gen_dir = settings.kb_dir / "gens" / gen
        if not gen_dir.is_dir():
            raise StoreError(f"generation {gen} missing", "知识库目录不完整，请重新构建。")
        return cls(settings, gen, gen_dir)

    # ----- lexical -----
    def _build_bm25(self) -> None:
        # Token by token into numpy arrays: the token strings of a thousand plans, held at once, were ~300 MB.
        self._bm25 = LexicalIndex(search_tokens(c.search_text) for c in self.chunks)

    def lexical_scores(self, query: str) -> np.ndarray:
        if not self.chunks:
            return np.zeros(0)
        tokens = search_tokens(query)
        if not tokens:
            return np.zeros(len(self.chunks))
        return np.asarray(self._bm25.scores(tokens), dtype=float)

    # ----- dense -----
    def dense_ready(self) -> bool:
        """The generation's vectors are sealed (written after the swap by kb.background, or with it)."""
        if not self._dense_sealed and time.monotonic() - self._dense_checked >= DENSE_RECHECK_S:
            self._dense_checked = time.monotonic()
            info = dense_info(self.gen_dir)
            if info is not None:
                self.embedder_setting = info.get("embedder_setting") or self.embedder_setting
                self._dense_sealed = True
        return self._dense_sealed

    def warm_dense(self) -> bool:
        """Load the embedder and Chroma and run one query now (the app's background warm-up); False when the
        vectors are not there yet."""
        if not self.dense_ready():
            return False
        return bool(self.dense_ranking("预热", 1))

    def _get_collection(self):
        # Two first questions at once must not open Chroma twice (its client is not safe to build at once).
        with self._collection_lock:
            if self._collection is None:
                embedder = get_embedder(self.embedder_setting)
                client = chroma_client(self.settings, self.gen_dir)
                self._collection = client.get_collection(
                    collection_name(self.settings, self.generation),
                    embedding_function=make_chroma_ef(embedder, self.embedder_setting),
                )
            return self._collection

    def dense_ranking(self, query: str, k: int, doc_ids: set[str] | None = None) -> list[str]:
        if not self.chunks or not self.dense_ready():
            return []
        self.dense_calls += 1
        try:
            vec = query_vector(get_embedder(self.embedder_setting), query)
            where = {"doc_id": {"$in": sorted(doc_ids)}} if doc_ids else None
            res = self._get_collection().query(query_embeddings=[vec.tolist()],
                                               n_results=min(k, len(self.chunks)),
                                               where=where, include=[])
            return list(res["ids"][0])
        except Exception as exc:  # dense is the second signal: lexical answers alone if it fails
            logger.warning("dense retrieval unavailable: %s", exc)
            return []

    def lexical_sure(self, query: str, scores: np.ndarray, order: list[int]) -> bool:
        """The dense gate: BM25 is sure when its best hit leads the next by settings.dense_margin of its
        score, or holds most (SURE_COVERAGE) of the question's tokens. Measured (eval.bench, retrieval):
        dense fusion never raised recall@5 on the dev set or the real plans, and lowered it where BM25 was
        sure."""
        margin = self.settings.dense_margin
        if margin <= 0:
            return False
        if len(order) < 2:
            return True
        best, second = float(scores[order[0]]), float(scores[order[1]])
        if best > 0 and (best - second) / best >= margin:
            return True
        wanted = set(search_tokens(query))
        held = wanted & set(search_tokens(self.chunks[order[0]].search_text))
        return bool(wanted) and len(held) / len(wanted) >= SURE_COVERAGE

    def search(self, query: str, k: int = 5, doc_ids: set[str] | None = None,
               dense: bool | str = "auto") -> list[Hit]:
        """Hybrid search: weighted reciprocal-rank fusion of BM25 (weight 1) and dense (dense_weight).

        dense: "auto" asks the dense index only when BM25 is unsure (see lexical_sure); True always
        (when the vectors are there), False never: table and fact answers need no embedder at all.
        """
        scores = self.lexical_scores(query)
        if not len(scores):
            return []
        order = [i for i in np.argsort(-scores) if scores[i] > 0]
        if doc_ids:
            order = [i for i in order if self.chunks[i].doc_id in doc_ids]
        fused: dict[str, float] = {}
        lexical: dict[str, float] = {}
        for rank, i in enumerate(order[: max(50, k)]):
            cid = self.chunks[i].chunk_id
            fused[cid] = 1.0 / (RRF_K + rank + 1)
            lexical[cid] = float(scores[i])
        weight = self.settings.dense_weight
        if dense == "auto":
            dense = bool(order) and not self.lexical_sure(query, scores, order)
        if dense and weight > 0 and order:
            for rank, cid in enumerate(self.dense_ranking(query, max(50, k), doc_ids)):
                fused[cid] = fused.get(cid, 0.0) + weight / (RRF_K + rank + 1)
        ranked = sorted(fused.items(), key=lambda kv: -kv[1])[:k]
        return [Hit(self.chunk_by_id[cid], s, lexical.get(cid, 0.0)) for cid, s in ranked]

    # ----- lookups -----
    def doc_name(self, doc_id: str) -> str:
        return self.doc_names.get(doc_id, doc_id)

    def doc_label(self, doc_id: str) -> str:
        """How answers name a document: its title without digits, so a file name like "000_88d2….txt" never
        puts figures nobody stated into an answer."""
        if self._labels is None:
            self._labels = {d["doc_id"]: document_label(d["name"], self.texts.get(d["doc_id"], ""), i)
                            for i, d in enumerate(self.docs, 1)}
        return self._labels.get(doc_id, "未命名文档")

    def text_of(self, doc_id: str) -> str:
        return self.texts.get(doc_id, "")

    def document_list(self) -> list[dict]:
        return list(self.docs)

    def subset(self, doc_ids: set[str]) -> "KnowledgeView":
        """The same knowledge base seen through some of its documents (search stays on the shared index)."""
        return KnowledgeView(self, doc_ids)

    def by_document(self) -> dict[str, dict]:
        """doc_id → its doc row, tables, facts and chunks (built once: views of one document stay cheap)."""
        if self._by_doc is None:
            index = {d["doc_id"]: {"doc": d, "tables": [], "facts": [], "chunks": []} for d in self.docs}
            for name, records in (("tables", self.tables), ("facts", self.facts), ("chunks", self.chunks)):
                for r in records:
                    if r.doc_id in index:
                        index[r.doc_id][name].append(r)
            self._by_doc = index
        return self._by_doc


def document_label(name: str, text: str, index: int) -> str:
    """The file name without extension; failing that (digits in it), the title line; else a number word."""
    import re

    stem = name.rsplit(".", 1)[0]
    if not re.search(r"\d", stem):
        return stem
    first = next((ln.strip().lstrip("#").strip() for ln in text.splitlines() if ln.strip()), "")
    if 4 <= len(first) <= 40 and not re.search(r"\d", re.sub(r"(?:19|20)\d{2}(?=年|—|-)", "", first)):
        return first
    cleaned = re.sub(r"[\d_\-\s]+", "", stem)
    if len(re.findall(r"[\u4e00-\u9fff]", cleaned)) >= 4:
        return cleaned
    words = "一二三四五六七八九十"
    return f"文档{words[index - 1] if index <= 10 else '其他'}"


class KnowledgeView:
    """A read-only slice of a KnowledgeBase: the tools and answerers take either.

    Its lists are built on first use: a question over many plans makes a view per plan and most of them are
    asked for their tables only.
    """

    def __init__(self, base: KnowledgeBase, doc_ids: set[str]):
        self.base = base
        self.doc_ids = set(doc_ids)
        self.settings = base.settings
        self.generation = base.generation

    @cached_property
    def _ordered(self) -> list[str]:
        return [d["doc_id"] for d in self.base.docs if d["doc_id"] in self.doc_ids]

    def _gather(self, name: str) -> list:
        index = self.base.by_document()
        return [r for d in self._ordered for r in index[d][name]]

    @cached_property
    def docs(self) -> list[dict]:
        index = self.base.by_document()
        return [index[d]["doc"] for d in self._ordered]

    @cached_property
    def texts(self) -> dict[str, str]:
        return {d: self.base.texts[d] for d in self._ordered if d in self.base.texts}

    @cached_property
    def tables(self) -> list[Table]:
        return self._gather("tables")

    @cached_property
    def facts(self) -> list[Fact]:
        return self._gather("facts")

    @cached_property
    def chunks(self) -> list[Chunk]:
        return self._gather("chunks")

    @cached_property
    def chunk_by_id(self) -> dict[str, Chunk]:
        return {c.chunk_id: c for c in self.chunks}

    @cached_property
    def doc_names(self) -> dict[str, str]:
        return {d: self.base.doc_names[d] for d in self._ordered}

    def search(self, query: str, k: int = 5, doc_ids: set[str] | None = None,
               dense: bool | str = "auto") -> list[Hit]:
        return self.base.search(query, k, (doc_ids or self.doc_ids) & self.doc_ids, dense)

    def dense_ready(self) -> bool:
        return self.base.dense_ready()

    def doc_name(self, doc_id: str) -> str:
        return self.base.doc_name(doc_id)

    def doc_label(self, doc_id: str) -> str:
        return self.base.doc_label(doc_id)

    def text_of(self, doc_id: str) -> str:
        return self.base.text_of(doc_id)

    def subset(self, doc_ids: set[str]) -> "KnowledgeView":
        return KnowledgeView(self.base, self.doc_ids & set(doc_ids))

    def by_document(self) -> dict[str, dict]:
        return {d: v for d, v in self.base.by_document().items() if d in self.doc_ids}


_KB_CACHE: dict[tuple, KnowledgeBase] = {}
_KB_LOCK = threading.Lock()


def open_kb(settings: Settings, reload: bool = False) -> KnowledgeBase:
    """The live generation, cached per (kb_dir, generation): a swapped CURRENT is picked up next call."""
    gen = current_generation(settings.kb_dir)
    key = (str(settings.kb_dir.resolve()), gen, settings.chroma_host, settings.embedder)
    with _KB_LOCK:
        if not reload and key in _KB_CACHE:
            return _KB_CACHE[key]
        kb = KnowledgeBase.open(settings)
        _KB_CACHE.clear()
        key = (str(settings.kb_dir.resolve()), kb.generation, settings.chroma_host, settings.embedder)
        _KB_CACHE[key] = kb
        return kb


__all__ = ["Hit", "KnowledgeBase", "open_kb", "Document"]
