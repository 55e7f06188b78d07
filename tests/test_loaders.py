"""Bytes → text for every supported format, and clear Chinese errors for files we cannot read."""

from __future__ import annotations

import io
import os
import zipfile

import pytest

from ingest.loaders import load_bytes
from ingest.normalize import normalize_text
from ingest.parse import parse_bytes
from kb.errors import EmptyDocument, IngestError, UnsupportedFile

SHORT_PLAN = "一、总体目标\n\n到2015年，全区单位GDP能耗下降15%，淘汰炼铁230万吨。\n\n二、保障措施\n\n加强领导。\n"
CJK_ONLY = "一、总体目标：节能减排，全面推进。"  # no ASCII at all: UTF-16 without BOM has no NUL bytes

ENCODINGS = [
    ("utf-8", lambda t: t.encode("utf-8")),
    ("utf-8 with BOM", lambda t: b"\xef\xbb\xbf" + t.encode("utf-8")),
    ("gb18030", lambda t: t.encode("gb18030")),
    ("gbk", lambda t: t.encode("gbk")),
    ("utf-16 with BOM", lambda t: t.encode("utf-16")),
    ("utf-16-le without BOM", lambda t: t.encode("utf-16-le")),
    ("utf-16-be without BOM", lambda t: t.encode("utf-16-be")),
]


def docx_bytes(document) -> bytes:
    buffer = io.BytesIO()
    document.save(buffer)
    return buffer.getvalue()


# ---------- plain text encodings ----------

@pytest.fixture(scope="module")
def sample_text(sample_plan_path) -> str:
    return sample_plan_path.read_text(encoding="utf-8").replace("\xa0", " ")  # GBK has no NBSP


@pytest.mark.parametrize(("label", "encode"), ENCODINGS, ids=[e[0] for e in ENCODINGS])
def test_text_encodings_decode_to_the_same_normalized_text(sample_text, label, encode):
    loaded = load_bytes("plan.txt", encode(sample_text))
    assert normalize_text(loaded.text) == normalize_text(sample_text)


@pytest.mark.parametrize(("label", "encode"), ENCODINGS, ids=[e[0] for e in ENCODINGS])
@pytest.mark.parametrize("text", [SHORT_PLAN, CJK_ONLY], ids=["short", "cjk-only"])
def test_short_files_decode_in_every_encoding(label, encode, text):
    assert normalize_text(load_bytes("plan.txt", encode(text)).text) == normalize_text(text)


def test_gb18030_plan_parses_like_the_utf8_one(sample_text):
    utf8 = parse_bytes("plan.txt", sample_text.encode("utf-8"))
    gb = parse_bytes("plan.txt", sample_text.encode("gb18030"))
    assert gb.encoding == "gb18030"
    assert gb.text == utf8.text
    assert [c.text for c in gb.chunks] == [c.text for c in utf8.chunks]


def test_crlf_line_ends_and_control_characters_are_normalized():
    raw = "一、总体目标\r\n\r\n到2015年\x07下降15%。\r\n".encode()
    assert parse_bytes("a.txt", raw).text == "一、总体目标\n\n到2015年下降15%。\n"


# ---------- markdown ----------

MARKDOWN = """# 某省“十二五”节能减排规划

## 一、主要目标

到2015年，全省单位GDP能耗比2010年下降16%。

**表1 主要指标**

（单位：万吨）

| 类别 | 指标 | 2010年 | 2015年 |
|:---|:---|---:|---:|
| 排放 | 化学需氧量 | 92.1 | 85.9 |
|  | 氨氮<br>排放量 | 5.4 | 4.9 |
| 能耗 | 煤炭消费量 | 300 | 280 |

二、保障措施

加强组织领导。
"""


def test_markdown_headings_tables_and_units():
    doc = parse_bytes("plan.md", MARKDOWN.encode())
    assert doc.fmt == "md"
    assert [s.path_str for s in doc.sections] == ["一、主要目标", "二、保障措施"]
    (table,) = doc.tables
    assert table.title == "表1 主要指标"
    assert table.unit == "万吨"
    assert table.columns == ("类别", "指标", "2010年", "2015年")
    rows = {(c.parent_label, c.row_label, c.column): (c.value, c.unit) for c in table.cells}
    assert rows[("排放", "氨氮排放量", "2015年")] == (4.9, "万吨")  # merged group cell continued, <br> joined
    assert rows[("能耗", "煤炭消费量", "2010年")] == (300, "万吨")
    assert table.title in doc.text


