"""The conversation store: SQLite in the data folder, answers as JSON, survives a new process."""

from __future__ import annotations

import json
import sqlite3

import pytest

from assistant.conversation import Conversation
from assistant.core import Assistant
from kb.conversations import ConversationStore, answer_from_dict
from kb.errors import StoreError


def same(a, b) -> bool:
    """Equal as stored: a plan's tuples come back as lists from JSON."""
    return json.dumps(a.to_dict(), sort_keys=True, default=list) == json.dumps(b.to_dict(), sort_keys=True,
                                                                             default=list)


@pytest.fixture(scope="module")
def bot(sample_kb):
    return Assistant(sample_kb.settings, kb=sample_kb)


@pytest.mark.parametrize("question", ["乌海市二氧化硫目标是多少", "呼伦贝尔市氮氧化物年均降幅是多少",
                                      "工业粉尘治理有哪些措施", "今天天气怎么样"])
def test_answers_round_trip_through_json(bot, question):
    answer = bot.ask(question)
    back = answer_from_dict(json.loads(json.dumps(answer.to_dict(), ensure_ascii=False)))
    assert same(back, answer) and back.figures == answer.figures and back.citations == answer.citations


def test_old_or_partial_records_still_load():
    answer = answer_from_dict({"text": "x", "citations": [{"doc": "a", "quote": "q"}],
                               "figures": [{"value": 1}], "new_field": 1})
    assert answer.text == "x" and answer.citations[0].quote == "q" and answer.figures[0].value == 1.0
    assert answer.understood == "" and answer.plan is None


def test_turns_persist_and_a_new_store_replays_them(bot, tmp_path):
    path = tmp_path / "data" / "conversations.sqlite3"
    store = ConversationStore(path)
    cid = store.create(doc_ids={"d2", "d1"})
    first = bot.ask("乌海市二氧化硫目标是多少", Conversation())
    store.add_turn(cid, "乌海市二氧化硫目标是多少", first, "规则")
    store.add_turn(cid, "那包头呢？", bot.ask("那包头呢？"), "规则")
    again = ConversationStore(path)  # a restarted app
    info = again.get(cid)
    assert info.title == "乌海市二氧化硫目标是多少" and info.turns == 2 and info.doc_ids == ("d1", "d2")
    turns = again.turns(cid)
    assert [t.position for t in turns] == [0, 1] and same(turns[0].answer, first) and turns[0].mode == "规则"
    conversation = Conversation()  # the follow-up context comes back by asking the stored questions again
    for t in turns[:1]:
        bot.ask(t.question, conversation)
    assert "6.3%" in bot.ask(turns[1].question, conversation).text
    with sqlite3.connect(path) as conn:  # JSON text, nothing pickled
        payload = conn.execute("SELECT answer FROM turns").fetchone()[0]
    assert payload.startswith("{") and "8.5" in payload


def test_listing_is_newest_first_and_delete_removes_turns(bot, tmp_path):
    store = ConversationStore(tmp_path / "c.sqlite3")
    a, b = store.create(), store.create()
    store.add_turn(a, "乌海市二氧化硫目标是多少", bot.ask("乌海市二氧化硫目标是多少"))
    store.add_turn(b, "电石淘汰量", bot.ask("电石淘汰量"))
    assert [c.id for c in store.conversations()] == [b, a]
    store.rename(a, "我的对话")
    assert store.get(a).title == "我的对话"
    assert store.delete(b) and not store.delete(b)
    assert store.get(b) is None and store.turns(b) == [] and [c.id for c in store.conversations()] == [a]


def test_a_store_that_cannot_be_written_raises_a_chinese_store_error(tmp_path, bot):
    blocker = tmp_path / "file"
    blocker.write_text("x")
    store = ConversationStore(blocker / "sub" / "conversations.sqlite3")
    with pytest.raises(StoreError) as exc:
        store.add_turn("c1", "乌海市二氧化硫目标是多少", bot.ask("乌海市二氧化硫目标是多少"))
    assert "问答照常进行" in exc.value.user_message
