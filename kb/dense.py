"""A generation's vectors: ``embeddings.npy`` + ``embedding_ids.json`` + its Chroma collection, sealed by
``dense.json``.

A generation goes live with its text, tables, facts and BM25 (kb.store); its vectors may follow later
(kb.background). They count only once ``dense.json``, written last and atomically, says what they are, so a
reader never queries a half-written Chroma: until then search is lexical. Vectors come from, in order: the
previous generation (same embedder), the embedding cache, the encoder (all cores, kb.embed_pool).
"""

from __future__ import annotations

import contextlib
import json
import logging
import shutil
import time
from pathlib import Path

import numpy as np

from kb.embed import Embedder, embed_text, make_chroma_ef, text_key
from kb.embed_cache import EmbeddingCache
from kb.embed_pool import EncoderPool
from kb.layout import chroma_client, collection_name, fsync_dir, sha_file, write_atomic
from kb.settings import Settings

logger = logging.getLogger(__name__)
DENSE_FILE = "dense.json"
DENSE_FILES = ("embeddings.npy", "embedding_ids.json")
ENCODE_SLICE = 1024  # texts encoded between cache writes: what an interrupted run loses at most
CHROMA_BATCH = 500


class Superseded(Exception):
    """A newer generation went live: finishing this one's vectors would be wasted work."""


