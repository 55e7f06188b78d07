"""Rows selected by what their word cells say (a group, a level, a district the names begin with, a term a remark
contains), then counted, listed, added up or grouped; a place the table does not list is refused. Also the
table layouts these questions met: a count printed in a name, a header whose parent carries a total, a caption
after an attachment list, and sub-row labels that look like column names."""

from __future__ import annotations

import pytest

from assistant.conversation import Conversation
from assistant.core import Assistant
from assistant.guard import check
from eval.checks import check_number
from ingest.parse import parse_bytes
from ingest.pipeline import ingest_paths
from kb.settings import load_settings


def _pipe(header, rows) -> str:
    return ("| " + " | ".join(header) + " |\n| " + " | ".join("---" for _ in header) + " |\n"
            + "".join("| " + " | ".join(r) + " |\n" for r in rows))


BASES = "# 某市绿化委员会关于公布首批义务植树基地名录的通知\n\n各区绿委办：\n\n现将首批义务植树基地名录予以公布。\n\n" \
        "附件\n\n某市义务植树基地名录（2023年）\n\n" + _pipe(
            ("所属", "基地名称", "ID", "基地级别"),
            [("市属", "城市植物园", "101", "国家级"), ("", "滨江森林公园", "102", "国家级"), ("", "山地植物园", "103", "市级"),
             ("东城", "东城文化公园", "104", "区级"), ("", "梅园", "105", "区级"), ("", "体育公园", "106", "区级"),
             ("", "湖畔公园", "107", "市级"), ("西城", "西城郊野公园", "108", "区级"), ("", "樱花园", "109", "区级"),
             ("", "梅园", "110", "区级")])

TRAINING = "# 某市卫生健康委员会关于公布新增专科培训基地名单的通知\n\n现将新增专科培训基地名单予以公布。\n\n" \
           "附件\n\n某市新增专科培训基地名单\n\n" + _pipe(
               ("序号", "学科代码", "培训学科", "培训医院", "备注"),
               [("1", "Y01", "普通外科", "第一医院", "胃肠外科、血管外科"), ("2", "Y01", "", "第二医院", "乳腺外科"),
                ("3", "Y01", "", "第三医院", "血管外科、肝胆外科"), ("4", "Y02", "感染科", "第四医院", ""),
                ("5", "Y02", "", "第五医院", "")])

HABITATS = "# 某市绿化和市容管理局关于发布第一批野生动物栖息地名录的通知\n\n现发布第一批野生动物栖息地名录。\n\n" \
           "附件\n\n某市野生动物栖息地名录（第一批）\n\n" + _pipe(
               ("序号", "栖息地名称", "所在区位", "面积（公顷）"),
               [("1", "东江区金海湿地栖息地", "东江区曹路镇", "32.8"), ("2", "北湖区蛙类栖息地", "北湖区浦江镇", "13.5"),
                ("3", "北湖区鸟类栖息地", "北湖区华漕镇", "9.5"), ("4", "南山区林地栖息地", "南山区佘山镇", "20")])

AREAS = "# 某市经济信息化委关于发布年度重点产业区域的通知\n\n现发布年度重点产业区域。\n\n" \
        "附件\n\n年度重点产业区域名单\n\n" + _pipe(
            ("序号", "所在区", "产业区域名称", "四至范围"),
            [("1", "东江区", "曹路工业园区", "东至运河，西至外环"), ("2", "北湖区", "走马塘转型区域", "东至共和路，北至铁路"),
             ("3", "南山区", "佘山科技园", "东至佘北公路，北至昌业路")])


VILLAGES = "# 某局关于公布森林乡村名单的通知\n\n现公布第二批森林乡村名单。\n\n附件\n\n某市森林乡村名单（第二批）\n\n" + _pipe(
    ("行政区", "行政村名单"), [("东江区（3个）", "甲村、乙村、丙村"), ("北湖区（2 个）", "丁村、戊村"), ("南山区（2个）", "己村、庚村")])


TREES = "# 某市绿化和市容管理局关于年度古树鉴定确认的公告\n\n现公布年度古树确认目录。\n\n附件\n\n古树确认目录\n\n" + _pipe(
    ("序号", "区", "树种", "树龄", "保护等级", "建议编号"),
    [("1", "东江区", "银杏", "100年", "二级", "2095"), ("2", "东江区", "朴树", "120年", "二级", "2096"),
     ("3", "北湖区", "罗汉松", "80年", "三级", "06-050"), ("4", "北湖区", "银杏", "150年", "二级", "06-051")])


PARKS = "# 某市公园名录的通知\n\n现公布公园名录。\n\n附件\n\n某市公园名录\n\n" + _pipe(
    ("所属区", "公园名称", "面积（公顷）", "级别"),
    [("浦东新区", "甲公园", "10", "区级"), ("", "乙公园", "8", "市级"), ("黄浦区", "丙公园", "6", "区级"),
     ("", "丁公园", "5", "市级"), ("", "合计", "11", "")])


