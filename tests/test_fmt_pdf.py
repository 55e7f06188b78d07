"""PDFs with a text layer are read by their geometry: reading order, wrapped lines joined, ruled and aligned
tables, a table running over pages kept whole, running lines dropped, every chunk cited on its real page."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from ingest.loaders import load_bytes
from ingest.normalize import normalize_text
from ingest.parse import parse_bytes

FORMATS = Path(__file__).parent / "data" / "formats"
PAGE_H = 792


def build_pdf(pages: list[list[tuple]]) -> bytes:
    """A PDF from drawing orders per page: ("t", x, top, text, size) and ("l", x0, top0, x1, top1) lines.
    Text uses STSong-Light via UniGB-UCS2-H (no embedded font); every glyph is one em wide."""
    objs: list[bytes] = []

    def add(body: bytes) -> int:
        objs.append(body)
        return len(objs)

    desc = add(b"<< /Type /FontDescriptor /FontName /STSong-Light /Flags 6 /FontBBox [-25 -254 1000 880] "
               b"/ItalicAngle 0 /Ascent 880 /Descent -120 /CapHeight 880 /StemV 93 >>")
    cid = add(b"<< /Type /Font /Subtype /CIDFontType0 /BaseFont /STSong-Light /CIDSystemInfo "
              b"<< /Registry (Adobe) /Ordering (GB1) /Supplement 4 >> "
              b"/FontDescriptor %d 0 R /DW 1000 >>" % desc)
    font = add(b"<< /Type /Font /Subtype /Type0 /BaseFont /STSong-Light-UniGB-UCS2-H /Encoding /UniGB-UCS2-H "
               b"/DescendantFonts [%d 0 R] >>" % cid)
    pages_id = len(objs) + 1 + 2 * len(pages)
    kids = []
    for orders in pages:
        ops = []
        for order in orders:
            if order[0] == "t":
                _, x, top, text, size = order
                y = PAGE_H - top - size * 0.88
                ops.append(b"BT /F1 %.1f Tf %.2f %.2f Td <%s> Tj ET" % (
                    size, x, y, text.encode("utf-16-be").hex().encode()))
            else:
                _, x0, t0, x1, t1 = order
                ops.append(b"0.8 w %.2f %.2f m %.2f %.2f l S" % (x0, PAGE_H - t0, x1, PAGE_H - t1))
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


def text_line(x: float, top: float, text: str, size: float = 12) -> tuple:
    return ("t", x, top, text, size)


def ruled_table(x: float, top: float, widths: list[float], rows: list[list[str]], row_h: float = 20,
                size: float = 10) -> list[tuple]:
    """A table with every ruling line drawn; a cell may hold several lines ("单位GDP\\n能耗")."""
    orders = []
    xs = [x]
    for w in widths:
        xs.append(xs[-1] + w)
    y = top
    heights = [row_h * max(len(c.split("\n")) for c in row) for row in rows]
    orders.append(("l", xs[0], y, xs[-1], y))
    for row, h in zip(rows, heights):
        for c, cell in enumerate(row):
            for k, part in enumerate(cell.split("\n")):
                orders.append(text_line(xs[c] + 3, y + 4 + k * row_h, part, size))
        y += h
        orders.append(("l", xs[0], y, xs[-1], y))
    for cx in xs:
        orders.append(("l", cx, top, cx, y))
    return orders


# ---------- synthetic pages ----------

def test_numbers_beside_hanzi_and_quote_marks_are_not_split_or_moved():
    pdf = build_pdf([[("t", 72, 100, "到", 12), ("t", 87, 100, "2015", 12), ("t", 138, 100, "年，淘汰", 12),
                      ("t", 189, 100, "50", 12), ("t", 216, 100, "万吨。", 12),
                      ("t", 72, 140, "实施“节能暖房”工程。", 12)]])
    text = load_bytes("plan.pdf", pdf).text
    assert "到2015年，淘汰50万吨。" in text
    assert "实施“节能暖房”工程。" in text


def test_ruled_table_with_wrapped_cells_and_its_caption():
    rows = [["地区", "单位GDP\n能耗降低", "二氧化硫\n排放量降低"], ["呼和浩特市", "16%", "6.5%"],
            ["包头市", "16%", "6.3%"], ["乌海市", "16%", "8.5%"]]
    page = [text_line(72, 60, "专栏二：各盟市节能减排目标"), *ruled_table(72, 90, [120, 100, 110], rows)]
    doc = parse_bytes("plan.pdf", build_pdf([page]))
    (table,) = doc.tables
    assert table.title == "专栏二：各盟市节能减排目标"
    assert table.columns == ("地区", "单位GDP能耗降低", "二氧化硫排放量降低")
    assert table.row_labels == ["呼和浩特市", "包头市", "乌海市"]
    assert {(c.row_label, c.column): c.value for c in table.cells}[("乌海市", "二氧化硫排放量降低")] == 8.5


def test_table_continued_on_the_next_page_with_and_without_its_header_is_one_table():
    header = ["区县", "化学需氧量", "氨氮"]
    names = [f"{ch}山区" for ch in "甲乙丙丁戊己庚辛"]
    first = [header] + [[names[k], str(100 + k), str(10 + k)] for k in range(5)]
    for repeat in (True, False):
        rest = [[names[k], str(100 + k), str(10 + k)] for k in range(5, 8)]
        bottom = 700 - 20 * len(first)  # the first part ends at the foot of page 1
        pages = [[text_line(72, 60, "表2 各区县减排目标"), *ruled_table(72, bottom, [120, 90, 90], first)],
                 [*ruled_table(72, 60, [120, 90, 90], ([header] if repeat else []) + rest),
                  text_line(72, 200, "三、保障措施")]]
        doc = parse_bytes("plan.pdf", build_pdf(pages))
        (table,) = doc.tables
        assert table.row_labels == names, repeat
        chunk = next(c for c in doc.chunks if c.kind == "table")
        assert chunk.page == 1
        assert next(c for c in doc.chunks if "三、保障措施" in c.text).page == 2


def test_columns_of_aligned_text_without_rules_become_a_table():
    rows = [("指标", "2020年", "2025年"), ("森林覆盖率", "31.2%", "33%"), ("优良天数比例", "82.5%", "86%"),
            ("污水收集率", "65%", "75%")]
    page = [text_line(72, 60, "表1 主要指标")]
    for k, (a, b, c) in enumerate(rows):
        page += [text_line(72, 90 + 18 * k, a, 10), text_line(230, 90 + 18 * k, b, 10),
                 text_line(330, 90 + 18 * k, c, 10)]
    page.append(text_line(72, 90 + 18 * 3 + 12, "（%）", 10))  # the last label wrapped in its cell
    page.append(text_line(72, 200, "各区县要认真落实。"))
    doc = parse_bytes("plan.pdf", build_pdf([page]))
    (table,) = doc.tables
    assert table.columns == ("指标", "2020年", "2025年")
    assert table.row_labels == ["森林覆盖率", "优良天数比例", "污水收集率"]
    assert "| 污水收集率（%） | 65% | 75% |" in doc.text
    assert "各区县要认真落实。" in doc.text


def test_lines_set_apart_or_indented_start_new_paragraphs():
    long = "到2015年，全区单位地区生产总值能耗下降到1.63吨标准煤"  # runs to the right margin
    page = [text_line(72, 60, long), text_line(72, 75, "每万元，比2010年下降15%。"),
            text_line(72, 110, long), text_line(96, 125, "第二段从缩进开始。")]
    text = load_bytes("plan.pdf", build_pdf([page])).text
    assert long + "每万元，比2010年下降15%。" in text
    assert long + "\n\n第二段从缩进开始。" in text


# ---------- a plan exported from Word by LibreOffice ----------

@pytest.fixture(scope="module")
def jiangbei():
    return {fmt: parse_bytes(f"jiangbei.{fmt}", (FORMATS / f"jiangbei.{fmt}").read_bytes())
            for fmt in ("pdf", "docx")}


def _paragraphs(doc) -> list[str]:
    return [re.sub(r"^#+\s*", "", line) for line in doc.text.split("\n") if line.strip()]


def test_exported_pdf_reads_as_its_word_original(jiangbei):
    assert jiangbei["pdf"].fmt == "pdf"
    assert _paragraphs(jiangbei["pdf"]) == _paragraphs(jiangbei["docx"])


def test_exported_pdf_tables_have_the_shapes_of_the_original(jiangbei):
    shapes = [(t.title, len(t.row_labels), t.columns) for t in jiangbei["pdf"].tables]
    assert shapes == [(t.title, len(t.row_labels), t.columns) for t in jiangbei["docx"].tables]
    assert [(n, len(cols)) for _, n, cols in shapes] == [(7, 4), (13, 5), (30, 5)]
    projects = jiangbei["pdf"].tables[2]
    assert "城西区挥发性有机物综合治理工程" in projects.row_labels  # its row broke over a page


def test_exported_pdf_chunks_cite_the_page_they_are_printed_on(jiangbei):
    import pdfplumber

    with pdfplumber.open(FORMATS / "jiangbei.pdf") as pdf:
        printed = [re.sub(r"\s+", "", page.extract_text() or "") for page in pdf.pages]
        numbers_on_4 = [row[0] for row in pdf.pages[3].find_tables()[0].extract()
                        if row[0] and row[0].isdigit()]
    doc = jiangbei["pdf"]
    assert doc.meta["pages"] == len(printed) == 5
    pages = set()
    for chunk in doc.chunks:
        head = re.sub(r"[\s|#-]+", "", chunk.text)[:12]
        assert head in normalize_text(printed[chunk.page - 1]).replace("\n", ""), (chunk.page, head)
        pages.add(chunk.page)
    assert pages == {1, 2, 3, 5}  # page 4 holds only the rest of 表3
    assert [c.page for c in doc.chunks if c.kind == "table"] == [1, 2, 3]
    first_row_on_4 = doc.text[doc.page_starts[3]:].split("\n")[0]
    assert first_row_on_4.startswith("| ")
    assert first_row_on_4.split("|")[1].strip() == numbers_on_4[0]  # the first whole row printed there


def test_truncated_pdf_is_refused_in_chinese():
    from kb.errors import UnsupportedFile

    data = (FORMATS / "jiangbei.pdf").read_bytes()
    with pytest.raises(UnsupportedFile) as err:
        parse_bytes("plan.pdf", data[: len(data) * 2 // 3])
    assert "不完整" in err.value.user_message
