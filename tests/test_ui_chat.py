"""The chat page through AppTest: grouped sources, the viewer, saved conversations, feedback, exports."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from kb.conversations import ConversationStore
from kb.feedback import FeedbackStore, question_rows
from kb.settings import load_settings

ROOT = Path(__file__).resolve().parents[1]
APP = str(ROOT / "app.py")
TIMEOUT = 60


@pytest.fixture
def kb_dir(built_kb_dir) -> Path:
    target = Path(os.environ["POLICYQA_DATA_DIR"])
    shutil.copytree(built_kb_dir, target)
    return target


def new_session() -> AppTest:
    return AppTest.from_file(APP, default_timeout=TIMEOUT).run()


@pytest.fixture
def app(kb_dir) -> AppTest:
    return new_session()


def ok(at: AppTest) -> AppTest:
    assert not at.exception, [e.value for e in at.exception]
    return at


def ask(at: AppTest, question: str) -> AppTest:
    at.chat_input[0].set_value(question).run()
    return ok(at)


def text_of(node) -> str:
    return "\n".join(m.value for m in node.markdown)


def test_a_region_answer_shows_one_table_with_its_cited_rows(app):
    ask(app, "各盟市氮氧化物降低目标的平均值是多少")
    message = app.chat_message[-1]
    assert "13.43%\\[1\\]" in message.markdown[0].value
    (expander,) = [e for e in message.expander if e.label.startswith("出处")]
    assert expander.label == "出处（1 处）"  # 13 citations, one table
    shown = text_of(expander)
    assert shown.count("<table") == 1 and shown.count('<td class="cited">') == 12
    assert [b.label for b in expander.button] == ["在原文中查看"]


def test_citation_opens_the_viewer_at_the_passage(app):
    ask(app, "电石淘汰量")
    next(e for e in app.chat_message[-1].expander if e.label.startswith("出处")).button[0].click().run()
    ok(app)
    assert app.session_state["page"] == "原文"
    shown = text_of(app)
    assert "<mark>“十二五”期间淘汰焦炭25万吨、电石178.1万吨</mark>" in shown
    assert "三、重点领域节能 › (一)重点工业行业节能 › 4、化学工业" in shown
    tree = [b.label for b in app.button if b.key and b.key.startswith("tree_")]
    assert any(t.endswith("**4、化学工业**") for t in tree) and any(t.startswith("一、") for t in tree)
    assert not any("专栏二" in t for t in tree)  # branches away from the passage stay closed
    app.button(key="viewer_back").click().run()
    assert ok(app).session_state["page"] == "问答" and len(app.chat_message) == 2


def test_viewer_shows_what_ingest_understood_beside_the_text(app, kb_dir):
    from kb.knowledge import KnowledgeBase

    n_facts = len(KnowledgeBase.open(load_settings(data_dir=kb_dir, embedder="hash")).facts)
    app.sidebar.radio[0].set_value("知识库").run()
    app.button(key="kb_open_viewer").click().run()
    ok(app)
    assert app.session_state["page"] == "原文" and app.toggle(key="viewer_understood").value
    labels = [e.label for e in app.expander]
    assert any(label.startswith("表格：专栏二") for label in labels) and f"数量事实（{n_facts}）" in labels
    assert n_facts >= 80  # the plan's prose quantities were found (84 when this was written)
    cells = next(d.value for d in app.dataframe if "类型" in d.value.columns)
    assert {"原文", "数值", "单位"} <= set(cells.columns)
    assert any("缺少“%”" in w.value for w in app.warning)


def test_conversation_survives_a_new_session_and_keeps_its_context(app):
    ask(app, "乌海市二氧化硫目标是多少")
    cid = app.session_state["conversation_id"]
    assert cid and app.query_params["c"] in (cid, [cid])
    reloaded = AppTest.from_file(APP, default_timeout=TIMEOUT)
    reloaded.query_params["c"] = cid  # a browser reload keeps the address
    ok(reloaded.run())
    assert [m.markdown[0].value for m in reloaded.chat_message][0] == "乌海市二氧化硫目标是多少"
    ask(reloaded, "那包头呢？")
    assert "6.3%" in reloaded.chat_message[-1].markdown[0].value
    fresh = new_session()  # a restart without the address: the sidebar lists it
    listed = [b for b in fresh.sidebar.button if b.key == f"conv_{cid}"]
    assert listed and listed[0].label.startswith("乌海市二氧化硫目标是多少")
    listed[0].click().run()
    assert len(ok(fresh).chat_message) == 4


def test_deleting_a_conversation_asks_first(app, kb_dir):
    ask(app, "电石淘汰量")
    cid = app.session_state["conversation_id"]
    app.button(key=f"conv_del_{cid}").click().run()
    assert any("删除后无法恢复" in w.value for w in ok(app).sidebar.warning)
    app.button(key="conv_del_yes").click().run()
    ok(app)
    assert ConversationStore.for_settings(load_settings()).get(cid) is None and not app.chat_message


def test_a_stored_answer_whose_document_was_deleted_is_shown_with_a_note(app):
    from assistant import admin

    ask(app, "乌海市二氧化硫目标是多少")
    cid = app.session_state["conversation_id"]
    settings = load_settings()
    admin.remove_documents(settings, [d["doc_id"] for d in admin.documents(settings)])
    again = AppTest.from_file(APP, default_timeout=TIMEOUT)
    again.query_params["c"] = cid
    ok(again.run())
    assert any("不在知识库中" in w.value for w in again.chat_message[-1].warning)


def test_thumbs_and_corrections_are_stored_and_become_question_rows(app):
    ask(app, "乌海市二氧化硫目标是多少")
    app.button(key="fb_up_0").click().run()
    assert any("已记录：回答正确" in c.value for c in ok(app).caption)
    ask(app, "那包头呢？")
    app.button(key="fb_down_1").click().run()
    app.text_area(key="fb_text_1").input("应为 6.3%").run()
    app.button(key="fb_send_1").click().run()
    ok(app)
    entries = FeedbackStore.for_settings(load_settings()).entries()
    assert [e.rating for e in entries] == [1, -1] and entries[1].turns[-1] == "那包头呢？"
    rows, _ = question_rows(entries)
    assert rows[1]["expect"]["numbers"] == [6.3] and rows[1]["category"] == "multiturn"
    app.sidebar.radio[0].set_value("评测").run()
    feedback = next(d.value for d in ok(app).dataframe if "来源" in d.value.columns)
    assert list(feedback["编号"]) == ["fb-0001", "fb-0002"]


def test_an_unwritable_feedback_store_warns_and_answering_goes_on(app, kb_dir):
    (kb_dir / "feedback.sqlite3").mkdir()  # a folder where the database file should be
    ask(app, "乌海市二氧化硫目标是多少")
    app.button(key="fb_up_0").click().run()
    assert any("反馈没有保存成功" in w.value for w in ok(app).warning)
    ask(app, "那包头呢？")
    assert "6.3%" in app.chat_message[-1].markdown[0].value


def test_exports_are_offered_for_answers_and_disabled_for_an_empty_conversation(app):
    assert app.get("download_button")[0].disabled and app.get("download_button")[1].disabled
    ask(app, "比较包头和乌海的化学需氧量")
    labels = [b.label for b in app.chat_message[-1].get("download_button")]
    assert labels == ["导出 Word", "导出 Markdown", "导出 Excel"]
    assert not app.get("download_button")[0].disabled
    from assistant.export import conversation_markdown
    from kb.knowledge import open_kb

    turns = [(t["question"], t["answer"]) for t in app.session_state["history"]]
    text = conversation_markdown(turns, open_kb(load_settings()))
    assert "包头市为7.8%\\[1\\]" in text and "| **包头市** |" in text


def test_understood_line_and_correction_when_the_answer_has_a_plan(app, monkeypatch):
    from dataclasses import replace

    from assistant.core import Assistant

    original = Assistant.ask

    def with_plan(self, question, conversation=None, doc_ids=None):
        answer = original(self, question, conversation, doc_ids)
        return replace(answer, understood="我理解为：乌海市 · 二氧化硫排放量降低 · 规划目标",
                       plan={"regions": ["乌海市"], "indicators": ["二氧化硫排放量降低"]})

    monkeypatch.setattr(Assistant, "ask", with_plan)
    ask(app, "乌海市二氧化硫目标是多少")
    message = app.chat_message[-1]
    assert message.caption[0].value.startswith("我理解为：乌海市")
    message.text_input(key="fix_0_regions").input("包头市").run()
    app.button(key="fix_ask_0").click().run()
    assert ok(app).chat_message[-2].markdown[0].value == "包头市二氧化硫目标是多少"
    assert "6.3%" in app.chat_message[-1].markdown[0].value


def test_scope_limits_the_chat_to_chosen_documents(app):
    hebei = (ROOT / "tests" / "data" / "hebei_plan.md")
    from assistant import admin

    settings = load_settings()
    admin.add_files(settings, [(hebei.name, hebei.read_bytes())])
    at = new_session()
    ask(at, "电石淘汰量")
    docs = {d["name"]: d["doc_id"] for d in admin.documents(settings)}
    at.multiselect(key="scope").select(docs[hebei.name]).run()
    ask(at, "乌海市二氧化硫目标是多少")
    shown = text_of(at.chat_message[-1]) + "".join(w.value for w in at.chat_message[-1].warning)
    assert "8.5%" not in shown and at.session_state["history"][-1]["answer"].refused
    cid = at.session_state["conversation_id"]
    assert ConversationStore.for_settings(settings).get(cid).doc_ids == (docs[hebei.name],)


def test_the_lead_query_plan_shape_gives_correctable_fields():
    from ui.chat import corrected_question, plan_fields

    plan = {"scope": {"regions": ["乌海市"], "doc_ids": []}, "measure": {"indicators": ["二氧化硫"], "year": ""},
            "operation": {"kind": "lookup"}}
    fields = plan_fields(plan)
    assert fields == [("scope_regions", "地区", "乌海市"), ("measure_indicators", "指标", "二氧化硫")]
    assert corrected_question("乌海市二氧化硫目标是多少", fields, {"scope_regions": "包头市"}) == "包头市二氧化硫目标是多少"
    assert plan_fields(None) == [] and plan_fields({"scope": {"regions": []}}) == []
