"""`python -m eval.bench` runs end to end on a small corpus (the figures themselves are for the README, not
asserted: no timed tests)."""

from __future__ import annotations

import json


def test_bench_reports_answerable_and_embedded_times_and_the_gate(tmp_path):
    from eval.bench import main

    out = tmp_path / "bench"
    assert main(["--sizes", "1", "--embedder", "hash", "--no-real", "--sections", "ingest,retrieval",
                 "--out", str(out)]) == 0
    sections = json.loads((out / "bench.json").read_text(encoding="utf-8"))["sections"]
    rows = {r["corpus"]: r for r in sections["ingest"]["rows"]}
    assert set(rows) == {"bundled plan", "bundled plan (deleted, added back)", "generated ×1"}
    for row in rows.values():
        assert row["embedding"] == "complete" and 0 < row["answerable_s"] <= row["embedded_s"]
    assert rows["bundled plan"]["chunks"] > 100
    (dev,) = sections["retrieval"]["rows"]
    assert dev["kind"] == "dev" and dev["searches"] >= 30 and 0 <= dev["gated"] <= 1
    assert "| fully embedded s |" in (out / "bench.md").read_text(encoding="utf-8")
