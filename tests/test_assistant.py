"""The deterministic assistant on the sample plan: kinds of questions, rephrasings, follow-ups, refusals."""

from __future__ import annotations

import pytest

from assistant.conversation import Conversation
from assistant.core import Assistant
from assistant.guard import check
from eval.checks import check_number, numbers_in


@pytest.fixture(scope="module")
def bot(sample_kb):
    return Assistant(sample_kb.settings, kb=sample_kb)


def _has(answer, value):
    return check_number(answer.text, [value])  # the scoring contract's own check


@pytest.mark.parametrize("question, value, keyword", [
    # lookups in the region table, phrased several ways
    ("乌海市二氧化硫目标是多少", 8.5, "乌海市"),
    ("乌海二氧化硫目标是多少", 8.5, "乌海"),
    ("二氧化硫乌海市的目标", 8.5, "乌海"),
    ("乌海市SO2降低多少", 8.5, "乌海"),
    ("乌海市二氧化硫要下降几个百分点", 8.5, "乌海"),
    ("乌海市二氧化硫减少多少", 8.5, "乌海"),
    ("烏海市二氧化硫目標", 8.5, "乌海"),
    ("鄂尔多斯氮氧化物降低目标", 15.3, "鄂尔多斯"),
    ("呼市化学需氧量目标", 8.4, "呼和浩特"),
    ("通遼氨氮降低多少", 6.5, "通辽"),
    ("包头市ＣＯＤ降低目标", 7.8, "包头"),
    # overall table: years, target, annual
    ("全区二氧化硫2015年排放量控制在多少万吨", 134.4, "二氧化硫"),
    ("2010年全区氨氮排放量", 5.4, "氨氮"),
    ("全区单位GDP能耗2015年目标", 1.63, "单位GDP能耗"),
    ("化学需氧量年均下降多少", 1.38, "化学需氧量"),
])
def test_lookup_states_the_table_value_with_its_row(bot, question, value, keyword):
    answer = bot.ask(question)
    assert not answer.refused, answer.text
    assert _has(answer, value), answer.text
    assert keyword in answer.text
    assert any(c.quote.startswith("|") for c in answer.citations)
    assert any(c.quote.startswith("专栏") for c in answer.citations)
    assert check(answer, question) == []


def test_flagged_value_is_shown_as_printed_not_guessed(bot):
    answer = bot.ask("乌兰察布市单位GDP能耗降低目标")
    assert "14.5" in answer.text and "缺少" in answer.text
    assert "14.5%" not in answer.text


@pytest.mark.parametrize("question, value, region", [
    ("哪个盟市氮氧化物降幅最大", 17.3, "包头市"),
    ("氮氧化物降低最多的是哪个盟市", 17.3, "包头市"),
    ("二氧化硫降幅最小的盟市", 0, "兴安盟"),
    ("除兴安盟以外，二氧化硫降幅最小的是哪个", 3.85, "通辽市"),
    ("化学需氧量降幅前三的盟市", 9.3, "通辽市"),
])
def test_rank(bot, question, value, region):
    answer = bot.ask(question)
    assert region in answer.text and _has(answer, value), answer.text
    assert answer.chart and region in answer.chart["highlight"]


def test_rank_ties_name_every_region(bot):
    answer = bot.ask("单位GDP能耗降低最大的盟市")
    for region in ("呼和浩特市", "包头市", "乌海市", "鄂尔多斯市", "阿拉善盟"):
        assert region in answer.text


def test_compare_two_regions(bot):
    answer = bot.ask("呼和浩特和包头哪个氮氧化物降幅更大")
    assert "包头市更大" in answer.text and _has(answer, 2.7)
    assert any(f.formula for f in answer.figures)


@pytest.mark.parametrize("question, value", [
    ("呼伦贝尔市氮氧化物年均降幅是多少", 3.36),
    ("呼伦贝尔氮氧化物每年平均下降多少", 3.36),
    ("全区二氧化硫五年要减少多少万吨", 5.3),
    ("12个盟市二氧化硫降低目标的平均值", 5.98),
    ("推算2005年单位地区生产总值能耗约多少", 2.48),
])
def test_compute_shows_result_and_formula(bot, question, value):
    answer = bot.ask(question)
    assert _has(answer, value), answer.text
    assert any(f.formula and f.inputs for f in answer.figures)
    assert check(answer, question) == []


def test_annual_rate_exposes_the_plans_own_error(bot):
    answer = bot.ask("二氧化硫年均下降多少")
    assert "-0.077%" in answer.text and "0.77" in answer.text and "不一致" in answer.text


@pytest.mark.parametrize("question, value, keyword", [
    ("电石淘汰量", 178.1, "电石"),
    ("淘汰多少电石", 178.1, "电石"),
    ("炼铁淘汰多少万吨", 230, "炼铁"),
    ("平板玻璃淘汰多少", 350, "平板玻璃"),
    ("城市空气质量好于二级标准的天数目标", 292, "天"),
    ("既有建筑节能改造面积要达到多少", 5000, "平方米"),
])
def test_fact(bot, question, value, keyword):
    answer = bot.ask(question)
    assert _has(answer, value) and keyword in answer.text, answer.text
    assert answer.citations and all(c.quote in bot.kb.text_of(c.doc_id) for c in answer.citations)




