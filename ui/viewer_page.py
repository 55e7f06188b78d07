"""The 原文 page: a document opened at a cited place (section tree, passage with context, PDF page image),
and beside it what ingest understood of the document (tables with typed values, metadata, facts, warnings)."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from assistant import viewer
from kb.records import PATH_SEP
from kb.settings import Settings
from ui.common import esc, highlighted, knowledge_base, md

META_NAMES = {"title": "标题", "doc_number": "文号", "issuers": "发文机关", "signed_date": "成文日期",
              "published_date": "发布日期", "validity": "有效期", "attachments": "附件", "pages": "页数"}
FACT_COLUMNS = {"subject": "对象", "action": "动作", "value": "数值", "unit": "单位", "raw": "原文值",
                "qualifier": "限定", "year": "年份", "section_path": "章节", "quote": "原文"}
MAX_TREE = 400


def open_document(doc_id: str, start: int = -1, end: int = -1, quote: str = "", understood: bool = False,
                  back: str = "") -> None:
    """Callback: open a document in the viewer (at a passage, or at its start)."""
    st.session_state["viewer"] = {"doc_id": doc_id, "start": start, "end": end, "quote": quote,
                                  "back": back or st.session_state.get("page", "问答")}
    st.session_state["viewer_doc"] = doc_id
    st.session_state["viewer_understood"] = understood
    st.session_state["page"] = "原文"


def _place(kb, target: dict) -> viewer.Place:
    doc_id, start, end, quote = (target.get("doc_id", ""), target.get("start", -1), target.get("end", -1),
                                 target.get("quote", ""))
    text = kb.text_of(doc_id)
    if text and 0 <= start < end <= len(text) and (not quote or quote in text[start:end] or
                                                   text[start:end] in quote):
        place = viewer.locate(kb, doc_id=doc_id, start=start)
        return viewer.Place(place.doc_id, place.doc, start, end, place.section_path, place.page, quote)
    return viewer.locate(kb, doc_id=doc_id, quote=quote, start=0 if not quote else -1) if doc_id else \
        viewer.Place("", target.get("doc", ""), problem="")


def render_tree(text: str, current: tuple[str, ...], doc_id: str) -> None:
    entries = viewer.outline(text)
    st.markdown("**章节**")
    if not entries:
        st.caption("没有识别出章节标题。")
        return
    with st.container(height=620):
        for i, e in enumerate(entries[:MAX_TREE]):
            here = tuple(current[:len(e.path)]) == e.path
            if e.level > 1 and tuple(current[:len(e.path) - 1]) != e.path[:-1]:
                continue  # a tree: the top level, and the branch the passage is in, opened
            indent = "\u3000" * (e.level - 1)
            label = indent + (("**" + e.title + "**") if here else e.title)
            st.button(label, key=f"tree_{i}", type="tertiary", on_click=open_document,
                      args=(doc_id, e.start, e.start + len(e.title), ""),
                      help=PATH_SEP.join(e.path))


def render_text(settings: Settings, kb, place: viewer.Place, whole: bool) -> None:
    text = kb.text_of(place.doc_id)
    path = PATH_SEP.join(place.section_path)
    where = f"第 {place.page} 页 · " if place.page else ""
    st.markdown(f"**《{md(place.doc)}》**  \n{where}{md(path) or '（文档开头）'}")
    if place.problem:
        st.warning(place.problem)
    start, end = (place.start, place.end) if place.start >= 0 else (0, 0)
    if whole:
        html = highlighted(text[:start], text[start:end], text[end:])
    else:
        before, quote, after = viewer.context(text, start, end)
        html = highlighted(before, quote, after)
    with st.container(height=620 if whole else "content", border=False):
        st.markdown(html, unsafe_allow_html=True)
    if place.page:
        render_page(settings, place)


def render_page(settings: Settings, place: viewer.Place) -> None:
    path = viewer.original_path(settings, place.doc_id)
    if path is None or path.suffix.lower() != ".pdf":
        return
    if not viewer.can_render_pages():
        st.caption("安装 pypdfium2 后可在此显示 PDF 原页。")
        return
    rendered = viewer.page_image(path, place.page, place.quote)
    if rendered is None:
        st.caption("这一页无法显示为图片，请以上方文字为准。")
        return
    image, marked = rendered
    caption = f"PDF 原件第 {place.page} 页" + ("（红框为引用处）" if marked else "（引用处未能在页面上定位）")
    st.image(image, caption=caption)


def render_understood(kb, doc_id: str, section: tuple[str, ...]) -> None:
    info = viewer.understood(kb, doc_id)
    if not info:
        return
    d = info["doc"]
    st.markdown("**导入解析结果**")
    st.caption(f"格式 {d.get('fmt', '')}；{d.get('chars', 0):,} 字；章节 {d.get('n_sections', 0)}；"
               f"表格 {d.get('n_tables', 0)}；数量事实 {d.get('n_facts', 0)}；导入于 {d.get('ingested_at', '')}")
    meta = {META_NAMES.get(k, k): v for k, v in (info["meta"] or {}).items() if v}
    if meta:
        st.dataframe(pd.DataFrame({"项目": list(meta), "内容": [str(v) for v in meta.values()]}), hide_index=True)
    else:
        st.caption("没有识别出文号、发文机关等元数据。")
    for w in info["warnings"]:
        st.warning(w)
    for t in info["tables"]:
        here = section and t.section_path.startswith(PATH_SEP.join(section[:2]))
        with st.expander(f"表格：{t.title}" + (f"（单位：{t.unit}）" if t.unit else ""), expanded=bool(here)):
            st.caption(t.section_path)
            st.dataframe(pd.DataFrame(viewer.table_cells(t)), hide_index=True)
            if st.button("在原文中定位", key=f"locate_table_{t.table_id}", type="tertiary"):
                open_document(doc_id, t.start, t.end)
                st.rerun()
    facts = info["facts"]
    if facts:
        with st.expander(f"数量事实（{len(facts)}）"):
            frame = pd.DataFrame([{v: getattr(f, k) for k, v in FACT_COLUMNS.items()} for f in facts])
            st.dataframe(frame, hide_index=True)


def page_viewer(settings: Settings) -> None:
    st.subheader("原文")
    kb = knowledge_base(settings)
    target = st.session_state.get("viewer") or {}
    names = {d["doc_id"]: d["name"] for d in kb.docs}
    if target.get("doc_id") and target["doc_id"] not in names:
        st.warning(viewer.DELETED.format(doc=target.get("doc") or target["doc_id"]))
    if not names:
        st.info("知识库中还没有文档。")
        return
    if st.session_state.get("viewer_doc") not in names:
        wanted = target.get("doc_id")
        st.session_state["viewer_doc"] = wanted if wanted in names else next(iter(names))
    top, back, toggles = st.columns([4, 1, 2], vertical_alignment="bottom")
    doc_id = top.selectbox("文档", list(names), format_func=names.get, key="viewer_doc")
    if target.get("back"):
        back.button(f"返回{target['back']}", key="viewer_back",
                    on_click=lambda: st.session_state.update(page=target["back"]))
    whole = toggles.toggle("显示全文", key="viewer_whole")
    show_understood = toggles.toggle("显示导入解析结果", key="viewer_understood",
                                     help="表格的数值类型、元数据、数量事实和导入提示")
    if target.get("doc_id") != doc_id:
        target = {"doc_id": doc_id, "start": 0, "end": 0, "quote": ""}
    place = _place(kb, target)
    text = kb.text_of(doc_id)
    widths = [1, 2, 1.6] if show_understood else [1, 3]
    columns = st.columns(widths)
    with columns[0]:
        render_tree(text, place.section_path, doc_id)
    with columns[1]:
        render_text(settings, kb, place, whole)
    if show_understood:
        with columns[2]:
            render_understood(kb, doc_id, place.section_path)


__all__ = ["esc", "open_document", "page_viewer"]
