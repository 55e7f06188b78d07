"""Uploads and storage: the type comes from the content, file names cannot climb out of the KB folder, nothing
is pickled, and the API asks for its token when one is set."""

from __future__ import annotations

import io
import os
import re
import time
import zipfile
from pathlib import Path

import numpy as np
import pytest

from ingest.loaders import sniff_format
from ingest.pipeline import MAX_NAME_CHARS, ingest_files, list_uploads, rebuild, sanitize_name
from kb.errors import UnsupportedFile
from kb.knowledge import KnowledgeBase

ROOT = Path(__file__).resolve().parents[2]
PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\n"
OLE = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\0" * 100
HTML = b"<!DOCTYPE html><html><body><p>\xe8\xa7\x84\xe5\x88\x92</p></body></html>"
PICKLE_HEADS = tuple(bytes([0x80, proto]) for proto in range(2, 6))
SOURCE_DIRS = ("kb", "ingest", "tools", "assistant", "api")
PICKLE_IMPORT = r"^\s*(?:import|from)\s+(?:pickle|cPickle|dill|joblib|cloudpickle)\b"


def _zip(members: dict[str, bytes]) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        for name, data in members.items():
            zf.writestr(name, data)
    return buf.getvalue()


DOCX_LIKE = _zip({"word/document.xml": b"<w:document/>", "[Content_Types].xml": b"<Types/>"})


@pytest.mark.parametrize("name, data, fmt", [
    ("plan.txt", PDF, "pdf"), ("plan.md", PDF, "pdf"), ("plan.html", PDF, "pdf"),
    ("plan.txt", DOCX_LIKE, "docx"), ("plan", DOCX_LIKE, "docx"),
    ("plan.md", HTML, "html"), ("plan.txt", HTML, "html"), ("plan", "规划".encode(), "txt"),
])
def test_type_is_decided_by_content(name, data, fmt):
    assert sniff_format(name, data) == fmt


@pytest.mark.parametrize("name, data", [
    ("plan.docx", "一、总体要求".encode()), ("plan.pdf", "一、总体要求".encode()), ("plan.docx", PDF[:4]),
    ("plan.txt", _zip({"a.txt": b"x"})), ("plan.docx", OLE), ("plan.txt", OLE), ("plan.exe", b"MZ\x90\x00"),
    ("plan.pkl", b"\x80\x04\x95"), ("plan.npy", b"\x93NUMPY"),
])
def test_content_that_is_not_what_it_claims_is_refused_in_chinese(name, data):
    with pytest.raises(UnsupportedFile) as err:
        sniff_format(name, data)
    assert re.search(r"[\u4e00-\u9fff]", err.value.user_message)


HOSTILE_NAMES = [
    "../../etc/passwd", "../../../../tmp/evil.txt", "/etc/cron.d/x.md", "..\\..\\windows\\system32\\a.txt",
    "a/../../b.txt", "..", ".", "", "....", "plan\x00.txt", "pl\nan.txt", "CON:.txt", "*?<>|.md",
    "é" * 300 + ".txt", "~/.ssh/authorized_keys", "./.hidden.md", "uploads/../../CURRENT",
]


@pytest.mark.parametrize("name", HOSTILE_NAMES)
def test_sanitized_names_have_no_path_in_them(name):
    safe = sanitize_name(name)
    assert safe and safe not in (".", "..")
    assert not re.search(r"[/\\\x00-\x1f]", safe)
    assert not safe.startswith(".")
    assert len(safe) <= MAX_NAME_CHARS


def _tree(folder: Path) -> dict[str, tuple[int, int]]:
    return {str(p.relative_to(folder)): (p.stat().st_size, p.stat().st_mtime_ns)
            for p in folder.rglob("*") if p.is_file()}


def test_hostile_upload_names_are_stored_only_inside_the_kb_folder(kb_settings, tmp_path):
    plan = (ROOT / "tests" / "data" / "hebei_plan.md").read_bytes()
    watched = [tmp_path, Path("/etc"), Path("/tmp")]
    before = {w: _tree(w) if w == tmp_path else {n: os.stat(w / n).st_mtime_ns for n in ("passwd", "hosts")
                                                  if (w / n).exists()} for w in watched}
    names = ["../../etc/passwd", "../../../../tmp/evil.md", "/etc/hosts", "..\\..\\evil.md",
             "uploads/../../CURRENT"]
    files = [(name, plan + f"\n<!-- {i} -->\n".encode()) for i, name in enumerate(names)]
    report = ingest_files(kb_settings, files)
    assert not report.failed, report.summary()
    kb_dir = kb_settings.kb_dir.resolve()
    changed = {k for k, v in _tree(tmp_path).items() if before[tmp_path].get(k) != v}
    assert changed and all((tmp_path / k).resolve().is_relative_to(kb_dir) for k in changed)
    for name in ("passwd", "hosts"):
        if name in before[Path("/etc")]:
            assert os.stat(Path("/etc") / name).st_mtime_ns == before[Path("/etc")][name]
    assert not Path("/tmp/evil.md").exists()
    uploads = list_uploads(kb_settings)
    assert len(uploads) == len(names)
    assert all(u.path.parent == kb_dir / "uploads" and "/" not in u.name and ".." not in u.name for u in uploads)
    assert (kb_dir / "CURRENT").read_text().strip() == report.generation  # not overwritten by an upload