@pytest.mark.parametrize("turns, value, keyword", [
    (["乌海市二氧化硫目标是多少", "那包头呢？"], 6.3, "包头"),
    (["乌海市二氧化硫目标是多少", "氮氧化物呢"], 15.4, "乌海"),
    (["造纸淘汰多少", "制革呢？"], 15, "制革"),
    (["哪个盟市氨氮降幅最大", "最小的呢"], 0, "兴安盟"),
    (["乌海市二氧化硫目标是多少", "赤峰市氨氮呢"], 8.2, "赤峰"),
])
def test_multi_turn(bot, turns, value, keyword):
    conv = Conversation()
    for q in turns:
        answer = bot.ask(q, conv)
    assert _has(answer, value) and keyword in answer.text, answer.text


def test_new_entity_replaces_the_old_one(bot):
    conv = Conversation()
    bot.ask("乌海市二氧化硫目标是多少", conv)
    answer = bot.ask("包头市氮氧化物降低目标", conv)
    assert "包头市" in answer.text and "乌海" not in answer.text and _has(answer, 17.3)


@pytest.mark.parametrize("question", [
    "上海市氮氧化物减排目标是多少？",
    "北京二氧化硫目标",
    "“十三五”期间内蒙古节能减排目标是什么？",
    "全区PM2.5浓度要下降多少？",
    "2020年全区二氧化硫排放量是多少",
    "挥发性有机物减排目标是多少",
])
def test_out_of_scope_is_refused_without_figures(bot, question):
    answer = bot.ask(question)
    assert answer.refused, answer.text
    assert not answer.figures
    assert numbers_in(answer.text) == []


def test_refusal_points_to_what_the_plan_covers(bot):
    answer = bot.ask("上海市氮氧化物减排目标是多少？")
    assert "乌海市" in answer.text and "上海市" in answer.text


def test_near_miss_region_gets_did_you_mean(bot):
    answer = bot.ask("乌海氏二氧化硫目标")
    assert "乌海" in answer.text


@pytest.mark.parametrize("question, keywords", [
    ("工业粉尘治理有哪些措施？", ["除尘器", "露天堆场"]),
    ("排污权交易方面有什么政策？", ["排污权", "有偿使用"]),
    ("公务用车管理有什么要求？", ["定点加油"]),
    ("机动车氮氧化物排放怎么控制", ["黄标车"]),
])
def test_narrative_is_extractive_and_cited(bot, question, keywords):
    answer = bot.ask(question)
    assert all(k in answer.text for k in keywords), answer.text
    for c in answer.citations:
        assert c.quote in bot.kb.text_of(c.doc_id)
        assert f"- {c.quote}" in answer.text


def test_audit_lists_the_plans_inconsistencies_with_quotes(bot):
    answer = bot.ask("规划中有哪些数字不一致？")
    assert "-0.077%" in answer.text and "9.26" in answer.text and "14.5" in answer.text
    assert any("二氧化硫排放量" in c.quote for c in answer.citations)
    assert check(answer, "") == []


@pytest.mark.parametrize("question", ["", "   ", "？？？", "\x00\x01", "😀😀", "a" * 10_000,
                                      "<script>alert(1)</script>", "'; DROP TABLE plans; --"])
def test_bad_questions_get_a_clear_message(bot, question):
    answer = bot.ask(question)
    assert answer.text
    assert answer.refused
    assert not answer.figures


def test_every_answer_passes_the_number_guard(bot):
    for q in ["乌海市二氧化硫目标是多少", "哪个盟市氮氧化物降幅最大", "电石淘汰量", "二氧化硫年均下降多少",
              "12个盟市化学需氧量降幅的平均值", "工业粉尘治理有哪些措施"]:
        answer = bot.ask(q)
        assert check(answer, q) == [], (q, answer.text)


def test_list_every_region(bot):
    answer = bot.ask("各盟市二氧化硫降低目标")
    assert answer.intent == "list"
    for region, value in [("呼和浩特市", "6.5%"), ("兴安盟", "0"), ("阿拉善盟", "7.2%")]:
        assert region in answer.text and value in answer.text
    assert len(answer.chart["values"]) == 12


def test_filter_by_value(bot):
    answer = bot.ask("哪些盟市单位GDP能耗降低16%")
    assert "五个" in answer.text
    assert all(r in answer.text for r in ("呼和浩特市", "包头市", "乌海市", "鄂尔多斯市", "阿拉善盟"))
    assert "赤峰市" not in answer.text


def test_nth_place(bot):
    answer = bot.ask("氮氧化物降幅第二大的盟市")
    assert "通辽市" in answer.text and "16.2%" in answer.text and "包头市" not in answer.text


