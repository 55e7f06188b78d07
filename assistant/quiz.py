"""Training quizzes built from whatever the knowledge base holds: table cells, region rankings and prose facts.

Nothing here knows a particular plan: questions come from the tables and facts of any knowledge base, and the
same seed always gives the same quiz. Usage::

    questions = make_quiz(kb, n=10, seed=1)
    grade(questions[0], "8.5%")   # Grade(correct=True, expected_text='8.5%', …)
"""

from __future__ import annotations

import random
import re
import unicodedata
from dataclasses import dataclass

from kb.records import Cell, Citation, Fact, Table
from kb.vocab import is_overall, is_region_table
from tools.base import cell_citations, fact_citation, fmt_num

ABS_TOLERANCE = 0.01
REL_TOLERANCE = 0.005  # 0.5 %: a trainee who rounds 7.725 to 7.73 is right
CHOICES = 4
MAX_SENTENCE_CHARS = 120  # longer sentences are cut to the clause that holds the quantity
BLANK = "____"
NUMBER = re.compile(r"[-+]?\d+(?:\.\d+)?")
DECREASE_WORDS = ("下降", "减少", "降低", "削减", "减")


@dataclass(frozen=True)
class Question:
    prompt: str
    kind: str  # "number" | "choice"
    answer: float | str  # the number, or the right choice's text
    unit: str = ""
    choices: tuple[str, ...] = ()
    citation: Citation | None = None
    raw: str = ""  # the answer as printed in the plan ("8.5%")
    source: str = ""  # "table" | "rank" | "fact" | "fact_choice"
    key: str = ""  # what the question is about (one question per table cell / fact / column)


@dataclass(frozen=True)
class Grade:
    correct: bool
    expected_text: str
    message: str
    citation: Citation | None = None


# ---------- grading ----------

def within_tolerance(response: float, expected: float) -> bool:
    return abs(response - expected) <= max(ABS_TOLERANCE, REL_TOLERANCE * abs(expected))


def _normalize(response) -> str:
    text = unicodedata.normalize("NFKC", str(response or "")).replace("−", "-")
    return re.sub(r"(?<=\d),(?=\d{3})", "", text)


def read_number(response) -> float | None:
    """'８．５%' → 8.5, '-15%' → -15.0, '1,234' → 1234.0; None when there is no number."""
    match = NUMBER.search(_normalize(response))
    return float(match.group(0)) if match else None


def _says_decrease(response) -> bool:
    """'下降15%': a decrease written in words, for change columns that print it as -15%."""
    text = _normalize(response)
    match = NUMBER.search(text)
    return bool(match) and match.group(0)[0] not in "+-" and any(w in text[: match.start()] for w in DECREASE_WORDS)


def expected_text(question: Question) -> str:
    if question.kind == "choice":
        return str(question.answer)
    return question.raw or f"{fmt_num(float(question.answer), 4)}{question.unit}"


def grade(question: Question, response) -> Grade:
    """Grade one response: numbers within max(0.01, 0.5%) of the plan's value; choices by text (or A–D)."""
    expected = expected_text(question)
    if question.kind == "choice":
        given = str(response or "").strip()
        letter = unicodedata.normalize("NFKC", given).upper()
        if len(letter) == 1 and "A" <= letter <= chr(ord("A") + len(question.choices) - 1):
            given = question.choices[ord(letter) - ord("A")]
        if not given:
            return Grade(False, expected, f"没有作答。正确答案是：{expected}。", question.citation)
        if given == question.answer:
            return Grade(True, expected, f"回答正确：{expected}。", question.citation)
        return Grade(False, expected, f"回答错误：你选了“{given}”，正确答案是“{expected}”。", question.citation)
    value = read_number(response)
    answer = float(question.answer)
    if value is None:
        return Grade(False, expected, f"没有识别到数字。正确答案是 {expected}。", question.citation)
    if within_tolerance(value, answer) or (answer < 0 and _says_decrease(response) and within_tolerance(-value, answer)):
        return Grade(True, expected, f"回答正确：原文为 {expected}。", question.citation)
    if answer != 0 and within_tolerance(-value, answer):
        sign = "负数表示下降" if answer < 0 else "正数表示增长或提高"
        return Grade(False, expected, f"数值对了，但符号不对：原文为 {expected}（{sign}）。", question.citation)
    return Grade(False, expected, f"回答错误：你的答案是 {fmt_num(value, 4)}，正确答案是 {expected}。", question.citation)


# ---------- generation ----------

def _numeric_cells(table: Table) -> list[Cell]:
    return [c for c in table.cells if c.value is not None and not c.flag and NUMBER.search(
        unicodedata.normalize("NFKC", c.raw))]


def _label(cell: Cell) -> str:
    return f"{cell.parent_label} › {cell.row_label}" if cell.parent_label else cell.row_label


def _table_questions(kb, table: Table) -> list[Question]:
    out = []
    region = is_region_table(table)
    negative_columns = {c.column for c in table.cells if c.value is not None and c.value < 0}
    for cell in _numeric_cells(table):
        if region:
            prompt = f"根据“{table.title}”，{_label(cell)}的“{cell.column}”是多少？"
        else:
            prompt = f"根据“{table.title}”，“{_label(cell)}”在“{cell.column}”一栏的数值是多少？"
        if cell.column in negative_columns:
            prompt += "（按表中数值作答，负数表示下降）"
        _, row = cell_citations(kb, table, cell)
        raw = unicodedata.normalize("NFKC", cell.raw).strip()
        out.append(Question(prompt, "number", cell.value, cell.unit, (), row, raw, "table",
                            f"cell:{table.table_id}:{cell.row}:{cell.col}"))
    return out


