"""Layouts met in published notices outside the development corpus: pipe rows without their outer pipes, a whole
table scraped onto one line, names padded with spaces, a table of contents, prose caught in a ruled PDF frame."""

from __future__ import annotations

from assistant.core import question_parts
from ingest.fmt_pdf import prose_grid
from ingest.metadata import extract_metadata
from ingest.normalize import normalize_text, open_pipe_rows
from ingest.parse import parse_bytes
from ingest.structure import heading_kind
from ingest.tables import clean_label, unflatten_row

BARE = """太仓市2019年度能源消耗强度目标分解表
地区 | 单位规上工业增加值能耗降幅目标(%) |
全市 | 3.4 |
城 厢 | 3.1 |
沙 溪 | 3.6 |
浏 河 | 3.2 |
"""

ONE_LINE = ("扬州市2010年造林任务分解表\n单位:万亩\n"
            " | 县(市、区) | 总 面 积 | 其中成片造林 | 新增四旁植树 |  | 合  计 | 15.5 | 10 | 1100 |  | 宝 应 县 | 2.2 | 1.5"
            " | 200 |  | 高 邮 市 | 4 | 2.5 | 200 |  | 广 陵 区 | 0.5 |  | 30 |  \n |  |  |\n")


def _rows(name: str, text: str):
    doc = parse_bytes(name, text.encode("utf-8"))
    assert len(doc.tables) == 1, [t.title for t in doc.tables]
    table = doc.tables[0]
    return table, {(c.row_label, c.column): c for c in table.cells}


def test_pipe_rows_without_outer_pipes_are_a_table_with_plain_names():
    table, cells = _rows("taicang.txt", BARE)
    assert table.title == "太仓市2019年度能源消耗强度目标分解表"
    assert cells[("城厢", "单位规上工业增加值能耗降幅目标")].value == 3.1
    assert cells[("浏河", "单位规上工业增加值能耗降幅目标")].unit == "%"


def test_one_word_rows_above_bare_pipe_rows_stay_caption_lines():
    lines = ["附件 | ||", "计划表 | ||", "单 位 | 封山育林 | 备注 |", "一、哈尔滨市 | 2.5 | |", "五常市 | 2.5 | |"]
    out = open_pipe_rows(lines)
    assert out[:2] == ["附件", "计划表"] and out[2].startswith("| 单 位 |") and out[4].startswith("| 五常市 |")


def test_a_table_scraped_onto_one_line_is_split_into_its_rows():
    table, cells = _rows("yangzhou.txt", ONE_LINE)
    assert table.columns[:2] == ("县(市、区)", "总面积")
    assert cells[("高邮市", "其中成片造林")].value == 2.5 and cells[("合计", "新增四旁植树")].value == 1100
    assert not cells[("广陵区", "其中成片造林")].raw.strip()  # a blank cell stays blank, nothing shifts into it
    assert cells[("广陵区", "新增四旁植树")].value == 30


def test_unflatten_leaves_an_ordinary_row_alone():
    row = ["指标", "2020年", "2025年"]
    assert unflatten_row(row, "| 指标 | 2020年 | 2025年 |") == ([row], ["| 指标 | 2020年 | 2025年 |"])


def test_row_names_as_they_are_said():
    assert clean_label("城 厢") == "城厢" and clean_label("一、哈尔滨市") == "哈尔滨市"
    assert clean_label("二氧化硫 排放量") == "二氧化硫 排放量"  # words, not one padded name


def test_table_of_contents_lines_are_not_sections():
    assert heading_kind("二、总体要求 ..................................... 2") is None
    assert heading_kind("二、总体要求") is not None
    text = "目 录\n一、背景形势 ........ 1\n二、总体要求 ........ 2\n\n一、背景形势\n十三五成就显著。\n二、总体要求\n到2025年建成。\n"
    doc = parse_bytes("toc.txt", text.encode("utf-8"))
    assert [s.title for s in doc.sections if s.title.startswith(("一", "二"))] == ["一、背景形势", "二、总体要求"]


def test_prose_in_a_ruled_frame_is_not_a_table():
    sentence = "农机创新产品补贴品目实行总量控制，年度总数量不超过部里确认的品目。"
    assert prose_grid([[sentence] * 10 for _ in range(5)])
    assert not prose_grid([["耕整地机械", "1.1", "耕地机械", "铧式犁"] for _ in range(8)])


