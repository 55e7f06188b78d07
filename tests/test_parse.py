"""Normalization rules and the parse of the bundled plan: tables, facts, sections and chunks, all quotable."""

from __future__ import annotations

import re

import pytest

from ingest.normalize import normalize_question, normalize_text, to_halfwidth
from ingest.parse import parse_bytes

BOX1 = "专栏一：节能减排总体目标"
BOX2 = "专栏二：各盟市“十二五”期间节能减排目标"


def table_titled(doc, title):
    return next(t for t in doc.tables if t.title == title)


def cell_at(table, row_label, column):
    return next(c for c in table.cells if c.row_label == row_label and c.column == column)


# ---------- normalization ----------

def test_fullwidth_digits_letters_and_percent_become_ascii():
    assert to_halfwidth("ＮＯｘ２０１５") == "NOx2015"
    assert to_halfwidth("下降５．８％") == "下降5.8%"
    assert to_halfwidth("－３％") == "-3%"
    assert normalize_question("全区ＮＯｘ２０１５年排放量？") == "全区NOx2015年排放量?"


def test_chinese_punctuation_is_kept():
    text = "一是，节能（含工业）；二是：减排“十二五”。《纲要》、目标！"
    assert normalize_text(text) == text + "\n"


def test_number_broken_from_its_unit_across_blank_lines_is_joined():
    raw = "　　“十二五”期间淘汰铜冶炼3.5\n\n　　万吨、铅冶炼2万吨。\n"
    assert normalize_text(raw) == "“十二五”期间淘汰铜冶炼3.5万吨、铅冶炼2万吨。\n"


def test_number_at_end_of_sentence_is_not_joined_to_next_paragraph():
    raw = "新建项目共计12\n\n二、保障措施\n"
    assert normalize_text(raw) == "新建项目共计12\n\n二、保障措施\n"


def test_one_cell_per_line_box_becomes_pipe_rows_with_wrapped_cells_joined():
    raw = (
        "专栏一：主要指标\n\n\t专栏一：主要指标\n\n"
        "\t指标\n\t2010年\n\t2015年\n\n"
        "\t单位GDP\n能耗降低\n\t1.92\n\t1.63\n\n"
        "\t二氧化硫排放量（万吨）\n\t139.7\n\t134.4\n\n"
        "　　二、主要任务\n"
    )
    text = normalize_text(raw)
    assert "| 指标 | 2010年 | 2015年 |" in text
    assert "| 单位GDP能耗降低 | 1.92 | 1.63 |" in text
    assert "| 二氧化硫排放量（万吨） | 139.7 | 134.4 |" in text
    assert text.count("专栏一：主要指标") == 1
    assert text.rstrip().endswith("二、主要任务")


def test_tab_separated_lines_become_a_table():
    raw = "表1 目标\n指标\t2010年\t2015年\n能耗\t1.9\t1.6\n排放\t139.7\t134.4\n"
    text = normalize_text(raw)
    assert "| 能耗 | 1.9 | 1.6 |" in text


def test_existing_pipe_table_under_a_title_is_left_alone():
    raw = "表1 主要指标\n\n| 指标 | 2015年 |\n|---|---|\n| 能耗 | 1.6 |\n"
    assert normalize_text(raw) == raw


def test_markdown_bold_blockquote_and_br_are_cleaned():
    raw = "> **专栏1 重点工程**\n\n| 地区 | 单位GDP<br>能耗降低 |\n|---|---|\n| 甲市 | 16% |\n"
    text = normalize_text(raw, "md")
    assert text.startswith("专栏1 重点工程\n")
    assert "| 地区 | 单位GDP能耗降低 |" in text


def test_markdown_pipe_rows_without_outer_pipes_get_them():
    raw = "表1 目标\n\n指标 | 2015年\n---|---\n能耗 | 1.6\n"
    lines = normalize_text(raw, "md").splitlines()
    assert lines[2] == "| 指标 | 2015年 |"
    assert all(line.startswith("|") for line in lines[2:])
    doc = parse_bytes("t.md", raw.encode())
    assert [(c.row_label, c.column, c.value) for c in doc.tables[0].cells] == [("能耗", "2015年", 1.6)]


# ---------- the bundled plan: tables ----------

