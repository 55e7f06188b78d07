"""Tables whose rows are projects, not regions: ranked by the column the question names, a year column that
states the year asked, and an amount in money never answered by an area."""

from __future__ import annotations

import pytest

from assistant.conversation import Conversation
from assistant.core import Assistant
from assistant.guard import check
from eval.checks import check_number
from ingest.pipeline import ingest_paths
from kb.settings import load_settings

PLAN = """# 某区关于加快推进公园城市建设的实施意见

一、主要目标

到2025年，新建公园绿地200公顷，“十四五”期间公园城市绿化建设项目总投资另行测算。

附件1

公园绿地重点建设计划表

| 序号 | 名称 | 位置 | 面积（公顷） | 备注 |
| --- | --- | --- | --- | --- |
| 1 | 滨江绿地建设 | 滨江路南侧 | 3.75 | 需动迁 |
| 2 | 运河景观带 | 运河两岸 | 77 | |
| 3 | 南门公园 | 南门路 | 16.8 | |
| 4 | 北门公园 | 北门路 | 16.8 | |
| 合计 | | | 114.35 | |

附件2

绿道建设计划表

| 编号 | 名称 | 起终点位置 | 长度（公里） |
| --- | --- | --- | --- |
| 1 | 江南岸绿道 | 江南侧 | 13.3 |
| 2 | 运河景观绿道 | 运河两侧 | 45 |
| 3 | 海湾绿道 | 海湾 | 2.8 |

附件3

造林项目计划表

| 序号 | 项目名称 | 2021 | 2022 | 2023 |
| --- | --- | --- | --- | --- |
| 1 | 生态公益林 | 1500 | 2000 | 2500 |
| 2 | 经济果林 | 300 | 300 | 300 |
"""


def assistant_over(tmp_path_factory, name: str, text: str) -> Assistant:
    """An assistant over one markdown document written to a fresh folder."""
    folder = tmp_path_factory.mktemp("plan")
    path = folder / name
    path.write_text(text, encoding="utf-8")
    settings = load_settings(data_dir=folder / "data", embedder="hash")
    assert not ingest_paths(settings, [path]).failed
    return Assistant(settings)


@pytest.fixture(scope="module")
def bot(tmp_path_factory):
    return assistant_over(tmp_path_factory, "公园城市实施意见.md", PLAN)


def ask(bot, q):
    answer = bot.ask(q, Conversation())
    assert check(answer, q) == [], answer.text
    return answer


def test_the_rows_of_a_named_table_are_ranked_by_the_column_named(bot):
    answer = ask(bot, "公园绿地重点建设计划表里面积最大的是哪个项目？")
    assert "运河景观带" in answer.text and check_number(answer.text, [77]), answer.text
    assert "114.35" not in answer.text  # the total row is not a project


def test_a_tie_is_said(bot):
    answer = ask(bot, "公园绿地重点建设计划表中面积第二大……不，面积最小的是哪个？")
    assert "滨江绿地建设" in answer.text, answer.text


def test_longest_means_the_length_column(bot):
    answer = ask(bot, "绿道建设计划表里哪条绿道最长？")
    assert "运河景观绿道" in answer.text and check_number(answer.text, [45]), answer.text


def test_a_period_word_beside_a_name_is_no_misspelt_indicator(bot):
    # "十四五公园城市…" shares three characters with a row name but is the period and a word of the plan
    answer = ask(bot, "十四五公园城市绿化建设项目总投资是多少亿元？")
    assert "您是否想问" not in answer.text, answer.text
    assert not check_number(answer.text, [200]) or answer.refused, answer.text  # 200公顷 is no sum of money


def test_a_year_printed_as_a_column_is_a_year_the_plan_states(bot):
    answer = ask(bot, "造林项目计划表里，生态公益林2023年计划实施多少？")
    assert "没有提到2023年" not in answer.text and check_number(answer.text, [2500]), answer.text


TASKS = """# 某区2025年生活垃圾分类工作实施方案

一、工作任务

附件

2025年生活垃圾分类减量推进工作任务清单

| 序号 | 任务内容 | 责任单位 |
| --- | --- | --- |
| 1 | 对火车站开展专项监督检查，提高公共区域生活垃圾分类实效。 | 区站管委办 |
| 2 | 推广“包装有度”小程序，抽查礼盒过度包装。 | 区市场监管局 |
| 3 | 推进学校生活垃圾分类教育。 | 区教育局 |

二、结算价格

| 处置路径 | 末端处置 | 水运运输 |
| --- | --- | --- |
| 集运至某基地 | 175.95 | 71.07 |
| 散运至某基地 | 188.38 | 65.14 |
"""


@pytest.fixture(scope="module")
def tasks(tmp_path_factory):
    return assistant_over(tmp_path_factory, "垃圾分类实施方案.md", TASKS)


def test_the_unit_responsible_for_a_task_described_in_words(tasks):
    answer = ask(tasks, "礼盒过度包装的抽查是哪个单位的任务？")
    assert "区市场监管局" in answer.text and "区站管委办" not in answer.text, answer.text
    assert any("区市场监管局" in c.quote for c in answer.citations)


def test_two_rows_of_one_column_and_their_difference(tasks):
    answer = ask(tasks, "集运和散运至某基地的水运运输价格相差多少？")
    assert check_number(answer.text, [71.07, 65.14, 5.93]), answer.text


def test_rows_past_a_bound_asked_with_a_measure_word_are_counted(bot):
    answer = ask(bot, "公园绿地重点建设计划表里，面积超过10公顷的有几处？")
    assert check_number(answer.text, [3]) and "运河景观带" in answer.text and "滨江绿地建设" not in answer.text, answer.text