def test_attachments_listed_under_a_bare_heading_and_a_title_above_the_first_heading():
    text = normalize_text("民用爆炸物品行业发展规划\n（2016-2020年）\n\n# 一、回顾与总结\n正文。\n附件：\n1.汇总表\n2.进展表\n3.指导细则\n")
    meta = extract_metadata(text)
    assert meta["title"] == "民用爆炸物品行业发展规划（2016-2020年）"
    assert meta["attachment_titles"] == ["汇总表", "进展表", "指导细则"]


def test_two_asks_in_one_sentence_are_two_parts_but_a_count_and_its_shares_are_one():
    assert question_parts("公园数量十四五现状几座、十五五目标几座？") == ["公园数量十四五现状几座、", "十五五目标几座？"]
    assert question_parts("减量化资金分几笔拨付，各占多少？") == ["减量化资金分几笔拨付，各占多少？"]
    assert question_parts("到2025年高标准农田新增建设和改造提升一共多少万亩？") == ["到2025年高标准农田新增建设和改造提升一共多少万亩？"]


NOTICE = """市政府办公室关于分解下达2019年度能源消耗强度目标的通知
各镇人民政府:
根据苏州市政府办公室《关于分解下达2019年度能源消耗总量和强度“双控”目标的通知》(苏府办〔2019〕144号)文件要求,我市2019年单位GDP能耗降幅目标为3.4%。现将目标分解下达给你们。
附件:太仓市2019年度能源消耗强度目标分解表
太仓市人民政府办公室
2019年8月27日
太仓市2019年度能源消耗强度目标分解表
地区 | 能耗降幅目标(%) | 备注 |
全市 | 3.4 | |
城 厢 | 3.1 | |
沙 溪 | 3.6 | |
浏 河 | 3.2 | |
"""


def test_a_bare_pipe_table_answers_follow_ups_and_the_cited_document_number(tmp_path):
    from assistant.conversation import Conversation
    from assistant.core import Assistant
    from eval.checks import check_number
    from ingest.pipeline import ingest_paths
    from kb.settings import load_settings

    path = tmp_path / "taicang.txt"
    path.write_text(NOTICE, encoding="utf-8")
    settings = load_settings(data_dir=tmp_path / "kb", embedder="hash")
    assert not ingest_paths(settings, [path]).failed
    bot, conv = Assistant(settings), Conversation()
    first = bot.ask("沙溪的能耗降幅目标是多少？", conv)
    second = bot.ask("那浏河呢？", conv)  # the blank 备注 column is no second column to ask which of
    assert check_number(first.text, [3.6]) and check_number(second.text, [3.2]), (first.text, second.text)
    basis = bot.ask("这个通知是依据苏州市哪个文件（文号）下达的？")
    assert "苏府办〔2019〕144号" in basis.text and basis.citations, basis.text
    assert any("苏府办〔2019〕144号" in c.quote for c in basis.citations)


CELL_LINES = """征求意见函
单位 |
到2025年规划指标(万亩) |
到2030年规划指标(万亩) | ||||
累计建成面积 |
累计改造面积 |
累计节水面积 |
累计建成面积 |
累计改造面积 |
累计节水面积 | |
全区 |
5.56 |
0.80 |
5.60 |
0.90 | ||
丽阳镇 |
2.76 |
0.40 |
2.80 |
0.50 | ||
荷塘乡 |
0.20 |
0.10 |
0.30 |
0.20 | ||
"""


def test_one_cell_per_line_rows_under_a_header_whose_spans_were_lost():
    table, cells = _rows("changjiang.txt", CELL_LINES)
    assert table.columns == ("单位", "到2025年规划指标·累计建成面积", "到2025年规划指标·累计改造面积",
                             "到2025年规划指标·累计节水面积", "到2030年规划指标·累计建成面积",
                             "到2030年规划指标·累计改造面积", "到2030年规划指标·累计节水面积")
    first = cells[("丽阳镇", "到2025年规划指标·累计建成面积")]
    assert first.value == 2.76 and first.unit == "万亩" and not first.flag
    # the row dropped its empty 节水 cells: each year keeps two values, the shifted ones say so
    later = cells[("丽阳镇", "到2030年规划指标·累计建成面积")]
    assert later.value == 2.8 and later.flag == "realigned"
    assert cells[("丽阳镇", "到2025年规划指标·累计节水面积")].value is None


FOREST = """黑龙江省林业厅关于下达2015年营造林生产(封山育林)补充计划的通知
各有关市、县林业局:
现将2015年营造林生产(封山育林)补充计划下达给你们,其建设任务25万亩。
附件 | ||
2015年营造林生产(封山育林)补充计划表 | ||
单位:万亩 | ||
单 位 | 封山育林 | 备注 |
总 计 | 25.0 | |
一、哈尔滨市 | 2.5 | |
五常市 | 2.5 | |
二、黑河市 | 6.0 | |
爱辉区 | 3.0 | |
嫩江县 | 3.0 | |
"""


