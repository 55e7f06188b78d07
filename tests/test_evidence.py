"""Citations grouped by source (one entry per table, one per paragraph), markers, viewer lookups."""

from __future__ import annotations

import json

import pytest

from assistant import viewer
from assistant.core import Assistant
from assistant.evidence import group_sources, marked_text, render_answer_text
from kb.records import Answer, Citation, Figure


@pytest.fixture(scope="module")
def bot(sample_kb):
    return Assistant(sample_kb.settings, kb=sample_kb)


def test_a_region_table_answer_is_one_source_with_every_cited_row(bot, sample_kb):
    answer = bot.ask("各盟市氮氧化物降低目标的平均值是多少")
    assert len(answer.citations) == 13
    (source,) = group_sources(answer, sample_kb)
    t = source.table
    assert source.kind == "table" and t.title.startswith("专栏二") and len(t.rows) == 12
    assert t.columns[0] == "地区" and [r[0] for r in t.rows][:3] == ["呼和浩特市", "包头市", "乌海市"]
    nox = t.columns.index("氮氧化物排放量降低")
    assert sorted(t.cited_cells) == [(i, nox) for i in range(12)]  # 阿拉善盟 prints 8% twice: the column decides
    assert "二、总体思路" in source.section_path and source.start < source.end
    assert "13.43%[1]" in marked_text(answer, [source])


def test_one_lookup_marks_the_cell_it_was_read_from(bot, sample_kb):
    answer = bot.ask("乌海市二氧化硫目标是多少")
    (source,) = group_sources(answer, sample_kb)
    row = [r[0] for r in source.table.rows].index("乌海市")
    col = source.table.columns.index("二氧化硫排放量降低")
    assert source.table.cited_rows == (row,) and source.table.cited_cells == ((row, col),)
    assert marked_text(answer, [source]).count("[1]") == 1 and "8.5%[1]" in marked_text(answer, [source])


def test_quoted_sentences_of_one_paragraph_are_one_passage(bot, sample_kb):
    answer = bot.ask("工业粉尘治理有哪些措施")
    assert len(answer.citations) >= 3
    (source,) = group_sources(answer, sample_kb)
    assert source.kind == "passage" and len(source.highlights) == len(source.quotes) == len(answer.citations)
    for (start, end), quote in zip(sorted(source.highlights), sorted(source.quotes, key=source.text.find)):
        assert source.text[start:end] == quote
    text = sample_kb.text_of(source.doc_id)
    assert source.quotes[0] in text[source.start:source.end]


def test_sources_are_numbered_in_citation_order_across_tables(bot, sample_kb):
    answer = bot.ask("规划中有哪些数字不一致")
    sources = group_sources(answer, sample_kb)
    assert [s.number for s in sources] == list(range(1, len(sources) + 1))
    assert [s.table.title[:3] for s in sources if s.table] == ["专栏一", "专栏二"]
    assert sum(len(s.citations) for s in sources) == len(answer.citations)
    marked = marked_text(answer, sources)
    assert all(f"[{s.number}]" in marked for s in sources)


def test_a_bare_zero_gets_the_missing_unit_note_like_other_cells(bot, sample_kb):
    (source,) = group_sources(bot.ask("兴安盟二氧化硫目标是多少"), sample_kb)
    t = source.table
    notes = {(t.rows[r][0], t.columns[c]) for r, c, _ in t.cell_notes}
    assert ("兴安盟", "二氧化硫排放量降低") in notes and ("乌兰察布市", "单位GDP能耗降低") in notes
    assert ("乌海市", "二氧化硫排放量降低") not in notes


def test_a_citation_of_a_deleted_document_says_so(sample_kb):
    gone = Citation("已删除的规划.txt", "一、总则", "到2015年下降15%", doc_id="d_gone")
    answer = Answer("下降15%。", (gone,), (Figure("下降", 15, "%", citation=gone),))
    (source,) = group_sources(answer, sample_kb)
    assert source.kind == "missing" and "已删除的规划.txt" in source.problem and "不在知识库中" in source.problem
    assert "下降15%[1]" in marked_text(answer, [source])
    place = viewer.locate(sample_kb, gone)
    assert not place.found and "已删除的规划.txt" in place.problem


def test_a_quote_missing_from_its_document_is_flagged(sample_kb):
    doc = sample_kb.docs[0]
    odd = Citation(doc["name"], "", "规划里没有的一句话", doc_id=doc["doc_id"])
    (source,) = group_sources(Answer("x", (odd,)), sample_kb)
    assert source.kind == "passage" and "没有找到" in source.problem


def test_grouped_sources_render_as_text_and_json(bot, sample_kb):
    answer = bot.ask("比较包头和乌海的化学需氧量")
    text = render_answer_text(answer, sample_kb)
    assert "包头市为7.8%[1]" in text and "出处：" in text and "▶ | 乌海市 |" in text and "【8.9%】" in text
    assert text.count("[1] 《") == 1
    sources = group_sources(answer, sample_kb)
    payload = json.loads(json.dumps([s.to_dict() for s in sources], ensure_ascii=False))
    assert payload[0]["table"]["cited_rows"] and payload[0]["kind"] == "table"


def test_without_a_knowledge_base_sources_come_from_the_citations_alone(bot, sample_kb):
    answer = bot.ask("各盟市氮氧化物降低目标的平均值是多少")
    (source,) = group_sources(answer, None)
    assert source.kind == "table" and not source.problem and len(source.quotes) == 13


# ---------- viewer lookups ----------

def test_viewer_finds_a_quote_with_its_section_and_context(sample_kb):
    doc_id = sample_kb.docs[0]["doc_id"]
    quote = "“十二五”期间淘汰焦炭25万吨、电石178.1万吨"
    place = viewer.locate(sample_kb, Citation("x", "", quote, doc_id=doc_id))
    text = sample_kb.text_of(doc_id)
    assert place.found and text[place.start:place.end] == quote and place.page is None
    assert place.section_path[-1] == "4、化学工业" and place.section_path[0].startswith("三、")
    before, marked, after = viewer.context(text, place.start, place.end)
    assert marked == quote and before.endswith(text[place.start - 5:place.start]) and after


def test_viewer_outline_is_the_section_tree_in_order(sample_kb):
    text = sample_kb.text_of(sample_kb.docs[0]["doc_id"])
    tree = viewer.outline(text)
    starts = [e.start for e in tree]
    assert starts == sorted(starts) and len(tree) > 50
    top = [e.title for e in tree if e.level == 1]
    assert top[0].startswith("一、") and any(t.startswith("二、") for t in top)
    assert all(e.path[:-1] in {x.path for x in tree} for e in tree if e.level > 1)
