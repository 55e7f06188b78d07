"""Exports: Markdown, Word and Excel hold the answer, its figures with formulas and a checkable 出处 list."""

from __future__ import annotations

import io

import pytest

from assistant.core import Assistant
from assistant.export import (
    answer_xlsx,
    conversation_docx,
    conversation_markdown,
    figure_value,
    formula_latex,
    formula_words,
)
from kb.records import Figure


@pytest.fixture(scope="module")
def bot(sample_kb):
    return Assistant(sample_kb.settings, kb=sample_kb)


@pytest.fixture(scope="module")
def turns(bot):
    questions = ["呼伦贝尔市氮氧化物年均降幅是多少", "工业粉尘治理有哪些措施"]
    return [(q, bot.ask(q)) for q in questions]


def test_markdown_has_question_marked_answer_formula_and_sources(turns, sample_kb):
    text = conversation_markdown(turns, sample_kb, "测试导出")
    assert text.startswith("# 测试导出")
    assert "### 问：呼伦贝尔市氮氧化物年均降幅是多少" in text and "15.7%\\[1\\]" in text
    assert "年均变化率（复合）：下降 3.36%" in text and "(1 − 15.7%) 的 1/5 次方" in text
    assert "| **呼伦贝尔市** | 15% | 5.2% | 6.2% | 8.7% | **15.7%** |" in text
    assert "> “加快推进火电行业除尘器改造" in text and text.count("**出处**") == 2


def test_word_export_has_real_tables_with_the_cited_cell_shaded(turns, sample_kb):
    from docx import Document

    doc = Document(io.BytesIO(conversation_docx(turns, sample_kb)))
    paragraphs = "\n".join(p.text for p in doc.paragraphs)
    assert "问：呼伦贝尔市氮氧化物年均降幅是多少" in paragraphs and "15.7%[1]" in paragraphs
    assert "出处" in paragraphs and "[1] 《内蒙古自治区十二五节能减排规划.txt》" in paragraphs
    (table,) = doc.tables
    header = [c.text for c in table.rows[0].cells]
    assert header[0] == "地区" and "氮氧化物排放量降低" in header
    row = next(r for r in table.rows if r.cells[0].text == "呼伦贝尔市")
    shaded = [c.text for c in row.cells if 'w:fill="FFE08A"' in c._tc.xml]
    assert shaded == ["15.7%"]
    highlighted = [r.text for p in doc.paragraphs for r in p.runs if r.font.highlight_color is not None]
    assert any(h.startswith("加快推进火电行业除尘器改造") for h in highlighted)


def test_excel_export_of_a_table_answer(bot, sample_kb):
    from openpyxl import load_workbook

    question = "比较包头和乌海的化学需氧量"
    book = load_workbook(io.BytesIO(answer_xlsx(question, bot.ask(question), sample_kb)))
    assert book.sheetnames[0] == "回答" and book.sheetnames[1].startswith("出处1 专栏二")
    first = book["回答"]
    assert first["B1"].value == question and "7.8%[1]" in first["B2"].value
    sheet = book[book.sheetnames[1]]
    filled = {c.value for row in sheet.iter_rows() for c in row
              if c.fill.fgColor.rgb in ("00FFE08A", "FFFFE08A")}
    assert filled == {"7.8%", "8.9%"}


def test_empty_conversation_exports_say_there_is_nothing(sample_kb):
    from docx import Document

    assert "没有问答" in conversation_markdown([], sample_kb)
    doc = Document(io.BytesIO(conversation_docx([], sample_kb)))
    assert any("没有问答" in p.text for p in doc.paragraphs)


def test_export_of_an_answer_whose_document_was_deleted(bot, sample_kb):
    answer = bot.ask("乌海市二氧化硫目标是多少")
    text = conversation_markdown([("乌海市二氧化硫目标是多少", answer)], kb=type("Empty", (), {
        "texts": {}, "docs": [], "tables": []})())
    assert "不在知识库中" in text and "8.5%\\[1\\]" in text


@pytest.mark.parametrize("formula, latex", [
    ("1 − (1 − 15.7%)^(1/5) = 3.36%（年均下降）", r"1 - (1 - 15.7\%)^{1/5} = 3.36\%\quad\text{（年均下降）}"),
    ("8.9 − 7.8 = 1.1", "8.9 - 7.8 = 1.1"),
    ("(5.4 − 4.9) ÷ 5.4 × 100% = -9.26%", r"(5.4 - 4.9)  \div  5.4  \times  100\% = -9.26\%"),
    ("共 12 个地区", None),
    ("表中-9.7%，负号表示下降", None),
])
def test_formulas_become_maths_or_stay_words(formula, latex):
    assert formula_latex(formula) == latex


def test_formula_words_and_signs():
    assert formula_words("(1 + 5%)^(1/5) − 1") == "(1 + 5%) 的 1/5 次方 − 1"
    assert figure_value(Figure("年均变化率（复合）", -3.3581, "%", "1 − …")) == "下降 3.36%"
    assert figure_value(Figure("乌海市", 8.5, "%")) == "8.5%"
