"""Operations the typed plan composes on a plan the resolver has no vocabulary for: region columns named by
the question's words, a place against the whole, shares, spreads, bounds, totals that must add up, a
place's base backcast, the yearly rate of a cumulative cut, the change from base to target, and the
refusals when the table holds another measure or an empty cell."""

from __future__ import annotations

from pathlib import Path

import pytest

from assistant.conversation import Conversation
from assistant.core import Assistant
from assistant.guard import check
from eval.checks import check_number
from ingest.pipeline import ingest_paths
from kb.settings import load_settings

PLAN = Path(__file__).parent / "data" / "linchuan_plan.md"


@pytest.fixture(scope="module")
def bot(tmp_path_factory):
    settings = load_settings(data_dir=tmp_path_factory.mktemp("linchuan"), embedder="hash")
    report = ingest_paths(settings, [PLAN])
    assert not report.failed
    return Assistant(settings)


def ask(bot, *turns):
    conv = Conversation()
    answer = None
    for q in turns:
        answer = bot.ask(q, conv)
        assert check(answer, q) == [], answer.text  # every number stated is sourced
    return answer


@pytest.mark.parametrize("question, numbers, words", [
    ("河西区化学需氧量减排量占合计的比例是多少？", [2500, 9000, 27.8], ["河西区"]),
    ("城关区PM2.5目标和全市目标比，高还是低？差多少？", [36, 35, 1], ["高于"]),
    ("各区县PM2.5目标浓度最高和最低的分别是谁？差多少？", [37, 33, 4], ["白水县", "青山县"]),
    ("化学需氧量减排量在2000吨以上的区县有几个？", [3], ["城关区", "河西区", "青山县"]),
    ("青山县哪项减排量最多？", [2000], ["化学需氧量"]),
    ("附件1里氨氮减排量排第二的是哪个区县？", [150], ["城关区"]),
    ("除白水县外，哪个区县氨氮减排量最少？", [100], ["青山县"]),
    ("哪个区县化学需氧量减排任务最大？", [3000], ["城关区"]),
    ("白水县PM2.5到2025年要比2020年下降7.5%，倒推白水县2020年大约是多少？", [40], ["白水县"]),
])
def test_region_operations(bot, question, numbers, words):
    answer = ask(bot, question)
    assert not answer.refused, answer.text
    assert check_number(answer.text, numbers), answer.text
    assert all(w in answer.text for w in words), answer.text
    assert answer.citations


def test_places_add_up_to_the_total_and_the_overall_target_in_another_unit(bot):
    answer = ask(bot, "各区县化学需氧量减排量合计和专栏1的全市目标对得上吗？")
    assert check_number(answer.text, [9000, 0.9]) and "对得上" in answer.text, answer.text


def test_follow_up_names_another_column_for_the_same_place(bot):
    answer = ask(bot, "青山县化学需氧量减排量多少吨？", "那氨氮呢？")
    assert check_number(answer.text, [100]) and "氨氮" in answer.text, answer.text
    assert "接上一问" in answer.text


def test_a_percentage_asked_of_amounts_cut_is_refused(bot):
    answer = ask(bot, "城关区化学需氧量排放量要比2020年下降百分之多少？")
    assert answer.refused and "3000" in answer.text, answer.text


def test_yearly_rate_of_a_cumulative_cut(bot):
    answer = ask(bot, "单位GDP能耗五年累计要降多少？", "那年均呢？")
    assert check_number(answer.text, [2.86]), answer.text
    assert any(f.formula and "1/5" in f.formula for f in answer.figures)


def test_percent_change_from_base_to_target(bot):
    answer = ask(bot, "全市PM2.5从2020年到2025年降幅是多少？")
    assert check_number(answer.text, [12.5]), answer.text


def test_an_empty_cell_is_refused_with_the_note_that_explains_it(bot):
    answer = ask(bot, "挥发性有机物重点工程减排量基期值是多少？")
    assert answer.refused and "基期未统计" in answer.text, answer.text


