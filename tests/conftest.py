"""Shared fixtures: every test gets its own data folder; the sample plan is parsed/ingested once per session."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SAMPLE_PLAN = ROOT / "data" / "sample" / "内蒙古自治区十二五节能减排规划.txt"


@pytest.fixture(autouse=True)
def _isolated_data_dir(tmp_path, monkeypatch):
    monkeypatch.setenv("POLICYQA_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("POLICYQA_EMBEDDER", "hash")
    monkeypatch.setenv("ANONYMIZED_TELEMETRY", "False")
    for var in ("LLM_BASE_URL", "LLM_API_KEY", "LLM_MODEL", "POLICYQA_LLM_BASE_URL", "POLICYQA_LLM_MODEL",
                "POLICYQA_API_TOKEN", "CHROMA_HOST", "CHROMA_PORT"):
        monkeypatch.delenv(var, raising=False)


@pytest.fixture
def settings(tmp_path):
    from kb.settings import load_settings

    return load_settings(data_dir=tmp_path / "data", embedder="hash")


@pytest.fixture(scope="session")
def sample_plan_path() -> Path:
    return SAMPLE_PLAN


@pytest.fixture(scope="session")
def sample_doc():
    from ingest.parse import parse_bytes

    return parse_bytes(SAMPLE_PLAN.name, SAMPLE_PLAN.read_bytes())


@pytest.fixture(scope="session")
def built_kb_dir(tmp_path_factory) -> Path:
    """A knowledge base built once from the sample plan (hash embedder); copy it before writing to it."""
    from ingest.pipeline import ingest_paths
    from kb.settings import load_settings

    data_dir = tmp_path_factory.mktemp("sample_kb")
    report = ingest_paths(load_settings(data_dir=data_dir, embedder="hash"), [SAMPLE_PLAN])
    assert not report.failed, report.summary()
    return data_dir


@pytest.fixture
def kb_settings(built_kb_dir, tmp_path):
    """Settings pointing at a private copy of the sample knowledge base."""
    from kb.settings import load_settings

    target = tmp_path / "kbcopy"
    shutil.copytree(built_kb_dir, target)
    return load_settings(data_dir=target, embedder="hash")


@pytest.fixture(scope="session")
def sample_kb(built_kb_dir):
    """The sample knowledge base opened read-only (shared by the whole session)."""
    from kb.knowledge import KnowledgeBase
    from kb.settings import load_settings

    return KnowledgeBase.open(load_settings(data_dir=built_kb_dir, embedder="hash"))