def test_a_quantity_the_plan_never_names_is_refused_not_read_from_the_only_column(tmp_path):
    from assistant.conversation import Conversation
    from assistant.core import Assistant
    from eval.checks import check_number
    from ingest.pipeline import ingest_paths
    from kb.settings import load_settings

    path = tmp_path / "forest.txt"
    path.write_text(FOREST, encoding="utf-8")
    settings = load_settings(data_dir=tmp_path / "kb", embedder="hash")
    assert not ingest_paths(settings, [path]).failed
    bot = Assistant(settings)
    asked = bot.ask("哈尔滨市的人工造林任务是多少万亩？")
    assert asked.refused and "人工造林" in asked.text and "封山育林" in asked.text, asked.text
    conv = Conversation()
    first, second = bot.ask("五常市是多少万亩？", conv), bot.ask("那嫩江县呢？", conv)
    assert check_number(first.text, [2.5]) and check_number(second.text, [3]), (first.text, second.text)


def test_a_rows_empty_last_cell_wrapped_onto_its_own_bar_line():
    text = ("2017年作业进度汇总表\n序号 | 区(县) | 下达任务面积(亩) | 累计完成面积(亩) | 备注 |\n"
            "1 | 石柱县 | 1000 | 0 |\n|\n2 | 黔江区 | 3000 | 400 |\n|\n3 | 铜梁区 | 3000 | 500 |\n|\n")
    table, cells = _rows("chongqing.txt", text)
    assert cells[("黔江区", "累计完成面积")].value == 400 and cells[("黔江区", "累计完成面积")].unit == "亩"


# A page scraped with each inline element (a number, a unit, a bold span) on its own line, and no blank lines.
INLINE = "\n".join(
    ["四川省某实施方案", "一、机制电价", "存量项目（不含某州", "2020", "年南部光伏基地项目）机制电价按现行燃煤发电基准价",
     "0.4012", "元", "/", "千瓦时（含税，下同）执行。"]
    + [x for y in range(2021, 2031) for x in (f"{y}", "年", "9", "月", "29", "日起执行第二阶段。")])


def test_a_page_broken_at_every_inline_element_reads_as_whole_sentences():
    text = normalize_text(INLINE)
    assert ("存量项目（不含某州2020年南部光伏基地项目）机制电价按现行燃煤发电基准价0.4012元/千瓦时（含税，下同）执行。"
            in text), text
    assert "2025年9月29日起执行第二阶段。" in text
    assert "一、机制电价\n" in text  # a heading keeps its own line


def test_a_table_one_cell_per_line_keeps_its_lines():
    cells = ["序号", "单位名称", "补贴金额", "1", "某化工公司", "277.7", "2", "某钢铁公司", "186.16"] * 3
    text = normalize_text("\n".join(cells))
    # never glued into one inline sentence; with no blank line anywhere, each line is read as a cell of the table
    assert "某化工公司277.7" not in text and "1某化工公司" not in text, text
    assert "| 1 | 某化工公司 | 277.7 |" in text and "| 2 | 某钢铁公司 | 186.16 |" in text, text


def test_inline_spans_a_few_characters_long_rejoin_their_sentence():
    lines = ["某市需求响应资金计划", "2024", "年春节期间，", "参与", "响应用户", "106", "户，", "响应", "电", "量",
             "1346.7", "万千瓦时，补贴价格如表", "1", "所示。", "附件", "1", "天津市", "2023", "年春节期间补贴汇总表"]
    text = normalize_text("\n".join(lines * 4))
    assert "2024年春节期间，参与响应用户106户，响应电量1346.7万千瓦时，补贴价格如表1所示。" in text, text
    assert "1天津市" not in text  # an attachment number and the name after it stay apart


# An attachment list whose last title has the next page's "附件1" glued on, then the tables one cell per line.
ATTACHED = ("# 某区关于推进公园城市建设的实施意见\n\n四、保障措施\n\n1.加强组织领导。成立工作小组。\n\n"
            "附件：1.郊野公园建设项目表\n\n2.绿道建设计划表\n\n3.项目资金测算表附件1\n\n郊野公园建设项目表\n\n"
            + "\n\n".join(["序号", "项目名称", "位置", "面积（公顷）", "备注",
                           "1", "庄行郊野公园", "庄行镇", "450", "一期",
                           "2", "九棵树森林公园", "金海街道", "478", "二期",
                           "3", "海湾郊野公园", "海湾镇", "300", "三期",
                           "4", "浦南郊野公园", "南桥镇", "120", "新建"]) + "\n")