def test_markdown_table_title_as_heading_with_unit_in_parentheses():
    md = "## 一、目标\n\n### 表2 各市目标（%）\n\n| 地区 | 单位GDP能耗降低 |\n|---|---|\n| 甲市 | 16 |\n| 乙市 | 15 |\n"
    (table,) = parse_bytes("t.md", md.encode()).tables
    assert table.title == "表2 各市目标（%）"
    assert [(c.row_label, c.value, c.unit) for c in table.cells] == [("甲市", 16, "%"), ("乙市", 15, "%")]


def test_markdown_heading_numbering_continues_in_plain_lines():
    md = "## 一、形势\n\n内容一。\n\n二、思路\n\n（一）原则\n\n内容二。\n"
    doc = parse_bytes("t.md", md.encode())
    assert [s.path_str for s in doc.sections] == ["一、形势", "二、思路", "二、思路 › （一）原则"]


def test_markdown_unnumbered_headings_sit_beside_numbered_ones():
    md = ("# 某规划\n\n## 前言\n\n前言内容。\n\n## 第一章 发展基础\n\n### 第一节 成效\n\n内容。\n\n"
          "#### 专栏1 主要指标\n\n| 指标 | 2015年 |\n|---|---|\n| 能耗 | 1.6 |\n\n第二节 形势\n\n内容。\n\n"
          "## 第二章 任务\n\n一、加强领导\n\n内容。\n")
    doc = parse_bytes("t.md", md.encode())
    assert [s.path_str for s in doc.sections] == [
        "前言", "第一章 发展基础", "第一章 发展基础 › 第一节 成效", "第一章 发展基础 › 第一节 成效 › 专栏1 主要指标",
        "第一章 发展基础 › 第二节 形势", "第二章 任务", "第二章 任务 › 一、加强领导"]
    assert doc.tables[0].title == "专栏1 主要指标"


def test_styled_subheadings_under_plain_numbered_chapters():
    md = "一、形势\n\n## （一）成效\n\n内容。\n\n## （二）问题\n\n二、思路\n\n## （一）原则\n\n内容。\n"
    doc = parse_bytes("t.md", md.encode())
    assert [s.path_str for s in doc.sections] == [
        "一、形势", "一、形势 › （一）成效", "一、形势 › （二）问题", "二、思路", "二、思路 › （一）原则"]


def test_markdown_setext_headings_links_comments_and_rules():
    md = ("一、总体要求\n======\n\n<!-- 编者注：草稿 -->\n见[附件1](http://example.cn/a.pdf)。![图1](a.png)\n\n---\n\n"
          "（一）主要目标\n--------\n\n能耗下降15%。\n")
    doc = parse_bytes("t.md", md.encode())
    assert doc.text == "# 一、总体要求\n\n见附件1。\n\n## （一）主要目标\n\n能耗下降15%。\n"
    assert [s.path_str for s in doc.sections] == ["一、总体要求", "一、总体要求 › （一）主要目标"]


# ---------- docx ----------

def build_docx() -> bytes:
    import docx

    document = docx.Document()
    document.add_paragraph("某市“十二五”节能规划", style="Title")
    document.add_heading("一、主要目标", level=1)
    document.add_paragraph("到2015年，全市单位GDP能耗下降16%，淘汰水泥500万吨。")
    document.add_heading("（一）能耗目标", level=2)
    document.add_paragraph("表1 主要指标")
    table = document.add_table(rows=6, cols=4)
    rows = [
        ["类别", "指标", "目标值", ""],
        ["", "", "2010年", "2015年"],
        ["能耗", "单位GDP\n能耗（吨标准煤/万元）", "1.2", "1.0"],
        ["", "煤炭消费量（万吨）", "300", "280"],
        ["排放", "二氧化硫排放量（万吨）", "5.5", "5.0"],
        ["", "氨氮排放量（万吨）", "0.5", "0.4"],
    ]
    for r, row in enumerate(rows):
        for c, value in enumerate(row):
            if value:
                table.cell(r, c).text = value
    table.cell(0, 0).merge(table.cell(1, 0))  # vertical merge in the header
    table.cell(0, 1).merge(table.cell(1, 1))
    table.cell(0, 2).merge(table.cell(0, 3))  # horizontal merge: 目标值 over both years
    table.cell(2, 0).merge(table.cell(3, 0))  # vertical merge in the body: a row group
    table.cell(4, 0).merge(table.cell(5, 0))
    document.add_heading("二、保障措施", level=1)
    document.add_paragraph("加强组织领导。")
    return docx_bytes(document)