def _rank_questions(kb, table: Table, rng: random.Random) -> list[Question]:
    if not is_region_table(table):
        return []
    header = table.columns[0] if table.columns and table.columns[0] else "地区"
    out = []
    for column in table.columns[1:]:
        cells = [c for c in _numeric_cells(table) if c.column == column and not is_overall(c.row_label)]
        if len(cells) < CHOICES or len({c.unit for c in cells}) != 1:
            continue
        for order, word in (("max", "最高"), ("min", "最低")):
            best = max(cells, key=lambda c: c.value) if order == "max" else min(cells, key=lambda c: c.value)
            if sum(c.value == best.value for c in cells) != 1:
                continue  # a tie has no single right answer
            others = [c.row_label for c in cells if c is not best]
            choices = rng.sample(others, CHOICES - 1) + [best.row_label]
            rng.shuffle(choices)
            _, row = cell_citations(kb, table, best)
            prompt = f"根据“{table.title}”，下列哪个{header}的“{column}”{word}？"
            out.append(Question(prompt, "choice", best.row_label, "", tuple(choices), row, best.raw, "rank",
                                f"rank:{table.table_id}:{column}:{order}"))
    return out


def _cloze(fact: Fact) -> tuple[str, str] | None:
    """(context with the quantity blanked, the number as printed), or None when the fact cannot be blanked."""
    number = NUMBER.match(unicodedata.normalize("NFKC", fact.raw))
    if not number:
        return None
    for context in ((fact.sentence, fact.quote) if len(fact.sentence) <= MAX_SENTENCE_CHARS else (fact.quote,)):
        match = re.search(r"(?<![0-9.])" + re.escape(fact.raw), context)
        if match:
            digits = len(fact.raw) - len(fact.raw.lstrip("0123456789.０１２３４５６７８９．"))
            if digits == 0:
                return None
            blanked = context[: match.start()] + BLANK + context[match.start() + digits:]
            return blanked, fact.raw[:digits]
    return None


def _fact_questions(kb, fact: Fact) -> list[Question]:
    cloze = _cloze(fact)
    if cloze is None or fact.value is None:
        return []
    blanked, printed = cloze
    where = fact.section_path.split(" › ")[-1] if fact.section_path else ""
    lead = f"根据规划“{where}”部分" if where else "根据规划原文"
    prompt = f"{lead}：“{blanked}”，空格处的数字是多少？"
    raw = f"{unicodedata.normalize('NFKC', printed)}{fact.unit}"
    return [Question(prompt, "number", fact.value, fact.unit, (), fact_citation(kb, fact), raw, "fact",
                     f"fact:{fact.fact_id}")]


def _distractors(value: float, printed: str, pool: list[float], rng: random.Random) -> list[str]:
    """Three wrong numbers: other quantities with the same unit first, then scaled versions of the answer."""
    decimals = len(printed.split(".")[1]) if "." in printed else 0
    shown = {fmt_num(value, decimals)}
    out = []
    candidates = [v for v in pool if not within_tolerance(v, value)]
    rng.shuffle(candidates)
    candidates += [value * f for f in (0.8, 1.25, 0.5, 1.5, 2.0, 0.9, 1.1)]
    for v in candidates:
        text = fmt_num(v, decimals)
        if text in shown or v <= 0 < value:
            continue
        shown.add(text)
        out.append(text)
        if len(out) == CHOICES - 1:
            break
    return out


def _fact_choice(kb, question: Question, pool: list[float], rng: random.Random) -> Question | None:
    printed = question.raw[: len(question.raw) - len(question.unit)] if question.unit else question.raw
    wrong = _distractors(float(question.answer), printed, pool, rng)
    if len(wrong) < CHOICES - 1:
        return None
    unit = question.unit
    choices = [w + unit for w in wrong] + [question.raw]
    rng.shuffle(choices)
    prompt = question.prompt.replace("空格处的数字是多少？", "空格处应填哪一项？")
    return Question(prompt, "choice", question.raw, "", tuple(choices), question.citation, question.raw, "fact_choice",
                    question.key)


def make_quiz(kb, n: int = 10, seed: int = 0) -> list[Question]:
    """n questions from the knowledge base's tables and facts, mixed by source; the same seed gives the same quiz."""
    rng = random.Random(seed)
    pools: dict[str, list[Question]] = {"table": [], "rank": [], "fact": [], "fact_choice": []}
    for table in kb.tables:
        pools["table"] += _table_questions(kb, table)
        pools["rank"] += _rank_questions(kb, table, rng)
    facts = [q for fact in kb.facts for q in _fact_questions(kb, fact)]
    by_unit: dict[str, list[float]] = {}
    for fact in kb.facts:
        if fact.value is not None:
            by_unit.setdefault(fact.unit, []).append(fact.value)
    for question in facts:
        if rng.random() < 0.4:
            choice = _fact_choice(kb, question, by_unit.get(question.unit, []), rng)
            if choice is not None:
                pools["fact_choice"].append(choice)
                continue
        pools["fact"].append(question)
    for pool in pools.values():
        rng.shuffle(pool)
    chosen: list[Question] = []
    keys: set[str] = set()
    prompts: set[str] = set()
    while len(chosen) < n and any(pools.values()):
        for pool in pools.values():
            while pool:
                question = pool.pop()
                if question.key in keys or question.prompt in prompts:
                    continue
                keys.add(question.key)
                prompts.add(question.prompt)
                chosen.append(question)
                break
            if len(chosen) >= n:
                break
    rng.shuffle(chosen)
    return chosen


__all__ = ["Grade", "Question", "grade", "make_quiz", "read_number", "within_tolerance"]
