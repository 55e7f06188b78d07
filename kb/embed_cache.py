"""Chunk vectors by (embedder, text hash), kept beside the generations: never embed the same chunk twice.

Re-ingesting a changed plan, a rebuild, or deleting a plan and adding it back find their unchanged chunks
here. One SQLite file (``<kb>/embed_cache.sqlite3``), WAL mode so the background embedder writes while a
writer reads; vectors are raw float32 bytes, nothing is pickled. The cache is an optimization only: a
damaged or unwritable cache is logged and skipped, never an ingest error.

    cache = EmbeddingCache(settings.kb_dir, embedder.cache_key)
    found = cache.get_many(keys)            # key → vector, for the keys it holds
    cache.put_many({key: vector, ...})
"""

from __future__ import annotations

import contextlib
import logging
import sqlite3
import threading
from pathlib import Path

import numpy as np

logger = logging.getLogger(__name__)
CACHE_FILE = "embed_cache.sqlite3"
QUERY_CHUNK = 500  # keys per SELECT … IN (…): SQLite's default limit on host parameters is 999+
BUSY_TIMEOUT_S = 30.0


class EmbeddingCache:
    def __init__(self, kb_dir: Path, embedder_key: str):
        self.path = Path(kb_dir) / CACHE_FILE
        self.embedder_key = embedder_key
        self._lock = threading.Lock()
        self._conn: sqlite3.Connection | None = None
        self._broken = False

    def _connect(self) -> sqlite3.Connection | None:
        if self._broken:
            return None
        if self._conn is None:
            try:
                self.path.parent.mkdir(parents=True, exist_ok=True)
                conn = sqlite3.connect(self.path, timeout=BUSY_TIMEOUT_S, check_same_thread=False)
                conn.execute("PRAGMA journal_mode=WAL")
                conn.execute("PRAGMA synchronous=NORMAL")  # a lost last batch costs a re-embed, nothing else
                conn.execute("CREATE TABLE IF NOT EXISTS vectors (embedder TEXT NOT NULL, key TEXT NOT NULL, "
                             "vec BLOB NOT NULL, PRIMARY KEY (embedder, key)) WITHOUT ROWID")
                conn.commit()
                self._conn = conn
            except (sqlite3.Error, OSError) as exc:
                logger.warning("embedding cache %s unavailable: %s", self.path, exc)
                self._broken = True
                return None
        return self._conn

    def get_many(self, keys) -> dict[str, np.ndarray]:
        """The vectors the cache holds for these keys (missing keys are simply absent)."""
        keys = list(dict.fromkeys(keys))
        if not keys or not self.embedder_key:
            return {}
        found: dict[str, np.ndarray] = {}
        with self._lock:
            conn = self._connect()
            if conn is None:
                return {}
            try:
                for i in range(0, len(keys), QUERY_CHUNK):
                    part = keys[i:i + QUERY_CHUNK]
                    marks = ",".join("?" * len(part))
                    sql = f"SELECT key, vec FROM vectors WHERE embedder = ? AND key IN ({marks})"
                    rows = conn.execute(sql, [self.embedder_key, *part])
                    for key, blob in rows:
                        found[key] = np.frombuffer(blob, dtype=np.float32)
            except sqlite3.Error as exc:
                logger.warning("embedding cache read failed (%s); embedding anew", exc)
                return {}
        return found

    def put_many(self, vectors: dict[str, np.ndarray]) -> bool:
        """Store vectors; False (and a warning) when the cache cannot be written."""
        if not vectors or not self.embedder_key:
            return False
        rows = [(self.embedder_key, k, np.asarray(v, dtype=np.float32).tobytes()) for k, v in vectors.items()]
        with self._lock:
            conn = self._connect()
            if conn is None:
                return False
            try:
                with conn:
                    conn.executemany("INSERT OR REPLACE INTO vectors (embedder, key, vec) VALUES (?, ?, ?)",
                                     rows)
                return True
            except sqlite3.Error as exc:
                logger.warning("embedding cache write failed: %s", exc)
                return False

    def count(self) -> int:
        with self._lock:
            conn = self._connect()
            if conn is None:
                return 0
            try:
                return conn.execute("SELECT count(*) FROM vectors WHERE embedder = ?",
                                    [self.embedder_key]).fetchone()[0]
            except sqlite3.Error:
                return 0

    def close(self) -> None:
        with self._lock:
            if self._conn is not None:
                with contextlib.suppress(sqlite3.Error):
                    self._conn.close()
                self._conn = None