def test_docx_heading_styles_become_markdown_headings():
    text = load_bytes("plan.docx", build_docx()).text
    assert "# 一、主要目标" in text.splitlines()
    assert "## （一）能耗目标" in text.splitlines()
    assert "某市“十二五”节能规划" in text.splitlines()  # the Title style is the document's name, not a section


def test_docx_merged_cells_are_filled_across_their_span():
    doc = parse_bytes("plan.docx", build_docx())
    assert [s.path_str for s in doc.sections] == ["一、主要目标", "一、主要目标 › （一）能耗目标", "二、保障措施"]
    (table,) = doc.tables
    assert table.title == "表1 主要指标"
    assert table.section_path == "一、主要目标 › （一）能耗目标"
    assert table.columns == ("类别", "指标", "目标值2010年", "目标值2015年")
    got = {(c.parent_label, c.row_label, c.column): (c.value, c.unit) for c in table.cells}
    assert got == {
        ("能耗", "单位GDP能耗", "目标值2010年"): (1.2, "吨标准煤/万元"),
        ("能耗", "单位GDP能耗", "目标值2015年"): (1.0, "吨标准煤/万元"),
        ("能耗", "煤炭消费量", "目标值2010年"): (300, "万吨"),
        ("能耗", "煤炭消费量", "目标值2015年"): (280, "万吨"),
        ("排放", "二氧化硫排放量", "目标值2010年"): (5.5, "万吨"),
        ("排放", "二氧化硫排放量", "目标值2015年"): (5.0, "万吨"),
        ("排放", "氨氮排放量", "目标值2010年"): (0.5, "万吨"),
        ("排放", "氨氮排放量", "目标值2015年"): (0.4, "万吨"),
    }


def test_docx_heading_styles_in_other_languages_and_outline_levels():
    import docx
    from docx.enum.style import WD_STYLE_TYPE
    from docx.oxml import OxmlElement
    from docx.oxml.ns import qn

    document = docx.Document()
    document.styles.add_style("Überschrift 1", WD_STYLE_TYPE.PARAGRAPH)
    document.styles.add_style("标题 2", WD_STYLE_TYPE.PARAGRAPH)
    outline_style = document.styles.add_style("节标题", WD_STYLE_TYPE.PARAGRAPH)
    level = OxmlElement("w:outlineLvl")
    level.set(qn("w:val"), "2")
    outline_style.element.get_or_add_pPr().append(level)
    document.add_paragraph("第一章 发展基础", style="Überschrift 1")
    document.add_paragraph("第一节 主要成效", style="标题 2")
    document.add_paragraph("能耗明显下降", style="节标题")
    document.add_paragraph("单位GDP能耗下降20%。")
    text = load_bytes("plan.docx", docx_bytes(document)).text.splitlines()
    assert "# 第一章 发展基础" in text
    assert "## 第一节 主要成效" in text
    assert "### 能耗明显下降" in text
    doc = parse_bytes("plan.docx", docx_bytes(document))
    assert doc.chunks[-1].section_path == "第一章 发展基础 › 第一节 主要成效 › 能耗明显下降"


def test_docx_box_drawn_as_one_cell_table_reads_as_paragraphs():
    import docx

    document = docx.Document()
    document.add_heading("一、重点工程", level=1)
    box = document.add_table(rows=1, cols=1).cell(0, 0)
    box.text = "专栏1 重点节能工程"
    box.add_paragraph("1、锅炉改造工程。改造燃煤锅炉100台。")
    box.add_paragraph("2、余热利用工程。新增余热发电20万千瓦。")
    document.add_heading("二、保障措施", level=1)
    doc = parse_bytes("plan.docx", docx_bytes(document))
    assert doc.tables == []
    assert "1、锅炉改造工程。改造燃煤锅炉100台。" in doc.text.splitlines()
    assert [s.path_str for s in doc.sections if "专栏1" in s.path_str][-1].endswith("专栏1 重点节能工程 › 2、余热利用工程")
    assert len(doc.items) == 2


