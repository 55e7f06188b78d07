"""Feedback on answers (👍/👎 with an optional correction), kept in one SQLite file in the data folder, and
turned into question-file rows (the evaluation schema) so that people's corrections become regression cases.

    store = FeedbackStore.for_settings(settings)
    store.record(["乌海市二氧化硫目标是多少"], answer, rating=1)
    rows, skipped = question_rows(store.entries())   # JSONL rows that `python -m eval` scores
"""

from __future__ import annotations

import contextlib
import json
import re
import sqlite3
import time
import unicodedata
from dataclasses import dataclass, field
from pathlib import Path

from kb.conversations import answer_from_dict
from kb.errors import StoreError
from kb.records import Answer

FILE_NAME = "feedback.sqlite3"
SCHEMA = """
CREATE TABLE IF NOT EXISTS feedback (
    id INTEGER PRIMARY KEY AUTOINCREMENT, created REAL NOT NULL, conversation_id TEXT NOT NULL DEFAULT '',
    position INTEGER NOT NULL DEFAULT -1, turns TEXT NOT NULL, answer TEXT NOT NULL, rating INTEGER NOT NULL,
    correction TEXT NOT NULL DEFAULT '', numbers TEXT NOT NULL DEFAULT '[]', unit TEXT NOT NULL DEFAULT '',
    refuse INTEGER, doc_ids TEXT NOT NULL DEFAULT '[]');
CREATE UNIQUE INDEX IF NOT EXISTS feedback_turn ON feedback (conversation_id, position) WHERE position >= 0;
"""
NUMBER = re.compile(r"(?<![\d.])-?\d+(?:\.\d+)?")
UNIT_AFTER = re.compile(r"\s*(%|个百分点|[万亿]?(?:吨标准煤|吨|千瓦时|千瓦|元|公顷|立方米|平方米|公里|千米|辆|台|户|个|座|套|家|项))")
REFUSE_WORDS = ("没有提到", "没有这", "不涉及", "无此", "未提及", "应拒答", "应当拒答", "没有相关")
INTENT_CATEGORIES = {"lookup": "table", "list": "table", "filter": "table", "profile": "table",
                     "rank": "compare", "compare": "compare", "compute": "compute", "audit": "audit",
                     "fact": "fact",
                     "narrative": "narrative", "out_of_scope": "out_of_scope"}


@dataclass(frozen=True)
class FeedbackEntry:
    id: int
    created: float
    conversation_id: str
    position: int
    turns: tuple[str, ...]  # the questions up to and including the rated one
    answer: Answer
    rating: int  # 1 good, -1 wrong
    correction: str = ""
    numbers: tuple[float, ...] = ()  # the right figures, when the person gave them
    unit: str = ""
    refuse: bool | None = None  # the plan does not answer this (so the assistant should have said so)
    doc_ids: tuple[str, ...] = field(default_factory=tuple)

    @property
    def question(self) -> str:
        return self.turns[-1] if self.turns else ""


class FeedbackStore:
    def __init__(self, path: Path):
        self.path = Path(path)
        self._ready = False

    @classmethod
    def for_settings(cls, settings) -> FeedbackStore:
        return cls(Path(settings.data_dir) / FILE_NAME)

    @contextlib.contextmanager
    def _connect(self):
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            conn = sqlite3.connect(self.path, timeout=10)
        except (OSError, sqlite3.Error) as exc:
            raise _store_error(self.path, exc) from exc
        try:
            if not self._ready:
                conn.executescript(SCHEMA)
                self._ready = True
            with conn:
                yield conn
        except sqlite3.Error as exc:
            raise _store_error(self.path, exc) from exc
        finally:
            conn.close()

    def record(self, turns, answer: Answer, rating: int, correction: str = "", numbers=(), unit: str = "",
               refuse: bool | None = None, conversation_id: str = "", position: int = -1, doc_ids=()) -> int:
        """Store one judgement; rating the same turn of a conversation again replaces the earlier one."""
        if rating not in (1, -1):
            raise ValueError("rating must be 1 or -1")
        values = (time.time(), conversation_id, position, json.dumps(list(turns), ensure_ascii=False),
                  json.dumps(answer.to_dict(), ensure_ascii=False), rating, correction.strip(),
                  json.dumps([float(n) for n in numbers]), unit.strip(),
                  None if refuse is None else int(refuse), json.dumps(sorted(doc_ids)))
        with self._connect() as conn:
            if position >= 0 and conversation_id:
                conn.execute("DELETE FROM feedback WHERE conversation_id = ? AND position = ?",
                             (conversation_id, position))
            cur = conn.execute("INSERT INTO feedback (created, conversation_id, position, turns, answer, "
                               "rating, correction, numbers, unit, refuse, doc_ids) "
                               "VALUES (?,?,?,?,?,?,?,?,?,?,?)", values)
            return int(cur.lastrowid)

    def entries(self, rating: int | None = None) -> list[FeedbackEntry]:
        where, args = ("WHERE rating = ?", (rating,)) if rating else ("", ())
        with self._connect() as conn:
            rows = conn.execute("SELECT id, created, conversation_id, position, turns, answer, rating, "
                                "correction, numbers, unit, refuse, doc_ids "
                                f"FROM feedback {where} ORDER BY id", args).fetchall()
        out = []
        for row in rows:
            fid, created, cid, position, turns, answer, rating_, correction, numbers, unit, refuse, docs = row
            out.append(FeedbackEntry(fid, created, cid, position, tuple(json.loads(turns)),
                                     answer_from_dict(json.loads(answer)), rating_, correction,
                                     tuple(json.loads(numbers)), unit,
                                     None if refuse is None else bool(refuse), tuple(json.loads(docs))))
        return out

    def for_turn(self, conversation_id: str, position: int) -> FeedbackEntry | None:
        return next((e for e in self.entries()
                     if e.conversation_id == conversation_id and e.position == position), None)

    def delete(self, feedback_id: int) -> None:
        with self._connect() as conn:
            conn.execute("DELETE FROM feedback WHERE id = ?", (feedback_id,))