def test_the_note_explaining_a_mark_comes_with_the_value(bot):
    answer = ask(bot, "单位地区生产总值能源消耗降低的目标是多少？")
    assert check_number(answer.text, [13.5]) and "五年累计" in answer.text, answer.text


def test_target_and_a_year_asked_together_are_both_given(bot):
    answer = ask(bot, "森林覆盖率的目标是多少？2020年是多少？")
    assert check_number(answer.text, [32, 30]), answer.text


def test_an_empty_total_cell_falls_through_to_the_overall_table(bot):
    answer = ask(bot, "PM2.5年均浓度2025年目标是多少？")
    assert check_number(answer.text, [35]) and "—" not in answer.text, answer.text


def test_question_parts_keep_a_bare_asking_with_the_part_before():
    from assistant.core import question_parts

    assert question_parts("哪个区县减排量最大？多少吨？最小的是哪个？") == ["哪个区县减排量最大？多少吨？", "最小的是哪个？"]
    assert question_parts("目标是多少？现状呢？") == ["目标是多少？", "现状呢？"]
    assert question_parts("乌海市二氧化硫目标是多少") == ["乌海市二氧化硫目标是多少"]


def test_each_part_of_a_message_is_answered(bot):
    answer = ask(bot, "森林覆盖率的目标是多少？现状呢？")
    assert check_number(answer.text, [32, 30]), answer.text
    answer = ask(bot, "哪个区县化学需氧量减排量最大？多少吨？最小的是哪个？")
    assert check_number(answer.text, [3000, 1500]) and "城关区" in answer.text and "白水县" in answer.text, answer.text


def test_a_title_quoted_exactly_names_that_document_among_same_titled_ones():
    from types import SimpleNamespace

    from assistant.planner import scope_documents

    docs = [{"doc_id": f"d{i}", "name": f"河北省十三五大气污染防治实施方案_{i}.txt",
             "meta": {"title": "河北省“十三五”大气污染防治实施方案"}} for i in range(3)]
    kb = SimpleNamespace(docs=docs)
    assert scope_documents("《河北省十三五大气污染防治实施方案_2》中，哪个地区降幅最大", kb) == ("d2",)
    assert set(scope_documents("河北省十三五大气污染防治实施方案里哪个地区降幅最大", kb)) == {"d0", "d1", "d2"}


def test_targets_of_another_period_than_the_plans_are_refused(bot):
    answer = ask(bot, "《临川市“十四五”大气和水环境保护规划》里“十三五”期间的目标是什么？")
    assert answer.refused and "十四五" in answer.text and "十三五" in answer.text, answer.text


def test_indicators_of_one_attribute_are_listed_and_counted(bot):
    answer = ask(bot, "专栏1里哪些指标属于预期性？")
    assert "森林覆盖率" in answer.text and "细颗粒物" not in answer.text, answer.text
    answer = ask(bot, "专栏1一共多少项指标？其中约束性的有几项？")
    assert check_number(answer.text, [5, 4]), answer.text


def test_a_places_largest_and_smallest_of_one_kind(bot):
    answer = ask(bot, "城关区三项指标里哪项最大，哪项最小？")
    # 微克/立方米 and 吨 are not compared; among the two in 吨, 化学需氧量 (3000) is the largest, 氨氮 (150) the smallest
    assert "单位不同" in answer.text and "3000" in answer.text and "150" in answer.text, answer.text
    assert "“化学需氧量重点工程减排量”最大" in answer.text and "“氨氮重点工程减排量”最小" in answer.text, answer.text


def test_a_year_between_the_columns_is_refused_with_the_years_given(bot):
    answer = ask(bot, "2023年PM2.5年均浓度要降到多少？")
    assert answer.refused and "2020年" in answer.text and "2025年" in answer.text, answer.text