@pytest.fixture(scope="module")
def assistant(tmp_path_factory) -> Assistant:
    folder = tmp_path_factory.mktemp("rows")
    paths = []
    for name, text in (("bases.md", BASES), ("training.md", TRAINING), ("habitats.md", HABITATS),
                       ("areas.md", AREAS), ("villages.md", VILLAGES), ("trees.md", TREES),
                       ("parks.md", PARKS)):
        path = folder / name
        path.write_text(text, encoding="utf-8")
        paths.append(path)
    settings = load_settings(data_dir=folder / "data", embedder="hash")
    assert not ingest_paths(settings, paths).failed
    return Assistant(settings)


def _ok(answer, numbers=(), words=(), question=""):
    assert not answer.refused, answer.text
    for n in numbers:
        assert check_number(answer.text, [n]), (n, answer.text)
    for w in words:
        assert w in answer.text, (w, answer.text)
    assert check(answer, question) == [], answer.text  # every number stated is cited or computed
    return answer


def test_rows_of_one_level_are_listed_and_counted(assistant):
    a = _ok(assistant.ask("义务植树基地名录里，基地级别是市级的有哪几个？"), [2], ["山地植物园", "湖畔公园"])
    assert "梅园" not in a.text
    assert any("山地植物园" in c.quote for c in a.citations)


def test_rows_grouped_by_their_group_column_with_one_left_out(assistant):
    a = _ok(assistant.ask("义务植树基地名录里，除市属基地外，哪个区的基地最多？有几个？"), [4], ["东城"])
    assert "市属" not in a.text.split("，", 1)[1].replace("不含市属", "")


def test_a_merged_down_word_cell_selects_every_row_it_spans(assistant):
    # 普通外科 is printed once over three hospitals
    a = _ok(assistant.ask("新增专科培训基地名单里，普通外科有几家培训医院？"), [3], ["第一医院", "第三医院"])
    assert "第四医院" not in a.text
    b = _ok(assistant.ask("新增专科培训基地名单里，普通外科备注中包含血管外科的医院有几家？"), [2], ["第一医院", "第三医院"])
    assert "第二医院" not in b.text


def test_rows_whose_names_begin_with_a_district_are_counted_then_added_up(assistant):
    conv = Conversation()
    a = _ok(assistant.ask("野生动物栖息地名录（第一批）中，北湖区有几处？面积加起来多少公顷？", conv), [2, 23], ["北湖区蛙类栖息地"])
    assert "东江区金海" not in a.text
    assert any("13.5" in c.quote for c in a.citations) and any("9.5" in c.quote for c in a.citations)


def test_a_place_the_table_does_not_list_is_refused_with_what_it_lists(assistant):
    a = assistant.ask("年度重点产业区域名单里，西岭区的产业区域是哪个？四至范围是什么？")
    assert a.refused and "西岭" in a.text, a.text
    assert "曹路" not in a.text and "佘山" not in a.text
    b = _ok(assistant.ask("年度重点产业区域名单里，南山区是哪个区域？四至范围怎么划的？"), (), ["佘山科技园", "昌业路"])
    assert "曹路" not in b.text


def test_rows_with_exactly_the_count_asked(assistant):
    a = _ok(assistant.ask("第二批森林乡村名单中，哪些区各有2个村入选？"), [2], ["北湖区", "南山区"])
    assert "东江区" not in a.text


def test_both_ends_of_a_column_and_the_sum_over_the_whole_table(assistant):
    a = _ok(assistant.ask("野生动物栖息地名录（第一批）中，面积最大和最小的分别是哪处？"), [32.8, 9.5],
            ["东江区金海湿地栖息地", "北湖区鸟类栖息地"])
    assert a.text.index("东江区金海") < a.text.index("北湖区鸟类")
    _ok(assistant.ask("野生动物栖息地名录（第一批）的栖息地总面积是多少公顷？"), [75.8])


def test_one_row_picked_out_by_a_shared_label_and_one_of_its_words(assistant):
    a = _ok(assistant.ask("古树确认目录里，北湖区那棵罗汉松树龄多少？保护等级和建议编号是什么？"), [80], ["三级", "06-050"])
    assert "06-051" not in a.text and "150" not in a.text


def test_a_follow_up_naming_another_value_of_the_column_replaces_it(assistant):
    conv = Conversation()
    assistant.ask("古树确认目录里，北湖区那棵罗汉松树龄多少？", conv)
    a = assistant.ask("那东江区那棵朴树呢？", conv)
    assert check_number(a.text, [120]) and "罗汉松" not in a.text, a.text