def _store_error(path: Path, exc: Exception) -> StoreError:
    return StoreError(f"feedback store {path}: {exc}",
                      "反馈没有保存成功（数据文件夹不可写或磁盘已满）；可以继续提问，稍后再试。")


# ---------- feedback → question rows ----------

def _nfkc(text: str) -> str:
    return unicodedata.normalize("NFKC", text or "")


def numbers_and_unit(text: str) -> tuple[list[float], str]:
    """'应为8.5%' → ([8.5], '%'); years before 年 are not figures."""
    text = _nfkc(text)
    numbers, unit = [], ""
    for m in NUMBER.finditer(text):
        if re.fullmatch(r"-?(?:19|20)\d{2}", m.group(0)) and text[m.end():m.end() + 1] == "年":
            continue
        numbers.append(float(m.group(0)))
        tail = UNIT_AFTER.match(text, m.end())
        if tail and not unit:
            unit = tail.group(1)
    return numbers, unit


def _stated_figures(answer: Answer) -> tuple[list[float], str]:
    """The figures an answer's text states (top-level figures whose value is printed), and their unit."""
    text = _nfkc(answer.text)
    stated = [float(m.group(0)) for m in NUMBER.finditer(text)]
    numbers, unit = [], ""
    for f in answer.figures:
        if any(abs(abs(s) - abs(f.value)) <= max(0.01, 0.005 * abs(f.value)) for s in stated):
            if f.value not in numbers:
                numbers.append(round(f.value, 4))
            if not unit and f.unit and f.unit in text:
                unit = f.unit
    return numbers, unit


def _category(entry: FeedbackEntry, refuse: bool) -> str:
    if len(entry.turns) > 1:
        return "multiturn"
    if refuse:
        return "out_of_scope"
    return INTENT_CATEGORIES.get(entry.answer.intent, "fact")


def question_row(entry: FeedbackEntry) -> tuple[dict | None, str]:
    """(a question-file row, '') or (None, why not) for one feedback entry."""
    answer = entry.answer
    if entry.rating > 0:
        refuse = answer.refused
        numbers, unit = ([], "") if refuse else _stated_figures(answer)
        evidence = [] if refuse else list(dict.fromkeys(c.quote for c in answer.citations if c.quote))[:5]
        note = "用户确认正确的回答"
        reference = answer.text
    else:
        numbers, unit = list(entry.numbers), entry.unit
        if not numbers and entry.correction:
            numbers, found_unit = numbers_and_unit(entry.correction)
            unit = unit or found_unit
        refuse = entry.refuse if entry.refuse is not None else (
            not numbers and any(w in entry.correction for w in REFUSE_WORDS))
        if not numbers and not refuse:
            return None, "标为错误但没有给出正确的数字，也没有说明规划中没有此内容，无法自动判分"
        evidence = []
        note = "用户更正"
        reference = entry.correction
    row = {"id": f"fb-{entry.id:04d}", "category": _category(entry, bool(refuse)), "turns": list(entry.turns),
           "expect": {"numbers": numbers, "unit": unit, "keywords": [], "refuse": bool(refuse)},
           "evidence": evidence, "answer": reference, "note": note}
    return row, ""


def question_rows(entries: list[FeedbackEntry]) -> tuple[list[dict], list[tuple[FeedbackEntry, str]]]:
    """(rows for a question file, entries left out with the reason)."""
    rows, skipped = [], []
    for e in entries:
        row, why = question_row(e)
        if row is None:
            skipped.append((e, why))
        else:
            rows.append(row)
    return rows, skipped


def rows_jsonl(rows: list[dict]) -> str:
    return "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows)


__all__ = ["FeedbackEntry", "FeedbackStore", "numbers_and_unit", "question_row", "question_rows",
           "rows_jsonl"]