def test_docx_box_items_styled_as_headings_stay_in_the_box():
    import docx

    document = docx.Document()
    document.add_heading("三、重点领域节能", level=1)
    document.add_paragraph("专栏三：重点节能工程")
    document.add_heading("一、节能改造工程", level=2)
    document.add_paragraph("锅炉窑炉改造工程。更新改造低效工业锅炉。")
    document.add_heading("二、节能技术产业化示范工程", level=2)
    document.add_paragraph("实施10大示范工程。")
    document.add_heading("四、主要污染物减排", level=1)
    document.add_paragraph("加快污水处理设施升级改造。")
    doc = parse_bytes("t.docx", docx_bytes(document))
    assert [s.path_str for s in doc.sections] == [
        "三、重点领域节能", "三、重点领域节能 › 专栏三：重点节能工程", "三、重点领域节能 › 专栏三：重点节能工程 › 一、节能改造工程",
        "三、重点领域节能 › 专栏三：重点节能工程 › 二、节能技术产业化示范工程", "四、主要污染物减排"]


def test_docx_box_drawn_as_a_text_box_is_read_once():
    import docx
    from lxml import etree

    w = "http://schemas.openxmlformats.org/wordprocessingml/2006/main"
    lines = ["专栏1 重点节能工程", "1、锅炉改造工程。改造燃煤锅炉100台。", "2、余热利用工程。新增余热发电20万千瓦。"]
    content = f'<w:txbxContent xmlns:w="{w}">' + "".join(
        f"<w:p><w:r><w:t>{line}</w:t></w:r></w:p>" for line in lines) + "</w:txbxContent>"
    # As Word writes it: DrawingML, plus the same box again as a VML fallback.
    run = (f'<w:r xmlns:w="{w}" xmlns:mc="http://schemas.openxmlformats.org/markup-compatibility/2006" '
           'xmlns:v="urn:schemas-microsoft-com:vml" '
           'xmlns:wps="http://schemas.microsoft.com/office/word/2010/wordprocessingShape">'
           "<mc:AlternateContent>"
           f'<mc:Choice Requires="wps"><w:drawing><wps:txbx>{content}</wps:txbx></w:drawing></mc:Choice>'
           f'<mc:Fallback><w:pict><v:shape><v:textbox>{content}</v:textbox></v:shape></w:pict></mc:Fallback>'
           "</mc:AlternateContent></w:r>")
    document = docx.Document()
    document.add_heading("一、重点工程", level=1)
    document.add_paragraph("实施重点工程。")._p.append(etree.fromstring(run))
    document.add_heading("二、保障措施", level=1)
    doc = parse_bytes("t.docx", docx_bytes(document))
    assert doc.text.count("锅炉改造工程") == 1
    assert [s.path_str for s in doc.sections] == [
        "一、重点工程", "一、重点工程 › 专栏1 重点节能工程", "一、重点工程 › 专栏1 重点节能工程 › 1、锅炉改造工程",
        "一、重点工程 › 专栏1 重点节能工程 › 2、余热利用工程", "二、保障措施"]


def test_docx_title_and_unit_rows_inside_the_table():
    import docx

    document = docx.Document()
    document.add_paragraph("各市目标如下")  # a short line above: not the title when the table has its own
    table = document.add_table(rows=6, cols=3)
    rows = [["表3 各市目标"] * 3, ["单位：万吨"] * 3, ["地区", "2010年", "2015年"], ["一、东部"] * 3,
            ["甲市", "1.5", "1.2"], ["注：数据为初步统计。"] * 3]
    for r, row in enumerate(rows):
        for c, value in enumerate(row):
            table.cell(r, c).text = value
    for r in (0, 1, 3, 5):
        merged = table.cell(r, 0).merge(table.cell(r, 2))
        merged.text = rows[r][0]
    (parsed,) = parse_bytes("t.docx", docx_bytes(document)).tables
    assert parsed.title == "表3 各市目标"
    assert parsed.unit == "万吨"
    assert [(c.parent_label, c.row_label, c.column, c.value, c.unit) for c in parsed.cells] == [
        ("一、东部", "甲市", "2010年", 1.5, "万吨"), ("一、东部", "甲市", "2015年", 1.2, "万吨")]


# ---------- html ----------