BOX1_ROWS = {
    # indicator: (2010年, 2015年, 下降/增长, 年均下降/增长, unit of the first two columns)
    "单位GDP能耗": (1.92, 1.63, -15, -3.2, "吨标准煤/万元"),
    "非化石能源占一次能源消费总量比重": (1.76, 5, 3.24, 0.64, "%"),
    "化学需氧量排放量": (92.1, 85.9, -6.7, -1.38, "万吨"),
    "氨氮排放量": (5.4, 4.9, -9.7, -2, "万吨"),
    "二氧化硫排放量": (139.7, 134.4, -3.8, -0.077, "万吨"),
    "氮氧化物排放量": (131.4, 123.8, -5.8, -1.19, "万吨"),
}
BOX1_COLUMNS = ("2010年", "2015年", "下降/增长", "年均下降/增长")


def test_box1_has_six_indicators_by_four_columns(sample_doc):
    table = table_titled(sample_doc, BOX1)
    assert table.columns == ("指标",) + BOX1_COLUMNS
    assert table.row_labels == list(BOX1_ROWS)
    assert len(table.cells) == 6 * 4


@pytest.mark.parametrize("indicator", list(BOX1_ROWS))
def test_box1_values_and_units_are_exact(sample_doc, indicator):
    table = table_titled(sample_doc, BOX1)
    *values, unit = BOX1_ROWS[indicator]
    for column, expected in zip(BOX1_COLUMNS, values):
        cell = cell_at(table, indicator, column)
        assert cell.value == pytest.approx(expected), (indicator, column)
        assert cell.flag == ""
    assert cell_at(table, indicator, "2010年").unit == unit
    assert cell_at(table, indicator, "2015年").unit == unit
    assert cell_at(table, indicator, "下降/增长").unit == "%"


BOX2_COLUMNS = ("单位GDP能耗降低", "二氧化硫排放量降低", "氨氮排放量降低", "化学需氧量排放量降低", "氮氧化物排放量降低")
BOX2_ROWS = {
    "呼和浩特市": (16, 6.5, 7.6, 8.4, 14.6),
    "包头市": (16, 6.3, 8.9, 7.8, 17.3),
    "乌海市": (16, 8.5, 8.1, 8.9, 15.4),
    "赤峰市": (14.5, 8.55, 8.2, 9.1, 15.4),
    "通辽市": (15, 3.85, 6.5, 9.3, 16.2),
    "鄂尔多斯市": (16, 8.5, 8.4, 8.6, 15.3),
    "呼伦贝尔市": (15, 5.2, 6.2, 8.7, 15.7),
    "兴安盟": (14, 0, 0, 1.8, 13.8),
    "锡林郭勒盟": (15, 5.9, 4.6, 6.3, 10.5),
    "乌兰察布市": (14.5, 5.67, 6, 7, 7.1),
    "巴彦淖尔市": (15, 5.6, 8.7, 8.8, 11.8),
    "阿拉善盟": (16, 7.2, 7.4, 8, 8),
}


def test_box2_has_twelve_regions_by_five_indicators(sample_doc):
    table = table_titled(sample_doc, BOX2)
    assert table.columns == ("地区",) + BOX2_COLUMNS
    assert table.row_labels == list(BOX2_ROWS)
    assert len(table.cells) == 12 * 5


@pytest.mark.parametrize("region", list(BOX2_ROWS))
def test_box2_values_are_exact(sample_doc, region):
    table = table_titled(sample_doc, BOX2)
    for column, expected in zip(BOX2_COLUMNS, BOX2_ROWS[region]):
        assert cell_at(table, region, column).value == pytest.approx(expected), (region, column)


def test_box2_zeros_are_values_not_flags(sample_doc):
    table = table_titled(sample_doc, BOX2)
    for column in ("二氧化硫排放量降低", "氨氮排放量降低"):
        cell = cell_at(table, "兴安盟", column)
        assert cell.raw == "0"
        assert cell.value == 0
        assert cell.flag == ""


def test_box2_value_missing_its_percent_is_flagged_not_guessed(sample_doc):
    table = table_titled(sample_doc, BOX2)
    cell = cell_at(table, "乌兰察布市", "单位GDP能耗降低")
    assert (cell.raw, cell.value, cell.unit, cell.flag) == ("14.5", 14.5, "", "missing_percent")
    flagged = [c for c in table.cells if c.flag]
    assert flagged == [cell]
    assert all(c.unit == "%" for c in table.cells if c is not cell)
    assert any("乌兰察布市" in w and "14.5" in w for w in sample_doc.warnings)


def test_table_titles_and_cell_quotes_are_exact_substrings(sample_doc):
    text = sample_doc.text
    for table in sample_doc.tables:
        assert table.title in text
        assert text[table.start:table.end].startswith("|")
        for cell in table.cells:
            assert cell.quote in text[table.start:table.end]
            assert cell.raw in cell.quote
            assert cell.row_label in cell.quote


