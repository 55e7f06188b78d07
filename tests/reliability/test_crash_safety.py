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


def test_the_next_ingest_clears_a_killed_ingests_half_generation(rel, built_kb_dir, tmp_path):
    from assistant.admin import add_files

    settings = rel.copy_kb(built_kb_dir, tmp_path / "kb")
    good = rel.live_generation(settings)
    phase, *_ = rel._run_watched(rel._ingest_cmd(rel.SECOND_PLAN, settings.data_dir), settings,
                                 wait_for_write=rel.DEFAULT_WRITE_WINDOW_S)
    assert phase == "during_write"
    report = add_files(settings, [(rel.SECOND_PLAN.name, rel.SECOND_PLAN.read_bytes())])
    assert not report.failed
    gens = settings.kb_dir / "gens"
    assert all((gens / g / "manifest.json").exists() for g in rel.generations(settings))
    assert good in rel.generations(settings)  # the previous good generation stays beside the live one
