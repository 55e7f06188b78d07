"""Answers and conversations as documents people paste into their 材料: Markdown, Word (.docx) and Excel.

Each export holds the question, the answer with its [n] markers, the figures with their formulas in plain
wording, and a 出处 list a reader can check (document, section path, the quoted row or sentence)::

    turns = [("乌海市二氧化硫目标是多少", answer)]
    Path("问答.md").write_text(conversation_markdown(turns, kb))
    Path("问答.docx").write_bytes(conversation_docx(turns, kb))
"""

from __future__ import annotations

import io
import re
import time

from assistant.evidence import Source, documents_named, figure_numbers, group_sources, marked_text
from kb.records import Answer, Figure
from tools.base import fmt_num

EMPTY = "（本对话还没有问答，没有可导出的内容。）"
FLAG_NOTES = {"missing_percent": "原文缺少“%”，按原文照录", "not_numeric": "原文不是数值", "empty": "原文为空"}
MATH_SIGNS = re.compile(r"[=÷×−+^]")
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
DOCX = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"


# ---------- figures and formulas ----------

def figure_value(f: Figure) -> str:
    """A figure's value as people read it: a computed fall as a positive 下降, computed values to 2 places."""
    digits = 2 if f.formula else 4
    if f.formula and f.value < 0 and "变化" in f.label:
        return f"下降 {fmt_num(-f.value, digits)}{f.unit}"
    return f"{fmt_num(f.value, digits)}{f.unit}"


def formula_words(formula: str) -> str:
    """Programmer notation in plain wording: '(1 − 15.7%)^(1/5)' → '(1 − 15.7%) 的 1/5 次方'."""
    text = re.sub(r"\^\(([^()]+)\)", r" 的 \1 次方", formula)
    text = re.sub(r"\^(\d+(?:\.\d+)?)", r" 的 \1 次方", text)
    text = re.sub(r"\bmax\(", "最大值(", text)
    return re.sub(r"\bmin\(", "最小值(", text)


def formula_latex(formula: str) -> str | None:
    """The formula as LaTeX for st.latex; None when it is words rather than maths ('共 12 个地区')."""
    body = (formula or "").strip()
    if not body or not MATH_SIGNS.search(body) or not re.search(r"\d", body):
        return None
    note = ""
    tail = re.search(r"（[^（）]*）$", body)
    if tail:
        note, body = tail.group(0), body[: tail.start()].strip()
    body = body.replace("−", "-").replace("÷", r" \div ").replace("×", r" \times ").replace("≈", r" \approx ")
    body = re.sub(r"\^\(([^()]+)\)", r"^{\1}", body)
    body = re.sub(r"\^(\d+(?:\.\d+)?)", r"^{\1}", body)
    body = body.replace("%", r"\%")
    body = re.sub(r"\bmax\b", r"\\max", body)
    body = re.sub(r"\bmin\b", r"\\min", body)
    body = re.sub(r"[^\x00-\x7f]+", lambda m: r"\text{" + m.group(0) + "}", body)
    if note:
        body += r"\quad\text{" + note + "}"
    return body


def figure_lines(answer: Answer, sources: list[Source]) -> list[str]:
    """One line per figure: label, value, flag, formula in words, inputs, and the sources it comes from."""
    lines = []
    for f, numbers in zip(answer.figures, figure_numbers(answer, sources)):
        line = f"{f.label}：{figure_value(f)}"
        if f.flag:
            line += f"（{FLAG_NOTES.get(f.flag, f.flag)}）"
        if numbers:
            line += " " + "".join(f"[{n}]" for n in numbers)
        if f.formula:
            line += f"；计算：{formula_words(f.formula)}"
        lines.append(line)
    return lines


# ---------- Markdown ----------

def _md_escape(text: str) -> str:
    return re.sub(r"([\\`*_<>\[\]#|])", r"\\\1", str(text))


def _md_cell(text: str) -> str:
    return str(text).replace("|", "\\|").replace("\n", " ")


