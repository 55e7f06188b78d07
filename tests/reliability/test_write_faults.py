"""Real write failures, not mocks: a file-size limit (RLIMIT_FSIZE: writes fail as on a full disk), read-only
folders (as root: without CAP_DAC_OVERRIDE, since chmod alone stops nothing), a file where the KB folder
should be. Each ingest ends in one Chinese error line; the old index stays live, healthy and answering as
before."""

from __future__ import annotations

import pytest

FAST = ("gens_readonly",)


@pytest.fixture(scope="module")
def full_disk(rel, built_kb_dir, tmp_path_factory):
    """Ingest under a 96 KiB file-size limit: embeddings.npy is the first file past it (a short write)."""
    result = rel.write_faults(built_kb_dir, tmp_path_factory.mktemp("fsize"), names=("fsize_96k",))
    return result["details"][0]


def test_full_disk_keeps_the_old_index_live_and_answering(full_disk):
    assert full_disk["exit_code"] == 1
    assert full_disk["message"].startswith("错误："), full_disk["message"]
    assert "知识库保持原样" in full_disk["message"]
    assert full_disk["intact"], full_disk["problems"]
    assert full_disk["recovered"], full_disk["problems"]


def test_full_disk_error_names_the_reason_in_chinese(full_disk):
    assert "OSError" not in full_disk["message"], full_disk["message"]


@pytest.mark.parametrize("name", FAST)
def test_unwritable_folder_is_a_chinese_error_with_the_old_index_intact(rel, built_kb_dir, tmp_path, name):
    result = rel.write_faults(built_kb_dir, tmp_path, names=(name,))
    assert result["problems"] == []
    case = result["details"][0]
    assert "没有写权限" in case["message"] and case["intact"] and case["recovered"]


@pytest.mark.slow
@pytest.mark.parametrize("name", ["fsize_16k", "fsize_512k", "kb_readonly", "kb_is_a_file"])
def test_other_write_faults(rel, built_kb_dir, tmp_path, name):
    result = rel.write_faults(built_kb_dir, tmp_path, names=(name,))
    assert result["problems"] == [], result["details"]
