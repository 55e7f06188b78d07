"""The scoring contract: every check passes a right answer and fails a wrong one; the harness end to end."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from eval import checks
from eval.cases import load_cases
from eval.cli import main

DEV = Path(__file__).resolve().parents[2] / "shared" / "eval" / "dev.jsonl"
DEV = DEV if DEV.exists() else Path(__file__).resolve().parents[1] / "eval" / "questions" / "dev.jsonl"


@pytest.mark.parametrize("text, expected", [
    ("乌海市二氧化硫降低８．５％", [8.5]),
    ("2015年全区排放量134.4万吨", [134.4]),
    ("“十二五”期间（三）专项下降15%", [15]),
    ("1、电力工业：下降-15%", [-15]),
    ("PM2.5浓度下降10%", [10]),
    ("2010—2015年累计", []),
])
def test_numbers_in_skips_years_enumerations_and_names(text, expected):
    assert checks.numbers_in(text) == expected


def test_number_check_right_and_wrong():
    assert checks.check_number("降低15%", [15])
    assert checks.check_number("变化为-15%", [15])  # a fall may be written as -15
    assert checks.check_number("约7.73%", [7.725])
    assert not checks.check_number("降低16%", [15])
    assert not checks.check_number("降低15%", [15, 3.2])
    assert checks.check_number("年均３．３６％", [3.36])  # full-width digits count
    # The contract's "numbers stated in the answer text" include a date the question asks for ("哪天成文的");
    # years still never count as figures that need a source (numbers_in skips them by default).
    assert checks.check_number("2023年12月12日成文", [2023, 12, 12])
    assert not checks.check_number("2023年11月13日成文", [2023, 12, 12])
    assert checks.numbers_in("2015年") == []


def test_unit_keyword_refuse_checks():
    assert checks.check_unit("131.4万吨", "万吨") and not checks.check_unit("131.4", "万吨")
    assert checks.check_unit("anything", "")
    assert checks.check_keywords("除尘器和露天堆场", ["除尘器", "露天堆场"])
    assert not checks.check_keywords("除尘器", ["除尘器", "露天堆场"])
    assert checks.check_refuse(True, True) and not checks.check_refuse(False, True)


def test_cited_needs_eight_shared_characters_or_the_table_title():
    evidence = ["专栏二：各盟市“十二五”期间节能减排目标", "乌海市"]
    assert checks.check_cited([{"quote": "专栏二：各盟市“十二五”期间节能减排目标"}], evidence, refused=False)
    assert checks.check_cited([{"quote": "淘汰水泥500万吨、平板玻璃"}], ["淘汰水泥500万吨"], refused=False)
    assert not checks.check_cited([{"quote": "| 乌海市 | 16% |"}], evidence, refused=False)
    assert not checks.check_cited([{"quote": "淘汰水泥500"}], ["淘汰水泥500万吨"], refused=False)
    assert checks.check_cited([], evidence, refused=True)


def test_grounded_is_exact_substring_of_the_source():
    texts = {"d1": "工业废水达标排放率达到95%。"}
    assert checks.check_grounded([{"doc_id": "d1", "quote": "达标排放率达到95%"}], texts)
    assert not checks.check_grounded([{"doc_id": "d1", "quote": "达标排放率达到96%"}], texts)
    assert not checks.check_grounded([{"doc_id": "nope", "quote": "达到95%"}], texts)


def test_unsupported_numbers_are_counted():
    cites = [{"quote": "| 乌海市 | 16% | 8.5% |"}]
    figures = [{"value": 3.36, "inputs": [{"value": 15.7, "inputs": []}]}]
    assert checks.unsupported_numbers("乌海市8.5%，年均3.36%", cites, figures, ["问题"]) == []
    assert checks.unsupported_numbers("乌海市8.6%", cites, [], ["问题"]) == [8.6]
    assert checks.unsupported_numbers("12个盟市", [], [], ["12个盟市平均"]) == []
    assert checks.unsupported_numbers("下降15%", [{"quote": "-15%"}], [], []) == []  # sign-insensitive
    assert checks.unsupported_numbers("2015年目标", [], [], []) == []


def test_malformed_lines_are_reported_with_line_numbers(tmp_path):
    path = tmp_path / "q.jsonl"
    path.write_text("\n".join([
        json.dumps({"id": "a", "category": "table", "turns": ["乌海市二氧化硫目标"], "expect": {"numbers": [8.5]}}),
        "{not json",
        json.dumps({"id": "b", "turns": []}),
        json.dumps({"id": "c", "turns": ["x"], "expect": {"numbrs": [1]}}),
        json.dumps({"id": "a", "turns": ["dup"]}),
    ]), encoding="utf-8")
    cases, errors = load_cases(path)
    assert [c.id for c in cases] == ["a"]
    assert [e.split("行")[0] for e in errors] == ["第 2 ", "第 3 ", "第 4 ", "第 5 "]


@pytest.mark.skipif(not DEV.exists(), reason="shared dev set not present")
def test_harness_runs_the_dev_set_and_rescore_is_identical(kb_settings, tmp_path, capsys):
    out = tmp_path / "results.jsonl"
    code = main([str(DEV), "--kb", str(kb_settings.data_dir), "--out", str(out), "--min-pass", "1.0"])
    printed = capsys.readouterr().out
    assert code == 0, printed
    assert "overall" in printed
    rows = [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]
    assert len(rows) == 41
    assert all(set(r["checks"]) == {"number", "unit", "keywords", "refuse", "cited", "grounded"} for r in rows)
    assert sum(len(r["unsupported_numbers"]) for r in rows) == 0
    rescored = tmp_path / "rescored.jsonl"
    assert main(["--rescore", str(out), "--kb", str(kb_settings.data_dir), "--out", str(rescored)]) == 0
    again = [json.loads(line) for line in rescored.read_text(encoding="utf-8").splitlines()]
    assert [(r["id"], r["checks"], r["passed"]) for r in again] == [(r["id"], r["checks"], r["passed"]) for r in rows]
    assert (tmp_path / "results.md").exists()


def test_min_pass_fails_below_the_bar(kb_settings, tmp_path, capsys):
    path = tmp_path / "q.jsonl"
    path.write_text(json.dumps({"id": "x", "category": "table", "turns": ["乌海市二氧化硫目标是多少"],
                                "expect": {"numbers": [99.9], "unit": "%"}}) + "\n", encoding="utf-8")
    assert main([str(path), "--kb", str(kb_settings.data_dir), "--out", str(tmp_path / "r.jsonl"), "--min-pass", "0.5"]) == 1
    assert "x" in capsys.readouterr().out


def test_compare_shows_what_changed(kb_settings, tmp_path, capsys):
    path = tmp_path / "q.jsonl"
    path.write_text(json.dumps({"id": "x", "category": "table", "turns": ["乌海市二氧化硫目标是多少"],
                                "expect": {"numbers": [8.5], "unit": "%"}}) + "\n", encoding="utf-8")
    old = tmp_path / "old.jsonl"
    old.write_text(json.dumps({"id": "x", "category": "table", "passed": False, "checks": {}, "turns": [],
                               "answer": {"text": "", "citations": [], "refused": False}, "latency_ms": 1,
                               "unsupported_numbers": []}) + "\n", encoding="utf-8")
    assert main([str(path), "--kb", str(kb_settings.data_dir), "--out", str(tmp_path / "r.jsonl"), "--compare", str(old)]) == 0
    assert "变好（1）：x" in capsys.readouterr().out


@pytest.mark.parametrize("module", ["ingest", "assistant", "eval"])
def test_every_cli_has_chinese_help(module, capsys):
    import importlib

    cli = importlib.import_module(f"{module}.cli")
    with pytest.raises(SystemExit) as exc:
        cli.main(["--help"])
    assert exc.value.code == 0
    assert any("\u4e00" <= ch <= "\u9fff" for ch in capsys.readouterr().out)
