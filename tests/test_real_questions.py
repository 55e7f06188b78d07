"""Conversations over all the real published documents at once: which document a turn is about, carried
from turn to turn, and several questions in one message."""

from __future__ import annotations

from pathlib import Path

import pytest

from assistant.conversation import Conversation
from assistant.core import Assistant
from assistant.guard import check
from eval.checks import check_number
from ingest.pipeline import ingest_paths
from kb.settings import load_settings

DOCS = Path(__file__).parent / "data" / "real_docs"


@pytest.fixture(scope="module")
def bot(tmp_path_factory):
    settings = load_settings(data_dir=tmp_path_factory.mktemp("real"), embedder="hash")
    assert not ingest_paths(settings, sorted(DOCS.glob("*.md"))).failed
    return Assistant(settings)


def talk(bot, *turns):
    conv = Conversation()
    answers = []
    for q in turns:
        answers.append(bot.ask(q, conv))
        assert check(answers[-1], q) == [], answers[-1].text
    return answers


def docs_cited(answer):
    return {c.doc for c in answer.citations}


def test_a_period_in_a_follow_up_is_a_column_of_the_same_plan(bot):
    first, second = talk(bot, "闵行的城市更新十五五规划里，老旧小区整治改造面积“十五五”目标是多少？", "那“十四五”完成值是多少？")
    assert check_number(first.text, [300]) and check_number(second.text, [240]), second.text
    assert docs_cited(first) == docs_cited(second) and all("闵行" in d for d in docs_cited(second))


def test_the_year_asked_picks_the_document_whose_title_has_it(bot):
    (answer,) = talk(bot, "嘉定2014年减量化任务，江桥镇分到多少公顷？")
    assert docs_cited(answer) and all("2014" in d for d in docs_cited(answer)), answer.text
    assert "亩" not in answer.text  # the 2026 table counts 亩; it does not answer a question in 公顷


def test_two_document_fields_asked_in_one_message(bot):
    (answer,) = talk(bot, "上海市十四五文物保护利用规划的印发通知是哪天成文的？落款单位是谁？")
    assert "2022年7月19日" in answer.text and "文物局" in answer.text, answer.text


def test_parts_of_a_total_come_from_the_sentence_that_states_them_together(bot):
    (answer,) = talk(bot, "普陀绿化十五五规划里，环卫公厕新建和改建大修一共多少座？")
    assert check_number(answer.text, [3, 40, 43]) and not check_number(answer.text, [5]), answer.text


def test_the_plans_words_shifted_by_a_character_are_not_a_misspelt_name(bot):
    (answer,) = talk(bot, "松江2025年度城市更新计划里，燃气老化管道和老旧供水管道改造加起来多少公里？")
    assert not answer.refused and check_number(answer.text, [7, 24, 31]), answer.text


def test_passages_that_state_no_quantity_do_not_answer_how_many(bot):
    (answer,) = talk(bot, "上海市十四五文物保护利用规划里，要完成多少处文物保护单位修缮？")
    assert answer.refused and "没有写明" in answer.text, answer.text


def test_attachments_are_counted(bot):
    (answer,) = talk(bot, "黄浦区历史风貌保护和利用“十四五”规划有哪些附件？")
    assert check_number(answer.text, [2]) and "重点任务与项目清单" in answer.text, answer.text


def test_title_words_the_resolver_also_knows_still_name_the_document(bot):
    (answer,) = talk(bot, "上海市城市更新和住房发展十五五主要指标里，有几项是约束性的？")
    assert "共1项" in answer.text and "城中村整体改造项目认定数量" in answer.text, answer.text
    assert docs_cited(answer) and all("住房发展" in d for d in docs_cited(answer))


def test_the_difference_of_a_rows_target_and_its_base_in_a_follow_up(bot):
    *_, answer = talk(bot, "闵行城市更新“十五五”规划里，燃气老化管道改造数量目标是多少？", "十四五完成了多少？",
                      "那十五五目标比十四五完成值多多少公里？")
    assert check_number(answer.text, [421, 355, 66]), answer.text


