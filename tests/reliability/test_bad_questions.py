"""Questions nobody should send: empty, blank, 10,000 characters, control characters, emoji, markup, SQL-like
text, not a string at all. Assistant.ask never raises; it answers or says why not, in Chinese, quickly."""

from __future__ import annotations

import re
import time

import pytest

from eval.reliability import BAD_QUESTIONS

LIMIT_S = 2.0
REFUSED = {"empty", "whitespace", "10000_chars", "only_control", "only_emoji", "not_a_string", "bytes"}
STILL_ANSWERED = {"control_chars", "emoji", "rtl_zero_width"}  # the noise goes, the question stays


@pytest.fixture(scope="module")
def assistant(built_kb_dir):
    from assistant.core import Assistant
    from kb.settings import load_settings

    bot = Assistant(load_settings(env={}, data_dir=built_kb_dir, embedder="hash"))
    bot.warm_up()
    return bot


@pytest.mark.parametrize("name", sorted(BAD_QUESTIONS))
def test_bad_question_gets_a_quick_chinese_reply_never_an_exception(assistant, name):
    started = time.perf_counter()
    answer = assistant.ask(BAD_QUESTIONS[name])
    assert time.perf_counter() - started < LIMIT_S
    assert re.search(r"[\u4e00-\u9fff]", answer.text)
    if name in REFUSED:
        assert answer.refused and answer.citations == ()
    if name in STILL_ANSWERED:
        assert "8.5%" in answer.text


def test_markup_in_a_question_is_never_echoed_as_markup(assistant):
    answer = assistant.ask(BAD_QUESTIONS["markup"])
    assert "<script" not in answer.text.lower()
