"""A differently built plan (markdown, other province, other indicators, a "（单位：%）" line) gets the same
kinds of answers with no code change."""

from __future__ import annotations

from pathlib import Path

import pytest

from assistant.conversation import Conversation
from assistant.core import Assistant
from assistant.guard import check
from eval.checks import check_number
from ingest.pipeline import ingest_paths
from kb.settings import load_settings

PLAN = Path(__file__).parent / "data" / "hebei_plan.md"


@pytest.fixture(scope="module")
def bot(tmp_path_factory):
    settings = load_settings(data_dir=tmp_path_factory.mktemp("hebei"), embedder="hash")
    report = ingest_paths(settings, [PLAN])
    assert not report.failed
    return Assistant(settings)


def _has(answer, value):
    return check_number(answer.text, [value])  # the scoring contract's own check


@pytest.mark.parametrize("question, value, keyword", [
    ("唐山市氮氧化物减排目标是多少", 18.5, "唐山市"),
    ("唐山NOx减排多少", 18.5, "唐山"),
    ("保定市化学需氧量减排目标", 10.2, "保定"),
    ("哪个市挥发性有机物减排最多", 12.0, "唐山市"),
    ("VOCs减排最少的是哪个市", 9.0, "保定市"),
    ("石家庄和沧州哪个单位GDP能耗下降更多", 14.5, "石家庄市"),
    ("全省氮氧化物2025年排放量是多少", 67.5, "万吨"),
    ("氮氧化物年均下降多少", 3.34, "氮氧化物"),
    ("各市化学需氧量减排的平均值", 8.82, "化学需氧量"),
    ("炼铁产能压减多少", 1200, "炼铁"),
    ("平板玻璃淘汰多少", 400, "重量箱"),
    ("城市生活污水集中收集率目标", 75, "%"),
])
def test_same_kinds_of_answers_on_another_plan(bot, question, value, keyword):
    answer = bot.ask(question)
    assert not answer.refused, answer.text
    assert _has(answer, value) and keyword in answer.text, answer.text
    assert answer.citations
    assert check(answer, question) == []


def test_table_unit_line_applies_to_cells(bot):
    answer = bot.ask("唐山市氮氧化物减排目标是多少")
    assert "18.5%" in answer.text


def test_follow_up_on_another_plan(bot):
    conv = Conversation()
    bot.ask("唐山市氮氧化物减排目标是多少", conv)
    answer = bot.ask("那邯郸呢？", conv)
    assert "邯郸市" in answer.text and _has(answer, 17.0)


@pytest.mark.parametrize("question", ["乌海市二氧化硫目标是多少", "十三五目标是什么", "全省PM2.5下降多少", "上海市目标"])
def test_other_plans_regions_and_periods_are_out_of_scope(bot, question):
    answer = bot.ask(question)
    assert answer.refused and not answer.figures, answer.text


def test_audit_on_another_plan_finds_its_inconsistency(bot):
    answer = bot.ask("核对一下表格数字是否一致")
    assert "单位地区生产总值能耗" in answer.text and "12.9" in answer.text


def test_narrative_on_another_plan(bot):
    answer = bot.ask("挥发性有机物怎么治理")
    assert "源头替代" in answer.text and answer.citations


def test_two_plans_in_one_knowledge_base_name_the_document(tmp_path, sample_plan_path):
    settings = load_settings(data_dir=tmp_path / "two", embedder="hash")
    assert not ingest_paths(settings, [PLAN, sample_plan_path]).failed
    two = Assistant(settings)
    answer = two.ask("哪个市挥发性有机物减排最多")
    assert "唐山市" in answer.text
    answer = two.ask("工业粉尘治理有哪些措施？")
    assert "《内蒙古自治区十二五节能减排规划》" in answer.text
    answer = two.ask("氮氧化物年均下降多少")
    # each document named by its title, years kept (not by a file name)
    assert "《河北省“十四五”节能减排综合工作方案》" in answer.text and "《内蒙古自治区十二五节能减排规划》" in answer.text


def test_respectively_pairs_each_subject_with_its_value(bot):
    answer = bot.ask("氨氮重点工程减排量要达到多少")
    assert "0.5万吨" in answer.text and "8.2万吨" not in answer.text.split("原文")[0]


def test_documents_are_named_without_digits_from_file_names(tmp_path, sample_plan_path):
    settings = load_settings(data_dir=tmp_path / "digits", embedder="hash")
    files = [("000_88d271637ab7b80e.txt", sample_plan_path.read_bytes()), ("plan_2.md", PLAN.read_bytes())]
    from ingest.pipeline import ingest_files

    assert not ingest_files(settings, files).failed
    answer = Assistant(settings).ask("工业粉尘治理有哪些措施？")
    assert "000" not in answer.text and "88" not in answer.text
    assert check(answer, "工业粉尘治理有哪些措施？") == []
