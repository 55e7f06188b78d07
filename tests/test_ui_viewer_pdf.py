"""The viewer on a PDF: the page number, and the page image with the cited area boxed (pypdfium2)."""

from __future__ import annotations

import io
import os
import sys
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from assistant import admin, viewer
from kb.knowledge import open_kb
from kb.records import Citation
from kb.settings import load_settings

ROOT = Path(__file__).resolve().parents[1]
QUOTE = "“十二五”期间淘汰炼铁230万吨"


@pytest.fixture
def pdf_kb():
    sys.path.insert(0, str(ROOT / "tests"))
    from test_loaders import make_pdf  # the loaders' own minimal PDF writer (text layer, two pages)

    pdf = make_pdf([["一、总体目标", "到2015年，全区单位地区生产总值能耗下降到1.63吨标准",
                     "煤/万元，比2010年下降15%。"], ["二、保障措施", QUOTE + "。"]])
    settings = load_settings(data_dir=Path(os.environ["POLICYQA_DATA_DIR"]))
    report = admin.add_files(settings, [("规划.pdf", pdf)])
    assert not report.failed, report.summary()
    return settings


def test_a_pdf_citation_is_found_on_its_page(pdf_kb):
    kb = open_kb(pdf_kb)
    doc_id = kb.docs[0]["doc_id"]
    place = viewer.locate(kb, Citation("规划.pdf", "", QUOTE, doc_id=doc_id))
    assert place.found and place.page == 2 and place.section_path == ("二、保障措施",)
    pytest.importorskip("pypdfium2", reason="pypdfium2 renders PDF pages")
    from PIL import Image

    png, boxed = viewer.page_image(viewer.original_path(pdf_kb, doc_id), place.page, QUOTE)
    image = Image.open(io.BytesIO(png)).convert("RGB")
    assert boxed and image.size[0] > 600
    reds = sum(1 for x in range(0, image.size[0], 2) for y in range(0, 200, 2)
               if image.getpixel((x, y)) == (217, 72, 15))
    assert reds > 50  # the red box around the quote, near the top of the page
    assert viewer.page_image(viewer.original_path(pdf_kb, doc_id), 9, QUOTE) is None  # no such page


def test_viewer_page_shows_the_pdf_page_number_and_image(pdf_kb):
    pytest.importorskip("pypdfium2", reason="pypdfium2 renders PDF pages")
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=60).run()
    at.chat_input[0].set_value("炼铁淘汰多少").run()
    sources = next(e for e in at.chat_message[-1].expander if e.label.startswith("出处"))
    sources.button[0].click().run()
    assert not at.exception, [e.value for e in at.exception]
    assert any("第 2 页 · 二、保障措施" in m.value for m in at.markdown)
    (image,) = [e for e in at.main if type(e).__name__ == "Image"]
    assert "PDF 原件第 2 页（红框为引用处）" in str(image.proto)
