"""Workbooks and .csv: each sheet a table under its own heading, cited by sheet and cell range, merged
header cells filled, percent formats shown as printed, units taken from the headers."""

from __future__ import annotations

import io
import shutil
import subprocess
from pathlib import Path

import pytest

from ingest.fmt_sheet import cell_range, column_letter, format_number
from ingest.parse import parse_bytes
from kb.errors import UnsupportedFile

FORMATS = Path(__file__).parent / "data" / "formats"


def _xlsx(build) -> bytes:
    import openpyxl

    book = openpyxl.Workbook()
    build(book)
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


@pytest.mark.parametrize("index, letter", [(0, "A"), (25, "Z"), (26, "AA"), (701, "ZZ"), (702, "AAA")])
def test_column_letters(index, letter):
    assert column_letter(index) == letter


@pytest.mark.parametrize("value, fmt, shown", [
    (0.155, "0.0%", "15.5%"), (0.16, "0%", "16%"), (0.0577, "0.00%", "5.77%"), (1234.0, "General", "1234"),
    (92.1, "0.0", "92.1"), (0.077, "General", "0.077")])
def test_numbers_are_shown_as_the_sheet_prints_them(value, fmt, shown):
    assert format_number(value, fmt) == shown


def test_each_sheet_is_a_table_cited_by_sheet_and_range():
    doc = parse_bytes("jiangbei_tables.xlsx", (FORMATS / "jiangbei_tables.xlsx").read_bytes())
    assert doc.fmt == "xlsx"
    assert doc.meta["pages"] == 3
    assert [(len(t.row_labels), len(t.columns)) for t in doc.tables] == [(7, 4), (13, 5), (30, 5)]
    districts = doc.tables[1]
    assert districts.title == "表2 各区县“十四五”主要污染物重点工程减排目标（表2!A3:E16）"
    assert districts.unit == "吨"
    assert districts.section_path.startswith("工作表：表2")
    chunk = next(c for c in doc.chunks if c.kind == "table" and "城东区" in c.text)
    assert "表2!A3:E16" in chunk.text and chunk.section_path.startswith("工作表：表2")
    value = {(c.row_label, c.column): c for c in districts.cells}[("城东区", "氮氧化物")]
    assert (value.value, value.unit) == (980, "吨")


def test_merged_header_cells_are_filled_and_units_come_from_headers():
    def build(book):
        ws = book.active
        ws.title = "盟市目标"
        ws.append(["专栏二：各盟市节能减排目标"])
        ws.merge_cells("A1:D1")
        ws.append(["地区", "单位GDP能耗降低", "排放量降低（%）", None])
        ws.merge_cells("C2:D2")
        ws.append([None, None, "二氧化硫", "氮氧化物"])
        ws.merge_cells("A2:A3")
        ws.merge_cells("B2:B3")
        for name, a, b, c in [("呼和浩特市", 0.16, 6.5, 14.6), ("包头市", 0.16, 6.3, 17.3), ("乌海市", 0.16, 8.5, 15.4)]:
            ws.append([name, a, b, c])
            ws.cell(ws.max_row, 2).number_format = "0%"

    doc = parse_bytes("目标.xlsx", _xlsx(build))
    (table,) = doc.tables
    assert table.title == "专栏二：各盟市节能减排目标（盟市目标!A2:D6）"
    assert table.row_labels == ["呼和浩特市", "包头市", "乌海市"]
    cells = {(c.row_label, c.column): c for c in table.cells}
    assert len(table.columns) == 4
    so2 = next(c for (r, col), c in cells.items() if r == "包头市" and "二氧化硫" in col)
    assert (so2.value, so2.unit) == (6.3, "%")
    assert cells[("乌海市", "单位GDP能耗降低")].raw == "16%"


def test_hidden_sheets_are_left_out_and_reported():
    def build(book):
        book.active.title = "目标"
        book.active.append(["指标", "2025年"])
        book.active.append(["森林覆盖率", "33%"])
        book.active.append(["优良天数比例", "86%"])
        hidden = book.create_sheet("草稿")
        hidden.append(["指标", "2025年"])
        hidden.append(["森林覆盖率", "99%"])
        hidden.sheet_state = "hidden"

    doc = parse_bytes("目标.xlsx", _xlsx(build))
    assert len(doc.tables) == 1 and "99%" not in doc.text
    assert any("草稿" in w and "隐藏" in w for w in doc.warnings)


def test_csv_is_one_table_cited_by_range():
    doc = parse_bytes("jiangbei_districts.csv", (FORMATS / "jiangbei_districts.csv").read_bytes())
    assert doc.fmt == "csv"
    (table,) = doc.tables
    assert table.title == "jiangbei_districts（A1:E14）"
    assert table.row_labels[0] == "江北区" and table.row_labels[-1] == "全市合计"
    assert len(table.row_labels) == 13


def test_xlsx_zip_bomb_is_refused_without_inflating():
    import zipfile

    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as zf:
        zf.writestr("[Content_Types].xml", "<Types/>")
        with zf.open("xl/workbook.xml", "w", force_zip64=True) as member:
            for _ in range(220):
                member.write(b"\0" * (1024 * 1024))
    with pytest.raises(UnsupportedFile) as err:
        parse_bytes("附件.xlsx", buffer.getvalue())
    assert "压缩炸弹" in err.value.user_message and "Excel" in err.value.user_message


@pytest.mark.skipif(shutil.which("soffice") is None, reason="LibreOffice（soffice）未安装，无法生成 .xls 样本")
def test_legacy_xls_reads_like_the_xlsx(tmp_path):
    profile = (tmp_path / "p").as_uri()
    subprocess.run(["soffice", "--headless", f"-env:UserInstallation={profile}", "--convert-to",
                    "xls", "--outdir", str(tmp_path), str(FORMATS / "jiangbei_tables.xlsx")],
                   check=True, capture_output=True, timeout=180)
    if not (tmp_path / "jiangbei_tables.xls").exists():
        pytest.skip("LibreOffice Calc（libreoffice-calc-nogui）未安装，无法生成 .xls 样本")
    xls = parse_bytes("jiangbei_tables.xls", (tmp_path / "jiangbei_tables.xls").read_bytes())
    xlsx = parse_bytes("jiangbei_tables.xlsx", (FORMATS / "jiangbei_tables.xlsx").read_bytes())
    assert xls.fmt == "xls"
    assert [(t.title, t.columns, t.row_labels) for t in xls.tables] == \
        [(t.title, t.columns, t.row_labels) for t in xlsx.tables]
    assert cell_range(2, 0, 15, 4) == "A3:E16"