def test_compare_with_another_place_in_a_follow_up(bot):
    _, answer = talk(bot, "嘉定2026违法用地整治，安亭镇任务量多少亩？", "和南翔镇比呢？")
    assert "安亭镇" in answer.text and "南翔镇" in answer.text and "更大" in answer.text, answer.text


def test_who_drew_up_a_forwarded_plan_and_the_day_it_was_forwarded(bot):
    (answer,) = talk(bot, "静安“卓越城区”城市更新行动方案是哪个部门制订的？区政府办公室是哪天转发的？")
    assert "静安区人民政府办公室" in answer.text and "区建设管理委" in answer.text and "日" in answer.text, answer.text
    assert "《静安区“卓越城区”城市更新行动方案" in answer.text  # named by the plan, not by who drew it up


def test_a_district_named_must_be_the_documents_own(bot):
    (answer,) = talk(bot, "静安区城市更新“十五五”规划里商办楼宇更新数量目标是多少个？")
    assert answer.refused and "静安区" in answer.text and "商办楼宇" not in answer.text, answer.text


def test_a_table_row_without_the_asked_value_is_not_a_quantity(bot):
    (answer,) = talk(bot, "奉贤2026年城市体检方案里，人均体育场地面积的目标值是多少平方米？")
    assert answer.refused, answer.text


def test_a_pronoun_for_the_indicator_in_a_later_part_names_another_documents_row(bot):
    (answer,) = talk(bot, "上海住房发展十四五规划定的新增供应各类住宅用地面积目标是多少？"
                          "城市更新和住房发展十五五规划里这个指标的2030年目标值是多少？")
    assert check_number(answer.text, [4000, 1800, 2300]), answer.text
    assert len(docs_cited(answer)) == 2


def test_a_follow_up_against_the_earlier_period_quotes_its_review(bot):
    _, answer = talk(bot, "上海住房发展十四五规划里旧住房更新改造目标是多少？", "和十三五比呢？")
    assert check_number(answer.text, [5000, 5300, 300]) and "余" in answer.text, answer.text
    assert any("5300余万平方米" in c.quote for c in answer.citations)


def test_quantities_inside_a_place_tables_text_cells_are_compared_and_ranked(bot):
    (both,) = talk(bot, "宝山2019年垃圾分类目标分解表里，月浦镇和罗泾镇的“两网融合”分类量各是多少？")
    assert check_number(both.text, [18.89, 5.49, 13.4]) and "月浦镇更多" in both.text, both.text
    (least,) = talk(bot, "宝山2019年街镇垃圾分类目标分解表里，哪个镇“两网融合”服务点最少？")
    assert "宝山工业园区" in least.text and check_number(least.text, [2]), least.text


def test_a_place_the_documents_table_does_not_list_is_refused_with_those_it_lists(bot):
    (answer,) = talk(bot, "2026年嘉定区违法用地综合整治任务表里，曹王镇分到多少亩？")
    assert answer.refused and "曹王镇" in answer.text and "马陆镇" in answer.text, answer.text


def test_a_total_beside_its_parts_heads_its_own_column_and_a_realigned_cell_is_flagged(bot):
    (total,) = talk(bot, "嘉定2014年减量化计划表里，南翔镇减量化总面积是多少公顷？")
    assert "总面积" in total.text and check_number(total.text, [31]) and "宅基地" not in total.text, total.text
    (shifted,) = talk(bot, "嘉定2014年减量化计划表里，徐行镇分到多少公顷？")
    assert check_number(shifted.text, [10]) and "请核对原文" in shifted.text, shifted.text


def test_a_count_of_payments_under_a_heading_lists_each_share(bot):
    (answer,) = talk(bot, "头桥街道减量化方案的资金拨付流程分几步？各拨多少比例？")
    assert "3项" in answer.text and check_number(answer.text, [30, 40]) and "拆平资金" in answer.text, answer.text


def test_one_question_put_to_the_two_documents_it_names(bot):
    (answer,) = talk(bot, "普陀的国土空间近期规划和普陀绿化市容十五五规划，人均公园绿地面积的目标各是多少？")
    assert check_number(answer.text, [6.24, 6.2]), answer.text
    assert len(docs_cited(answer)) == 2 and answer.text.count("《") >= 2


