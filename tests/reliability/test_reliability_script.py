"""`python -m eval.reliability` and `scripts/make_malformed.py`: help text, a quick run writing its JSON and
markdown, and a corpus that is the same bytes every time."""

from __future__ import annotations

import json

import pytest

from eval.reliability import load_maker, main


def test_reliability_cli_has_help(capsys):
    with pytest.raises(SystemExit) as exit_:
        main(["--help"])
    assert exit_.value.code == 0
    out = capsys.readouterr().out
    assert "--trials" in out and "--seconds" in out and "--out" in out


def test_unknown_section_is_a_usage_error(capsys):
    with pytest.raises(SystemExit) as exit_:
        main(["--sections", "crash,nonsense"])
    assert exit_.value.code == 2
    assert "nonsense" in capsys.readouterr().err


def test_a_quick_run_prints_the_table_and_writes_json_and_markdown(tmp_path, capsys):
    assert main(["--sections", "questions", "--out", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert "bad questions" in out and "tried / handled" in out
    data = json.loads((tmp_path / "reliability.json").read_text(encoding="utf-8"))
    assert data["questions"]["questions"] == data["questions"]["handled"]
    assert "| bad questions" in (tmp_path / "reliability.md").read_text(encoding="utf-8")


def test_malformed_corpus_is_reproducible(tmp_path):
    maker = load_maker()
    # The bombs take seconds to deflate; their bytes come from the same fixed stamps.
    cheap = {c.name for c in maker.CASES if not c.large and "bomb" not in c.name}
    a = maker.make_corpus(tmp_path / "a", only=cheap)
    b = maker.make_corpus(tmp_path / "b", only=cheap)
    assert [p.name for p in a] == [p.name for p in b] and {p.name for p in a} == cheap
    assert [p.name for p, q in zip(a, b) if p.read_bytes() != q.read_bytes()] == []


def test_make_malformed_cli_has_help(capsys):
    with pytest.raises(SystemExit) as exit_:
        load_maker().main(["--help"])
    assert exit_.value.code == 0
    assert "--small" in capsys.readouterr().out
