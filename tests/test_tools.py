"""Calculation and lookup tools: real tables from the sample plan, exact maths, typed Chinese errors."""

from __future__ import annotations

import pytest

from kb.errors import NotInKnowledgeBase, ToolError
from kb.records import Figure
from tools import calc
from tools.audit import audit
from tools.base import fmt_num
from tools.facts import fact
from tools.tables import aggregate, compare, lookup, rank


def fig(value, unit="%"):
    return Figure("x", value, unit)


def test_lookup_region_cell_cites_title_and_row(sample_kb):
    res = lookup(sample_kb, "二氧化硫", "乌海市")
    assert [f.value for f in res.figures] == [8.5]
    quotes = [c.quote for c in res.citations]
    assert "| 乌海市 | 16% | 8.5% | 8.1% | 8.9% | 15.4% |" in quotes
    assert "专栏二：各盟市“十二五”期间节能减排目标" in quotes
    assert all(q in sample_kb.text_of(c.doc_id) for q, c in zip(quotes, res.citations))


def test_lookup_overall_by_column(sample_kb):
    res = lookup(sample_kb, "二氧化硫排放量", "全区", "2015")
    assert [(f.value, f.unit) for f in res.figures] == [(134.4, "万吨")]


def test_lookup_unknown_indicator_raises_chinese_error(sample_kb):
    with pytest.raises(NotInKnowledgeBase) as err:
        lookup(sample_kb, "挥发性有机物", "乌海市")
    assert "挥发性有机物" in err.value.user_message
    with pytest.raises(ToolError):
        lookup(sample_kb, "  ")


def test_rank_exclude_and_ties(sample_kb):
    top = rank(sample_kb, "化学需氧量", "desc")
    assert [(f.label, f.value) for f in top.figures] == [("通辽市", 9.3)]
    low = rank(sample_kb, "氨氮", "asc", exclude=("兴安盟",))
    assert [(f.label, f.value) for f in low.figures] == [("锡林郭勒盟", 4.6)]
    tied = rank(sample_kb, "单位GDP能耗", "desc")
    assert {f.label for f in tied.figures} == {"呼和浩特市", "包头市", "乌海市", "鄂尔多斯市", "阿拉善盟"}
    with pytest.raises(ToolError):
        rank(sample_kb, "氨氮", "sideways")


def test_compare_difference(sample_kb):
    res = compare(sample_kb, "氨氮", ["呼伦贝尔市", "阿拉善盟"])
    diff = res.figures[-1]
    assert diff.value == pytest.approx(6.2 - 7.4)
    assert len(diff.inputs) == 2
    with pytest.raises(NotInKnowledgeBase):
        compare(sample_kb, "氨氮", ["呼伦贝尔市", "上海市"])


def test_aggregate_mean_matches_hand_sum(sample_kb):
    res = aggregate(sample_kb, "化学需氧量", "mean")
    assert res.figures[0].value == pytest.approx(92.7 / 12)
    assert fmt_num(res.figures[0].value) == "7.73"
    assert len(res.figures[0].inputs) == 12
    with pytest.raises(ToolError):
        aggregate(sample_kb, "化学需氧量", "median-ish")


def test_change_and_compound_annual_rate():
    absolute, percent = calc.change(Figure("2010", 131.4, "万吨"), Figure("2015", 123.8, "万吨"))
    assert absolute.value == pytest.approx(-7.6)
    assert percent.value == pytest.approx(-5.7839, abs=1e-3)
    yearly = calc.annual_rate(fig(-15.7), 5)
    assert yearly.value == pytest.approx(-(1 - (1 - 0.157) ** 0.2) * 100)
    assert fmt_num(abs(yearly.value)) == "3.36"
    assert calc.annual_rate(fig(10), 5).value == pytest.approx((1.1 ** 0.2 - 1) * 100)
    with pytest.raises(ToolError):
        calc.annual_rate(fig(-5), 0)
    with pytest.raises(ToolError):
        calc.change(Figure("a", 0, ""), Figure("b", 1, ""))


def test_project_backcast_per_year():
    assert calc.project(Figure("v", 100, "万吨"), -10, 2).value == pytest.approx(81)
    assert calc.backcast(Figure("v", 3.24, "吨标准煤/万元"), fig(-42.86)).value == pytest.approx(5.6703, abs=1e-4)
    assert calc.per_year(Figure("v", 6000, "万吨标准煤"), 5).value == 1200
    with pytest.raises(ToolError):
        calc.backcast(Figure("v", 1, ""), fig(-100))


def test_fmt_num_rounds_half_up():
    assert fmt_num(7.725) == "7.73"
    assert fmt_num(92.7 / 12) == "7.73"
    assert fmt_num(16.0) == "16"
    assert fmt_num(-0.0001) == "0"


def test_fact_with_lists(sample_kb):
    res = fact(sample_kb, "电石", "淘汰")
    assert res.figures[0].value == 178.1 and res.figures[0].unit == "万吨"
    res = fact(sample_kb, "酒精", "淘汰")
    assert res.figures[0].value == 1
    assert "淘汰" in res.citations[0].quote
    with pytest.raises(NotInKnowledgeBase):
        fact(sample_kb, "核电站", "新建")


def test_audit_finds_the_plans_inconsistencies(sample_kb):
    issues = audit(sample_kb).data["issues"]
    kinds = {(i.kind, i.indicator) for i in issues}
    assert ("annual_mismatch", "二氧化硫排放量") in kinds  # -0.077% printed, ≈0.77%/yr computed
    assert ("change_mismatch", "氨氮排放量") in kinds  # -9.7% printed, 5.4→4.9 is -9.26%
    assert ("missing_unit", "单位GDP能耗降低") in kinds  # 乌兰察布市 14.5
    assert ("annual_mismatch", "氮氧化物排放量") not in kinds
    for i in issues:
        assert i.citations and all(c.quote in sample_kb.text_of(c.doc_id) for c in i.citations)