def test_a_word_the_plan_writes_otherwise_is_read_as_the_plans_word(bot):
    (answer,) = talk(bot, "普陀国土空间近期规划里研发经费支出占GDP的比例到2030年是多少？")
    assert check_number(answer.text, [4.1]) and "左右" in answer.text and "地区生产总值" in answer.text, answer.text


def test_the_short_names_a_document_gives_are_read_back(bot):
    (itself,) = talk(bot, "普陀绿化市容那个十五五规划，文件里把规划本身简称成什么？")
    assert "《规划》" in itself.text and itself.citations, itself.text
    (listed,) = talk(bot, "奉贤违法用地三年行动方案里有哪些简称？")
    assert "新三年行动" in listed.text and all("奉贤" in d for d in docs_cited(listed)), listed.text


def test_the_target_and_a_years_value_asked_together(bot):
    (answer,) = talk(bot, "普陀绿化十四五指标完成情况表里，立体绿化建设的目标和2025年完成各是多少？")
    assert len(answer.figures) >= 2 and "目标值" in answer.text and "2025年" in answer.text, answer.text


def test_quantities_in_a_task_tables_words_are_summed_part_by_part(bot):
    (answer,) = talk(bot, "静安卓越城区城市更新行动方案里，“美丽家园”特色小区加示范小区一共要创建多少个？")
    assert check_number(answer.text, [20, 10, 30]) and "合计30个" in answer.text, answer.text


def test_a_cumulative_row_target_spread_over_the_plans_years(bot):
    (answer,) = talk(bot, "城市更新和住房十五五规划里更换切断型智能燃气表的目标，摊到每年平均要换多少万台？")
    assert check_number(answer.text, [500, 100]) and "每年约100万台" in answer.text, answer.text


def test_what_was_done_beyond_the_target_in_a_completion_table(bot):
    (answer,) = talk(bot, "普陀绿化十四五指标完成情况表，新建绿地实际比目标多完成了多少万平方米？")
    assert check_number(answer.text, [75, 90.87, 15.87]), answer.text


def test_a_district_misspelt_by_one_character_is_read_as_the_near_one_and_said_so(bot):
    (answer,) = talk(bot, "闽行城市更新十五五规划里，2030年路网密度力争到多少？")
    assert "按“闵行”理解" in answer.text and check_number(answer.text, [4.15]), answer.text


def test_ordinary_words_are_never_read_as_a_misspelt_place(bot):
    (answer,) = talk(bot, "普陀近期规划2030年河湖高品质开放滨水空间公里数定的多少？")
    assert "理解）" not in answer.text and check_number(answer.text, [24]), answer.text
    assert all("普陀" in d for d in docs_cited(answer))


def test_a_follow_up_against_another_document_sets_the_two_figures_side_by_side(bot):
    _, answer = talk(bot, "闵行城市更新十五五规划，美丽幸福河湖建成率2030年要达到多少？", "和市里城市更新和住房发展十五五规划比呢？")
    assert check_number(answer.text, [70, 50, 20]) and "个百分点" in answer.text, answer.text
    assert len(docs_cited(answer)) == 2


def test_a_figure_said_to_have_doubled_is_back_cast_and_called_an_estimate(bot):
    (answer,) = talk(bot, "黄浦历史风貌规划里居住类历史建筑修缮启动30万平方米，比十三五翻了一番，十三五是多少？")
    assert check_number(answer.text, [30, 15]) and "推算" in answer.text, answer.text


def test_a_yearly_quantity_times_the_years_asked(bot):
    (answer,) = talk(bot, "普陀绿化十五五规划里，公共空间休憩座椅五年一共要优化提升多少处？")
    assert check_number(answer.text, [100, 500]) and "每年" in answer.text, answer.text


def test_two_verbs_sharing_one_noun_are_summed_from_their_sentence(bot):
    (answer,) = talk(bot, "普陀绿化十五五规划里，新建和改造的公厕一共多少座？")
    assert check_number(answer.text, [5, 46, 51]), answer.text


