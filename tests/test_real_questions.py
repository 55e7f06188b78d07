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
