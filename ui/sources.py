"""An answer's figures and its grouped sources: tables as real tables with the cited cells marked, passages
with the quoted sentences marked in their paragraph, each with a button that opens it in the viewer."""

from __future__ import annotations

import streamlit as st

from assistant.evidence import Source, figure_numbers
from assistant.export import FLAG_NOTES, figure_value, formula_latex, formula_words
from kb.records import Answer
from ui.common import esc, marked_html, md
from ui.viewer_page import open_document

MAX_INPUTS_SHOWN = 4


def table_html(source: Source) -> str:
    t = source.table
    notes = {(r, c): n for r, c, n in t.cell_notes}
    head = "".join(f"<th>{esc(c)}</th>" for c in t.columns)
    rows = []
    cited_rows, cited_cells = set(t.cited_rows), set(t.cited_cells)
    for i, row in enumerate(t.rows):
        cells = []
        for j, value in enumerate(row):
            cls = ' class="cited"' if (i, j) in cited_cells else ""
            note = f'<span class="pq-note" title="{esc(notes[(i, j)])}"> ⚠</span>' if (i, j) in notes else ""
            cells.append(f"<td{cls}>{esc(value)}{note}</td>")
        cls = ' class="cited"' if i in cited_rows else ""
        rows.append(f"<tr{cls}>{''.join(cells)}</tr>")
    return f'<table class="pq-table"><thead><tr>{head}</tr></thead><tbody>{"".join(rows)}</tbody></table>'


def open_in_viewer(source: Source) -> None:
    open_document(source.doc_id, source.start, source.end, source.quotes[0] if source.quotes else "")


def render_source(source: Source, key: str) -> None:
    st.markdown(f"**[{source.number}] 《{md(source.doc)}》**  \n{md(source.section_path) or '（无章节）'}")
    if source.problem:
        st.warning(source.problem)
    if source.kind == "table" and source.table is not None:
        t = source.table
        st.caption(f"表格：{t.caption}" + (f"（单位：{t.unit}）" if t.unit else ""))
        st.markdown(table_html(source), unsafe_allow_html=True)
        for note in t.notes:
            st.caption(note)
        if t.cell_notes:
            st.caption("⚠ 标记的单元格：" + "；".join(
                dict.fromkeys(f"{t.rows[r][0]}/{t.columns[c]}：{n}" for r, c, n in t.cell_notes)))
    elif source.kind == "passage" and source.highlights:
        st.markdown(marked_html(source.text, source.highlights), unsafe_allow_html=True)
    else:
        for q in source.quotes:
            st.markdown(f"> {md(q)}")
    if source.kind != "missing" and source.doc_id:
        st.button("在原文中查看", key=f"open_{key}_{source.number}", on_click=open_in_viewer, args=(source,),
                  icon=":material/article:", type="tertiary")


def render_sources(sources: list[Source], key: str) -> None:
    if not sources:
        return
    with st.expander(f"出处（{len(sources)} 处）"):
        for s in sources:
            render_source(s, key)


def render_figures(answer: Answer, sources: list[Source]) -> None:
    if not answer.figures:
        return
    with st.container(border=True):
        st.markdown("**数字与计算**")
        for f, numbers in zip(answer.figures, figure_numbers(answer, sources)):
            marks = "".join(f"\\[{n}\\]" for n in numbers)
            line = f"- **{md(f.label)}**：{md(figure_value(f))} {marks}"
            if f.flag:
                line += f"（{FLAG_NOTES.get(f.flag, f.flag)}）"
            st.markdown(line)
            latex = formula_latex(f.formula)
            if latex:
                st.latex(latex)
            elif f.formula:
                st.caption(f"说明：{formula_words(f.formula)}")
            if len(f.inputs) > MAX_INPUTS_SHOWN:
                st.caption(f"输入：{len(f.inputs)} 个数值，均见出处 {marks}")
                continue
            for i in f.inputs:
                where = f"（{i.citation.section_path.split(' › ')[-1]}）" if i.citation is not None else ""
                st.caption(f"输入：{i.label} = {figure_value(i)}{where}")
