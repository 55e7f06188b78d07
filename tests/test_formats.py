"""The bundled plan rewritten as Markdown, Word, GB18030 text ingests to the same tables, sections, facts."""

from __future__ import annotations

import io
import re

import pytest

from ingest.parse import parse_bytes

HEADING_LEVELS = [
    (re.compile(r"^[一二三四五六七八九十]+、"), 1),
    (re.compile(r"^[（(][一二三四五六七八九十]+[)）]"), 2),
    (re.compile(r"^\d+、"), 3),
]
BOX_TITLE = re.compile(r"^专栏[一二三四五六七八九十]+[：:]")
INDENT = " \t\u3000\xa0"


def plan_blocks(raw: str) -> list[tuple]:
    """Read the plan's own layout: ("heading", level, text), ("para", text), ("box", title, [lines]) and
    ("table", title, rows). Box content is tab-indented, one cell per line, cells grouped by blank lines."""
    lines = raw.replace("\r\n", "\n").split("\n")
    blocks: list[tuple] = []
    i = 0
    while i < len(lines):
        line = lines[i].strip(INDENT)
        if not line:
            i += 1
            continue
        if BOX_TITLE.match(line):
            groups, group, j = [], [], i + 1
            while j < len(lines) and not (lines[j].startswith("\u3000\u3000") and lines[j].strip()):
                raw_line = lines[j]
                if not raw_line.strip():
                    if group:
                        groups.append(group)
                        group = []
                elif raw_line.startswith("\t") or not group:
                    group.append(raw_line.strip(INDENT))
                else:
                    group[-1] += "\n" + raw_line.strip(INDENT)  # a wrapped cell, or the text under a box item
                j += 1
            if group:
                groups.append(group)
            if groups and groups[0] == [line]:
                groups = groups[1:]  # the box repeats its own title
            if groups and all(len(g) == len(groups[0]) >= 2 for g in groups):
                blocks.append(("table", line, groups))
            else:
                blocks.append(("box", line, [part.strip(INDENT) for g in groups for cell in g
                                             for part in cell.split("\n") if part.strip()]))
            i = j
            continue
        level = next((lvl for pattern, lvl in HEADING_LEVELS if pattern.match(line) and len(line) < 40
                      and not line.endswith("。")), 0)
        blocks.append(("heading", level, line) if level else ("para", line))
        i += 1
    return blocks


def to_markdown(raw: str, box_style: str) -> str:
    """'#' headings, 专栏 tables as pipe tables; the box title as a **bold** line or a '####' heading."""
    def box_title(title):
        return f"**{title}**" if box_style == "bold" else f"#### {title}"

    parts = ["# 内蒙古自治区“十二五”节能减排规划"]
    for block in plan_blocks(raw):
        if block[0] == "heading":
            parts.append("#" * (block[1] + 1) + " " + block[2])
        elif block[0] == "para":
            parts.append(block[1])
        elif block[0] == "box":
            parts.append(box_title(block[1]))
            parts.extend(block[2])
        else:
            _, title, rows = block
            cells = [[cell.replace("\n", "<br>") for cell in row] for row in rows]
            pipe = ["| " + " | ".join(cells[0]) + " |", "|" + " :--- |" * len(cells[0])]
            pipe += ["| " + " | ".join(row) + " |" for row in cells[1:]]
            parts += [box_title(title), "\n".join(pipe)]
    return "\n\n".join(parts) + "\n"


def to_docx(raw: str) -> bytes:
    """Heading 1-3 styles, plain paragraphs, 专栏 tables as real Word tables (wrapped header cells kept)."""
    import docx

    document = docx.Document()
    document.add_paragraph("内蒙古自治区“十二五”节能减排规划", style="Title")
    for block in plan_blocks(raw):
        if block[0] == "heading":
            document.add_heading(block[2], level=block[1])
        elif block[0] == "para":
            document.add_paragraph(block[1])
        elif block[0] == "box":
            document.add_paragraph(block[1])
            for line in block[2]:
                document.add_paragraph(line)
        else:
            _, title, rows = block
            document.add_paragraph(title)
            table = document.add_table(rows=len(rows), cols=len(rows[0]))
            table.style = "Table Grid"
            for r, row in enumerate(rows):
                for c, value in enumerate(row):
                    table.cell(r, c).text = value
    buffer = io.BytesIO()
    document.save(buffer)
    return buffer.getvalue()