def test_tables_carry_their_box_section_and_intro(sample_doc):
    box2 = table_titled(sample_doc, BOX2)
    assert box2.section_path.endswith("2、盟市目标 › " + BOX2)
    assert box2.intro.startswith("各盟市全面完成")
    assert table_titled(sample_doc, BOX1).section_path.endswith("1、总体目标 › " + BOX1)


# ---------- the bundled plan: prose facts ----------

PHASE_OUTS = [
    ("铜冶炼", 3.5, "万吨"), ("铅冶炼", 2, "万吨"), ("炼铁", 230, "万吨"), ("炼钢", 95, "万吨"),
    ("铁合金", 83, "万吨"), ("焦炭", 25, "万吨"), ("电石", 178.1, "万吨"), ("水泥", 500, "万吨"),
    ("平板玻璃", 350, "万重量箱"), ("造纸", 16, "万吨"), ("制革", 15, "万标张"), ("酒精", 1, "万吨"),
]


@pytest.mark.parametrize(("subject", "value", "unit"), PHASE_OUTS)
def test_every_phase_out_quantity_is_a_fact(sample_doc, subject, value, unit):
    matches = [f for f in sample_doc.facts if f.subject == subject and f.action == "淘汰"]
    assert len(matches) == 1, [(f.subject, f.action, f.raw) for f in sample_doc.facts if subject in f.subject]
    fact = matches[0]
    assert fact.value == pytest.approx(value)
    assert fact.unit == unit
    assert fact.period == "十二五"
    assert f"{subject}{fact.raw}" in fact.quote


def test_phase_out_facts_are_exactly_the_twelve_in_the_plan(sample_doc):
    phase_outs = {(f.subject, f.value, f.unit) for f in sample_doc.facts if f.action == "淘汰"}
    assert phase_outs == {(s, float(v), u) for s, v, u in PHASE_OUTS}


@pytest.mark.parametrize(("subject", "action", "value", "unit", "qualifier"), [
    ("工业废水达标排放率", "达到", 95, "%", ""),
    ("城市空气质量好于二级标准的天数", "超过", 292, "天", "超过"),
    ("二氧化硫排放量", "控制在", 134.4, "万吨", "以内"),
    ("单位工业增加值用水量", "累计下降", 10, "%", ""),
    ("秸秆综合利用率", "达到", 90, "%", ""),
    ("既有建筑节能改造面积", "达到", 5000, "万平方米", "以上"),
])
def test_target_facts_have_subject_action_value_unit(sample_doc, subject, action, value, unit, qualifier):
    matches = [f for f in sample_doc.facts if f.subject == subject and f.action == action and f.unit == unit]
    assert matches, [(f.subject, f.action, f.value) for f in sample_doc.facts if subject[:4] in f.subject]
    assert matches[0].value == pytest.approx(value)
    assert matches[0].qualifier == qualifier


def test_every_fact_sentence_and_quote_sit_at_their_offsets(sample_doc):
    text = sample_doc.text
    assert sample_doc.facts
    for fact in sample_doc.facts:
        assert fact.quote in fact.sentence
        assert text[fact.start:fact.start + len(fact.raw)] == fact.raw
        sentence_at = text.find(fact.sentence, max(0, fact.start - len(fact.sentence)))
        assert 0 <= sentence_at <= fact.start < sentence_at + len(fact.sentence)
        assert fact.quote in text[sentence_at:sentence_at + len(fact.sentence)]


def test_base_year_value_is_not_mistaken_for_the_target(sample_doc):
    so2 = [f for f in sample_doc.facts
           if f.subject == "二氧化硫排放量" and f.value == 139.7 and f.base_year == "2010"]
    assert [f.action for f in so2] == ["基数"]


# ---------- the bundled plan: sections and chunks ----------