def test_nothing_in_the_kb_folder_is_a_pickle(kb_settings):
    ingest_files(kb_settings, [("hebei_plan.md", (ROOT / "tests" / "data" / "hebei_plan.md").read_bytes())])
    files = [p for p in kb_settings.kb_dir.rglob("*") if p.is_file()]
    assert files
    assert not [p for p in files if p.suffix in (".pkl", ".pickle", ".joblib")]
    assert not [p for p in files if p.read_bytes()[:2] in PICKLE_HEADS and p.suffix != ".bin"]
    for npy in kb_settings.kb_dir.rglob("*.npy"):
        array = np.load(npy, allow_pickle=False)  # raises if an object array hid a pickle
        assert array.dtype == np.float32


def test_our_code_never_unpickles():
    offenders = []
    for folder in SOURCE_DIRS:
        for path in (ROOT / folder).rglob("*.py"):
            source = path.read_text(encoding="utf-8")
            if re.search(PICKLE_IMPORT, source, re.MULTILINE):
                offenders.append(f"{path.name}: imports a pickle library")
            for call in re.findall(r"np\.load\([^)]*\)", source):
                if "allow_pickle=False" not in call:
                    offenders.append(f"{path.name}: {call}")
            if re.search(r"pd\.read_pickle|torch\.load\(", source):
                offenders.append(f"{path.name}: loads a pickle")
    assert offenders == []


@pytest.mark.skipif(not (ROOT / "api" / "server.py").exists(), reason="api/server.py absent")
def test_api_requires_its_token_when_one_is_set(built_kb_dir):
    from fastapi.testclient import TestClient

    from api.server import create_app
    from kb.settings import load_settings

    settings = load_settings(env={}, data_dir=built_kb_dir, embedder="hash", api_token="s3cret-token")
    client = TestClient(create_app(settings))
    body = {"question": "乌海市二氧化硫排放量降低目标是多少？"}
    assert client.post("/api/ask", json=body).status_code == 401
    assert client.post("/api/ask", json=body, headers={"Authorization": "Bearer wrong"}).status_code == 401
    basic = {"Authorization": "Basic czNjcmV0LXRva2Vu"}  # the right secret, the wrong scheme
    assert client.post("/api/ask", json=body, headers=basic).status_code == 401
    assert client.get("/api/documents").status_code == 401
    chat = {"messages": [{"role": "user", "content": "乌海市二氧化硫目标"}]}
    assert client.post("/v1/chat/completions", json=chat).status_code == 401
    ok = client.post("/api/ask", json=body, headers={"Authorization": "Bearer s3cret-token"})
    assert ok.status_code == 200 and "8.5%" in ok.json()["text"]
    assert client.get("/health").status_code == 200  # health needs no token


@pytest.mark.skipif(not (ROOT / "api" / "server.py").exists(), reason="api/server.py absent")
def test_api_upload_with_a_traversal_name_lands_inside_the_kb(kb_settings, tmp_path):
    from fastapi.testclient import TestClient

    from api.server import create_app

    client = TestClient(create_app(kb_settings))
    plan = (ROOT / "tests" / "data" / "hebei_plan.md").read_bytes()
    r = client.post("/api/documents", files={"files": ("../../../../tmp/api_evil.md", plan, "text/markdown")})
    assert r.status_code == 200, r.text
    assert not Path("/tmp/api_evil.md").exists()
    names = [d["name"] for d in client.get("/api/documents").json()]
    assert "api_evil.md" in names and not any("/" in n for n in names)
    assert "api_evil.md" in [u.name for u in list_uploads(kb_settings)]


LONG_MD_NAME = "关于印发内蒙古自治区十二五节能减排综合性工作方案的通知" * 5 + ".md"
MD_PLAN = "# 方案\n\n**专栏1 目标**\n\n指标 | 2015年\n---|---\n能耗 | 16%\n".encode()


def test_a_long_file_name_keeps_its_extension_and_its_format():
    from ingest.parse import parse_bytes

    safe = sanitize_name(LONG_MD_NAME)
    assert len(safe) <= MAX_NAME_CHARS and safe.endswith(".md")
    assert len(parse_bytes(safe, MD_PLAN).tables) == 1


def test_originals_with_names_past_255_bytes_are_kept_and_rebuilt(kb_settings):
    """A real document's file name is its title: 200 Chinese characters are 600 bytes, more than a file name may be."""
    plan = (ROOT / "tests" / "data" / "hebei_plan.md").read_bytes()
    long_name = ("关于印发某某市国土空间近期规划实施方案的通知" * 10)[:200] + ".md"
    assert len(long_name.encode()) > 255
    report = ingest_files(kb_settings, [(long_name, plan)])
    assert not report.failed and not any(r.warnings and "uploads" in "".join(r.warnings) for r in report.results)
    kept = [u for u in list_uploads(kb_settings) if u.name == long_name]
    assert len(kept) == 1
    assert len(kept[0].path.name.encode()) <= 255 and kept[0].path.read_bytes() == plan
    before = {d["name"]: d["ingested_at"] for d in KnowledgeBase.open(kb_settings).docs}
    time.sleep(1.1)  # import times are stamped to the second
    rebuilt = rebuild(kb_settings)
    assert not rebuilt.failed
    after = {d["name"]: d["ingested_at"] for d in KnowledgeBase.open(kb_settings).docs}
    assert long_name in after
    assert after == before  # a rebuild keeps every document, each with its original import time