def table_signature(doc) -> list[tuple]:
    return [
        (t.title, t.unit, t.columns, tuple(t.row_labels),
         tuple((c.parent_label, c.row_label, c.column, c.raw, c.value, c.unit, c.flag) for c in t.cells))
        for t in doc.tables
    ]


@pytest.fixture(scope="module")
def raw_plan(sample_plan_path) -> str:
    return sample_plan_path.read_text(encoding="utf-8")


@pytest.fixture(scope="module")
def variants(raw_plan, tmp_path_factory) -> dict[str, object]:
    """Each variant written to disk in its own format, then parsed from those bytes."""
    folder = tmp_path_factory.mktemp("formats")
    files = {
        "markdown-bold-titles": ("规划.md", to_markdown(raw_plan, "bold").encode("utf-8")),
        "markdown-heading-titles": ("规划.md", to_markdown(raw_plan, "heading").encode("utf-8")),
        "docx": ("规划.docx", to_docx(raw_plan)),
        "gb18030": ("规划.txt", raw_plan.replace("\xa0", " ").encode("gb18030")),
        "utf16": ("规划.txt", raw_plan.encode("utf-16")),
    }
    docs = {}
    for label, (name, data) in files.items():
        path = folder / label / name
        path.parent.mkdir()
        path.write_bytes(data)
        docs[label] = parse_bytes(path.name, path.read_bytes())
    return docs


VARIANTS = ["markdown-bold-titles", "markdown-heading-titles", "docx", "gb18030", "utf16"]


def test_the_markdown_variant_really_uses_markdown(raw_plan):
    md = to_markdown(raw_plan, "bold")
    assert "\n## 一、形势与任务\n" in md
    assert "\n**专栏二：各盟市“十二五”期间节能减排目标**\n" in md
    assert "| 地区 | 单位GDP<br>能耗降低 |" in md


def test_the_docx_variant_has_word_tables_and_heading_styles(raw_plan):
    import docx

    document = docx.Document(io.BytesIO(to_docx(raw_plan)))
    assert len(document.tables) == 2
    assert [len(t.rows) for t in document.tables] == [7, 13]
    assert any(p.style.name == "Heading 2" and p.text == "(三)主要目标" for p in document.paragraphs)


@pytest.mark.parametrize("label", VARIANTS)
def test_variant_tables_equal_the_original(variants, sample_doc, label):
    doc = variants[label]
    assert [t.title for t in doc.tables] == ["专栏一：节能减排总体目标", "专栏二：各盟市“十二五”期间节能减排目标"]
    assert table_signature(doc) == table_signature(sample_doc)


@pytest.mark.parametrize("label", VARIANTS)
def test_variant_tables_sit_in_the_same_sections(variants, sample_doc, label):
    assert [t.section_path for t in variants[label].tables] == [t.section_path for t in sample_doc.tables]


@pytest.mark.parametrize("label", VARIANTS)
def test_variant_sections_equal_the_original(variants, sample_doc, label):
    assert [s.path for s in variants[label].sections] == [s.path for s in sample_doc.sections]


@pytest.mark.parametrize("label", VARIANTS)
def test_variant_facts_equal_the_original(variants, sample_doc, label):
    def facts(doc):
        return [(f.subject, f.action, f.value, f.unit, f.qualifier, f.year, f.section_path)
                for f in doc.facts]

    assert facts(variants[label]) == facts(sample_doc)


@pytest.mark.parametrize("label", VARIANTS)
def test_variant_quotes_are_substrings_of_its_own_text(variants, label):
    doc = variants[label]
    for table in doc.tables:
        assert table.title in doc.text
        assert all(cell.quote in doc.text for cell in table.cells)
    for chunk in doc.chunks:
        assert chunk.text == doc.text[chunk.start:chunk.end]
    for fact in doc.facts:
        assert fact.sentence in doc.text


@pytest.mark.parametrize("label", VARIANTS)
def test_variant_dust_chunk_has_the_same_section(variants, label):
    chunk = next(c for c in variants[label].chunks if "布袋除尘器" in c.text)
    assert chunk.section_path == "四、主要污染物减排 › (二)大气污染物减排 › 4、加强工业粉尘综合治理"