def dense_info(gen_dir: Path) -> dict | None:
    """What sealed a generation's vectors (None: not written yet). Format-1 generations wrote them inline."""
    try:
        return json.loads((gen_dir / DENSE_FILE).read_text(encoding="utf-8"))
    except FileNotFoundError:
        pass
    except (OSError, ValueError):
        return None
    try:
        manifest = json.loads((gen_dir / "manifest.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if manifest.get("version", 1) < 2 and (gen_dir / "embeddings.npy").exists():
        return {"embedder": manifest.get("embedder", ""),
                "embedder_setting": manifest.get("embedder_setting", ""),
                "count": manifest.get("counts", {}).get("chunks", 0),
                "collection": manifest.get("collection"), "files": {}, "legacy": True}
    return None


def load_vectors(gen_dir: Path) -> dict[str, np.ndarray]:
    """chunk_id → vector of a generation whose vectors are sealed ({} otherwise)."""
    if dense_info(gen_dir) is None:
        return {}
    ids = json.loads((gen_dir / "embedding_ids.json").read_text(encoding="utf-8"))
    matrix = np.load(gen_dir / "embeddings.npy", allow_pickle=False)
    return {cid: matrix[i] for i, cid in enumerate(ids)}


def vectors_for(kb_dir: Path, chunks, embedder: Embedder, spec: str, known: dict | None = None,
                workers: int = 1, progress=None, should_stop=None) -> tuple[np.ndarray, dict]:
    """One vector per chunk (rows in chunk order) and where they came from: {"known", "cached", "encoded"}.

    Encoded vectors enter the cache slice by slice, so an interrupted run resumes where it stopped;
    `should_stop()` returning True raises Superseded between slices.
    """
    dim = embedder.dim or 1
    matrix = np.zeros((len(chunks), dim), dtype=np.float32)
    texts = [embed_text(c) for c in chunks]
    keys = [text_key(t) for t in texts]
    stats = {"known": 0, "cached": 0, "encoded": 0}
    todo: dict[str, list[int]] = {}  # text key → rows still without a vector
    for i, c in enumerate(chunks):
        vec = (known or {}).get(c.chunk_id)
        if vec is not None and len(vec) == dim:
            matrix[i] = vec
            stats["known"] += 1
        else:
            todo.setdefault(keys[i], []).append(i)
    cache = EmbeddingCache(kb_dir, embedder.cache_key) if embedder.cache_key else None
    try:
        if cache is not None and todo:
            for key, vec in cache.get_many(list(todo)).items():
                if len(vec) == dim:
                    for i in todo.pop(key):
                        matrix[i] = vec
                        stats["cached"] += 1
        missing = list(todo)
        if missing:
            # Worker processes only for a model: the hash embedder is done before a worker could start.
            pool = EncoderPool(spec, embedder, workers if embedder.cache_key else 1)
            _encode_missing(missing, todo, texts, matrix, cache, pool, progress, should_stop)
            stats["encoded"] = sum(len(todo[k]) for k in missing)
    finally:
        if cache is not None:
            cache.close()
    return matrix, stats


def _encode_missing(missing, todo, texts, matrix, cache, pool: EncoderPool, progress, should_stop) -> None:
    total = len(missing)
    with pool:
        for start in range(0, total, ENCODE_SLICE):
            if should_stop and should_stop():
                raise Superseded(f"stopped after {start} of {total} texts")
            part = missing[start:start + ENCODE_SLICE]
            tick = (lambda done, _t, s=start: progress("embed", s + done, total)) if progress else None
            vecs = pool.encode([texts[todo[k][0]] for k in part], tick)
            for key, vec in zip(part, vecs):
                for i in todo[key]:
                    matrix[i] = vec
            if cache is not None:
                cache.put_many(dict(zip(part, vecs)))


def clear_dense(settings: Settings, gen: str, gen_dir: Path) -> None:
    """Remove what an interrupted vector write left (never sealed, so no reader ever used it)."""
    (gen_dir / DENSE_FILE).unlink(missing_ok=True)
    for name in DENSE_FILES:
        (gen_dir / name).unlink(missing_ok=True)
    shutil.rmtree(gen_dir / "chroma", ignore_errors=True)
    if settings.chroma_host:
        with contextlib.suppress(Exception):  # absent is the usual case
            chroma_client(settings, gen_dir).delete_collection(collection_name(settings, gen))


def write_dense(settings: Settings, gen: str, gen_dir: Path, chunks, matrix: np.ndarray, embedder: Embedder,
                effective: str, progress=None, should_stop=None, stats: dict | None = None) -> dict:
    """Write the vectors and the Chroma collection of a generation, then seal them with dense.json."""
    ids = [c.chunk_id for c in chunks]
    np.save(gen_dir / "embeddings.npy", matrix.astype(np.float32, copy=False), allow_pickle=False)
    (gen_dir / "embedding_ids.json").write_text(json.dumps(ids), encoding="utf-8")
    client = chroma_client(settings, gen_dir)
    col = client.get_or_create_collection(collection_name(settings, gen),
                                          embedding_function=make_chroma_ef(embedder, effective),
                                          metadata={"hnsw:space": "cosine"})
    for i in range(0, len(chunks), CHROMA_BATCH):
        if should_stop and should_stop():
            raise Superseded(f"stopped after {i} of {len(chunks)} vectors indexed")
        batch = chunks[i:i + CHROMA_BATCH]
        col.add(ids=[c.chunk_id for c in batch], embeddings=matrix[i:i + len(batch)],
                documents=[c.text for c in batch],
                metadatas=[{"doc_id": c.doc_id, "section_path": c.section_path, "kind": c.kind,
                            "start": c.start} for c in batch])
        if progress:
            progress("index", min(i + CHROMA_BATCH, len(chunks)), len(chunks))
    info = {
        "embedder": embedder.name, "embedder_setting": effective,
        "dim": int(matrix.shape[1]) if matrix.ndim == 2 else 0, "count": len(ids),
        "collection": collection_name(settings, gen),
        "chroma": f"{settings.chroma_host}:{settings.chroma_port}" if settings.chroma_host else "embedded",
        "created": time.strftime("%Y-%m-%d %H:%M:%S"), "sources": stats or {},
        "files": {name: sha_file(gen_dir / name) for name in DENSE_FILES},
    }
    write_atomic(gen_dir / DENSE_FILE, json.dumps(info, ensure_ascii=False, indent=1))
    fsync_dir(gen_dir)
    return info


def verify_dense(settings: Settings, gen: str, gen_dir: Path) -> list[str]:
    """Problems of a generation's sealed vectors; unsealed (still being embedded) is not a problem."""
    info = dense_info(gen_dir)
    if info is None:
        return []
    problems = [f"文件 {name} 缺失或内容与清单不符" for name, sha in info.get("files", {}).items()
                if not (gen_dir / name).exists() or sha_file(gen_dir / name) != sha]
    try:
        col = chroma_client(settings, gen_dir).get_collection(collection_name(settings, gen))
        if col.count() != info.get("count"):
            problems.append("向量库条数与清单不符")
    except Exception as exc:  # a damaged Chroma folder raises many types
        problems.append(f"向量库无法打开：{exc}")
    return problems