def test_an_area_never_answers_a_length(bot):
    (answer,) = talk(bot, "杨浦生活秀带三年行动计划里，文物主题游径总长度是多少公里？")
    assert answer.refused and "平方公里" in answer.text and "不是以公里计" in answer.text, answer.text


def test_two_questions_in_one_sentence_get_both_columns(bot):
    (answer,) = talk(bot, "普陀绿容局那个十五五规划，公园数量十四五现状几座、十五五目标几座？")
    assert check_number(answer.text, [59, 69]), answer.text


def test_when_is_answered_from_the_tables_deadline_column(bot):
    (answer,) = talk(bot, "嘉定14年那个集建区外减量化计划表，江桥镇总面积要减多少公顷？什么时候完成复垦？")
    assert check_number(answer.text, [39]) and "2014年12月底" in answer.text, answer.text
    assert any("2014年12月底" in c.quote for c in answer.citations)


def test_an_indicator_named_by_the_end_of_its_name(bot):
    (answer,) = talk(bot, "黄浦区历史风貌保护和利用十四五规划指标里，手拎马桶那项2025年目标是什么？什么属性？")
    assert "基本消除" in answer.text and "约束性" in answer.text, answer.text
    assert any("手拎马桶" in c.quote for c in answer.citations)


def test_the_head_of_another_indicators_name_does_not_name_it(bot):
    (answer,) = talk(bot, "黄浦区历史风貌十四五规划里，目前全区有多少处优秀历史建筑？")
    assert check_number(answer.text, [289]) and "覆盖率" not in answer.text, answer.text


def test_todays_count_is_not_the_target_asked(bot):
    (answer,) = talk(bot, "黄浦区历史风貌十四五规划里，到2025年优秀历史建筑要增加到多少处？")
    assert answer.refused and "目前" in answer.text, answer.text


def test_a_gap_between_target_and_base_worded_with_its_verb(bot):
    (answer,) = talk(bot, "市城市更新和住房十五五规划里，给居民换切断型智能燃气表，十五五目标比十四五（2025基期）多换多少万台？")
    assert check_number(answer.text, [195]), answer.text


def test_a_unit_no_clause_states_for_the_subject_is_refused(bot):
    (money,) = talk(bot, "公园提质增效实施方案给新建公园安排了多少亿元资金？")
    (pipes,) = talk(bot, "静安卓越城区行动方案里，老旧供水管道改造要完成多少公里？")
    assert money.refused and pipes.refused, (money.text, pipes.text)
    (stated,) = talk(bot, "静安卓越城区行动方案里，架空线入地要完成多少公里？")
    assert not stated.refused and check_number(stated.text, [48]), stated.text


def test_attachment_titles_listed_under_a_bare_heading_are_counted(bot):
    (answer,) = talk(bot, "2025年本市海绵城市建设工作要求的通知一共附了几个附件？")
    assert check_number(answer.text, [6]) and "年末指导细则" in answer.text, answer.text


def test_the_two_figures_just_answered_are_added_and_bounds_stay_bounds(bot):
    first, second, both = talk(bot, "奉贤违法用地三年行动，第一年全区至少要完成多少亩？", "第二年呢？", "这两年加起来最少多少？")
    assert check_number(first.text, [700]) and check_number(second.text, [900]), (first.text, second.text)
    assert check_number(both.text, [1600]) and "至少" in both.text, both.text
    assert "任务量不少于：" not in first.text  # the bound belongs to the value, not to the subject's name


def test_a_period_said_first_in_a_follow_up_stays_with_the_plan(bot):
    _, answer = talk(bot, "市里十五五城市更新和住房规划，老旧小区改造面积目标是多少？", "十四五那五年做了多少？")
    assert check_number(answer.text, [6880]), answer.text
    assert all("十五五" in d for d in docs_cited(answer)), docs_cited(answer)


def test_a_per_head_figure_is_compared_with_another_documents(bot):
    _, answer = talk(bot, "闵行城市更新十五五规划，人均公园绿地面积目标是多少？", "和普陀国土空间近期规划里2030年的值比呢，哪个高？")
    assert check_number(answer.text, [6.24, 11.5, 5.26]), answer.text
    assert len(docs_cited(answer)) == 2