def test_an_attachment_list_is_no_run_of_headings_and_its_glued_marker_no_caption():
    doc = parse_bytes("公园城市.md", ATTACHED.encode("utf-8"))
    (t,) = doc.tables
    assert t.title == "郊野公园建设项目表" and t.columns == ("序号", "项目名称", "位置", "面积", "备注"), t.columns
    assert "绿道建设计划表" not in t.section_path and "资金测算表" not in t.section_path, t.section_path
    assert [c.raw for c in t.cells if c.row_label == "九棵树森林公园" and c.column == "面积"] == ["478"]


def _cell_doc(*blocks: str) -> str:
    return "# 某市某某通知\n\n一、总体要求\n\n正文。\n\n" + "\n\n".join(blocks) + "\n"


def test_a_list_captioned_minglu_is_a_table():
    cells = ["序号", "栖息地名称", "所在区位", "面积（ha）"]
    for i, (name, place, area) in enumerate([("甲湿地栖息地", "甲区甲镇", "32.83"), ("乙鸟类栖息地", "乙区乙镇", "13.77"),
                                             ("丙蛙类栖息地", "丙区丙镇", "9.67"), ("丁湿地生态修复", "丁区丁镇", "62.02")], 1):
        cells += [str(i), name, place, area]
    doc = parse_bytes("名录.md", _cell_doc("附件", "某市野生动物栖息地名录（第一批）", *cells).encode("utf-8"))
    (t,) = doc.tables
    assert t.title == "某市野生动物栖息地名录（第一批）" and len(t.row_labels) == 4, (t.title, t.columns)


def test_a_cell_wrapped_into_a_bracket_block_is_one_cell():
    cells = ["指标名称", "2025年", "2030年", "指标性质", "建设用地总规模", "（平方公里）", "3139", "≤3200", "约束性",
             "年均土地供应规模", "（平方公里）", "36", "（2021年-2025年）", "35-40", "预期性",
             "年均土地储备计划", "规模（平方公里）", "30-40", "（2021年-2025年）", "50-60", "预期性"]
    doc = parse_bytes("土地.md", _cell_doc("表1 主要指标", *cells).encode("utf-8"))
    (t,) = doc.tables
    assert t.columns == ("指标名称", "2025年", "2030年", "指标性质"), t.columns
    assert t.roles[-1] == "attribute"  # 指标性质 over 约束性/预期性 is the 属性 column
    assert {c.row_label for c in t.cells} == {"建设用地总规模", "年均土地供应规模", "年均土地储备计划规模"}
    assert [c.raw for c in t.cells if c.row_label == "年均土地储备计划规模" and c.column == "2030年"] == ["50-60"]


def test_plain_column_words_under_a_caption_head_a_price_matrix():
    cells = ["结算项目处置路径", "末端处置", "水运运输", "陆运运输", "总计",
             "甲焚烧厂", "269", "/", "/", "269", "集运至乙基地", "175.95", "71.07", "/", "269",
             "散运至乙基地", "188.38", "65.14", "/", "269", "直运至乙基地", "189", "/", "/", "189"]
    doc = parse_bytes("价格.md", _cell_doc("附件", "某某结算价格汇总表", "单位：元/吨", *cells).encode("utf-8"))
    (t,) = doc.tables
    assert t.columns[1:] == ("末端处置", "水运运输", "陆运运输", "总计"), t.columns
    assert [c.raw for c in t.cells if c.row_label == "散运至乙基地" and c.column == "水运运输"] == ["65.14"]


def test_a_short_code_and_its_description_are_data_not_header():
    cells = ["区域等级", "区域", "2023年土地使用权基价", "（元/平方米）", "A", "华山路以东，肇家浜路以北，龙华港，黄浦江沿线", "/",
             "B", "华山路以西，肇家浜路以南，凯旋路以东一带区域", "/", "C", "凯旋路以西，中山西路以南，龙华港以北区域", "13900",
             "D", "龙华港以南，沪闵路东南，淀浦河以北。", "10700", "E", "淀浦河以南", "8300"]
    doc = parse_bytes("基价.md", _cell_doc("一、区域划分及土地使用权基价标准", *cells).encode("utf-8"))
    (t,) = doc.tables
    assert t.columns[:2] == ("区域等级", "区域") and "C" in t.row_labels, (t.columns, t.row_labels)
