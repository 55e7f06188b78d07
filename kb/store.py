"""The knowledge base on disk: generations of parquet tables + an embedded Chroma (or a Chroma server).

Layout under ``settings.kb_dir``::

    CURRENT              name of the live generation (replaced atomically)
    gens/<gen>/          manifest.json, docs/chunks/cells/tables/facts .parquet, texts/  (lexical part)
                         embeddings.npy, embedding_ids.json, chroma/, dense.json  (its vectors, kb.dense)
    embed_cache.sqlite3  chunk vectors by (embedder, text hash), kb.embed_cache
    embedding.json       progress of the background embedder, kb.background
    uploads/             original files, by content hash (uploads/manifest.json has their names)

A write builds a whole new generation beside the live one and swaps CURRENT last, so a crash or a bad
file mid-ingest leaves the previous knowledge base untouched. With a model embedder the swap comes before
the vectors (answers need only the lexical part); the vectors count once dense.json seals them. Nothing
is pickled.
"""

from __future__ import annotations

import ctypes
import json
import logging
import shutil
import time
import uuid
from dataclasses import fields
from pathlib import Path

import numpy as np
import pandas as pd

from kb.dense import DENSE_FILE, DENSE_FILES, dense_info, load_vectors, vectors_for, verify_dense, write_dense
from kb.embed import get_embedder
from kb.errors import StoreError
from kb.layout import (
    GEN_LOCK,
    chroma_client,
    collection_name,
    current_generation,
    fsync_dir,
    sha_file,
    try_lock,
    unwritable,
    write_atomic,
    writer_lock,
)
from kb.records import Cell, Chunk, Fact, Table
from kb.settings import Settings

__all__ = ["StoredDocs", "load_generation", "load_chunks", "write_generation", "verify_generation",
           "dense_mode", "current_generation", "writer_lock", "chroma_client", "collection_name"]
logger = logging.getLogger(__name__)
FORMAT_VERSION = 2  # 2: vectors sealed apart by dense.json (they may follow the swap)
KEEP_GENERATIONS = 2
INSTANT_EMBEDDERS = ("hash", "none", "")


def _is_container(f) -> bool:
    # Annotations are strings here (postponed evaluation): tuple/list/dict fields are stored as JSON text.
    return str(f.type).startswith(("tuple", "list", "dict"))


def _records_frame(records, cls, skip: tuple[str, ...] = ()) -> pd.DataFrame:
    """Records → a frame; container fields become JSON text so parquet stores them as plain strings."""
    wanted = [f for f in fields(cls) if f.name not in skip]
    rows = []
    for r in records:
        row = {}
        for f in wanted:
            v = getattr(r, f.name)
            row[f.name] = json.dumps(_plain(v), ensure_ascii=False) if _is_container(f) else v
        rows.append(row)
    return pd.DataFrame(rows, columns=[f.name for f in wanted])


def _plain(v):
    if isinstance(v, tuple | list):
        return [_plain(x) for x in v]
    if isinstance(v, dict):
        return {k: _plain(x) for k, x in v.items()}
    return v


def _container_value(f, v):
    loaded = json.loads(v) if isinstance(v, str) and v else ([] if not str(f.type).startswith("dict") else {})
    return _freeze(loaded) if str(f.type).startswith("tuple") else loaded


def _row_values(row: dict, cls, skip: tuple[str, ...] = ()) -> dict:
    """One stored row → constructor arguments; fields an older generation lacks get their default."""
    values = {}
    for f in fields(cls):
        if f.name in skip:
            continue
        if f.name not in row:
            continue  # the dataclass default applies
        v = row[f.name]
        if isinstance(v, float) and np.isnan(v):
            v = None
        values[f.name] = _container_value(f, v) if _is_container(f) else v
    return values


def _freeze(v):
    return tuple(_freeze(x) for x in v) if isinstance(v, list) else v


