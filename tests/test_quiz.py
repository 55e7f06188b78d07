"""assistant.quiz: questions from any knowledge base, graded with tolerance, the same for the same seed."""

from __future__ import annotations

import re
from types import SimpleNamespace

import pytest

from assistant.quiz import Question, grade, make_quiz, read_number, within_tolerance
from kb.records import Citation


def number_question(value: float, unit: str = "%", raw: str = "") -> Question:
    citation = Citation("规划.txt", "一、目标", f"目标为{raw or value}{unit}")
    return Question("目标是多少？", "number", value, unit, (), citation, raw)


@pytest.fixture(scope="module")
def quiz(sample_kb):
    return make_quiz(sample_kb, 20, seed=7)


def test_quiz_has_n_questions_of_both_kinds_from_tables_and_facts(quiz):
    assert len(quiz) == 20
    assert {q.kind for q in quiz} == {"number", "choice"}
    assert {q.source for q in quiz} >= {"table", "rank", "fact"}
    assert len({q.prompt for q in quiz}) == 20 and len({q.key for q in quiz}) == 20


def test_every_question_cites_a_quote_that_is_in_the_plan(quiz, sample_kb):
    for q in quiz:
        assert q.citation is not None, q.prompt
        assert q.citation.quote in sample_kb.text_of(q.citation.doc_id), q.citation.quote
        assert q.citation.section_path


def test_choice_questions_have_four_distinct_choices_holding_the_answer(quiz):
    for q in (q for q in quiz if q.kind == "choice"):
        assert len(q.choices) == 4 and len(set(q.choices)) == 4
        assert q.answer in q.choices


def test_right_answers_grade_correct_and_wrong_ones_do_not(quiz):
    for q in quiz:
        right = q.answer if q.kind == "choice" else q.raw
        result = grade(q, right)
        assert result.correct, (q.prompt, right, result.message)
        assert result.citation == q.citation
        wrong = next(c for c in q.choices if c != q.answer) if q.kind == "choice" else str(float(q.answer) + 50)
        result = grade(q, wrong)
        assert not result.correct and "正确答案" in result.message and result.expected_text in result.message


def test_table_question_matches_the_printed_cell(sample_kb):
    questions = make_quiz(sample_kb, 10_000, 0)
    wuhai = next(q for q in questions if q.source == "table" and "乌海市" in q.prompt and "“二氧化硫排放量降低”" in q.prompt)
    assert wuhai.answer == pytest.approx(8.5) and wuhai.unit == "%" and wuhai.raw == "8.5%"
    assert "| 乌海市 | 16% | 8.5%" in wuhai.citation.quote
    top = next(q for q in questions if q.source == "rank" and "“氮氧化物排放量降低”最高" in q.prompt)
    assert top.answer == "包头市"


def test_fact_question_blanks_the_quantity_in_its_sentence(sample_kb):
    questions = make_quiz(sample_kb, 10_000, 0)
    carbide = next(q for q in questions if q.source in ("fact", "fact_choice") and "电石____万吨" in q.prompt)
    assert "178.1" not in carbide.prompt
    assert grade(carbide, "178.1万吨" if carbide.kind == "choice" else "178.1").correct


@pytest.mark.parametrize("expected,response,correct", [
    (8.5, "8.5", True),
    (8.5, "8.5%", True),
    (8.5, "８．５％", True),
    (8.5, "8.54", True),  # within 0.5 %
    (8.5, "8.55", False),
    (0.5, "0.509", True),  # the 0.01 floor for small numbers
    (0.5, "0.52", False),
    (16820.3, "16,900", True),
    (16820.3, "16910", False),
    (-15.0, "-15%", True),
    (-15.0, "下降15%", True),
    (-15.0, "15", False),
    (15.0, "下降15%", True),  # a positive "下降" figure stays positive
    (7.725, "7.73", True),
])
def test_numeric_grading_tolerance(expected, response, correct):
    assert grade(number_question(expected), response).correct is correct


def test_sign_slip_is_named():
    result = grade(number_question(-15.0, raw="-15%"), "15")
    assert not result.correct and "符号" in result.message and "-15%" in result.message


@pytest.mark.parametrize("response", ["", None, "不知道"])
def test_no_number_is_wrong_and_says_so(response):
    result = grade(number_question(8.5, raw="8.5%"), response)
    assert not result.correct and "8.5%" in result.message


def test_choice_grading_by_text_or_letter():
    q = Question("哪个最高？", "choice", "包头市", "", ("乌海市", "包头市", "赤峰市", "通辽市"))
    assert grade(q, "包头市").correct and grade(q, "b").correct and grade(q, "Ｂ").correct
    assert not grade(q, "A").correct and not grade(q, "").correct
    assert grade(q, "乌海市").expected_text == "包头市"


@pytest.mark.parametrize("text,value", [("8.5", 8.5), ("约 -3.8%", -3.8), ("1,234.5万吨", 1234.5), ("−2", -2.0),
                                        ("无", None)])
def test_read_number(text, value):
    assert read_number(text) == value


def test_tolerance_bounds():
    assert within_tolerance(100.5, 100) and not within_tolerance(100.6, 100)
    assert within_tolerance(0.01, 0) and not within_tolerance(0.02, 0)


def test_same_seed_same_quiz_other_seed_other_quiz(sample_kb):
    first, again, other = make_quiz(sample_kb, 10, 3), make_quiz(sample_kb, 10, 3), make_quiz(sample_kb, 10, 4)
    assert first == again
    assert [q.prompt for q in first] != [q.prompt for q in other]


def test_more_questions_than_material_gives_each_once(sample_kb):
    questions = make_quiz(sample_kb, 10_000, 0)
    assert 100 < len(questions) < 10_000
    assert len({q.key for q in questions}) == len(questions)


def test_empty_knowledge_base_gives_no_questions():
    assert make_quiz(SimpleNamespace(tables=[], facts=[]), 10, 0) == []


@pytest.mark.parametrize("seed,fmt", [(5, "md"), (23, "docx")])
def test_questions_on_a_generated_plan_match_its_ground_truth(seed, fmt, tmp_path):
    generate = pytest.importorskip("eval.generate")
    from ingest.pipeline import ingest_files
    from kb.knowledge import KnowledgeBase
    from kb.settings import load_settings

    plan = generate.generate_plan(seed, fmt)
    settings = load_settings(data_dir=tmp_path / "gen", embedder="hash")
    report = ingest_files(settings, [(plan.name, plan.data)])
    assert not report.failed, report.summary()
    kb = KnowledgeBase.open(settings)
    questions = make_quiz(kb, 40, seed)
    assert len(questions) >= 20
    truth = {round(v.value, 4) for v in list(plan.targets.values()) + list(plan.overall.values()) if v.value is not None}
    truth |= {round(q.value, 4) for q in plan.quantities}
    for q in questions:
        assert grade(q, q.answer if q.kind == "choice" else q.raw).correct, q.prompt
        if q.source in ("table", "fact"):
            assert round(float(q.answer), 4) in truth, (q.prompt, q.answer)
        if q.source == "rank":
            indicator = next(i for i in plan.indicators if f"“{i}”" in q.prompt)
            values = {r: plan.targets[(r, indicator)].value for r in plan.regions if (r, indicator) in plan.targets}
            pick = max if q.prompt.endswith("最高？") else min
            assert q.answer == pick(values, key=values.get), q.prompt
    assert any(q.source == "rank" for q in questions)
    assert not any(re.search(r"内蒙古|乌海", q.prompt) for q in questions)