def test_the_whole_table_the_question_names_is_counted(assistant):
    a = _ok(assistant.ask("年度重点产业区域名单一共公布了多少个？"), [3], ["曹路工业园区", "佘山科技园"])
    assert a.text.count("、") == 2


def test_an_excluded_place_leaves_out_only_its_own_rows(assistant):
    # "区级" holds the character 区 of 浦东新区: only the rows of 浦东新区 are left out
    a = _ok(assistant.ask("某市公园名录里，除浦东新区外，区级公园有几个？"), [1], ["丙公园"])
    assert "甲公园" not in a.text


def test_a_total_row_under_a_group_is_neither_counted_nor_added(assistant):
    a = _ok(assistant.ask("某市公园名录里，黄浦区的公园面积加起来多少公顷？"), [11], ["丙公园", "丁公园"])
    assert "22" not in a.text


def test_a_place_after_a_few_words_is_still_that_place(assistant):
    a = _ok(assistant.ask("野生动物栖息地名录里北湖区有几处？"), [2], ["北湖区蛙类栖息地"])
    assert "录里" not in a.text


def test_a_row_the_question_names_is_not_taken_for_a_set(assistant):
    a = assistant.ask("义务植树基地名录里，体育公园的基地级别是什么？")
    assert "区级" in a.text and "共" not in a.text


# ---------- layouts ----------

def test_a_count_printed_in_a_name_is_a_column_of_its_own():
    text = "# 某局关于公布森林乡村名单的通知\n\n附件\n\n某市森林乡村名单（第二批）\n\n" + _pipe(
        ("行政区", "行政村名单"), [("东江区（3个）", "甲村、乙村、丙村"), ("北湖区（2 个）", "丁村、戊村")])
    doc = parse_bytes("villages.md", text.encode("utf-8"))
    cells = {(c.row_label, c.column): c for c in doc.tables[0].cells}
    assert cells[("东江区", "数量")].value == 3 and cells[("北湖区", "数量")].value == 2
    assert cells[("东江区", "行政村名单")].raw == "甲村、乙村、丙村"
    assert "（3个）" in cells[("东江区", "数量")].quote  # cited as printed


def _stream(lines) -> str:
    return "\n\n".join(lines) + "\n"


def test_a_parent_header_whose_total_its_column_adds_up_to_spans_only_that_group():
    # 总面积0.3万亩分布情况 heads 件数 | 面积 (面积 adds up to 3000), 分年度任务量 heads the three years
    header = ["序号", "街镇", "总面积0.3万亩分布情况", "三年任务量", "重点整治", "分年度任务量", "件数", "面积",
              "2024年约300亩", "2025年约400亩", "2026年约300亩"]
    rows = [["1", "甲镇", "10", "1000", "400", "300", "100", "200", "100"],
            ["2", "乙镇", "20", "1500", "400", "300", "150", "150", "100"],
            ["3", "丙镇", "5", "500", "200", "100", "50", "50", "100"]]
    text = ("# 某区违法用地整治三年行动方案\n\n附件：某区违法用地整治三年行动任务量统计表\n\n单位：亩\n\n"
            + _stream(header + [c for r in rows for c in r]))
    doc = parse_bytes("three_years.md", text.encode("utf-8"))
    t = doc.tables[0]
    assert len(t.columns) == 9, t.columns
    cells = {(c.row_label, c.column.split("·")[-1]): c for c in t.cells}
    assert cells[("甲镇", "件数")].value == 10
    assert cells[("甲镇", "面积")].value == 1000
    assert cells[("甲镇", "三年任务量")].value == 400
    assert cells[("乙镇", "2025年约400亩")].value == 150


def test_the_caption_after_an_attachment_list_names_the_table_and_sub_row_labels_are_data():
    lines = ["附表：1、某区应急避难场所建设推进计划表", "2、某区应急避难场所建设项目表", "附表1：", "某区应急避难场所建设推进计划表",
             "街镇", "类型", "已建成(万m2)", "2021年任务(万m2)", "2022年任务(万m2)",
             "甲镇", "等级", "0.55", "3.35", "3.80", "社区", "0.00", "9.76", "8.72",
             "乙镇", "等级", "0.00", "1.72", "1.60", "社区", "0.00", "3.45", "3.08",
             "丙镇", "等级", "3.75", "0.00", "0.30", "社区", "0.00", "4.73", "4.23"]
    doc = parse_bytes("shelters.md", ("# 某区应急避难场所建设实施方案\n\n" + _stream(lines)).encode("utf-8"))
    t = doc.tables[0]
    assert t.title == "某区应急避难场所建设推进计划表"
    assert "等级" not in t.columns and "甲镇" not in t.columns, t.columns
    cells = {(c.row_label, c.column): c for c in t.cells}
    assert cells[("甲镇", "已建成")].value == 0.55 and cells[("甲镇", "2021年任务")].value == 3.35


