"""SIGKILL an ingest (`python -m ingest FILE --kb DIR`) mid-flight: the knowledge base must open, verify, and
answer exactly as before the ingest (or exactly as after it, when the kill came after the swap)."""

from __future__ import annotations

import pytest


def test_ingest_killed_while_writing_its_generation_leaves_the_old_kb_answering(rel, built_kb_dir, tmp_path):
    result = rel.crash_trials(built_kb_dir, tmp_path, trials=0, write_trials=1, recover=False)
    assert result["problems"] == []
    assert result["phases"]["during_write"] == 1, result["details"]  # the kill really came mid-write
    assert result["ended_old"] == 1


@pytest.mark.slow
def test_kills_at_random_moments_never_damage_the_kb(rel, built_kb_dir, tmp_path):
    result = rel.crash_trials(built_kb_dir, tmp_path, trials=20, write_trials=10, recover=True)
    assert result["trials"] == 30
    assert result["problems"] == []
    assert result["survived"] == 30
    assert result["phases"]["during_write"] >= 10
