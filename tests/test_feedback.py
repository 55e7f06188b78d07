"""Feedback becomes evaluation: stored judgements turn into question rows that `python -m eval` scores."""

from __future__ import annotations

import json

import pytest

from assistant.core import Assistant
from eval.cases import Case
from kb.errors import StoreError
from kb.feedback import FeedbackStore, numbers_and_unit, question_rows, rows_jsonl


@pytest.fixture
def bot(kb_settings):
    return Assistant(kb_settings)


def test_judgements_become_question_rows_that_eval_scores(bot, kb_settings, tmp_path):
    from eval.cli import main as eval_main

    store = FeedbackStore.for_settings(kb_settings)
    good = "乌海市二氧化硫目标是多少"
    store.record([good], bot.ask(good), 1, conversation_id="c1", position=0)
    store.record(["乌海市二氧化硫目标是多少", "那包头呢？"], bot.ask("那包头呢？"), -1, "应为 6.3%",
                 *numbers_and_unit("应为 6.3%"), conversation_id="c1", position=1)
    weather = "今天天气怎么样"
    store.record([weather], bot.ask(weather), -1, "规划中没有提到天气", conversation_id="c2", position=0)
    store.record(["电石淘汰量"], bot.ask("电石淘汰量"), -1, "", conversation_id="c3", position=0)
    rows, skipped = question_rows(store.entries())
    assert [r["id"] for r in rows] == ["fb-0001", "fb-0002", "fb-0003"] and len(skipped) == 1
    assert "没有给出正确的数字" in skipped[0][1]
    first, follow, refuse = rows
    assert first["category"] == "table" and first["expect"]["numbers"] == [8.5]
    assert first["expect"]["unit"] == "%"
    assert follow["category"] == "multiturn" and follow["turns"][-1] == "那包头呢？"
    assert follow["expect"] == {"numbers": [6.3], "unit": "%", "keywords": [], "refuse": False}
    assert refuse["expect"]["refuse"] is True and refuse["category"] == "out_of_scope"
    for r in rows:
        Case.model_validate(r)
    questions = tmp_path / "feedback.jsonl"
    questions.write_text(rows_jsonl(rows), encoding="utf-8")
    out = tmp_path / "out.jsonl"
    assert eval_main([str(questions), "--kb", str(kb_settings.data_dir), "--out", str(out)]) == 0
    results = {r["id"]: r for r in map(json.loads, out.read_text(encoding="utf-8").splitlines())}
    assert all(r["passed"] for r in results.values()), results


def test_rating_a_turn_again_replaces_the_earlier_judgement(bot, tmp_path):
    store = FeedbackStore(tmp_path / "f.sqlite3")
    answer = bot.ask("电石淘汰量")
    store.record(["电石淘汰量"], answer, 1, conversation_id="c", position=0)
    store.record(["电石淘汰量"], answer, -1, "应为 178 万吨", conversation_id="c", position=0)
    (entry,) = store.entries()
    assert entry.rating == -1 and entry.correction == "应为 178 万吨"
    assert entry.answer.text == answer.text and entry.answer.citations == answer.citations


@pytest.mark.parametrize("text, numbers, unit", [
    ("应为8.5%", [8.5], "%"), ("２０１５年控制在85.9万吨", [85.9], "万吨"), ("规划中没有", [], ""),
])
def test_corrections_are_read_for_numbers_and_units(text, numbers, unit):
    assert numbers_and_unit(text) == (numbers, unit)


def test_a_feedback_store_that_cannot_be_written_says_so_in_chinese(tmp_path, bot):
    (tmp_path / "f.sqlite3").mkdir()  # a folder where the database file should be
    with pytest.raises(StoreError) as exc:
        FeedbackStore(tmp_path / "f.sqlite3").record(["q"], bot.ask("电石淘汰量"), 1)
    assert "反馈没有保存成功" in exc.value.user_message