def test_two_columns_of_one_row_joined_by_he(bot):
    (answer,) = talk(bot, "黄浦区历史风貌保护和利用十四五规划指标里，手拎马桶那项2025年目标和属性是什么？")
    assert "基本消除" in answer.text and "约束性" in answer.text, answer.text


def test_parts_named_before_their_quantities_in_one_sentence_are_added(bot):
    # "完成新增建设13万亩、改造提升11万亩高标准农田任务": each part's words, then its quantity, the noun after both
    (answer,) = talk(bot, "耕地保护工作方案，高标准农田的新增建设加上改造提升，合计多少万亩？")
    assert check_number(answer.text, [13, 11, 24]) and "万亩" in answer.text, answer.text
    assert not answer.refused and any("13万亩" in c.quote for c in answer.citations)


def test_the_level_before_the_period_is_the_total_less_the_increase(bot):
    (answer,) = talk(bot, "公园提质增效方案里，按新增数和总数目标推算，目前全市大约有多少座公园？")
    assert check_number(answer.text, [1100]) and "1400 − 300" in answer.text, answer.text
    assert "下限" in answer.text  # both figures are "以上": the result is only approximate
    assert {f.label for f in answer.figures} >= {"推算的现有量"}


def test_a_total_asked_after_quoted_yearly_quantities_adds_them(bot):
    first, total = talk(bot, "奉贤违法用地三年行动每年全区最少完成多少亩？", "一共多少？")
    assert check_number(first.text, [700, 900]), first.text
    assert check_number(total.text, [2300]) and "至少" in total.text and "700 + 900 + 700" in total.text, total.text


def test_a_notice_is_named_by_what_it_issues_without_its_issuer(bot):
    # "…委员会关于发布2025年本市海绵城市建设工作要求的通知" is named "2025年海绵城市建设…"
    (answer,) = talk(bot, "2025年海绵城市建设，本市新增多少平方公里建成区要达到海绵城市要求？")
    assert check_number(answer.text, [50]) and all("海绵城市" in d for d in docs_cited(answer)), answer.text


def test_the_phrase_naming_the_document_beats_another_titles_words_later_on(bot):
    (answer,) = talk(bot, "市里城市更新和住房发展规划，新增达到海绵城市建设要求的建成区面积2030年目标多少？")
    assert check_number(answer.text, [450]) and all("十五五" in d for d in docs_cited(answer)), answer.text


def test_a_set_named_by_its_size_lists_its_members(bot):
    (answer,) = talk(bot, "城市体检促进城市更新的工作指引中，“三张地图”分别是什么？")
    assert all(m in answer.text for m in ("问题地图", "资源地图", "需求地图")), answer.text
    assert not answer.refused and any("形成资源地图" in c.quote for c in answer.citations)


def test_a_set_whose_members_the_document_never_names_is_only_quoted(bot):
    (answer,) = talk(bot, "奉贤2026年城市体检工作方案里的三张地图是哪些？")
    assert "是：" not in answer.text and "三张地图" in answer.text, answer.text


def test_a_short_name_asked_with_a_filler_word_is_expanded(bot):
    (answer,) = talk(bot, "嘉定2026违法用地整治实施方案中“C类、D类违法用地”究竟是指什么？")
    assert "观察整改" in answer.text and "整治退出" in answer.text, answer.text


def test_qizhong_after_a_prose_figure_is_the_part_its_sentence_states(bot):
    first, part = talk(bot, "普陀绿化十五五规划说截至2025年底全区绿地总量是多少？", "其中公园绿地有多少？")
    assert check_number(first.text, [1633.8]), first.text
    assert check_number(part.text, [758.03]) and "58.46" not in part.text, part.text


def test_a_year_asked_after_the_attribute_asks_for_the_value(bot):
    _, value = talk(bot, "普陀国土空间近期规划里道路网密度是约束性还是预期性？", "2030年呢？")
    assert check_number(value.text, [6.2]), value.text


