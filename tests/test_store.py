"""The knowledge base on disk: generations with a real embedded Chroma, idempotent re-ingest, replace, delete,
integrity checks, and a crash mid-write that leaves the previous knowledge base answering as before."""

from __future__ import annotations

import json
import os
import resource
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pyarrow.parquet as pq
import pytest

from ingest.pipeline import delete_documents, ingest_files, ingest_paths, list_uploads
from kb.errors import IngestError, StoreError
from kb.knowledge import KnowledgeBase
from kb.settings import load_settings
from kb.store import chroma_client, collection_name, current_generation, verify_generation

ROOT = Path(__file__).resolve().parents[1]
DUST_QUESTION = "工业粉尘治理有哪些措施"
DUST_PATH = "四、主要污染物减排 › (二)大气污染物减排 › 4、加强工业粉尘综合治理"
PLAIN_TYPES = {"string", "large_string", "int64", "double", "bool", "null"}
SMALL_MD = "## 一、目标\n\n到2015年，全市单位GDP能耗下降16%。\n\n## 二、措施\n\n淘汰水泥500万吨。\n".encode()


def gen_dir(settings) -> Path:
    return settings.kb_dir / "gens" / current_generation(settings.kb_dir)


def chroma_collection(settings):
    gen = current_generation(settings.kb_dir)
    return chroma_client(settings, gen_dir(settings)).get_collection(collection_name(settings, gen))


def search_snapshot(settings) -> list[tuple[str, float]]:
    kb = KnowledgeBase.open(settings)
    return [(h.chunk.chunk_id, round(h.score, 9)) for h in kb.search(DUST_QUESTION, k=5)]


