"""BM25 over pre-tokenized chunks, built with numpy: the scores of bm25s (Lucene variant, k1 1.5, b 0.75)
without its per-document Python objects, which at a thousand plans cost ~60 MB of a serving process's
memory and most of its start-up time.

    index = LexicalIndex(search_tokens(c.search_text) for c in chunks)
    scores = index.scores(search_tokens(question))      # one float per chunk, 0 = no question token in it
"""

from __future__ import annotations

import math
from array import array
from collections.abc import Iterable

import numpy as np

K1 = 1.5
B = 0.75
EMPTY_TOKEN = "_"  # a chunk with no tokens still counts one, as bm25s's corpus did


BLOCK_TOKENS = 1 << 18  # tokens counted at a time: the build's scratch memory stays a few MB


class LexicalIndex:
    def __init__(self, token_lists: Iterable[list[str]], k1: float = K1, b: float = B):
        vocab: dict[str, int] = {}
        lengths = array("i")
        parts: list[tuple[np.ndarray, np.ndarray, np.ndarray]] = []  # (doc, token, tf) of distinct pairs
        ids, first_doc = array("i"), 0
        for tokens in token_lists:
            tokens = tokens or [EMPTY_TOKEN]
            ids.extend(vocab.setdefault(t, len(vocab)) for t in tokens)
            lengths.append(len(tokens))
            if len(ids) >= BLOCK_TOKENS:
                parts.append(_pairs(ids, lengths, first_doc))
                ids, first_doc = array("i"), len(lengths)
        if ids:
            parts.append(_pairs(ids, lengths, first_doc))
        self.vocab = vocab
        self.num_docs = len(lengths)
        n_vocab = max(1, len(vocab))
        df = np.zeros(n_vocab, dtype=np.int64)
        for _, tokens_, _ in parts:
            df += np.bincount(tokens_, minlength=n_vocab)
        doc_len = np.frombuffer(lengths, dtype=np.int32) if lengths else np.ones(1, np.int32)
        avg_len = doc_len.mean()
        # Same arithmetic as bm25s (float32 idf and tf, float64 length norm), so the scores are equal.
        idf = np.array([math.log(1 + (self.num_docs - d + 0.5) / (d + 0.5)) for d in df], dtype=np.float32)
        self.indptr = np.concatenate([[0], np.cumsum(df)]).astype(np.int64)
        self.indices = np.empty(int(self.indptr[-1]), dtype=np.int32)
        self.data = np.empty(int(self.indptr[-1]), dtype=np.float32)
        fill = self.indptr[:-1].copy()
        while parts:  # each block's postings go straight to their place (token-major, chunks ascending)
            docs, tokens_, tf = parts.pop(0)
            norm = k1 * ((1 - b) + b * doc_len[docs] / avg_len)
            weights = (idf[tokens_] * (tf / (norm + tf))).astype(np.float32)
            order = np.argsort(tokens_, kind="stable")
            ranked = tokens_[order]
            pos = fill[ranked] + (np.arange(len(ranked)) - np.searchsorted(ranked, ranked, side="left"))
            self.indices[pos] = docs[order]
            self.data[pos] = weights[order]
            fill += np.bincount(tokens_, minlength=n_vocab)

    def scores(self, tokens: list[str]) -> np.ndarray:
        out = np.zeros(self.num_docs, dtype=np.float32)
        for token in tokens:  # a repeated question token counts again, as in bm25s
            t = self.vocab.get(token)
            if t is not None:
                start, end = self.indptr[t], self.indptr[t + 1]
                np.add.at(out, self.indices[start:end], self.data[start:end])
        return out

    @property
    def nbytes(self) -> int:
        return self.indptr.nbytes + self.indices.nbytes + self.data.nbytes


def _pairs(ids: array, lengths: array, first_doc: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The distinct (chunk, token) pairs of chunks first_doc.. and how often each token occurs there."""
    token_ids = np.frombuffer(ids, dtype=np.int32).astype(np.int64)
    doc_len = np.frombuffer(lengths, dtype=np.int32)[first_doc:]
    docs = np.repeat(np.arange(first_doc, first_doc + len(doc_len), dtype=np.int64), doc_len)
    width = int(token_ids.max()) + 1
    pairs, tf = np.unique(docs * width + token_ids, return_counts=True)
    return (pairs // width).astype(np.int32), (pairs % width).astype(np.int32), tf.astype(np.float32)
