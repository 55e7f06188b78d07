"""The 培训 page: quizzes generated from the knowledge base, graded with the source shown (for a table: its
header with the quoted row; for "which is highest": the value of every choice)."""

from __future__ import annotations

import time

import streamlit as st

from assistant.quiz import grade, make_quiz
from kb.records import Citation
from ui.common import esc, md
from ui.sources import table_html


def new_quiz(kb, n: int, seed: int, questions=None) -> None:
    st.session_state["quiz"] = {"questions": questions if questions is not None else make_quiz(kb, n, seed),
                                "pos": 0, "results": [], "graded": None, "id": time.time_ns()}


def submit_answer(key: str) -> None:
    # read the widget by key: callback args are bound a run earlier, before the person typed
    quiz = st.session_state["quiz"]
    response = st.session_state.get(key)
    if response is None or not str(response).strip():
        quiz["notice"] = "请先作答，再提交。"
        return
    quiz["notice"] = ""
    question = quiz["questions"][quiz["pos"]]
    result = grade(question, response)
    quiz["graded"] = result
    quiz["results"].append({"question": question, "response": response, "grade": result})


def next_question() -> None:
    quiz = st.session_state["quiz"]
    quiz["pos"] += 1
    quiz["graded"] = None


def _table_of(kb, question):
    parts = question.key.split(":")
    if len(parts) < 2 or parts[0] not in ("cell", "rank"):
        return None, parts
    return next((t for t in kb.tables if t.table_id == parts[1]), None), parts


def choice_values(kb, question) -> list[tuple[str, str]]:
    """For a "which is highest/lowest" question: (choice, value as printed) for every choice."""
    table, parts = _table_of(kb, question)
    if table is None or parts[0] != "rank" or len(parts) < 3:
        return []
    column = parts[2]
    printed = {c.row_label: c.raw for c in table.cells if c.column == column}
    return [(choice, printed.get(choice, "—")) for choice in question.choices]


def header_and_row(kb, question) -> str:
    """The table's header with the quoted row, as HTML ('' when the source is not a table row)."""
    table, parts = _table_of(kb, question)
    citation: Citation | None = question.citation
    if table is None or citation is None:
        return ""
    head = "".join(f"<th>{esc(c)}</th>" for c in table.columns)
    row_cells = sorted((c for c in table.cells if c.quote == citation.quote), key=lambda c: c.col)
    if not row_cells:
        return ""
    label = row_cells[0].row_label
    marked = None
    if parts[0] == "cell" and len(parts) >= 4:
        marked = int(parts[3])
    elif parts[0] == "rank" and len(parts) >= 3:
        marked = next((c.col for c in row_cells if c.column == parts[2]), None)
    cited = ' class="cited"'
    cells = "".join(f"<td{cited if c.col == marked else ''}>{esc(c.raw)}</td>" for c in row_cells)
    return (f'<table class="pq-table"><thead><tr>{head}</tr></thead>'
            f'<tbody><tr class="cited"><td>{esc(label)}</td>{cells}</tr></tbody></table>')


def render_source(kb, question) -> None:
    citation = question.citation
    if citation is None:
        return
    st.caption(f"出处：《{citation.doc}》 {citation.section_path}")
    values = choice_values(kb, question)
    if values:
        st.markdown("各选项在表中的数值：" + "；".join(f"{md(c)} {md(v)}" for c, v in values))
    grid = header_and_row(kb, question)
    if grid:
        st.markdown(grid, unsafe_allow_html=True)
    else:
        st.markdown(f'<div class="pq-passage">{esc(citation.quote)}</div>', unsafe_allow_html=True)


def page_quiz(kb) -> None:
    st.subheader("培训")
    st.caption("题目由知识库中的表格和数量事实自动生成。数值题的答案与原文相差不超过 0.5%（至少可差 0.01）即算正确。")
    a, b, c = st.columns([1, 1, 2])
    n = a.number_input("题数", 1, 50, 10, key="quiz_n")
    seed = b.number_input("题组编号", 0, 1_000_000, 1, key="quiz_seed", help="同一编号总是出同一套题；换一个编号出另一套题。")
    c.write("")
    if c.button("生成新测验", key="quiz_new") or "quiz" not in st.session_state:
        new_quiz(kb, int(n), int(seed))
    quiz = st.session_state["quiz"]
    questions, results = quiz["questions"], quiz["results"]
    if not questions:
        st.info("知识库中没有可以出题的表格或数量事实。")
        return
    right = sum(r["grade"].correct for r in results)
    st.metric("得分", f"{right} / {len(results)}", help=f"共 {len(questions)} 题")
    pos = quiz["pos"]
    if pos < len(questions):
        question = questions[pos]
        with st.container(border=True):
            st.markdown(f"**第 {pos + 1} / {len(questions)} 题**　{md(question.prompt)}")
            key = f"quiz_answer_{quiz['id']}_{pos}"
            graded = quiz["graded"]
            if question.kind == "choice":
                st.radio("请选择", question.choices, index=None, key=key, disabled=graded is not None)
            else:
                label = f"你的答案（单位：{question.unit}）" if question.unit else "你的答案"
                st.text_input(label, key=key, disabled=graded is not None, placeholder="输入数字，例如 8.5")
            if graded is None:
                st.button("提交答案", key="quiz_submit", type="primary", on_click=submit_answer, args=(key,))
                if quiz.get("notice"):
                    st.info(quiz["notice"])
            else:
                (st.success if graded.correct else st.error)(graded.message)
                render_source(kb, question)
                st.button("下一题" if pos + 1 < len(questions) else "查看结果", key="quiz_next",
                          on_click=next_question)
    else:
        st.success(f"测验完成：答对 {right} / {len(questions)} 题。")
    wrong = [r for r in results if not r["grade"].correct]
    if wrong:
        with st.expander(f"错题（{len(wrong)}）", expanded=pos >= len(questions)):
            for r in wrong:
                st.markdown(f"**{md(r['question'].prompt)}**  \n你的答案：{md(r['response'])}　正确答案："
                            f"{md(r['grade'].expected_text)}")
                render_source(kb, r["question"])
            st.button("重做错题", key="quiz_redo", on_click=new_quiz,
                      args=(kb, 0, 0, [r["question"] for r in wrong]))


__all__ = ["page_quiz", "table_html"]