def test_ingest_builds_a_generation_with_a_real_chroma(kb_settings, sample_doc):
    folder = gen_dir(kb_settings)
    manifest = json.loads((folder / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["counts"]["chunks"] == len(sample_doc.chunks)
    assert manifest["chroma"] == "embedded"
    collection = chroma_collection(kb_settings)
    assert collection.count() == len(sample_doc.chunks)
    stored = collection.get(include=["metadatas", "documents"])
    assert sorted(stored["ids"]) == sorted(c.chunk_id for c in sample_doc.chunks)
    by_id = {c.chunk_id: c for c in sample_doc.chunks}
    for cid, text, meta in zip(stored["ids"], stored["documents"], stored["metadatas"]):
        assert text == by_id[cid].text
        assert meta["section_path"] == by_id[cid].section_path


def test_search_finds_the_dust_chunk(sample_kb):
    hits = sample_kb.search(DUST_QUESTION, k=5)
    assert any(h.chunk.section_path == DUST_PATH and "布袋除尘器" in h.chunk.text for h in hits)
    dense = sample_kb.dense_ranking(DUST_QUESTION, 5)
    assert len(dense) == 5 and set(dense) <= set(sample_kb.chunk_by_id)  # Chroma answered, with our ids


def test_knowledge_base_round_trips_records(sample_kb, sample_doc):
    assert sample_kb.text_of(sample_doc.doc_id) == sample_doc.text
    assert [c.text for c in sample_kb.chunks] == [c.text for c in sample_doc.chunks]
    assert [t.cells for t in sample_kb.tables] == [t.cells for t in sample_doc.tables]
    assert sample_kb.facts == sample_doc.facts


def test_reingesting_the_same_file_is_skipped(kb_settings, sample_plan_path):
    gen_before = current_generation(kb_settings.kb_dir)
    report = ingest_paths(kb_settings, [sample_plan_path])
    assert [r.skipped for r in report.results] == [True]
    assert current_generation(kb_settings.kb_dir) == gen_before
    kb = KnowledgeBase.open(kb_settings)
    assert len(kb.docs) == 1
    assert len({c.chunk_id for c in kb.chunks}) == len(kb.chunks)
    assert chroma_collection(kb_settings).count() == len(kb.chunks)


def test_a_changed_file_with_the_same_name_replaces_the_old_one(kb_settings, sample_plan_path, sample_doc):
    changed = sample_plan_path.read_text(encoding="utf-8").replace("\t14.5\n", "\t14.5%\n")
    changed = changed.replace("淘汰铜冶炼3.5", "淘汰铜冶炼4.5")
    report = ingest_files(kb_settings, [(sample_plan_path.name, changed.encode("utf-8"))])
    assert not report.failed and not report.results[0].skipped
    new_id = report.results[0].doc_id
    assert new_id != sample_doc.doc_id
    kb = KnowledgeBase.open(kb_settings)
    assert [d["doc_id"] for d in kb.docs] == [new_id]
    for records in (kb.chunks, kb.tables, kb.facts):
        assert {r.doc_id for r in records} == {new_id}
    assert chroma_collection(kb_settings).get(where={"doc_id": sample_doc.doc_id})["ids"] == []
    assert chroma_collection(kb_settings).count() == len(kb.chunks)
    copper = [f for f in kb.facts if f.subject == "铜冶炼"]
    assert [f.value for f in copper] == [4.5]
    box2 = next(t for t in kb.tables if t.title.startswith("专栏二"))
    cell = next(c for c in box2.cells if c.row_label == "乌兰察布市" and c.column == "单位GDP能耗降低")
    assert (cell.unit, cell.flag) == ("%", "")
    uploads = list_uploads(kb_settings)
    assert [(u.doc_id, u.name) for u in uploads] == [(new_id, sample_plan_path.name)]
    assert sorted(p.name for p in (kb_settings.kb_dir / "uploads").iterdir()) == sorted(
        [uploads[0].path.name, "manifest.json"])


def test_delete_removes_everything_of_the_document(kb_settings, sample_doc):
    other = ingest_files(kb_settings, [("小规划.md", SMALL_MD)]).results[0].doc_id
    delete_documents(kb_settings, [sample_doc.doc_id])
    kb = KnowledgeBase.open(kb_settings)
    assert [d["doc_id"] for d in kb.docs] == [other]
    for records in (kb.chunks, kb.tables, kb.facts):
        assert all(r.doc_id == other for r in records)
    assert sample_doc.doc_id not in kb.texts
    collection = chroma_collection(kb_settings)
    assert collection.get(where={"doc_id": sample_doc.doc_id})["ids"] == []
    assert collection.count() == len(kb.chunks) > 0
    assert [u.doc_id for u in list_uploads(kb_settings)] == [other]
    assert len(list((kb_settings.kb_dir / "uploads").iterdir())) == 2  # the original and the manifest
    assert not any(sample_doc.doc_id in p.name for p in gen_dir(kb_settings).rglob("*"))
    assert all(h.chunk.doc_id == other for h in kb.search("粉尘 除尘器 水泥"))


def test_deleting_an_unknown_document_is_a_chinese_error(kb_settings):
    with pytest.raises(IngestError) as err:
        delete_documents(kb_settings, ["没有这个文档"])
    assert "没有这个文档" in err.value.user_message


def test_verify_generation_passes_on_a_good_knowledge_base(kb_settings):
    assert verify_generation(kb_settings) == []


def test_verify_generation_reports_a_corrupted_parquet(kb_settings):
    path = gen_dir(kb_settings) / "cells.parquet"
    data = bytearray(path.read_bytes())
    data[len(data) // 2: len(data) // 2 + 64] = b"\x00" * 64
    path.write_bytes(bytes(data))
    problems = verify_generation(kb_settings)
    assert any("cells.parquet" in p for p in problems)


def test_a_truncated_parquet_is_a_store_error_not_a_traceback(kb_settings):
    path = gen_dir(kb_settings) / "chunks.parquet"
    path.write_bytes(path.read_bytes()[:100])
    assert any("chunks.parquet" in p for p in verify_generation(kb_settings))
    with pytest.raises(StoreError) as err:
        KnowledgeBase.open(kb_settings)
    assert "损坏" in err.value.user_message
    with pytest.raises(StoreError) as err:  # adding to a damaged base would drop its documents: refuse
        ingest_files(kb_settings, [("小规划.md", SMALL_MD)])
    assert "重建" in err.value.user_message


def test_rebuild_restores_a_damaged_knowledge_base_from_uploads(kb_settings, sample_doc):
    from ingest.pipeline import rebuild

    (gen_dir(kb_settings) / "facts.parquet").write_bytes(b"garbage")
    report = rebuild(kb_settings)
    assert not report.failed
    kb = KnowledgeBase.open(kb_settings)
    assert [d["doc_id"] for d in kb.docs] == [sample_doc.doc_id]
    assert len(kb.facts) == len(sample_doc.facts)
    assert verify_generation(kb_settings) == []


def test_nothing_in_the_store_is_pickled(kb_settings, sample_doc):
    folder = gen_dir(kb_settings)
    matrix = np.load(folder / "embeddings.npy", allow_pickle=False)
    assert matrix.shape == (len(sample_doc.chunks), 256) and matrix.dtype == np.float32
    assert json.loads((folder / "embedding_ids.json").read_text()) == [c.chunk_id for c in sample_doc.chunks]
    for path in folder.rglob("*"):
        assert not path.name.endswith((".pkl", ".pickle")), path
    for path in folder.glob("*.parquet"):
        for field in pq.read_schema(path):
            assert str(field.type) in PLAIN_TYPES, (path, field)


def test_old_generations_are_pruned(kb_settings):
    for i in range(4):
        ingest_files(kb_settings, [(f"第{i}份.md", SMALL_MD + f"\n附{i}。\n".encode())])
    gens = sorted(p.name for p in (kb_settings.kb_dir / "gens").iterdir())
    assert len(gens) == 2 and current_generation(kb_settings.kb_dir) == gens[-1]
    assert len(KnowledgeBase.open(kb_settings).docs) == 5


def test_an_unwritable_data_folder_is_a_clear_chinese_error(tmp_path, sample_plan_path):
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("a file where the data folder should be")
    settings = load_settings(data_dir=blocker / "data", embedder="hash")
    with pytest.raises(StoreError) as err:
        ingest_paths(settings, [sample_plan_path])
    assert "无法写入知识库目录" in err.value.user_message
    assert "不是文件夹" in err.value.user_message


@pytest.mark.skipif(os.geteuid() == 0, reason="root ignores directory permissions")
def test_a_read_only_data_folder_is_a_clear_chinese_error(tmp_path, sample_plan_path):
    folder = tmp_path / "ro"
    folder.mkdir()
    folder.chmod(0o500)
    try:
        settings = load_settings(data_dir=folder, embedder="hash")
        with pytest.raises(StoreError) as err:
            ingest_paths(settings, [sample_plan_path])
        assert "没有写权限" in err.value.user_message
    finally:
        folder.chmod(0o700)


def run_ingest(args: list[str], data_dir: Path, **popen) -> subprocess.Popen:
    env = dict(os.environ, POLICYQA_EMBEDDER="hash", ANONYMIZED_TELEMETRY="False", PYTHONPATH=str(ROOT))
    command = [sys.executable, "-m", "ingest", *args, "--kb", str(data_dir), "--quiet"]
    return subprocess.Popen(command, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True, **popen)


def changed_copies(sample_plan_path, folder: Path, n: int) -> Path:
    folder.mkdir()
    text = sample_plan_path.read_text(encoding="utf-8")
    for i in range(n):
        (folder / f"规划{i}.txt").write_text(text + f"\n附{i}：新增一段。\n", encoding="utf-8")
    return folder


def test_a_failed_write_mid_ingest_leaves_the_previous_knowledge_base(kb_settings, sample_plan_path,
                                                                        tmp_path):
    before_gen = current_generation(kb_settings.kb_dir)
    before_hits = search_snapshot(kb_settings)
    more = changed_copies(sample_plan_path, tmp_path / "more", 2)

    def disk_nearly_full():  # files past 400 KB cannot be written: Chroma's database fails mid-write
        resource.setrlimit(resource.RLIMIT_FSIZE, (400_000, 400_000))

    proc = run_ingest([str(more)], kb_settings.data_dir, preexec_fn=disk_nearly_full)
    out, err = proc.communicate(timeout=120)
    assert proc.returncode == 1
    assert "知识库保持原样" in err and err.strip().splitlines()[-1].startswith("错误：")
    assert "Traceback" not in err
    assert current_generation(kb_settings.kb_dir) == before_gen
    # The half-written generation is removed.
    assert [p.name for p in (kb_settings.kb_dir / "gens").iterdir()] == [before_gen]
    assert search_snapshot(kb_settings) == before_hits
    assert verify_generation(kb_settings) == []


@pytest.mark.slow
def test_sigkill_while_embedding_leaves_the_previous_knowledge_base(kb_settings, sample_plan_path, tmp_path):
    before_gen = current_generation(kb_settings.kb_dir)
    before_hits = search_snapshot(kb_settings)
    gens = kb_settings.kb_dir / "gens"
    more = changed_copies(sample_plan_path, tmp_path / "more", 6)
    proc = run_ingest([str(more)], kb_settings.data_dir)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and len(list(gens.iterdir())) < 2 and proc.poll() is None:
        time.sleep(0.002)
    assert proc.poll() is None, "ingest finished before it could be killed"
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=30)
    assert len(list(gens.iterdir())) == 2  # the half-written generation is there, but not live
    assert current_generation(kb_settings.kb_dir) == before_gen
    assert search_snapshot(kb_settings) == before_hits
    assert verify_generation(kb_settings) == []
    # The lock died with the process: the next ingest goes through.
    report = ingest_paths(kb_settings, [more])
    assert not report.failed and len(KnowledgeBase.open(kb_settings).docs) == 7