@pytest.mark.parametrize(("needle", "path"), [
    ("布袋除尘器", "四、主要污染物减排 › (二)大气污染物减排 › 4、加强工业粉尘综合治理"),
    ("铜冶炼3.5万吨", "三、重点领域节能 › (一)重点工业行业节能 › 2、有色金属工业"),
    ("秸秆综合利用率达到90%", "三、重点领域节能 › (四)农牧业和农村牧区节能"),
    ("锅炉窑炉改造工程", "三、重点领域节能 › (六)商业和民用节能 › 专栏三：重点节能工程 › 一、节能改造工程"),
    ("绿色照明工程", "三、重点领域节能 › (六)商业和民用节能 › 专栏三：重点节能工程 › 一、节能改造工程"),
    ("发展壮大几家综合性大型节能服务公司", "专栏三：重点节能工程 › 三、合同能源管理推广工程"),
    ("建设10个资源综合利用示范基地", "专栏四：污染减排及循环经济重点工程 › 二、循环经济重点工程 › 1、资源综合利用工程"),
    ("城市空气质量好于二级标准的天数超过292天", "四、主要污染物减排 › (二)大气污染物减排 › 5、改善城镇空气质量"),
    ("“一票否决”制", "五、保障措施 › (三)加强监督考核 › 4、加强目标单位评价考核"),
])
def test_chunk_section_paths(sample_doc, needle, path):
    holders = [c for c in sample_doc.chunks if c.kind == "text" and needle in c.text]
    assert holders, needle
    assert holders[0].section_path.endswith(path), holders[0].section_path


def test_box_items_are_not_top_level_sections(sample_doc):
    top = {s.path[0] for s in sample_doc.sections}
    assert top == {"一、形势与任务", "二、总体思路", "三、重点领域节能", "四、主要污染物减排", "五、保障措施"}
    box3 = [s.path for s in sample_doc.sections if "专栏三：重点节能工程" in s.path]
    assert [p[-1] for p in box3 if p[-2] == "专栏三：重点节能工程"] == [
        "一、节能改造工程", "二、节能技术产业化示范工程", "三、合同能源管理推广工程", "四、节能能力建设工程",
        "五、节能产品惠民工程"]
    assert any(item.startswith("锅炉窑炉改造工程") for item in sample_doc.items)


def test_table_chunks_carry_the_table(sample_doc):
    table_chunks = [c for c in sample_doc.chunks if c.kind == "table"]
    assert len(table_chunks) == 2
    box2 = next(c for c in table_chunks if BOX2 in c.context)
    assert box2.section_path.endswith("2、盟市目标 › " + BOX2)
    assert "| 乌兰察布市 | 14.5 |" in box2.text


def test_every_chunk_is_its_exact_span_of_the_text(sample_doc):
    text = sample_doc.text
    for chunk in sample_doc.chunks:
        assert chunk.text == text[chunk.start:chunk.end]
        assert chunk.text.strip()


def test_chunk_ids_are_unique_and_content_hashed(sample_doc, sample_plan_path):
    ids = [c.chunk_id for c in sample_doc.chunks]
    assert len(ids) == len(set(ids))
    again = parse_bytes(sample_plan_path.name, sample_plan_path.read_bytes())
    assert [c.chunk_id for c in again.chunks] == ids


def test_no_chunk_cuts_a_number(sample_doc):
    text = sample_doc.text
    for chunk in sample_doc.chunks:
        nxt = text[chunk.end:chunk.end + 1]
        assert not (chunk.text[-1].isdigit() and (nxt.isdigit() or nxt == ".")), chunk.text[-20:]
        prev = text[chunk.start - 1:chunk.start] if chunk.start else ""
        assert not (chunk.text[0].isdigit() and (prev.isdigit() or prev == ".")), chunk.text[:20]


def test_text_chunk_sizes_are_bounded(sample_doc):
    sizes = [len(c.text) for c in sample_doc.chunks if c.kind == "text"]
    assert max(sizes) <= 600
    assert sum(sizes) / len(sizes) > 80  # grouped by section, not one sentence each


def test_a_long_run_without_commas_is_cut_within_the_limit():
    run = "".join(f"第{i}批新增产能{i}万吨" for i in range(1, 200)) + "。"
    doc = parse_bytes("long.txt", f"一、主要任务\n\n{run}\n".encode())
    pieces = [c for c in doc.chunks if c.kind == "text" and "产能" in c.text]
    assert "".join(c.text for c in pieces) == run
    assert max(len(c.text) for c in pieces) <= 600
    for chunk in pieces:
        assert not (chunk.text[-1].isdigit() and doc.text[chunk.end:chunk.end + 1].isdigit())


def test_long_paragraph_is_cut_inside_the_limit_and_never_inside_a_number():
    sentence = "，".join(f"第{i}项工程新增处理能力{i * 1.5:.1f}万吨" for i in range(1, 90)) + "。"
    doc = parse_bytes("long.txt", f"一、主要任务\n\n{sentence}\n".encode())
    text_chunks = [c for c in doc.chunks if c.kind == "text" and "工程" in c.text]
    assert len(text_chunks) >= 3
    assert "".join(c.text for c in text_chunks) == sentence
    for chunk in text_chunks:
        assert len(chunk.text) <= 600
        assert not re.search(r"\d$", chunk.text) or not doc.text[chunk.end].isdigit()


