"""Lexical first, vectors after: a generation answers as soon as it is live, its vectors are sealed later
(in this process or a detached one), an interrupted run resumes, and no chunk is embedded twice."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from ingest.pipeline import delete_documents, ingest_files, ingest_paths
from kb.background import PROGRESS_FILE, complete_embeddings, embedding_status, start_background_embedding
from kb.dense import DENSE_FILE, vectors_for
from kb.embed import HashEmbedder, embed_text, register_embedder
from kb.embed_cache import CACHE_FILE, EmbeddingCache
from kb.knowledge import KnowledgeBase
from kb.settings import load_settings
from kb.store import chroma_client, collection_name, current_generation, load_chunks, verify_generation

ROOT = Path(__file__).resolve().parents[1]
DUST = "工业粉尘治理有哪些措施"


class CountingEmbedder(HashEmbedder):
    """The hash embedder under another name, cached like a model, counting what it encodes."""

    name = "counting"
    cache_key = "counting-1"

    def __init__(self):
        self.encoded = 0

    def encode(self, texts):
        self.encoded += len(texts)
        return super().encode(texts)


@pytest.fixture
def counting():
    embedder = CountingEmbedder()
    register_embedder("counting", embedder)
    return embedder


def background_settings(tmp_path, embedder="hash"):
    return load_settings(data_dir=tmp_path / "data", embedder=embedder, embed_mode="background",
                         embed_workers=1)


def gen_dir(settings) -> Path:
    return settings.kb_dir / "gens" / current_generation(settings.kb_dir)


def changed(sample_plan_path, old: str, new: str) -> bytes:
    return sample_plan_path.read_text(encoding="utf-8").replace(old, new).encode("utf-8")


def test_a_generation_answers_before_its_vectors_and_gains_them_later(tmp_path, sample_plan_path):
    settings = background_settings(tmp_path)
    report = ingest_paths(settings, [sample_plan_path], embed="defer")
    assert not report.failed and report.embedding == "deferred"
    assert not (gen_dir(settings) / DENSE_FILE).exists()
    kb = KnowledgeBase.open(settings)
    assert not kb.dense_ready() and verify_generation(settings) == []
    hits = kb.search(DUST, k=5, dense=True)  # asked for, but there is nothing to ask yet: lexical
    assert hits and kb.dense_calls == 0
    assert embedding_status(settings).state == "pending"
    assert "关键词" in embedding_status(settings).message

    seen = []
    status = complete_embeddings(settings, lambda stage, done, total: seen.append(stage))
    assert status.complete and status.total == len(kb.chunks)
    assert {"load", "embed", "index"} <= set(seen)
    assert verify_generation(settings) == []
    collection = chroma_client(settings, gen_dir(settings)).get_collection(
        collection_name(settings, kb.generation))
    assert collection.count() == len(kb.chunks)
    kb._dense_checked = 0.0  # the reader that opened before the seal sees it on its next look
    assert kb.dense_ready()
    assert len(kb.dense_ranking(DUST, 5)) == 5 and kb.dense_calls == 1
    assert [h.chunk.chunk_id for h in hits] == [h.chunk.chunk_id for h in kb.search(DUST, k=5, dense=False)]


def test_reingest_and_delete_then_add_back_embed_nothing_unchanged(tmp_path, sample_plan_path, counting):
    settings = background_settings(tmp_path, "counting")
    ingest_paths(settings, [sample_plan_path], embed="defer")
    complete_embeddings(settings)
    first = counting.encoded
    chunks = load_chunks(gen_dir(settings))
    assert first == len({embed_text(c) for c in chunks})  # equal texts share one vector

    # One table cell and one figure in prose changed: only the chunks whose embedded head changed are new.
    data = changed(sample_plan_path, "\t乌海市\n\t16%\n\t8.5%\n", "\t乌海市\n\t16%\n\t9.6%\n")
    data = data.decode("utf-8").replace("淘汰铜冶炼3.5", "淘汰铜冶炼4.5").encode("utf-8")
    ingest_files(settings, [(sample_plan_path.name, data)], embed="defer")
    complete_embeddings(settings)
    new_texts = {embed_text(c) for c in load_chunks(gen_dir(settings))} - {embed_text(c) for c in chunks}
    assert 0 < counting.encoded - first == len(new_texts) < 5

    doc_id = KnowledgeBase.open(settings).docs[0]["doc_id"]
    before = counting.encoded
    delete_documents(settings, [doc_id], embed="defer")
    complete_embeddings(settings)
    ingest_files(settings, [(sample_plan_path.name, data)], embed="defer")
    status = complete_embeddings(settings)
    assert status.complete and counting.encoded == before  # all from the cache
    sources = json.loads((gen_dir(settings) / DENSE_FILE).read_text(encoding="utf-8"))["sources"]
    assert sources["encoded"] == 0 and sources["cached"] == len(load_chunks(gen_dir(settings)))


def test_an_interrupted_run_resumes_from_the_cache(tmp_path, sample_plan_path, counting):
    settings = background_settings(tmp_path, "counting")
    ingest_paths(settings, [sample_plan_path], embed="defer")
    folder = gen_dir(settings)
    chunks = load_chunks(folder)
    half = chunks[: len(chunks) // 2]
    vectors_for(settings.kb_dir, half, counting, "counting")  # what a killed run had cached
    # ... and what it left half-written: vectors and a Chroma folder, never sealed, and a dead writer.
    np.save(folder / "embeddings.npy", np.zeros((3, 256), np.float32))
    (folder / "chroma").mkdir()
    (folder / "chroma" / "chroma.sqlite3").write_bytes(b"half")
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    (settings.kb_dir / PROGRESS_FILE).write_text(json.dumps(
        {"generation": folder.name, "state": "running", "stage": "embed", "done": 10, "total": 117,
         "pid": dead.pid, "started": time.time()}), encoding="utf-8")
    assert embedding_status(settings).state == "pending"
    kb = KnowledgeBase.open(settings)
    assert not kb.dense_ready() and kb.search(DUST, k=3) and verify_generation(settings) == []

    encoded = counting.encoded
    assert complete_embeddings(settings).complete
    remaining = {embed_text(c) for c in chunks} - {embed_text(c) for c in half}
    assert counting.encoded - encoded == len(remaining)
    assert verify_generation(settings) == []


def test_a_detached_process_seals_the_vectors_and_reports_progress(tmp_path, sample_plan_path):
    settings = background_settings(tmp_path)
    report = ingest_paths(settings, [sample_plan_path])  # embed="background": a detached process
    assert report.embedding == "background"
    deadline = time.monotonic() + 90
    states = set()
    while time.monotonic() < deadline:
        status = embedding_status(settings)
        states.add(status.state)
        if status.complete:
            break
        time.sleep(0.05)
    assert status.complete, (states, (settings.kb_dir / "embedding.log").read_text(errors="replace"))
    assert status.fraction == 1.0 and verify_generation(settings) == []
    assert states <= {"running", "complete"}  # "running" from the start: never "pending" while it imports
    assert not start_background_embedding(settings)  # nothing left to do


@pytest.mark.skipif(not hasattr(signal, "SIGKILL"), reason="needs SIGKILL")
def test_sigkill_while_sealing_vectors_leaves_a_lexical_kb_that_resumes(tmp_path, sample_plan_path):
    folder = tmp_path / "plans"
    folder.mkdir()
    text = sample_plan_path.read_text(encoding="utf-8")
    for i in range(6):
        (folder / f"规划{i}.txt").write_text(text + f"\n附{i}：新增一段。\n", encoding="utf-8")
    data_dir = tmp_path / "data"
    env = dict(os.environ, POLICYQA_EMBEDDER="hash", POLICYQA_EMBED_MODE="background", PYTHONPATH=str(ROOT),
               ANONYMIZED_TELEMETRY="False")
    proc = subprocess.Popen([sys.executable, "-m", "ingest", str(folder), "--kb", str(data_dir), "--quiet"],
                            cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    progress = data_dir / "kb" / PROGRESS_FILE
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and proc.poll() is None:
        try:
            if json.loads(progress.read_text(encoding="utf-8")).get("stage") in ("embed", "index"):
                break
        except (OSError, ValueError):
            pass
        time.sleep(0.002)
    assert proc.poll() is None, "the ingest finished before it could be killed"
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=30)
    settings = load_settings(data_dir=data_dir, embedder="hash", embed_mode="background", embed_workers=1)
    kb = KnowledgeBase.open(settings)  # live, whole, answering from its lexical part
    assert len(kb.docs) == 6 and not kb.dense_ready()
    assert verify_generation(settings) == [] and kb.search(DUST, k=5)
    assert embedding_status(settings).state == "pending"
    assert complete_embeddings(settings).complete
    assert verify_generation(settings) == []


def test_the_gate_asks_the_dense_index_only_when_bm25_is_unsure(kb_settings):
    kb = KnowledgeBase.open(kb_settings)
    assert kb.dense_ready()
    kb.search("乌海市二氧化硫排放量降低", k=5, dense=False)
    assert kb.dense_calls == 0
    kb.search("乌海市二氧化硫排放量降低", k=5, dense=True)
    assert kb.dense_calls == 1
    sure = unsure = 0
    # Sure: a clear leader, or a hit holding the question's words; unsure: words the plan barely has.
    for query in ("加强工业粉尘综合治理", "政府机构节能", "合同能源管理 量子计算 区块链", "能源 粮食 教育 医疗"):
        calls = kb.dense_calls
        kb.search(query, k=5)
        scores = kb.lexical_scores(query)
        order = [int(i) for i in np.argsort(-scores) if scores[i] > 0]
        is_sure = kb.lexical_sure(query, scores, order)
        assert (kb.dense_calls > calls) == (not is_sure)
        sure += is_sure
        unsure += not is_sure
    assert sure and unsure
    always = KnowledgeBase.open(kb_settings.with_(dense_margin=0))
    always.search("节能", k=5)
    assert always.dense_calls == 1


def test_table_and_fact_answers_never_ask_the_dense_index(kb_settings):
    from assistant.core import Assistant

    kb = KnowledgeBase.open(kb_settings)
    bot = Assistant(kb_settings, kb)
    for question in ("乌海市二氧化硫目标是多少", "哪个盟市氮氧化物降幅最大", "呼伦贝尔市氮氧化物年均降幅是多少"):
        assert not bot.ask(question).refused
    assert kb.dense_calls == 0


def test_the_bm25_index_scores_as_the_string_corpus_did(sample_kb):
    import bm25s

    from kb.tokens import search_tokens

    reference = bm25s.BM25()
    reference.index([search_tokens(c.search_text) or ["_"] for c in sample_kb.chunks], show_progress=False)
    for query in (DUST, "乌海市二氧化硫", "全区单位GDP能耗下降", "不在这里的词"):
        tokens = search_tokens(query)
        expected = np.asarray(reference.get_scores(tokens), float)
        assert np.array_equal(sample_kb.lexical_scores(query), expected)


def test_worker_processes_return_the_same_vectors(tmp_path):
    from kb.embed_pool import PARALLEL_MIN, EncoderPool

    texts = [f"第{i}条：到2015年，全市单位GDP能耗下降{i % 17}%。" for i in range(PARALLEL_MIN + 40)]
    expected = HashEmbedder().encode(texts)
    seen = []
    with EncoderPool("hash", HashEmbedder(), workers=2) as pool:
        got = pool.encode(texts, lambda done, total: seen.append(done))
        assert len(pool._procs) == 1  # this process and one worker
    assert np.array_equal(got, expected) and seen[-1] == len(texts)


def test_the_embedding_cache_keeps_embedders_apart_and_survives_damage(tmp_path, caplog):
    a, b = EmbeddingCache(tmp_path, "model-a"), EmbeddingCache(tmp_path, "model-b")
    vec = np.arange(4, dtype=np.float32)
    assert a.put_many({"k1": vec})
    assert np.array_equal(a.get_many(["k1", "k2"])["k1"], vec) and b.get_many(["k1"]) == {}
    a.close()
    b.close()
    (tmp_path / CACHE_FILE).write_bytes(b"not a database" * 100)
    for suffix in ("-wal", "-shm"):
        (tmp_path / (CACHE_FILE + suffix)).unlink(missing_ok=True)
    broken = EmbeddingCache(tmp_path, "model-a")
    assert broken.get_many(["k1"]) == {} and not broken.put_many({"k1": vec})
    assert "embedding cache" in caplog.text


def test_a_generation_written_before_sealed_vectors_still_counts_as_embedded(kb_settings):
    folder = gen_dir(kb_settings)
    manifest = json.loads((folder / "manifest.json").read_text(encoding="utf-8"))
    (folder / DENSE_FILE).unlink()
    manifest["version"] = 1
    (folder / "manifest.json").write_text(json.dumps(manifest), encoding="utf-8")
    kb = KnowledgeBase.open(kb_settings)
    assert kb.dense_ready() and len(kb.dense_ranking(DUST, 5)) == 5
    assert embedding_status(kb_settings).complete


def test_readers_while_vectors_are_sealed_see_a_whole_generation(tmp_path, sample_plan_path):
    import threading

    from kb.knowledge import open_kb

    settings = background_settings(tmp_path)
    text = sample_plan_path.read_text(encoding="utf-8")
    files = [(f"规划{i}.txt", (text + f"\n附{i}：新增一段。\n").encode("utf-8")) for i in range(3)]
    ingest_files(settings, files, embed="defer")
    stop, errors, reads = threading.Event(), [], []

    def reader() -> None:
        while not stop.is_set():
            try:
                kb = open_kb(settings)
                hits = kb.search(DUST, k=5, dense=True)
                assert hits and all(h.chunk.chunk_id in kb.chunk_by_id for h in hits)
                reads.append(kb.dense_ready())
            except Exception as exc:  # noqa: BLE001 (any failure at all is the finding)
                errors.append(repr(exc))

    threads = [threading.Thread(target=reader) for _ in range(4)]
    for t in threads:
        t.start()
    try:
        assert complete_embeddings(settings).complete
        time.sleep(1.5)  # past DENSE_RECHECK_S: the open readers notice the seal
    finally:
        stop.set()
        for t in threads:
            t.join()
    assert errors == [] and False in reads and reads[-1] is True