def test_from_base_to_target_and_the_net_increase(bot):
    (answer,) = talk(bot, "普陀绿化十五五规划中，公园数量从现状的多少座提高到多少座？")
    assert check_number(answer.text, [59, 69, 10]), answer.text
    _, net = talk(bot, "普陀绿化十五五规划中公园数量十五五目标是多少？", "净增几座？")
    assert check_number(net.text, [10]), net.text


def test_which_place_has_the_largest_task_ranks_the_total_column(bot):
    (answer,) = talk(bot, "嘉定2014年集建区外减量化计划里，哪个镇分到的任务最多？")
    assert "江桥镇" in answer.text and check_number(answer.text, [39]) and "总面积" in answer.text, answer.text


def test_a_table_figure_is_cited_with_the_sentence_that_states_it_too(bot):
    (answer,) = talk(bot, "普陀绿化十五五规划，公园数量十五五目标多少座？")
    assert check_number(answer.text, [69]), answer.text
    assert any("公园数量达到69座" in c.quote and not c.table for c in answer.citations), answer.citations


def test_a_running_total_is_the_thing_just_counted_at_that_stage(bot):
    # "新增…点位30个，总计达60个；特色道路10条，总计达20条；特色园5座，总计达10座。"
    first, total = talk(bot, "上海白玉兰推广应用三年行动，2025年上半年新增几个白玉兰栽植及观赏点位？", "那到2025年底总计呢？")
    assert check_number(first.text, [30]), first.text
    assert check_number(total.text, [60]) and not check_number(total.text, [100]), total.text
    _, garden = talk(bot, "白玉兰推广三年行动，2026年11月底前白玉兰栽植及观赏点位累计要达到多少个？", "那特色园呢？")
    assert check_number(garden.text, [20]) and "座" in garden.text, garden.text  # the 2026 total, not 2025's 10


def test_a_year_inside_a_period_the_table_gives_whole_is_refused(bot):
    (answer,) = talk(bot, "闵行城市更新十五五规划，2027年那一年老旧小区整治改造面积要完成多少？")
    assert answer.refused and "“十五五”时期" in answer.text and "2027年" in answer.text, answer.text
    (unknown,) = talk(bot, "闵行城市更新十五五规划，2028年那一年老旧小区整治改造面积要完成多少？")
    assert unknown.refused and "2028年" in unknown.text, unknown.text  # a year the plan never names
    (end,) = talk(bot, "闵行城市更新十五五规划，到2030年老旧小区整治改造面积目标多少？")
    assert not end.refused and check_number(end.text, [300]), end.text  # the period's last year is its target


def test_a_milestone_the_table_does_not_have_is_refused_with_the_ones_it_has(bot):
    (answer,) = talk(bot, "嘉定2026违法用地整治，江桥镇8月底前累计要完成多少亩？")
    assert answer.refused and "6月底前" in answer.text and "8月底" in answer.text, answer.text


def test_a_subject_the_passages_name_without_a_number_gets_no_quote_as_answer(bot):
    (answer,) = talk(bot, "崇明2021年城市体检工作方案，自然湿地保有率的现状值是多少？")
    assert answer.refused, answer.text


def test_a_district_no_document_belongs_to_is_said(bot):
    (answer,) = talk(bot, "长宁区城市更新十五五规划里，老旧小区整治改造面积目标是多少？")
    assert answer.refused and "长宁区" in answer.text and not check_number(answer.text, [300]), answer.text


def test_a_district_listed_in_a_document_is_no_missing_document(bot):
    # 徐汇 is named in no document; a district the corpus does mention, asked without a document kind, is asked about
    (answer,) = talk(bot, "宝山2019年垃圾分类目标任务分解，罗泾镇两网融合服务点累计目标多少个？")
    assert "知识库中没有" not in answer.text, answer.text


def test_a_unit_phrase_is_not_an_unknown_term(bot):
    (answer,) = talk(bot, "头桥街道减量化方案里，拆房服务费每平方米最高多少元？")
    assert "没有关于“每平方米”" not in answer.text and check_number(answer.text, [70]), answer.text
