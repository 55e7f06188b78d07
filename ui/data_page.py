"""The 数据 page: every extracted table (as printed, with units) and cell, and the prose facts, filterable and
downloadable."""

from __future__ import annotations

import io
import re

import pandas as pd
import streamlit as st

from assistant import admin
from assistant.evidence import missing_unit_notes
from assistant.export import FLAG_NOTES
from kb.settings import Settings

CELL_COLUMNS = {"row_label": "行", "parent_label": "上级", "column": "列", "raw": "原文值", "value": "数值",
                "unit": "单位", "flag": "提示", "quote": "原文"}
FACT_COLUMNS = {"doc": "文档", "subject": "对象", "action": "动作", "value": "数值", "unit": "单位", "raw": "原文值",
                "qualifier": "限定", "year": "年份", "period": "时期", "base_year": "基年", "section_path": "章节",
                "quote": "原文", "sentence": "原句"}
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def excel_bytes(sheets: dict[str, pd.DataFrame]) -> bytes:
    buffer = io.BytesIO()
    used: set[str] = set()
    with pd.ExcelWriter(buffer, engine="openpyxl") as writer:
        for name, frame in sheets.items():
            sheet = re.sub(r"[\[\]:*?/\\]", "_", name)[:28] or "Sheet"
            while sheet in used:
                sheet = sheet[:26] + f"_{len(used)}"
            used.add(sheet)
            frame.to_excel(writer, sheet_name=sheet, index=False)
    return buffer.getvalue()


def matches(frame: pd.DataFrame, query: str) -> pd.Series:
    if not query or frame.empty:
        return pd.Series(True, index=frame.index)
    text = frame.astype(str).agg(" ".join, axis=1)
    return text.str.contains(query, regex=False)


def table_views(settings: Settings, table: dict) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(the table as printed — units kept — with each row's notes and source quote, the cell list)."""
    kb = admin.knowledge_base(settings)
    record = next(t for t in kb.tables if t.table_id == table["table_id"])
    notes = missing_unit_notes(record)
    cells = admin.table_frame(settings, table["table_id"])
    header = list(record.columns) or ["行"]
    rows: dict[int, dict] = {}
    for c in record.cells:
        label = f"{c.parent_label} › {c.row_label}" if c.parent_label else c.row_label
        row = rows.setdefault(c.row, {header[0]: label, "提示": [], "原文": c.quote})
        name = header[c.col] if c.col < len(header) else c.column
        row[name] = c.raw
        note = notes.get((c.row, c.col)) or FLAG_NOTES.get(c.flag, "")
        if note:
            row["提示"].append(f"{name}：{note}")
    wide = pd.DataFrame([{**r, "提示": "；".join(r["提示"])} for r in rows.values()])
    if not wide.empty:
        wide = wide[[c for c in header if c in wide] + ["提示", "原文"]]
    if not cells.empty:
        cells = cells.copy()
        cells["flag"] = [notes.get((r, c)) or FLAG_NOTES.get(f, f) for r, c, f in
                         zip(cells["row"], cells["col"], cells["flag"])]
    return wide, cells[[c for c in CELL_COLUMNS if c in cells]].rename(columns=CELL_COLUMNS)


def page_data(settings: Settings) -> None:
    st.subheader("数据")
    tables = admin.tables(settings)
    facts = admin.facts_frame(settings)
    query = st.text_input("筛选", key="data_filter", placeholder="输入地区、指标、标题或原文中的文字")
    tab_tables, tab_facts = st.tabs([f"表格（{len(tables)}）", f"数量事实（{len(facts)}）"])
    with tab_tables:
        if not tables:
            st.info("知识库中没有表格。")
        else:
            overview = pd.DataFrame([{"文档": t["doc"], "表格": t["title"], "章节": t["section_path"],
                                      "单位": t["unit"], "行数": t["rows"], "列": "、".join(t["columns"][1:])}
                                     for t in tables])
            st.dataframe(overview[matches(overview, query)], hide_index=True)
            by_id = {t["table_id"]: t for t in tables}
            tid = st.selectbox("查看表格", list(by_id), key="data_table",
                               format_func=lambda i: f"{by_id[i]['title']}（{by_id[i]['doc']}）")
            wide, cells = table_views(settings, by_id[tid])
            st.markdown("**表格（按原文，保留单位；每行附提示和原文）**")
            st.dataframe(wide[matches(wide, query)], hide_index=True)
            st.markdown("**单元格（逐格，附原文）**")
            st.dataframe(cells[matches(cells, query)], hide_index=True)
            title = re.sub(r"[\\/:*?\"<>|]", "_", by_id[tid]["title"])[:60] or "表格"
            a, b, c = st.columns(3)
            a.download_button("下载单元格 CSV", cells.to_csv(index=False).encode("utf-8-sig"), f"{title}.csv",
                              "text/csv", key="dl_table_csv")
            b.download_button("下载本表 Excel", lambda: excel_bytes({"表格": wide, "单元格": cells}), f"{title}.xlsx",
                              XLSX, key="dl_table_xlsx")
            c.download_button("下载全部表格 Excel", lambda: excel_bytes(
                {t["title"]: table_views(settings, t)[1] for t in tables}), "全部表格.xlsx", XLSX,
                key="dl_all_xlsx")
    with tab_facts:
        if facts.empty:
            st.info("知识库中没有抽取到数量事实。")
        else:
            view = facts[[c for c in FACT_COLUMNS if c in facts]].rename(columns=FACT_COLUMNS)
            actions = sorted(a for a in view["动作"].unique() if a)
            picked = st.multiselect("动作", actions, key="fact_actions", placeholder="全部动作")
            shown = view[matches(view, query) & (view["动作"].isin(picked) if picked else True)]
            st.caption(f"共 {len(shown)} 条")
            st.dataframe(shown, hide_index=True)
            a, b = st.columns(2)
            a.download_button("下载数量事实 CSV", shown.to_csv(index=False).encode("utf-8-sig"), "数量事实.csv",
                              "text/csv", key="dl_facts_csv")
            b.download_button("下载数量事实 Excel", lambda: excel_bytes({"数量事实": shown}), "数量事实.xlsx", XLSX,
                              key="dl_facts_xlsx")