def test_region_profile(bot):
    answer = bot.ask("包头市的目标有哪些")
    assert all(v in answer.text for v in ("16%", "6.3%", "8.9%", "7.8%", "17.3%"))


def test_unrelated_question_does_not_borrow_context(bot):
    conv = Conversation()
    bot.ask("乌海市二氧化硫目标是多少", conv)
    answer = bot.ask("全区地区生产总值年均增长目标", conv)
    assert "12%" in answer.text and "二氧化硫" not in answer.text


def test_fact_prefers_the_unit_asked_for_over_a_number_in_the_question(bot):
    answer = bot.ask("单机容量60万千瓦及以上的装机比重要达到多少")
    assert "45%" in answer.text


def test_failed_lookup_falls_back_to_prose_facts(bot):
    answer = bot.ask("“十一五”期间二氧化硫排放量比2005年下降了多少")
    assert "7.46%" in answer.text


@pytest.mark.parametrize("question, values", [
    ("钢铁行业淘汰多少", ["230万吨", "95万吨", "83万吨"]),
    ("建材行业淘汰什么", ["500万吨", "350万重量箱"]),
    ("有色金属淘汰多少", ["3.5万吨", "2万吨"]),
])
def test_sector_questions_list_every_item_of_the_section(bot, question, values):
    answer = bot.ask(question)
    assert all(v in answer.text for v in values), answer.text


def test_a_year_the_plan_has_no_figure_for_is_refused(bot):
    answer = bot.ask("2015年全区能源消费总量是多少")
    assert answer.refused and "16820.3" not in answer.text


def test_a_longer_subject_with_another_head_is_not_the_answer(bot):
    answer = bot.ask("全区能源消费总量是多少")
    assert "16820.3" in answer.text and "5%" not in answer.text.split("原文")[0]


@pytest.mark.parametrize("question, meant, value", [
    ("鄂尔多丝市二氧化硫目标", "鄂尔多斯", 8.5),
    ("包投市化学需氧量", "包头市", 7.8),
])
def test_a_place_misspelt_by_one_character_is_read_as_the_one_near_name_and_said_so(bot, question, meant, value):
    answer = bot.ask(question)
    assert f"按“{meant}”理解" in answer.text and _has(answer, value), answer.text
    assert check(answer, question) == []


def test_another_real_place_is_never_read_as_a_near_local_name(bot):
    answer = bot.ask("上海市氮氧化物减排目标是多少？")
    assert answer.refused and "乌海市" not in answer.text.split("覆盖的地区")[0], answer.text


@pytest.mark.parametrize("question, suggestion", [
    ("巴彦淖尔二氧化流目标", "二氧化硫"),
])
def test_misspelt_names_get_did_you_mean_not_a_guess(bot, question, suggestion):
    answer = bot.ask(question)
    assert answer.refused and not answer.figures
    assert "您是否想问" in answer.text and suggestion in answer.text
    assert any(suggestion in s for s in answer.suggestions)


def test_a_rank_read_from_the_words_around_a_known_indicator(bot):
    answer = bot.ask("化学需氧量排放量降低目标排第二的是哪个盟市？")
    assert "赤峰市" in answer.text and "9.1" in answer.text, answer.text


def test_a_follow_up_against_the_whole_keeps_the_place_and_compares_cuts(bot):
    from assistant.conversation import Conversation

    conv = Conversation()
    bot.ask("赤峰市单位GDP能耗降低目标是多少？", conv)
    bot.ask("二氧化硫呢？", conv)
    answer = bot.ask("那和全区二氧化硫目标比高多少个百分点？", conv)
    assert "赤峰市" in answer.text and "8.55" in answer.text and "3.8" in answer.text, answer.text
    assert any(f.unit == "个百分点" and abs(f.value - 4.75) < 1e-6 for f in answer.figures), answer.figures


def test_requirements_about_a_topic_are_gathered_across_sections_quantified_first(bot):
    answer = bot.ask("规划对新建燃煤机组脱硫脱硝有什么要求？")
    assert check(answer, "规划对新建燃煤机组脱硫脱硝有什么要求？") == []
    assert "90%以上" in answer.text and "70%以上" in answer.text, answer.text
    assert "【" in answer.text and len({c.section_path for c in answer.citations}) >= 2  # more than one section
    lines = [line for line in answer.text.splitlines() if line.startswith("- ")]
    assert lines and any(ch.isdigit() for ch in lines[0])  # the quantified requirement comes first


def test_items_of_a_box_are_counted_by_their_run_in_titles(bot):
    answer = bot.ask("专栏三重点节能工程分几大类？其中节能改造工程包括几项？")
    assert "共列出5项" in answer.text and "共列出7项" in answer.text and "锅炉窑炉改造工程" in answer.text, answer.text
    assert any(c.quote.startswith("专栏三") for c in answer.citations)


def test_requirements_about_a_topic_the_plan_never_names_are_refused(bot):
    answer = bot.ask("规划对房地产市场有什么要求？")
    assert answer.refused and "要求（按章节" not in answer.text, answer.text
