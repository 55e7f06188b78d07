"""Scanned pages and images are read by OCR (rapidocr-onnxruntime, models inside the wheel): ruled tables
rebuilt from the page image, a table running over pages kept whole, pages cited, doubtful numbers flagged."""

from __future__ import annotations

import io
from pathlib import Path

import pytest

from ingest.parse import parse_bytes
from kb.errors import EmptyDocument

pytest.importorskip("rapidocr_onnxruntime", reason="rapidocr-onnxruntime 未安装，无法测试文字识别")

FORMATS = Path(__file__).parent / "data" / "formats"
SCAN = FORMATS / "jiangbei_scan_p3-4.pdf"  # pages 3-4 of jiangbei.pdf, black and white, no text layer


@pytest.fixture(scope="module")
def scanned():
    return parse_bytes(SCAN.name, SCAN.read_bytes())


def test_scan_has_no_text_layer_and_is_read_by_ocr(scanned):
    import pdfplumber

    with pdfplumber.open(SCAN) as pdf:
        assert all(not page.chars and page.images for page in pdf.pages)
    assert scanned.fmt == "pdf-ocr"
    assert scanned.meta["pages"] == 2
    assert any("文字识别" in w for w in scanned.warnings)


def test_ruled_table_over_two_scanned_pages_is_one_table_of_the_original_shape(scanned):
    original = parse_bytes("jiangbei.docx", (FORMATS / "jiangbei.docx").read_bytes()).tables[2]
    (table,) = scanned.tables
    assert table.columns == original.columns
    # The scan ends inside row 28 (its second half is on page 5, not scanned).
    assert table.row_labels[:27] == original.row_labels[:27]
    assert table.row_labels[27] == "城西区挥发性"
    invest = {c.row_label: c.value for c in table.cells if c.column == "总投资"}
    expected = {c.row_label: c.value for c in original.cells if c.column == "总投资"}
    assert sum(invest[k] == expected.get(k) for k in invest) >= 26  # OCR may misread a digit, not more


def test_scanned_chunks_cite_their_pages(scanned):
    pages = sorted({c.page for c in scanned.chunks})
    assert pages[0] == 1
    (table_chunk,) = [c for c in scanned.chunks if c.kind == "table"]
    assert table_chunk.page == 1
    second = scanned.text[scanned.page_starts[1]:].split("\n")[0]
    assert second.startswith("| 14 |")  # page 2 of the scan starts at row 14 (row 13 rejoined)


def _page_png(number: int) -> bytes:
    import pypdfium2 as pdfium

    pdf = pdfium.PdfDocument(str(SCAN))
    image = pdf[number].render(scale=150 / 72).to_pil()
    image = image.crop((0, 0, image.width, image.height * 2 // 5))  # the page's top: the table's first rows
    buffer = io.BytesIO()
    image.convert("L").save(buffer, "PNG")
    return buffer.getvalue()


def test_png_upload_is_read_as_one_page():
    doc = parse_bytes("扫描页.png", _page_png(1))
    assert doc.fmt == "image"
    assert doc.tables and doc.tables[0].columns[:2] == ("序号", "项目名称")
    assert "江南区河道综合整治与生态修复工程" in doc.tables[0].row_labels


@pytest.mark.parametrize("grain", [1, 6])  # dots wiped out before OCR; blotches the recognizer cannot read
def test_page_of_noise_is_refused_in_chinese(grain):
    import numpy as np
    from PIL import Image

    rng = np.random.default_rng(7)
    noise = (rng.random((900 // grain, 700 // grain)) < 0.08).repeat(grain, 0).repeat(grain, 1) * 255
    buffer = io.BytesIO()
    Image.fromarray((255 - noise).astype("uint8")).save(buffer, "PNG")
    with pytest.raises(EmptyDocument) as err:
        parse_bytes("noise.png", buffer.getvalue())
    assert "没有识别出文字" in err.value.user_message


class FakeOCR:
    """A stand-in for the OCR engine: boxes and scores given by the test."""

    def __init__(self, lines: list[tuple[float, float, str, float]]):
        self.lines = lines  # (x, y, text, score)

    def text_det(self, image):
        import numpy as np

        return np.array([[[x, y], [x + 20 * len(t), y], [x + 20 * len(t), y + 24], [x, y + 24]]
                         for x, y, t, _ in self.lines], dtype=np.float32), 0.0

    def sorted_boxes(self, boxes):
        return list(boxes)

    def get_crop_img_list(self, image, boxes):
        return [(round(float(b[0][0])), round(float(b[0][1]))) for b in boxes]  # the "crop" names its box

    def text_rec(self, crops):
        read = {(x, y): (t, s) for x, y, t, s in self.lines}
        return [read[c] for c in crops], 0.0


def test_numbers_read_with_low_confidence_are_marked_and_reported(monkeypatch):
    from PIL import Image

    from ingest import fmt_ocr
    from ingest.parse import describe

    lines = [(40, 40, "表1 主要指标", 0.99), (40, 70, "指标", 0.99), (400, 70, "2020年", 0.99),
             (40, 100, "森林覆盖率", 0.99), (400, 100, "31.2%", 0.98),
             (40, 140, "优良天数比例", 0.99), (400, 140, "82.5%", 0.52), (40, 180, "污水收集率", 0.97),
             (400, 180, "65%", 0.99)]
    monkeypatch.setattr(fmt_ocr, "_engine", FakeOCR(lines))
    buffer = io.BytesIO()
    Image.new("L", (800, 300), 255).save(buffer, "PNG")
    doc = parse_bytes("表.png", buffer.getvalue())
    (table,) = doc.tables
    cells = {c.row_label: c for c in table.cells}
    assert cells["森林覆盖率"].value == 31.2
    assert fmt_ocr.DOUBT_MARK in cells["优良天数比例"].raw
    assert cells["优良天数比例"].value is None  # never taken as read
    assert any("82.5%" in w and "置信度 0.52" in w for w in doc.warnings)
    assert describe(doc)["format"] == "image"