HTML = """<!DOCTYPE html><html><head><meta charset="utf-8"><title>页面</title>
<style>p { color: red }</style><script>var x = "一、不是正文";</script></head><body>
<h1>某市节能规划</h1>
<h2>一、主要目标</h2>
<p>到2020年，全市单位GDP能耗
   下降<b>16%</b>。<br>淘汰落后水泥产能<span>500万吨</span>。</p>
<table border="1"><caption>表1 主要指标</caption>
<tr><th rowspan="2">类别</th><th rowspan="2">指标</th><th colspan="2">目标值</th></tr>
<tr><th>2015年</th><th>2020年</th></tr>
<tr><td rowspan="2">能耗</td><td>单位GDP能耗（吨标准煤/万元）</td><td>1.2</td><td>1.0</td></tr>
<tr><td>煤炭消费量（万吨）</td><td>300</td><td>280</td></tr>
<tr><td>排放</td><td>二氧化硫排放量（万吨）</td><td>5.5</td><td>5.0</td></tr>
</table>
<div><table><tr><td>
  <p>表2 各区目标</p>
  <table><tr><td>地区</td><td>单位GDP能耗降低</td></tr>
    <tr><td>甲区</td><td>15%</td></tr><tr><td>乙区</td><td>16%</td></tr></table>
</td></tr></table></div>
<h2>二、保障措施</h2><p>加强领导。</p>
</body></html>"""


def test_html_rowspan_and_colspan_are_filled():
    doc = parse_bytes("plan.html", HTML.encode())
    first = doc.tables[0]
    assert first.title == "表1 主要指标"
    assert first.columns == ("类别", "指标", "目标值2015年", "目标值2020年")
    got = {(c.parent_label, c.row_label, c.column): (c.value, c.unit) for c in first.cells}
    assert got[("能耗", "煤炭消费量", "目标值2020年")] == (280, "万吨")  # rowspan carried 能耗 down
    assert got[("能耗", "单位GDP能耗", "目标值2015年")] == (1.2, "吨标准煤/万元")
    assert got[("排放", "二氧化硫排放量", "目标值2020年")] == (5.0, "万吨")


def test_html_nested_layout_table_yields_the_inner_data_table():
    doc = parse_bytes("plan.html", HTML.encode())
    assert len(doc.tables) == 2
    inner = doc.tables[1]
    assert inner.title == "表2 各区目标"
    assert [(c.row_label, c.value, c.unit) for c in inner.cells] == [("甲区", 15, "%"), ("乙区", 16, "%")]


def test_html_text_flow_scripts_and_headings():
    doc = parse_bytes("plan.html", HTML.encode())
    lines = doc.text.splitlines()
    assert "到2020年，全市单位GDP能耗下降16%。" in lines  # source line break inside <p> is not a break
    assert "淘汰落后水泥产能500万吨。" in lines  # <br> is
    assert "不是正文" not in doc.text
    assert [s.path_str for s in doc.sections] == ["一、主要目标", "二、保障措施"]
    assert any(f.subject == "水泥产能" or "水泥" in f.subject for f in doc.facts if f.value == 500)


def test_html_page_with_br_separated_paragraphs_in_one_div():
    html = ("<html><body><div class='content'>&nbsp;&nbsp;一、总体目标<br/>&nbsp;&nbsp;到2015年，全市能耗"
            "<font>下降</font>15%。<br><br>&nbsp;&nbsp;二、保障措施<br>加强领导。</div></body></html>")
    doc = parse_bytes("page.html", html.encode())
    assert doc.text == "一、总体目标\n\n到2015年，全市能耗下降15%。\n\n二、保障措施\n\n加强领导。\n"
    assert [s.path_str for s in doc.sections] == ["一、总体目标", "二、保障措施"]


def test_html_in_gbk_with_meta_charset():
    html = '<html><head><meta charset="gbk"></head><body><h2>一、目标</h2><p>能耗下降15%。</p></body></html>'
    doc = parse_bytes("plan.htm", html.encode("gbk"))
    assert "能耗下降15%。" in doc.text


# ---------- pdf ----------

