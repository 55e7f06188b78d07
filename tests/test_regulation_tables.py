"""Regulations as published: a small two-column table under its caption, a numbered table the text refers to but
the page left out, a table number followed by 中, and a place asked that no passage speaks of."""

from __future__ import annotations

import pytest

from assistant.core import Assistant
from eval.checks import check_number
from ingest.parse import parse_bytes
from ingest.pipeline import ingest_paths
from kb.settings import load_settings

RULES = """# 某市城市规划管理技术规定

第一章 总则

第十四条 建筑容量控制指标应按《表二》的规定执行；建筑基地面积过大的，其容积率应按《表三》的规定折减。

第十五条 中心城内超低能耗建筑示范面积不少于500万平方米。

附录一

表三

建筑容积率折减率表

建筑基地面积（平方米）

折减率（J）百分比

小于、等于1000平方米

20

大于1000，小于、等于3000平方米

15

大于3000，小于、等于7000平方米

10

附录二

名词解释

1.建筑容积率

指建筑物地面以上各层建筑面积的总和与建筑基地面积的比值。
"""


@pytest.fixture(scope="module")
def bot(tmp_path_factory) -> Assistant:
    folder = tmp_path_factory.mktemp("rules")
    path = folder / "rules.md"
    path.write_text(RULES, encoding="utf-8")
    settings = load_settings(data_dir=folder / "data", embedder="hash")
    assert not ingest_paths(settings, [path]).failed
    return Assistant(settings)


def test_a_two_column_table_under_its_caption_is_read_and_ends_at_the_appendix():
    doc = parse_bytes("rules.md", RULES.encode("utf-8"))
    assert len(doc.tables) == 1
    t = doc.tables[0]
    assert t.title == "建筑容积率折减率表"
    assert t.row_labels == ["小于、等于1000平方米", "大于1000，小于、等于3000平方米", "大于3000，小于、等于7000平方米"]
    assert [c.value for c in t.cells] == [20, 15, 10]


def test_a_table_the_text_refers_to_but_the_file_lacks_is_refused(bot):
    a = bot.ask("某市城市规划管理技术规定的《表二》里，高层住宅的建筑容积率上限是多少？")
    assert a.refused and "表二" in a.text, a.text
    assert not check_number(a.text, [20]) and not check_number(a.text, [500])


def test_a_table_number_followed_by_zhong_is_no_place(bot):
    a = bot.ask("某市城市规划管理技术规定的表三中，建筑基地面积大于1000、小于等于3000平方米的折减率是多少？")
    assert "三中" not in a.text, a.text
    assert check_number(a.text, [15]), a.text


def test_a_place_no_passage_speaks_of_is_refused(bot):
    a = bot.ask("某市城市规划管理技术规定给东江新区分解的超低能耗建筑示范面积是多少？")
    assert a.refused, a.text


def test_a_value_asked_is_answered_by_the_band_row_that_holds_it(bot):
    a = bot.ask("某市城市规划管理技术规定的建筑容积率折减率表，建筑基地面积2500平方米的折减率是多少？")
    assert check_number(a.text, [15]) and "大于1000，小于、等于3000平方米" in a.text, a.text
    b = bot.ask("某市城市规划管理技术规定的建筑容积率折减率表，建筑基地面积1000平方米的折减率是多少？")
    assert check_number(b.text, [20]) and "小于、等于1000平方米" in b.text, b.text  # 1000 is in the first band


def test_band_bounds_are_read_as_printed():
    from assistant.bands import band

    assert band("大于1000，小于、等于3000平方米") == (1000, False, 3000, True)
    assert band("5000元以上")[:2] == (5000, True)
    assert band("南桥镇") is None


def test_names_printed_with_their_units_head_a_table_that_a_sentence_ends():
    text = ("# 某市产业用地价值评估技术指引\n\n第三十三条 成新率按下表取值。\n\n表1\n\n房屋耐用年限与残值率参考取值表\n\n"
            "建筑结构\n\n生产用房（年）\n\n残值率（%）\n\n钢，钢混\n\n50\n\n0\n\n混合，砖混\n\n40\n\n2\n\n砖木等\n\n30\n\n4\n\n"
            "当认定房屋存在安全隐患时，应根据房屋的实际状况降低成新率的取值。\n\n第三十四条 装饰装修的成新率可以综合评定。\n")
    doc = parse_bytes("guide.md", text.encode("utf-8"))
    assert len(doc.tables) == 1
    t = doc.tables[0]
    cells = {(c.row_label, c.column): c for c in t.cells}
    assert cells[("混合，砖混", "生产用房")].value == 40 and cells[("混合，砖混", "生产用房")].unit == "年"
    assert cells[("砖木等", "残值率")].value == 4 and cells[("砖木等", "残值率")].unit == "%"
    assert not any("安全隐患" in c.raw for c in t.cells)
