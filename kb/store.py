"""The knowledge base on disk: generations of parquet tables + an embedded Chroma (or a Chroma server).

Layout under ``settings.kb_dir``::

    CURRENT              name of the live generation (replaced atomically)
    gens/<gen>/          manifest.json, docs/chunks/cells/tables/facts .parquet, embeddings.npy, texts/, chroma/
    uploads/             original files, by sanitized name

A write builds a whole new generation beside the live one and swaps CURRENT last, so a crash or a bad
file mid-ingest leaves the previous knowledge base untouched. Nothing is pickled.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import hashlib
import json
import logging
import os
import shutil
import time
import uuid
from dataclasses import asdict, fields
from pathlib import Path

import numpy as np
import pandas as pd

from kb.embed import get_embedder, make_chroma_ef
from kb.errors import StoreError
from kb.records import Cell, Chunk, Document, Fact, Table
from kb.settings import Settings

logger = logging.getLogger(__name__)
FORMAT_VERSION = 1
KEEP_GENERATIONS = 2
EMBED_BATCH = 64
EMBED_CHARS = 256  # USE cost grows with length; the head of a chunk carries its topic


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


def _row_values(row: dict, cls, skip: tuple[str, ...] = ()) -> dict:
    """One stored row → constructor arguments; fields a generation written before them lacks get their default."""
    values = {}
    for f in fields(cls):
        if f.name in skip:
            continue
        if f.name not in row:
            continue  # the dataclass default applies
        v = row[f.name]
        if isinstance(v, float) and np.isnan(v):
            v = None
        if _is_container(f):
            loaded = json.loads(v) if isinstance(v, str) and v else ([] if not str(f.type).startswith("dict") else {})
            v = _freeze(loaded) if str(f.type).startswith("tuple") else loaded
        values[f.name] = v
    return values


def _freeze(v):
    return tuple(_freeze(x) for x in v) if isinstance(v, list) else v


def _frame_records(df: pd.DataFrame, cls) -> list:
    return [cls(**_row_values(row, cls)) for row in df.to_dict("records")]


def _fsync_dir(path: Path) -> None:
    with contextlib.suppress(OSError):
        fd = os.open(path, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def _write_atomic(path: Path, data: str) -> None:
    tmp = path.with_name(path.name + f".tmp-{uuid.uuid4().hex[:6]}")
    with open(tmp, "w", encoding="utf-8") as fh:
        fh.write(data)
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, path)
    _fsync_dir(path.parent)


def _sha_file(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


OS_REASONS = {
    errno.ENOTDIR: "路径中有同名文件，不是文件夹", errno.EEXIST: "路径已被文件占用", errno.EACCES: "没有写权限",
    errno.EPERM: "没有写权限", errno.EROFS: "只读文件系统", errno.ENOSPC: "磁盘空间不足",
    errno.EFBIG: "文件超过大小限制", errno.EDQUOT: "超出磁盘配额", errno.ENOENT: "路径不存在",
}


def _unwritable(path: Path, exc: OSError) -> StoreError:
    # numpy's short write on a full disk is an OSError with no errno: it is still a full disk to the user.
    reason = OS_REASONS.get(exc.errno, exc.strerror or "写入未完成，可能是磁盘已满")
    return StoreError(f"cannot write {path}: {exc}",
                      f"无法写入知识库目录 {path}（{reason}），知识库保持原样；请检查路径、磁盘空间和写权限。")


@contextlib.contextmanager
def writer_lock(kb_dir: Path):
    """One writer at a time per knowledge base (readers never wait)."""
    try:
        kb_dir.mkdir(parents=True, exist_ok=True)
        fh = open(kb_dir / ".lock", "w")
    except OSError as exc:
        raise _unwritable(kb_dir, exc) from exc
    with fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


def current_generation(kb_dir: Path) -> str | None:
    try:
        name = (kb_dir / "CURRENT").read_text(encoding="utf-8").strip()
    except FileNotFoundError:
        return None
    return name or None


def chroma_client(settings: Settings, gen_dir: Path):
    import chromadb
    from chromadb.config import Settings as ChromaSettings

    chroma_settings = ChromaSettings(anonymized_telemetry=False, allow_reset=False)
    if settings.chroma_host:
        return chromadb.HttpClient(host=settings.chroma_host, port=settings.chroma_port, settings=chroma_settings)
    return chromadb.PersistentClient(path=str(gen_dir / "chroma"), settings=chroma_settings)


def collection_name(settings: Settings, gen: str) -> str:
    # One collection per generation on a server (so swapping is atomic there too); "chunks" in a folder.
    return f"policyqa_{gen}" if settings.chroma_host else "chunks"


class StoredDocs:
    """Everything of a generation as records (what a writer copies forward and a reader serves)."""

    def __init__(self):
        self.docs: list[dict] = []
        self.texts: dict[str, str] = {}
        self.chunks: list[Chunk] = []
        self.tables: list[Table] = []
        self.facts: list[Fact] = []
        self.embeddings: dict[str, np.ndarray] = {}
        self.embedder_setting: str = ""  # the embedder the stored vectors came from

    def remove(self, doc_ids: set[str]) -> None:
        self.docs = [d for d in self.docs if d["doc_id"] not in doc_ids]
        self.texts = {k: v for k, v in self.texts.items() if k not in doc_ids}
        self.chunks = [c for c in self.chunks if c.doc_id not in doc_ids]
        self.tables = [t for t in self.tables if t.doc_id not in doc_ids]
        self.facts = [f for f in self.facts if f.doc_id not in doc_ids]
        keep = {c.chunk_id for c in self.chunks}
        self.embeddings = {k: v for k, v in self.embeddings.items() if k in keep}


def load_generation(gen_dir: Path, with_embeddings: bool = True) -> StoredDocs:
    manifest_path = gen_dir / "manifest.json"
    if not manifest_path.exists():
        raise StoreError(f"{gen_dir}: no manifest", "知识库不完整（缺少清单文件），请重新构建。")
    stored = StoredDocs()
    try:
        manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
        stored.embedder_setting = manifest.get("embedder_setting", "")
        json_columns = set(manifest.get("doc_json_columns", ["warnings", "items"]))
        docs = pd.read_parquet(gen_dir / "docs.parquet")
        stored.docs = [{k: ((json.loads(v) if isinstance(v, str) else None) if k in json_columns else v)
                        for k, v in row.items()} for row in docs.to_dict("records")]
        for d in stored.docs:
            stored.texts[d["doc_id"]] = (gen_dir / "texts" / f"{d['doc_id']}.txt").read_text(encoding="utf-8")
        stored.chunks = _frame_records(pd.read_parquet(gen_dir / "chunks.parquet"), Chunk)
        for c in stored.chunks:
            if c.page is not None:
                object.__setattr__(c, "page", int(c.page))
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
            ids = json.loads((gen_dir / "embedding_ids.json").read_text(encoding="utf-8"))
            matrix = np.load(gen_dir / "embeddings.npy", allow_pickle=False)
            stored.embeddings = {cid: matrix[i] for i, cid in enumerate(ids)}
    except StoreError:
        raise
    except Exception as exc:
        raise StoreError(f"{gen_dir}: unreadable ({exc})", "知识库文件已损坏，无法读取，请重新构建。") from exc
    return stored


def write_generation(settings: Settings, stored: StoredDocs, progress=None) -> str:
    """Write `stored` as a new generation and make it live. Returns the generation name."""
    kb_dir = settings.kb_dir
    # Names sort in creation order (microseconds), so pruning keeps the newest generations.
    now = time.time()
    stamp = time.strftime("%Y%m%d%H%M%S", time.localtime(now)) + f"{int(now * 1e6) % 1_000_000:06d}"
    gen = f"{stamp}-{uuid.uuid4().hex[:6]}"
    gen_dir = kb_dir / "gens" / gen
    try:
        (gen_dir / "texts").mkdir(parents=True)
        _write_files(settings, stored, gen, gen_dir, progress)
        _write_atomic(kb_dir / "CURRENT", gen)
    except BaseException as exc:
        # The live generation is untouched until CURRENT is replaced: dropping the half-written one is enough.
        shutil.rmtree(gen_dir, ignore_errors=True)
        if isinstance(exc, OSError):
            raise _unwritable(gen_dir, exc) from exc
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


def _write_files(settings: Settings, stored: StoredDocs, gen: str, gen_dir: Path, progress) -> None:
    embedder = get_embedder(settings.embedder)
    # A model that could not load fell back to "hash": record what really embedded the chunks.
    effective = "hash" if embedder.name == "hash" else settings.embedder
    if stored.embedder_setting and stored.embedder_setting != effective:
        stored.embeddings = {}  # vectors of another embedder cannot share a collection: embed everything anew
    missing = [c for c in stored.chunks if c.chunk_id not in stored.embeddings]
    for i in range(0, len(missing), EMBED_BATCH):
        batch = missing[i:i + EMBED_BATCH]
        vecs = embedder.encode([c.search_text[:EMBED_CHARS] for c in batch])
        for c, v in zip(batch, vecs):
            stored.embeddings[c.chunk_id] = v
        if progress:
            progress("embed", min(i + EMBED_BATCH, len(missing)), len(missing))
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
    ids = [c.chunk_id for c in stored.chunks]
    dim = embedder.dim or (len(next(iter(stored.embeddings.values()))) if stored.embeddings else 1)
    matrix = np.stack([stored.embeddings[i] for i in ids]).astype(np.float32) if ids else np.zeros((0, dim), np.float32)
    np.save(gen_dir / "embeddings.npy", matrix, allow_pickle=False)
    (gen_dir / "embedding_ids.json").write_text(json.dumps(ids), encoding="utf-8")
    _write_chroma(settings, gen, gen_dir, stored.chunks, matrix, embedder, progress)
    files = sorted(p for p in gen_dir.rglob("*") if p.is_file() and "chroma" not in p.parts)
    manifest = {
        "version": FORMAT_VERSION,
        "generation": gen,
        "created": time.strftime("%Y-%m-%d %H:%M:%S"),
        "embedder": embedder.name,
        "embedder_setting": effective,
        "doc_json_columns": json_columns,
        "chroma": f"{settings.chroma_host}:{settings.chroma_port}" if settings.chroma_host else "embedded",
        "collection": collection_name(settings, gen),
        "counts": {"documents": len(stored.docs), "chunks": len(stored.chunks), "tables": len(stored.tables),
                   "cells": len(cells), "facts": len(stored.facts)},
        "documents": [{"doc_id": d["doc_id"], "name": d["name"], "sha256": d["sha256"]} for d in stored.docs],
        "files": {str(p.relative_to(gen_dir)): _sha_file(p) for p in files},
    }
    _write_atomic(gen_dir / "manifest.json", json.dumps(manifest, ensure_ascii=False, indent=1))
    _fsync_dir(gen_dir)


def _write_chroma(settings, gen, gen_dir, chunks, matrix, embedder, progress) -> None:
    client = chroma_client(settings, gen_dir)
    ef = make_chroma_ef(embedder, "hash" if embedder.name == "hash" else settings.embedder)
    col = client.get_or_create_collection(collection_name(settings, gen), embedding_function=ef,
                                          metadata={"hnsw:space": "cosine"})
    for i in range(0, len(chunks), 500):
        batch = chunks[i:i + 500]
        col.add(
            ids=[c.chunk_id for c in batch],
            embeddings=matrix[i:i + len(batch)],
            documents=[c.text for c in batch],
            metadatas=[{"doc_id": c.doc_id, "section_path": c.section_path, "kind": c.kind, "start": c.start}
                       for c in batch],
        )
        if progress:
            progress("index", min(i + 500, len(chunks)), len(chunks))


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
        shutil.rmtree(gens_dir / name, ignore_errors=True)
        if settings.chroma_host:
            with contextlib.suppress(Exception):
                chroma_client(settings, gens_dir / live).delete_collection(collection_name(settings, name))


def verify_generation(settings: Settings, gen: str | None = None) -> list[str]:
    """Integrity problems of a generation (empty list: healthy)."""
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
        if not path.exists() or _sha_file(path) != sha:
            problems.append(f"文件 {rel} 缺失或内容与清单不符")
    try:
        col = chroma_client(settings, gen_dir).get_collection(collection_name(settings, gen))
        if col.count() != manifest["counts"]["chunks"]:
            problems.append("向量库条数与清单不符")
    except Exception as exc:  # a damaged Chroma folder raises many types
        problems.append(f"向量库无法打开：{exc}")
    return problems