def make_pdf(pages: list[list[str]], cjk: bool = True) -> bytes:
    """A minimal PDF with a text layer: STSong-Light via UniGB-UCS2-H (no embedded font), or Helvetica."""
    objs: list[bytes] = []

    def add(body: bytes) -> int:
        objs.append(body)
        return len(objs)

    if cjk:
        desc = add(b"<< /Type /FontDescriptor /FontName /STSong-Light /Flags 6 /FontBBox [-25 -254 1000 880] "
                   b"/ItalicAngle 0 /Ascent 880 /Descent -120 /CapHeight 880 /StemV 93 >>")
        cid = add(b"<< /Type /Font /Subtype /CIDFontType0 /BaseFont /STSong-Light /CIDSystemInfo "
                  b"<< /Registry (Adobe) /Ordering (GB1) /Supplement 4 >> "
                  b"/FontDescriptor %d 0 R /DW 1000 >>" % desc)
        font = add(b"<< /Type /Font /Subtype /Type0 /BaseFont /STSong-Light-UniGB-UCS2-H "
                   b"/Encoding /UniGB-UCS2-H /DescendantFonts [%d 0 R] >>" % cid)
    else:
        font = add(b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica /Encoding /WinAnsiEncoding >>")
    pages_id = len(objs) + 1 + 2 * len(pages)
    kids = []
    for lines in pages:
        ops = [b"BT", b"/F1 12 Tf", b"14 TL", b"72 760 Td"]
        for line in lines:
            if cjk:
                ops.append(b"<" + line.encode("utf-16-be").hex().encode() + b"> Tj T*")
            else:
                escaped = line.replace("\\", "\\\\").replace("(", "\\(").replace(")", "\\)")
                ops.append(b"(" + escaped.encode("latin-1") + b") Tj T*")
        ops.append(b"ET")
        stream = b"\n".join(ops)
        content = add(b"<< /Length %d >>\nstream\n" % len(stream) + stream + b"\nendstream")
        kids.append(add(b"<< /Type /Page /Parent %d 0 R /MediaBox [0 0 612 792] /Contents %d 0 R "
                        b"/Resources << /Font << /F1 %d 0 R >> >> >>" % (pages_id, content, font)))
    add(b"<< /Type /Pages /Kids [" + b" ".join(b"%d 0 R" % k for k in kids) + b"] /Count %d >>" % len(kids))
    catalog = add(b"<< /Type /Catalog /Pages %d 0 R >>" % pages_id)
    out = bytearray(b"%PDF-1.4\n")
    offsets = []
    for number, body in enumerate(objs, 1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % number + body + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objs) + 1)
    out += b"".join(b"%010d 00000 n \n" % off for off in offsets)
    out += b"trailer\n<< /Size %d /Root %d 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objs) + 1, catalog, xref)
    return bytes(out)


def test_pdf_text_layer_with_pages_and_wrapped_lines():
    pdf = make_pdf([
        ["一、总体目标", "到2015年，全区单位地区生产总值能耗下降到1.63吨标准", "煤/万元，比2010年下降15%。"],
        ["二、保障措施", "“十二五”期间淘汰炼铁230万吨。"],
    ])
    doc = parse_bytes("plan.pdf", pdf)
    assert doc.fmt == "pdf"
    assert "到2015年，全区单位地区生产总值能耗下降到1.63吨标准煤/万元，比2010年下降15%。" in doc.text
    assert [s.path_str for s in doc.sections] == ["一、总体目标", "二、保障措施"]
    pages = {c.section_path: c.page for c in doc.chunks}
    assert pages == {"一、总体目标": 1, "二、保障措施": 2}
    assert any(f.subject == "炼铁" and f.value == 230 for f in doc.facts)


def test_pdf_running_headers_and_page_numbers_are_dropped():
    header = "内蒙古自治区节能减排规划"
    doc = parse_bytes("plan.pdf", make_pdf([
        [header, "一、总体目标", "到2015年，全区单位地区生产总值能耗下降到1.63吨标准", "— 1 —"],
        [header, "煤/万元，比2010年下降15%。", "二、保障措施", "淘汰炼铁230万吨。", "— 2 —"],
        [header, "三、组织实施", "各盟市要认真落实。", "第 3 页"],
    ]))
    assert header not in doc.text and "—" not in doc.text and "页" not in doc.text
    assert "下降到1.63吨标准煤/万元，比2010年下降15%。" in doc.text  # the sentence across the page break
    assert [(c.section_path, c.page) for c in doc.chunks] == [("一、总体目标", 1), ("二、保障措施", 2), ("三、组织实施", 3)]


def test_pdf_with_latin_text():
    pdf = make_pdf([["1. Goals", "Energy use per unit of GDP falls by 15% by 2015."]], cjk=False)
    doc = parse_bytes("plan.pdf", pdf)
    assert "Energy use per unit of GDP falls by 15% by 2015." in doc.text