def _column(df: pd.DataFrame, f) -> list:
    """A column as plain Python values: NaN → None, JSON → containers, equal strings shared (cells repeat
    their row's quote, column and unit: one object each instead of one per cell)."""
    values = df[f.name].tolist()
    if _is_container(f):
        return [_container_value(f, None if isinstance(v, float) and v != v else v) for v in values]
    memo: dict = {}
    return [None if isinstance(v, float) and v != v else memo.setdefault(v, v) if isinstance(v, str) else v
            for v in values]


def _frame_records(df: pd.DataFrame, cls) -> list:
    # Column by column: no dict per row, which at a thousand plans is most of the loading time and memory.
    present = [f for f in fields(cls) if f.name in df.columns]
    names = [f.name for f in present]
    columns = [_column(df, f) for f in present]
    return [cls(**dict(zip(names, row))) for row in zip(*columns)] if columns else []


class StoredDocs:
    """Everything of a generation as records (what a writer copies forward and a reader serves)."""

    def __init__(self):
        self.docs: list[dict] = []
        self.texts: dict[str, str] = {}
        self.chunks: list[Chunk] = []
        self.tables: list[Table] = []
        self.facts: list[Fact] = []
        self.embeddings: dict[str, np.ndarray] = {}
        self.embedder_setting: str = ""  # the embedder the stored vectors came from (or will come from)
        self.dense_ready: bool = False  # the generation's vectors are sealed (kb.dense)

    def remove(self, doc_ids: set[str]) -> None:
        self.docs = [d for d in self.docs if d["doc_id"] not in doc_ids]
        self.texts = {k: v for k, v in self.texts.items() if k not in doc_ids}
        self.chunks = [c for c in self.chunks if c.doc_id not in doc_ids]
        self.tables = [t for t in self.tables if t.doc_id not in doc_ids]
        self.facts = [f for f in self.facts if f.doc_id not in doc_ids]
        keep = {c.chunk_id for c in self.chunks}
        self.embeddings = {k: v for k, v in self.embeddings.items() if k in keep}


