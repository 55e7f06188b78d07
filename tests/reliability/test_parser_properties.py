"""Property tests on the normalizer and the parser: whatever text or bytes come in, only IngestError
subclasses come out, every chunk is its exact span of the document text, and every quote is a substring
of it."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ingest.normalize import normalize_text
from ingest.parse import parse_bytes
from kb.errors import IngestError

# Pieces plan documents are made of, so generated text reaches headings, 专栏 tables, units and facts.
FRAGMENTS = [
    "一、", "（二）", "3、", "（4）", "第五章 ", "## ", "# ", "专栏一：", "专栏2 ", "表3 ", "（单位：%）", "单位：万吨",
    "| 地区 | 2010年 | 2015年 | 变化 |", "|---|---|---|---|", "| 乌海市 | 8.5% | 9.6 | -3.8% |", "|", "||", "---",
    "\t", "\t乌海市", "\t16%", "乌海市", "包头市", "二氧化硫排放量", "单位GDP能耗", "降低", "下降", "控制在", "淘汰",
    "到2015年，", "比2010年", "累计", "8.5%", "134.4万吨", "１２．５％", "－３％", "0", "以上", "左右", "。", "；", "，",
    "、", "：", "“十二五”", "期间", "**", "> ", "<br>", " ", "\u3000", "\r\n", "\n", "\n\n", "\f", "\x00", "\x1b",
    "\u200b", "\ufeff", "\u202e", "🙂", "A", "x" * 50, "和" * 45,
]
plan_text = st.lists(st.one_of(st.sampled_from(FRAGMENTS), st.text(max_size=8)), max_size=80).map("".join)
FORMATS = ["txt", "md", "pdf", "docx", "html"]
SUFFIXES = [".txt", ".md", ".html", ".docx", ".pdf"]
FAST = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
LONG = settings(max_examples=3000, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def _check_parse(name: str, data: bytes) -> None:
    try:
        doc = parse_bytes(name, data)
    except IngestError as exc:
        assert exc.user_message
        return
    for chunk in doc.chunks:
        assert doc.text[chunk.start:chunk.end] == chunk.text
    for fact in doc.facts:
        assert fact.quote in doc.text and fact.sentence in doc.text
    for table in doc.tables:
        for cell in table.cells:
            assert not cell.quote or cell.quote in doc.text
    for section in doc.sections:
        assert 0 <= section.start <= section.end <= len(doc.text)


def _check_normalize(text: str, fmt: str) -> None:
    out = normalize_text(text, fmt)
    assert isinstance(out, str)
    assert "\r" not in out and "\x00" not in out


@FAST
@given(text=plan_text, fmt=st.sampled_from(FORMATS))
def test_normalize_text_never_raises(text, fmt):
    _check_normalize(text, fmt)


@FAST
@given(text=plan_text, suffix=st.sampled_from([".txt", ".md"]))
def test_parse_text_raises_only_ingest_errors_and_quotes_are_exact(text, suffix):
    _check_parse("计划" + suffix, text.encode("utf-8"))


@FAST
@given(data=st.binary(max_size=2048), suffix=st.sampled_from(SUFFIXES))
def test_parse_bytes_of_any_kind_raises_only_ingest_errors(data, suffix):
    _check_parse("文件" + suffix, data)


@FAST
@given(text=plan_text, encoding=st.sampled_from(["gb18030", "utf-16", "utf-16-le", "utf-8-sig"]))
def test_parse_in_other_encodings_raises_only_ingest_errors(text, encoding):
    _check_parse("计划.txt", text.encode(encoding, errors="replace"))


@FAST
@given(text=plan_text, circled=st.sampled_from("①②③⑩⑳"))
def test_parse_with_circled_numbers_raises_only_ingest_errors(text, circled):
    _check_parse("计划.txt", f"规划\n\n{circled}{text}\n".encode())


@pytest.mark.slow
@LONG
@given(text=plan_text, suffix=st.sampled_from([".txt", ".md", ".html"]))
def test_parse_long_run(text, suffix):
    _check_parse("计划" + suffix, text.encode("utf-8"))


@pytest.mark.slow
@LONG
@given(text=plan_text, fmt=st.sampled_from(FORMATS))
def test_normalize_long_run(text, fmt):
    _check_normalize(text, fmt)