def test_pdf_without_text_layer_or_images_says_the_pages_are_blank():
    with pytest.raises(EmptyDocument) as err:
        parse_bytes("scan.pdf", make_pdf([[], []]))
    assert "没有文字层" in err.value.user_message
    assert "空白" in err.value.user_message


# ---------- bad files ----------

def truncated_docx() -> bytes:
    data = build_docx()
    return data[: len(data) // 2]


def zip_without_word() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as zf:
        zf.writestr("readme.txt", "not a word document")
    return buffer.getvalue()


BAD_FILES = [
    ("empty.txt", lambda: b"", EmptyDocument, "空"),
    ("blank.md", lambda: b" \n\n\t\n", EmptyDocument, "空"),
    ("random.docx", lambda: os.urandom(4096), UnsupportedFile, "不是有效的 Word"),
    ("random.pdf", lambda: os.urandom(4096), UnsupportedFile, "不是有效的 PDF"),
    ("truncated.docx", truncated_docx, UnsupportedFile, "损坏"),
    ("archive.docx", zip_without_word, UnsupportedFile, "损坏"),
    ("broken.pdf", lambda: b"%PDF-1.4\n1 0 obj\n<<", UnsupportedFile, "PDF"),
    ("legacy.doc", lambda: b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + os.urandom(2048), UnsupportedFile, ".doc"),
    ("renamed.docx", lambda: b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + os.urandom(2048), UnsupportedFile, ".doc"),
    ("table.xlsx", zip_without_word, UnsupportedFile, "Excel 工作簿（.xlsx）已损坏"),
    ("photo.png", lambda: b"\x89PNG\r\n\x1a\n" + os.urandom(64), UnsupportedFile, "图片文件已损坏"),
    ("binary.txt", lambda: bytes(range(256)) * 8, IngestError, "编码"),
    ("empty.docx", lambda: docx_bytes(__import__("docx").Document()), EmptyDocument, "没有"),
]


@pytest.mark.parametrize(("name", "make", "error", "reason"), BAD_FILES, ids=[b[0] for b in BAD_FILES])
def test_bad_files_raise_ingest_errors_with_a_chinese_reason(name, make, error, reason):
    with pytest.raises(error) as err:
        parse_bytes(name, make())
    assert isinstance(err.value, IngestError)
    assert reason in err.value.user_message
    assert any("\u4e00" <= ch <= "\u9fff" for ch in err.value.user_message)


def test_a_batch_keeps_good_files_and_reports_bad_ones_by_name(settings, sample_plan_path):
    from ingest.pipeline import ingest_files
    from kb.knowledge import KnowledgeBase

    files = [
        ("目标.md", MARKDOWN.encode()),
        ("坏文件.docx", os.urandom(2048)),
        ("空.txt", b""),
        ("旧版.doc", b"\xd0\xcf\x11\xe0" + os.urandom(512)),
        ("计划.docx", build_docx()),
    ]
    report = ingest_files(settings, files)
    failed = {r.name: r.error for r in report.failed}
    assert set(failed) == {"坏文件.docx", "空.txt", "旧版.doc"}
    assert "Word" in failed["坏文件.docx"] and "空" in failed["空.txt"] and ".doc" in failed["旧版.doc"]
    summary = report.summary()
    for name in failed:
        assert name in summary
    assert "2 个文件已导入" in summary and "3 个失败" in summary
    kb = KnowledgeBase.open(settings)
    assert sorted(d["name"] for d in kb.docs) == ["目标.md", "计划.docx"]
    assert {t.title for t in kb.tables} == {"表1 主要指标"}
    assert len(kb.tables) == 2


def test_folder_search_finds_documents_and_workbooks_but_reads_csv_and_pictures_only_when_named():
    from ingest.loaders import ACCEPTED_SUFFIXES, SUPPORTED_SUFFIXES, sniff_format

    assert {".pdf", ".doc", ".wps", ".rtf", ".odt", ".xlsx", ".xls"} <= SUPPORTED_SUFFIXES
    assert not {".csv", ".png", ".jpg"} & SUPPORTED_SUFFIXES
    assert {".csv", ".png", ".jpg", ".tif"} <= ACCEPTED_SUFFIXES
    assert sniff_format("表.csv", "地区,目标\n乌海市,8.5%\n".encode()) == "csv"
    assert sniff_format("scan.jpg", b"\xff\xd8\xff\xe0" + b"\0" * 64) == "image"