def test_a_base_year_in_another_clause_is_not_the_target_year():
    text = "一、目标\n\n到2025年，全省能耗比2020年下降13.5%，重点工程减排量达到8.2万吨。\n"
    facts = parse_bytes("t.txt", text.encode()).facts
    assert [(f.value, f.year) for f in facts] == [(13.5, "2025"), (8.2, "2025")]
    assert facts[0].base_year == "2020"


# ---------- tables of other plans ----------

def cells_of(table) -> list[tuple]:
    return [(c.parent_label, c.row_label, c.column, c.value, c.unit, c.flag) for c in table.cells]


def test_space_aligned_table_in_a_gb18030_text_file():
    text = ("一、主要目标\n\n表1 主要指标（单位：万吨）\n指标              2010年     2015年\n"
            "化学需氧量        92.1       85.9\n氨氮　　　　　　　5.4　　　　4.9\n\n第一章　总体要求\n第一节　发展基础\n")
    doc = parse_bytes("plan.txt", text.encode("gb18030"))
    (table,) = doc.tables
    assert table.title == "表1 主要指标（单位：万吨）"
    assert cells_of(table) == [("", "化学需氧量", "2010年", 92.1, "万吨", ""), ("", "化学需氧量", "2015年", 85.9, "万吨", ""),
                               ("", "氨氮", "2010年", 5.4, "万吨", ""), ("", "氨氮", "2015年", 4.9, "万吨", "")]
    assert [s.path_str for s in doc.sections][-1] == "第一章 总体要求 › 第一节 发展基础"  # headings side by side: no table


def test_unit_column_index_column_cumulative_and_inline_units():
    md = ("表1 “十四五”主要指标\n\n| 序号 | 指标 | 单位 | 2020年 | 2025年 | 属性 |\n|---|---|---|---|---|---|\n"
          "| 1 | 单位地区生产总值能耗降低 | % | — | 〔13.5〕 | 约束性 |\n"
          "| 2 | 能源消费总量 | 万吨标准煤 | 4200 | ≤4800 | 预期性 |\n"
          "| 3 | 化学需氧量排放量 | | 92.1万吨 | 85.9万吨 | 约束性 |\n")
    (table,) = parse_bytes("t.md", md.encode()).tables
    assert table.columns == ("序号", "指标", "2020年", "2025年", "属性")
    got = {(c.row_label, c.column): (c.value, c.unit, c.flag) for c in table.cells}
    assert got[("单位地区生产总值能耗降低", "2020年")] == (None, "", "empty")
    assert got[("单位地区生产总值能耗降低", "2025年")] == (13.5, "%", "")
    assert got[("能源消费总量", "2025年")] == (4800, "万吨标准煤", "")
    assert got[("化学需氧量排放量", "2020年")] == (92.1, "万吨", "")
    assert got[("能源消费总量", "属性")] == (None, "", "not_numeric")
    assert {c.parent_label for c in table.cells} == {""}


def test_two_header_rows_with_a_spanning_blank():
    md = "表2 分年度目标\n\n| 指标 | 目标值 | |\n|---|---|---|\n| | 2024年 | 2025年 |\n| 能耗下降 | 3% | 3.2% |\n"
    (table,) = parse_bytes("t.md", md.encode()).tables
    assert table.columns == ("指标", "目标值2024年", "目标值2025年")
    assert cells_of(table) == [("", "能耗下降", "目标值2024年", 3, "%", ""), ("", "能耗下降", "目标值2025年", 3.2, "%", "")]


def test_a_running_total_after_a_semicolon_keeps_its_subject_and_year():
    from ingest.facts import extract_facts

    text = "2025年7月至2025年12月，新增白玉兰栽植及观赏点位30个，总计达60个；特色道路10条，总计达20条。"
    facts = {(f.subject, f.value): f for f in extract_facts("d", text, 0, ("计划",))}
    assert facts[("白玉兰栽植及观赏点位", 60.0)].qualifier.startswith("累计")
    assert facts[("特色道路", 20.0)].year == "2025" and "累计" in facts[("特色道路", 20.0)].qualifier
    assert facts[("白玉兰栽植及观赏点位", 30.0)].action == "新增"