def sources_markdown(sources: list[Source]) -> list[str]:
    lines = []
    for s in sources:
        lines.append(f"{s.number}. 《{_md_escape(s.doc)}》 {_md_escape(s.section_path)}".rstrip())
        if s.problem:
            lines.append(f"   - ⚠ {s.problem}")
        if s.kind == "table" and s.table is not None:
            t = s.table
            unit = f"（单位：{_md_escape(t.unit)}）" if t.unit else ""
            lines.append(f"   - 表格：{_md_escape(t.caption)}{unit}")
            lines.append("")
            cited, cells = set(t.cited_rows), set(t.cited_cells)
            lines.append("   | " + " | ".join(_md_cell(c) for c in t.columns) + " |")
            lines.append("   |" + "---|" * len(t.columns))
            for i, row in enumerate(t.rows):
                shown = [f"**{_md_cell(v)}**" if (i, j) in cells or (i in cited and j == 0) else _md_cell(v)
                         for j, v in enumerate(row)]
                lines.append("   | " + " | ".join(shown) + " |")
            lines.append("")
            lines += [f"   - 注：{_md_escape(n)}" for n in t.notes]
        else:
            for q in s.quotes:
                lines.append(f"   > “{_md_escape(q)}”")
    return lines


def turn_markdown(question: str, answer: Answer, kb, heading: str = "###") -> list[str]:
    sources = group_sources(answer, kb)
    lines = [f"{heading} 问：{_md_escape(question)}", ""]
    if answer.understood:
        lines += [f"*{_md_escape(answer.understood)}*", ""]
    text = marked_text(answer, sources)
    lines += [("【未能作答】" if answer.refused else "") + _md_escape(text).replace("\n", "  \n"), ""]
    docs = documents_named(sources)
    if docs:
        lines += ["来源文档：" + "、".join(f"《{_md_escape(d)}》" for d in docs), ""]
    figures = figure_lines(answer, sources)
    if figures:
        lines += ["**数字与计算**", ""] + [f"- {_md_escape(x)}" for x in figures] + [""]
    if sources:
        lines += ["**出处**", ""] + sources_markdown(sources) + [""]
    return lines


def conversation_markdown(turns: list[tuple[str, Answer]], kb, title: str = "政策问答记录") -> str:
    """A conversation (or one answer: a single turn) as Markdown."""
    lines = [f"# {_md_escape(title)}", "", f"导出时间：{time.strftime('%Y-%m-%d %H:%M')}", ""]
    if not turns:
        return "\n".join(lines + [EMPTY, ""])
    for question, answer in turns:
        lines += turn_markdown(question, answer, kb)
    return "\n".join(lines).rstrip() + "\n"


# ---------- Word ----------

def conversation_docx(turns: list[tuple[str, Answer]], kb, title: str = "政策问答记录") -> bytes:
    """A conversation as a Word document: tables as real tables with the cited cells shaded."""
    from docx import Document
    from docx.enum.text import WD_COLOR_INDEX
    from docx.oxml.ns import qn
    from docx.shared import Pt

    doc = Document()
    style = doc.styles["Normal"]
    style.font.name = "SimSun"
    style.element.rPr.rFonts.set(qn("w:eastAsia"), "宋体")
    style.font.size = Pt(11)
    doc.add_heading(title, level=1)
    doc.add_paragraph(f"导出时间：{time.strftime('%Y-%m-%d %H:%M')}")
    if not turns:
        doc.add_paragraph(EMPTY)
    for question, answer in turns:
        sources = group_sources(answer, kb)
        doc.add_heading(f"问：{question}", level=2)
        if answer.understood:
            doc.add_paragraph(answer.understood).runs[0].italic = True
        doc.add_paragraph(("【未能作答】" if answer.refused else "") + marked_text(answer, sources))
        docs = documents_named(sources)
        if docs:
            doc.add_paragraph("来源文档：" + "、".join(f"《{d}》" for d in docs))
        figures = figure_lines(answer, sources)
        if figures:
            doc.add_paragraph().add_run("数字与计算").bold = True
            for line in figures:
                doc.add_paragraph(line, style="List Bullet")
        if sources:
            doc.add_paragraph().add_run("出处").bold = True
        for s in sources:
            head = doc.add_paragraph()
            head.add_run(f"[{s.number}] 《{s.doc}》 ").bold = True
            head.add_run(s.section_path)
            if s.problem:
                doc.add_paragraph(s.problem).runs[0].italic = True
            if s.kind == "table" and s.table is not None:
                _docx_table(doc, s, WD_COLOR_INDEX)
            elif s.text and s.highlights:
                _docx_passage(doc, s, WD_COLOR_INDEX)
            else:
                for q in s.quotes:
                    doc.add_paragraph(f"“{q}”")
    buffer = io.BytesIO()
    doc.save(buffer)
    return buffer.getvalue()