def read_manifest(gen_dir: Path) -> dict:
    manifest_path = gen_dir / "manifest.json"
    if not manifest_path.exists():
        raise StoreError(f"{gen_dir}: no manifest", "知识库不完整（缺少清单文件），请重新构建。")
    try:
        return json.loads(manifest_path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise StoreError(f"{gen_dir}: unreadable manifest ({exc})", "知识库文件已损坏，无法读取，请重新构建。") from exc


def load_chunks(gen_dir: Path) -> list[Chunk]:
    chunks = _frame_records(pd.read_parquet(gen_dir / "chunks.parquet"), Chunk)
    for c in chunks:
        if c.page is not None:
            object.__setattr__(c, "page", int(c.page))
    return chunks


def load_generation(gen_dir: Path, with_embeddings: bool = True) -> StoredDocs:
    manifest = read_manifest(gen_dir)
    stored = StoredDocs()
    try:
        info = dense_info(gen_dir)
        stored.dense_ready = info is not None
        stored.embedder_setting = (info or manifest).get("embedder_setting", "")
        json_columns = set(manifest.get("doc_json_columns", ["warnings", "items"]))
        docs = pd.read_parquet(gen_dir / "docs.parquet")
        stored.docs = [{k: ((json.loads(v) if isinstance(v, str) else None) if k in json_columns else v)
                        for k, v in row.items()} for row in docs.to_dict("records")]
        for d in stored.docs:
            stored.texts[d["doc_id"]] = (gen_dir / "texts" / f"{d['doc_id']}.txt").read_text(encoding="utf-8")
        stored.chunks = load_chunks(gen_dir)
        cells = _frame_records(pd.read_parquet(gen_dir / "cells.parquet"), Cell)
        by_table: dict[str, list[Cell]] = {}
        for cell in cells:
            by_table.setdefault(cell.table_id, []).append(cell)
        meta = pd.read_parquet(gen_dir / "tables.parquet")
        for row in meta.to_dict("records"):
            values = _row_values(row, Table, skip=("cells",))
            values["start"], values["end"] = int(values["start"]), int(values["end"])
            stored.tables.append(Table(**values, cells=tuple(by_table.get(row["table_id"], []))))
        stored.facts = _frame_records(pd.read_parquet(gen_dir / "facts.parquet"), Fact)
        if with_embeddings:
            stored.embeddings = load_vectors(gen_dir)
    except StoreError:
        raise
    except Exception as exc:
        raise StoreError(f"{gen_dir}: unreadable ({exc})", "知识库文件已损坏，无法读取，请重新构建。") from exc
    return stored


def release_free_memory() -> None:
    """Hand back to the OS what loading freed: pyarrow's pool and glibc's heap keep it otherwise (at a
    thousand plans ~110 MB of a serving process's memory, measured)."""
    try:
        import pyarrow as pa

        pa.default_memory_pool().release_unused()
    except (ImportError, AttributeError):
        pass
    try:
        ctypes.CDLL("libc.so.6").malloc_trim(0)
    except (OSError, AttributeError):  # not glibc: nothing to trim
        pass


def dense_mode(settings: Settings, requested: str | None = None) -> str:
    """"inline" (vectors before the swap) or "background" (after it). auto: a model embeds after the swap, the
    instant hash embedder before it."""
    mode = requested or settings.embed_mode
    if mode == "auto":
        return "inline" if settings.embedder in INSTANT_EMBEDDERS else "background"
    return mode


def write_generation(settings: Settings, stored: StoredDocs, progress=None, dense: str | None = None) -> str:
    """Write `stored` as a new generation and make it live. Returns the generation name.

    ``dense`` ("inline" | "background", default from the settings): whether its vectors are written before
    the swap, or left for kb.background to add (the generation answers lexically meanwhile).
    """
    kb_dir = settings.kb_dir
    # Names sort in creation order (microseconds), so pruning keeps the newest generations.
    now = time.time()
    stamp = time.strftime("%Y%m%d%H%M%S", time.localtime(now)) + f"{int(now * 1e6) % 1_000_000:06d}"
    gen = f"{stamp}-{uuid.uuid4().hex[:6]}"
    gen_dir = kb_dir / "gens" / gen
    try:
        (gen_dir / "texts").mkdir(parents=True)
        _write_files(settings, stored, gen, gen_dir, progress, dense_mode(settings, dense))
        write_atomic(kb_dir / "CURRENT", gen)
    except BaseException as exc:
        # The live generation is untouched until CURRENT is replaced: dropping the half-written one is enough.
        shutil.rmtree(gen_dir, ignore_errors=True)
        if isinstance(exc, OSError):
            raise unwritable(gen_dir, exc) from exc
        if isinstance(exc, Exception) and not isinstance(exc, StoreError):
            logger.warning("writing generation %s failed: %r", gen, exc)
            raise StoreError(f"writing generation {gen} failed: {exc!r}",
                             "写入知识库失败（可能是磁盘已满或没有写权限），知识库保持原样。") from exc
        raise
    try:
        _prune(settings, gen)
    except OSError as exc:  # old generations left behind cost disk space, nothing else
        logger.warning("could not prune old generations: %s", exc)
    return gen


def _inline_vectors(settings: Settings, stored: StoredDocs, progress):
    embedder = get_embedder(settings.embedder)
    # A model that could not load fell back to "hash": record what really embedded the chunks.
    effective = "hash" if embedder.name == "hash" else settings.embedder
    known = stored.embeddings if stored.embedder_setting in ("", effective) else {}
    # vectors of another embedder cannot share a collection: embed everything anew
    matrix, sources = vectors_for(settings.kb_dir, stored.chunks, embedder, effective, known,
                                  settings.embed_workers, progress)
    return embedder, effective, matrix, sources


def _write_files(settings: Settings, stored: StoredDocs, gen: str, gen_dir: Path, progress,
                 mode: str) -> None:
    vectors = _inline_vectors(settings, stored, progress) if mode == "inline" else None
    for d in stored.docs:
        (gen_dir / "texts" / f"{d['doc_id']}.txt").write_text(stored.texts[d["doc_id"]], encoding="utf-8")
    json_columns = sorted({k for d in stored.docs for k, v in d.items() if isinstance(v, list | dict | tuple)}
                          | {"warnings", "items"})
    docs_df = pd.DataFrame([{k: (json.dumps(_plain(v), ensure_ascii=False) if k in json_columns else v)
                             for k, v in {"warnings": [], "items": [], **d}.items()} for d in stored.docs])
    docs_df.to_parquet(gen_dir / "docs.parquet", index=False)
    _records_frame(stored.chunks, Chunk).to_parquet(gen_dir / "chunks.parquet", index=False)
    cells = [c for t in stored.tables for c in t.cells]
    _records_frame(cells, Cell).to_parquet(gen_dir / "cells.parquet", index=False)
    _records_frame(stored.tables, Table, skip=("cells",)).to_parquet(gen_dir / "tables.parquet", index=False)
    _records_frame(stored.facts, Fact).to_parquet(gen_dir / "facts.parquet", index=False)
    lexical = sorted(p for p in gen_dir.rglob("*") if p.is_file() and "chroma" not in p.parts
                     and p.name not in DENSE_FILES + (DENSE_FILE,) and not p.name.startswith("."))
    setting = settings.embedder
    if vectors is not None:
        embedder, setting, matrix, sources = vectors
        write_dense(settings, gen, gen_dir, stored.chunks, matrix, embedder, setting, progress, stats=sources)
    manifest = {
        "version": FORMAT_VERSION,
        "generation": gen,
        "created": time.strftime("%Y-%m-%d %H:%M:%S"),
        "embedder_setting": setting,  # inline: what embedded; background: what kb.background is to use
        "dense": mode,
        "doc_json_columns": json_columns,
        "chroma": f"{settings.chroma_host}:{settings.chroma_port}" if settings.chroma_host else "embedded",
        "collection": collection_name(settings, gen),
        "counts": {"documents": len(stored.docs), "chunks": len(stored.chunks), "tables": len(stored.tables),
                   "cells": len(cells), "facts": len(stored.facts)},
        "documents": [{"doc_id": d["doc_id"], "name": d["name"], "sha256": d["sha256"]} for d in stored.docs],
        "files": {str(p.relative_to(gen_dir)): sha_file(p) for p in lexical},
    }
    write_atomic(gen_dir / "manifest.json", json.dumps(manifest, ensure_ascii=False, indent=1))
    fsync_dir(gen_dir)


def _prune(settings: Settings, live: str) -> None:
    gens_dir = settings.kb_dir / "gens"
    # Only finished generations (with a manifest) count as keepers; a half-written one left by a killed
    # ingest is garbage. Writers hold the lock here, so no unfinished generation is still being written.
    gens = sorted(p.name for p in gens_dir.iterdir() if p.is_dir())
    finished = [g for g in gens if (gens_dir / g / "manifest.json").exists()]
    keep = set(finished[-KEEP_GENERATIONS:]) | {live}
    for name in gens:
        if name in keep:
            continue
        # The background embedder may still be writing this generation's vectors: it holds GEN_LOCK then,
        # and the next prune removes the folder instead.
        with try_lock(gens_dir / name / GEN_LOCK) as free:
            if not free:
                continue
            shutil.rmtree(gens_dir / name, ignore_errors=True)
        if settings.chroma_host:
            try:
                chroma_client(settings, gens_dir / live).delete_collection(collection_name(settings, name))
            except Exception:  # noqa: BLE001 (absent, or the server is away: only space is lost)
                pass


def verify_generation(settings: Settings, gen: str | None = None) -> list[str]:
    """Integrity problems of a generation (empty: healthy; vectors still being added are not a problem)."""
    gen = gen or current_generation(settings.kb_dir)
    if not gen:
        return ["没有可用的知识库（CURRENT 不存在）"]
    gen_dir = settings.kb_dir / "gens" / gen
    problems = []
    try:
        manifest = json.loads((gen_dir / "manifest.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return [f"第 {gen} 代知识库缺少或损坏了清单文件"]
    for rel, sha in manifest.get("files", {}).items():
        path = gen_dir / rel
        if not path.exists() or sha_file(path) != sha:
            problems.append(f"文件 {rel} 缺失或内容与清单不符")
    return problems + verify_dense(settings, gen, gen_dir)