def test_a_count_asked_before_what_is_counted_is_answered_from_the_passage(tmp_path):
    text = ("# 某区消防事业发展规划\n\n一、发展基础\n\n（一）消防车辆\n\n区消防救援局目前实有特种应急消防车辆共43辆。"
            "特种专业技术用车编制核定额度为63辆，缺编20辆。\n\n二、主要任务\n\n加强队伍建设。\n")
    path = tmp_path / "fire.md"
    path.write_text(text, encoding="utf-8")
    settings = load_settings(data_dir=tmp_path / "data", embedder="hash")
    assert not ingest_paths(settings, [path]).failed
    a = Assistant(settings).ask("消防规划里说现在有多少辆特种应急消防车？")
    assert not a.refused and check_number(a.text, [43]), a.text


def test_a_code_with_leading_zeros_is_words_not_a_range():
    from ingest.values import parse_value

    assert parse_value("06-050").kind == "text"  # a tree's number, not 6—50
    assert parse_value("6-50").kind == "range" and parse_value("0.5-1.0").kind == "range"


def test_each_place_printed_as_two_kind_rows_is_one_row_with_columns_by_kind(tmp_path):
    table = _pipe(("街镇", "类型", "已建成（万平方米）", "2021年任务（万平方米）", "2022年任务（万平方米）"),
                  [("甲镇", "等级", "0.55", "3.35", "3.80"), ("", "社区", "0.00", "9.76", "8.72"),
                   ("乙镇", "等级", "0.00", "1.72", "1.60"), ("", "社区", "0.00", "3.45", "3.08"),
                   ("丙镇", "等级", "3.75", "0.00", "0.30"), ("", "社区", "0.00", "4.73", "4.23")])
    text = "# 某区应急避难场所建设实施方案\n\n一、目标\n\n加快建设应急避难场所。\n\n附表1：某区应急避难场所建设推进计划表\n\n" + table
    doc = parse_bytes("shelters.md", text.encode("utf-8"))
    t = doc.tables[0]
    assert t.row_labels == ["甲镇", "乙镇", "丙镇"], t.row_labels
    cells = {(c.row_label, c.column): c for c in t.cells}
    assert cells[("乙镇", "等级·2021年任务")].value == 1.72
    assert cells[("乙镇", "社区·2021年任务")].value == 3.45
    assert "3.45" in cells[("乙镇", "社区·2021年任务")].quote  # cited from its own printed row
    path = tmp_path / "shelters.md"
    path.write_text(text, encoding="utf-8")
    settings = load_settings(data_dir=tmp_path / "data", embedder="hash")
    assert not ingest_paths(settings, [path]).failed
    bot, conv = Assistant(settings), Conversation()
    a = bot.ask("推进计划表中，乙镇2021年等级应急避难场所任务是多少？", conv)
    assert check_number(a.text, [1.72]) and "3.45" not in a.text, a.text
    b = bot.ask("那社区应急避难场所呢？", conv)
    assert check_number(b.text, [3.45]), b.text
    c = bot.ask("推进计划表中，乙镇2021年等级和社区任务加起来是多少？")
    assert check_number(c.text, [1.72, 3.45, 5.17]), c.text
    assert check(c, "") == []


def test_the_district_a_plan_belongs_to_names_the_plan_not_a_row(tmp_path):
    table = _pipe(("序号", "名称", "地点", "有效避难面积", "可避难人数"),
                  [("1", "育秀学校应急避难场所", "南桥镇古华路261号", "5500平方米", "2000人"),
                   ("2", "城建学院应急避难场所", "庄行镇南亭公路2080号", "37500平方米", "5000人")])
    text = ("# 东江区关于推进应急避难场所建设的实施方案\n\n一、目标\n\n加快建设。\n\n附表3：\n\n"
            "“十三五”期间东江区等级应急避难场所建设情况一览表\n\n" + table)
    path = tmp_path / "dongjiang.md"
    path.write_text(text, encoding="utf-8")
    settings = load_settings(data_dir=tmp_path / "data", embedder="hash")
    assert not ingest_paths(settings, [path]).failed
    a = Assistant(settings).ask("东江区“十三五”等级应急避难场所一览表里，城建学院应急避难场所的有效避难面积和可避难人数是多少？")
    assert not a.refused and check_number(a.text, [37500, 5000]), a.text
    assert "5500" not in a.text


def test_one_name_in_two_groups_is_answered_with_each_group(assistant):
    a = _ok(assistant.ask("义务植树基地名录里，梅园的ID是多少？"), [105, 110], ["东城", "西城"])
    assert a.text.index("东城") < a.text.index("105") < a.text.index("西城") < a.text.index("110")