def _shade(cell, color: str = "FFE08A") -> None:
    from docx.oxml import OxmlElement
    from docx.oxml.ns import qn

    shading = OxmlElement("w:shd")
    shading.set(qn("w:val"), "clear")
    shading.set(qn("w:fill"), color)
    cell._tc.get_or_add_tcPr().append(shading)


def _docx_table(doc, s: Source, colors) -> None:
    t = s.table
    doc.add_paragraph(f"表格：{t.caption}" + (f"（单位：{t.unit}）" if t.unit else ""))
    grid = doc.add_table(rows=1 + len(t.rows), cols=len(t.columns))
    grid.style = "Table Grid"
    for j, name in enumerate(t.columns):
        grid.cell(0, j).text = name
        grid.cell(0, j).paragraphs[0].runs[0].bold = bool(name)
    cells, rows = set(t.cited_cells), set(t.cited_rows)
    for i, row in enumerate(t.rows):
        for j, value in enumerate(row):
            cell = grid.cell(i + 1, j)
            cell.text = value
            if (i, j) in cells:
                _shade(cell)
                if cell.paragraphs[0].runs:
                    cell.paragraphs[0].runs[0].bold = True
            elif i in rows:
                _shade(cell, "FFF4CC")
    for note in t.notes:
        doc.add_paragraph(note)


def _docx_passage(doc, s: Source, colors) -> None:
    para = doc.add_paragraph()
    last = 0
    for start, end in s.highlights:
        if start > last:
            para.add_run(s.text[last:start])
        run = para.add_run(s.text[start:end])
        run.font.highlight_color = colors.YELLOW
        last = end
    if last < len(s.text):
        para.add_run(s.text[last:])


# ---------- Excel ----------

def table_sources(answer: Answer, kb) -> list[Source]:
    return [s for s in group_sources(answer, kb) if s.kind == "table" and s.table is not None]


def answer_xlsx(question: str, answer: Answer, kb) -> bytes:
    """A table answer as a workbook: the figures, then each cited table with its cited cells filled."""
    from openpyxl import Workbook
    from openpyxl.styles import Font, PatternFill

    sources = group_sources(answer, kb)
    book = Workbook()
    sheet = book.active
    sheet.title = "回答"
    sheet.append(["问题", question])
    sheet.append(["回答", marked_text(answer, sources)])
    sheet.append([])
    sheet.append(["数值", "值", "单位", "计算", "出处"])
    for f, numbers in zip(answer.figures, figure_numbers(answer, sources)):
        sheet.append([f.label, round(f.value, 4), f.unit, formula_words(f.formula),
                      "".join(f"[{n}]" for n in numbers)])
    sheet.append([])
    sheet.append(["出处", "文档", "章节", "原文"])
    for s in sources:
        sheet.append([f"[{s.number}]", s.doc, s.section_path, "\n".join(s.quotes)])
    fill, light = PatternFill("solid", fgColor="FFE08A"), PatternFill("solid", fgColor="FFF4CC")
    used = {"回答"}
    for s in sources:
        if s.kind != "table" or s.table is None:
            continue
        t = s.table
        name = re.sub(r"[\[\]:*?/\\]", "_", f"出处{s.number} {t.title}")[:28]
        while name in used:
            name = name[:25] + f"_{len(used)}"
        used.add(name)
        ws = book.create_sheet(name)
        ws.append([t.caption + (f"（单位：{t.unit}）" if t.unit else "")])
        ws.append(list(t.columns))
        for cell in ws[2]:
            cell.font = Font(bold=True)
        cells, rows = set(t.cited_cells), set(t.cited_rows)
        for i, row in enumerate(t.rows):
            ws.append(list(row))
            for j, cell in enumerate(ws[ws.max_row]):
                if (i, j) in cells:
                    cell.fill, cell.font = fill, Font(bold=True)
                elif i in rows:
                    cell.fill = light
        for note in t.notes:
            ws.append([note])
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def file_stem(text: str, default: str = "政策问答") -> str:
    stem = re.sub(r"[\\/:*?\"<>|\s]+", "_", text).strip("_")[:40]
    return stem or default


__all__ = ["DOCX", "XLSX", "answer_xlsx", "conversation_docx", "conversation_markdown", "figure_value",
           "formula_latex", "formula_words", "table_sources"]
