""".doc, .wps, .rtf and .odt are converted by LibreOffice and read like the Word original; without
LibreOffice the message says what to install; damaged files are refused in Chinese."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from ingest.parse import parse_bytes
from kb.errors import IngestError, UnsupportedFile

FORMATS = Path(__file__).parent / "data" / "formats"
SOFFICE = shutil.which("soffice") or shutil.which("libreoffice")
needs_soffice = pytest.mark.skipif(SOFFICE is None, reason="LibreOffice（soffice）未安装，跳过 .doc/.rtf/.odt 转换测试")


def _shape(doc) -> list[tuple]:
    return [(t.title, t.unit, t.columns, tuple(t.row_labels),
             tuple((c.row_label, c.column, c.value, c.unit) for c in t.cells)) for t in doc.tables]


@pytest.fixture(scope="module")
def original():
    return parse_bytes("jiangbei.docx", (FORMATS / "jiangbei.docx").read_bytes())


@pytest.fixture(scope="module")
def converted(tmp_path_factory) -> dict[str, Path]:
    """The 江北 .docx saved by LibreOffice as .rtf and .odt (the .doc is committed)."""
    out = tmp_path_factory.mktemp("office")
    profile = out / "profile"
    for target in ("rtf", "odt"):
        subprocess.run([SOFFICE, "--headless", f"-env:UserInstallation={profile.as_uri()}", "--convert-to",
                        target, "--outdir", str(out), str(FORMATS / "jiangbei.docx")],
                       check=True, capture_output=True, timeout=180)
    return {"rtf": out / "jiangbei.rtf", "odt": out / "jiangbei.odt"}


@needs_soffice
def test_doc_reads_like_its_word_original(original):
    doc = parse_bytes("jiangbei.doc", (FORMATS / "jiangbei.doc").read_bytes())
    assert doc.fmt == "doc"
    assert _shape(doc) == _shape(original)
    assert [s.path for s in doc.sections] == [s.path for s in original.sections]


@needs_soffice
def test_kingsoft_wps_holding_a_word_document_is_read(original):
    doc = parse_bytes("方案.wps", (FORMATS / "jiangbei.doc").read_bytes())
    assert doc.fmt == "wps"
    assert [len(t.row_labels) for t in doc.tables] == [7, 13, 30]


@needs_soffice
@pytest.mark.parametrize("fmt", ["rtf", "odt"])
def test_rtf_and_odt_read_like_the_original(converted, original, fmt):
    doc = parse_bytes(f"jiangbei.{fmt}", converted[fmt].read_bytes())
    assert doc.fmt == fmt
    assert [(t.title, t.columns, len(t.row_labels)) for t in doc.tables] == \
        [(t.title, t.columns, len(t.row_labels)) for t in original.tables]


@needs_soffice
def test_the_original_doc_is_kept_as_the_source_of_record(settings):
    from ingest.pipeline import ingest_files, list_uploads

    data = (FORMATS / "jiangbei.doc").read_bytes()
    report = ingest_files(settings, [("江北规划.doc", data)])
    assert not report.failed
    (kept,) = [u for u in list_uploads(settings) if u.name == "江北规划.doc"]
    assert kept.path.read_bytes() == data


def test_without_libreoffice_the_message_says_what_to_install(monkeypatch):
    monkeypatch.setattr(shutil, "which", lambda name, *a, **k: None)
    with pytest.raises(IngestError) as err:
        parse_bytes("jiangbei.doc", (FORMATS / "jiangbei.doc").read_bytes())
    assert "LibreOffice" in err.value.user_message
    assert "libreoffice-writer-nogui" in err.value.user_message


@pytest.mark.parametrize("name, data", [
    ("损坏.doc", b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(range(256)) * 16),
    ("截断.doc", (FORMATS / "jiangbei.doc").read_bytes()[:3000]),
    ("空壳.wps", b"\xd0\xcf\x11\xe0" + b"\0" * 600),
    ("坏的.rtf", b"{\\rtf1 \xff\xfe" + b"\0" * 64),
])
def test_damaged_office_files_are_refused_in_chinese(name, data):
    with pytest.raises(IngestError) as err:
        parse_bytes(name, data)
    assert any("\u4e00" <= ch <= "\u9fff" for ch in err.value.user_message)
    if not name.endswith(".rtf"):
        assert isinstance(err.value, UnsupportedFile)
        assert "损坏" in err.value.user_message
