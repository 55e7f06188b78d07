"""Rows of a table selected by what their word cells say, then counted, listed, summed or grouped.

"权属部门是区绿化市容局的场所有几个" selects the rows whose 权属部门 cell is 区绿化市容局 and counts them;
"浦东的两家基地面积加起来多少亩" selects the rows grouped under 浦东 and adds their 面积; "除市属基地外，哪个区的
基地最多" groups the rows by their 所属 column, leaves 市属 out and counts each group. Numbers come only from the
table: a count is the number of rows listed, a sum adds the cells shown, each row cited as printed.
"""

from __future__ import annotations

import re
from collections import Counter

from assistant.executor import _grams, caption_cover, cell_citations, doc_title, value_words
from assistant.plan import QueryPlan
from kb.records import Answer, Figure
from tools.base import dedupe, fmt_num

COUNT_ASKED = re.compile(r"几[个家处项所座条块名种类批]|多少[个家处项所座条块名种类批]|数量是多少|总数")
LIST_ASKED = re.compile(r"哪些|哪几|分别是|是哪|有什么|列出|都有")
SUM_ASKED = re.compile(r"加起来|合计|一共|总共|总计|共计|之和|相加|总面积")
GROUP_ASKED = re.compile(r"哪(?:个|一个|些)(区|街镇|镇|街道|乡镇|部门|单位|级别|类|类型|学科|医院)[^，,。？?]{0,12}?最(多|少)")
EXCLUDED = re.compile(r"除(?:了)?([^，,。？?]{2,16}?)(?:以外|之外|外)")
CONTAINS = re.compile(r"(?:包含|含有|包括|涉及)(?:了)?[“\"]?([\u4e00-\u9fffA-Za-z0-9]{2,12}?)[”\"]?(?:的|科室|专业|$)")
PLACE_IN_QUESTION = re.compile(r"((?![哪各每全本该这那其])[\u4e00-\u9fff]{2,4}?(?:新区|区|县|镇|街道))(?=[^\u4e00-\u9fff]|有|的|是|共|一共|入选|在|内|里|中)")
ATTRIBUTE_WORDS = re.compile(r"约束性|预期性|指导性")
TOTAL_LABEL = re.compile(r"^(?:合\s*计|小\s*计|总\s*计|共\s*计|全区|全市|总量)")
PLACE_SUFFIX = re.compile(r"(?:新区|区|县|镇|街道|乡|市)$")
DIMENSION = {"区": r"区|所属|所在", "街镇": r"街镇|镇|街道|乡镇", "镇": r"镇|街镇", "街道": r"街道|街镇", "乡镇": r"乡镇|镇",
             "部门": r"部门|单位", "单位": r"单位|部门", "级别": r"级别|等级", "类": r"类", "类型": r"类型|类别",
             "学科": r"学科|专业", "医院": r"医院"}


_ROWS_CACHE: dict[tuple[str, int, int], dict[int, dict]] = {}


def _rows(t) -> dict[int, dict]:
    """The table's rows with their word cells, read once per table (tables do not change once loaded)."""
    key = (t.table_id, len(t.cells), id(t))
    if key not in _ROWS_CACHE:
        if len(_ROWS_CACHE) > 2000:
            _ROWS_CACHE.clear()
        _ROWS_CACHE[key] = _read_rows(t)
    return _ROWS_CACHE[key]


def _read_rows(t) -> dict[int, dict]:
    groups = [name for name, role in zip(t.columns, t.roles) if role == "group"]
    rows: dict[int, dict] = {}
    key, last, seen_cols = {}, None, set()
    for c in t.cells:  # printed rows of one place folded into one row (等级· | 社区· columns) are one row here too
        if c.row not in key:
            same = last is not None and c.row_label == last[1] and c.column not in seen_cols
            key[c.row] = last[0] if same else c.row
            if not same:
                seen_cols = set()
            last = (key[c.row], c.row_label)
        seen_cols.add(c.column)
    for c in t.cells:
        r = rows.setdefault(key[c.row], {"label": c.row_label, "cells": [], "words": []})
        if not r["cells"] and c.parent_label:
            parts = c.parent_label.split("·")
            names = groups if len(groups) == len(parts) else ["分组"] * len(parts)
            r["words"] += [(n, p) for n, p in zip(names, parts) if p]
        r["cells"].append(c)
        if c.kind == "text" and c.raw.strip() and c.role not in ("attribute", "unit", "index"):
            r["words"].append((c.column, c.raw.strip()))
            r.setdefault("first", c.col)
            r["first"] = min(r["first"], c.col)
    # A row whose label is merged down from the row above shares that row's merged cells too: the word cells
    # left of its first printed one ("Y0201 | 普通外科 | 华山医院" then "| | 中山医院": 普通外科 spans both).
    before = None
    for r in rows.values():
        if before is not None and r["label"] == before["label"]:
            have = {col for col, _ in r["words"]}
            first = r.get("first", len(t.columns))
            spans = [(col, v) for col, v in before["words"] if col not in have and col in t.columns
                     and t.columns.index(col) < first]
            r["words"] = spans + r["words"]
            if spans:
                r["first"] = min(first, *(t.columns.index(col) for col, _ in spans))
        before = r
    return rows


def _words(row: dict) -> list[tuple[str, str]]:
    """(column, value) of the row's word cells: its groups (所属, 所在区) and its text cells."""
    return row["words"]


def _places_asked(question: str) -> list[str]:
    """Places the question names, each as its shortest ending that still ends in 区/县/镇 ("名录里北湖区" → 北湖区)."""
    out = []
    for m in PLACE_IN_QUESTION.finditer(question):
        word = m.group(1)
        suffix = re.search(r"(?:新区|区|县|镇|街道)$", word).group(0)
        stem = word[:-len(suffix)]
        cut = max(0, max(stem.rfind(ch) for ch in "里中的在和与及对") + 1) if any(ch in stem for ch in "里中的在和与及对") else 0
        if len(stem) - cut >= 2:
            out.append(word[cut:])
    return list(dict.fromkeys(out))


def _is_total(row: dict) -> bool:
    """A 合计/小计 row, wherever the page printed the word (its label, its group or a word cell)."""
    return bool(TOTAL_LABEL.match(row["label"]) or any(TOTAL_LABEL.match(v) for _, v in _words(row)))


def _excluded(row: dict, phrase: str) -> bool:
    """"除浦东新区外": the row whose label, group or place cell is the place excluded (equal, or its short name)."""
    words = [row["label"]] + [v for _, v in _words(row)]
    return any(len(w) >= 2 and (w == phrase or w in phrase and len(w) >= 0.6 * len(phrase)
                                or phrase.startswith(PLACE_SUFFIX.sub("", w)) and len(PLACE_SUFFIX.sub("", w)) >= 2
                                and w in phrase) for w in words)


def _named(value: str, question: str) -> bool:
    v = re.sub(r"\s", "", value)
    if len(v) < 2 or len(v) > 16 or len(re.findall(r"[\u4e00-\u9fff]", v)) < 2 or re.search(r"(?:19|20)\d{2}", v):
        return False  # a year or a code names no set of rows
    if v in question:
        return True
    stem = PLACE_SUFFIX.sub("", v)
    return len(stem) >= 2 and stem != v and re.search(re.escape(stem) + r"(?!新区|区|县|镇)", question) is not None


def _sum_column(t, rows: list[dict], question: str, unit: str) -> str | None:
    """The numeric column the question adds: the one it names, else the one in the unit asked, else the only one."""
    numeric: dict[str, list] = {}
    for row in rows:
        for c in row["cells"]:
            if c.value is not None and c.role not in ("index", "attribute"):
                numeric.setdefault(c.column, []).append(c)
    if not numeric:
        return None
    named = [col for col in numeric if len(re.sub(r"[（(][^）)]*[）)]", "", col.split("·")[-1])) >= 2
             and re.sub(r"[（(][^）)]*[）)]", "", col.split("·")[-1]) in question]
    if named:
        longest = max(len(c) for c in named)
        top = [c for c in named if len(c) == longest]
        return top[0] if len(top) == 1 else None  # 等级·2021年任务 or 社区·2021年任务: not for us to pick
    if unit:
        in_unit = [col for col, cells in numeric.items() if all(unit in (c.unit or "") for c in cells)]
        if len(in_unit) == 1:
            return in_unit[0]
    return next(iter(numeric)) if len(numeric) == 1 else None


def answer_rows_where(kb, plan: QueryPlan) -> Answer | None:
    """Count, list, add up or group the rows of one table selected by the words in their cells. A follow-up
    ("那面积加起来多少") keeps the rows the question before selected."""
    answer = _rows_where(kb, plan, plan.question)
    before = plan.topic.partition("‖")[2]
    if answer is None and before:
        # "…北湖区那棵罗汉松树龄多少？保护等级呢": the row the question before picked out is still the one asked
        answer = _rows_where(kb, plan, before + "，" + re.sub(r"^(?:那么?|那)", "", plan.question),
                             sum_only=bool(SUM_ASKED.search(plan.question)), own=plan.question)
    return answer


def _rows_where(kb, plan: QueryPlan, question: str, sum_only: bool = False, own: str = "") -> Answer | None:
    grouped = GROUP_ASKED.search(question)
    counting, listing, summing = (bool(COUNT_ASKED.search(question)), bool(LIST_ASKED.search(question)),
                                  bool(SUM_ASKED.search(question)))
    aggregate = counting or listing or summing or grouped
    if plan.operation.kind in ("metadata", "alias") or plan.operation.threshold is not None:
        return None  # rows past a bound are answer_table_filter's
    q = _grams(question)
    excluded = EXCLUDED.search(question)
    contains = CONTAINS.search(question)
    best = None
    tables = [t for t in kb.tables if t.roles and (not plan.scope.doc_ids or t.doc_id in plan.scope.doc_ids)]
    named = [t for t in tables if caption_cover(t, q) >= 0.6]
    absent = _place_not_listed(kb, named, question)
    if absent is not None:
        return absent
    for t in named or tables:  # a table the question names by its caption is the only one asked about
        titles = t.title + doc_title(kb, t.doc_id)
        rows = _rows(t)
        if len(rows) < 2:
            continue
        labels = Counter(r["label"] for r in rows.values())
        named_labels = {label for label in labels if len(label) >= 2 and _named(label, question)}
        if any(labels[reg] == 1 for reg in plan.scope.regions) or any(labels[x] == 1 for x in named_labels):
            continue  # a row the question names: that row's own cells answer it
        seen = Counter(v for r in rows.values() for v in dict.fromkeys(v for _, v in _words(r)))
        conditions = {(col, v) for r in rows.values() for col, v in _words(r)
                      if _named(v, question) and v not in titles and not (excluded and _excluded(
                          {"label": "", "words": [(col, v)]}, excluded.group(1)))}
        # a label several rows share ("松江区" over each of its trees) selects those rows like a group does
        conditions |= {("行名", x) for x in named_labels if labels[x] >= 2 and x not in titles}
        # the longest value named wins over its parts ("区绿化市容局" over "绿化")
        conditions = {(col, v) for col, v in conditions
                      if not any(v != v2 and v in v2 and col == col2 for col2, v2 in conditions)}
        for place in _places_asked(question):
            # "闵行区有几处": the rows whose name or place cell begins with the district named
            starts = [r for r in rows.values() if any(w.startswith(place) and w != place for w in
                                                      [r["label"]] + [v for _, v in _words(r)])]
            if len(starts) >= 2 and place not in titles and not any(v == place for _, v in conditions):
                conditions.add(("^", place))
        if own:
            # "那东江区呢" after "北湖区那棵罗汉松": what the follow-up names replaces the earlier value of its column
            renamed = {col for col, v in conditions if _named(v, own)}
            conditions = {(col, v) for col, v in conditions if col not in renamed or _named(v, own)}
        if contains:
            term = contains.group(1)
            holding = {col for r in rows.values() for col, v in _words(r) if col and term in v}
            named_cols = {col for col in holding if col in question}
            # "备注中包含血管外科": the column the question names; else any column that holds the term
            contained = {("∋" + col, term) for col in named_cols} if named_cols else ({("∋*", term)} if holding else set())
            conditions = {(col, v) for col, v in conditions if v != term} | contained
        whole = t in named and not plan.scope.regions and not plan.measure.indicators and (
            summing and not counting or counting and caption_cover(t, q) >= 0.8 and not ATTRIBUTE_WORDS.search(question))
        if not conditions and not grouped and not whole:
            continue  # (a sum or count over the whole table the question names keeps every row but its totals)
        group_columns = {name for name, role in zip(t.columns, t.roles) if role == "group"}
        if conditions and not grouped and not any(seen[v] >= 2 or col in ("^", "行名") or col in group_columns
                                                  for col, v in conditions) and not contains:
            continue  # a word only one row has names that row, not a set of rows (a place it lies in may)
        score = caption_cover(t, q) + 0.1 * len(conditions) + (0.5 if conditions else 0.0)
        if best is None or score > best[0]:
            best = (score, t, rows, conditions)
    if best is None:
        return None
    _, t, rows, conditions = best
    if grouped:
        return _grouped(kb, t, rows, grouped, excluded, plan)
    by_column: dict[str, set[str]] = {}
    for col, v in conditions:
        by_column.setdefault(col, set()).add(v)

    def keeps(row) -> bool:
        words = _words(row)
        for col, values in by_column.items():
            if col == "行名":
                if row["label"] not in values:
                    return False
            elif col == "^":
                if not any(w.startswith(v) for v in values for w in [row["label"]] + [w for _, w in words]):
                    return False
            elif col == "∋*":
                if not any(v in w for v in values for _, w in words):
                    return False
            elif col.startswith("∋"):
                if not any(c == col[1:] and any(v in w for v in values) for c, w in words):
                    return False
            elif not any(c == col and w in values for c, w in words):
                return False
        return True

    chosen = [r for _, r in sorted(rows.items()) if keeps(r) and not _is_total(r)]
    if excluded:
        chosen = [r for r in chosen if not _excluded(r, excluded.group(1))]
    if not chosen or not aggregate and (len(chosen) != 1 or len(conditions) < 2):
        return None  # without a count, list or sum, only the one row two of its words pick out ("静安区那棵罗汉松")
    what = "、".join(sorted({("含" if col == "∋*" else f"{col[1:]}含") + v if col.startswith("∋") else v
                             for col, v in conditions})) or "表中"
    asked = COUNT_ASKED.search(question)
    word = asked.group(0)[-1] if asked and asked.group(0)[-1] in "个家处项所座条块名种批" else "项"
    head = f"根据《{doc_title(kb, t.doc_id)}》{t.title}，{what}"
    citations = [cell_citations(kb, t, chosen[0]["cells"][0])[0]]
    for r in chosen[:30]:
        citations.append(cell_citations(kb, t, r["cells"][0])[1])
    names = _row_names(t, chosen, question, {col for col, _ in conditions})
    figures = [Figure(f"{what} 行数", float(len(chosen)), word, "按条件计数", (), citations[1])]
    lines = [f"{head}共{len(chosen)}{word}：{'、'.join(names[:30])}{'等' if len(names) > 30 else ''}。"]
    if not aggregate:
        lines = [f"{head}："]
    if len(chosen) <= 3 and not summing:
        # a few rows are shown whole: what each row's other cells say (四至范围, 面积 …)
        for r, name in zip(chosen, names):
            rest = [f"{c.column}{value_words(c) if c.kind != 'text' else '：' + c.raw}" for c in r["cells"]
                    if c.role not in ("index",) and c.raw.strip() and c.raw.strip() != name]
            if rest:
                lines.append(f"- {name}：" + "；".join(rest))
    if summing:
        col = _sum_column(t, chosen, question, plan.measure.unit)
        if col:
            cells = [c for r in chosen for c in r["cells"] if c.column == col and c.value is not None]
            if any(c.kind == "range" or c.comparator for c in cells):
                return None  # "10—20公顷", "不低于5公顷" add up to no one figure
            units = {c.unit for c in cells}
            if cells and len(units) == 1:
                total = sum(c.value for c in cells)
                unit = units.pop()
                parts = " + ".join(f"{c.row_label}{value_words(c)}" for c in cells[:12])
                lines.append(f"{col}合计{fmt_num(total, 4)}{unit}（{parts}{' + …' if len(cells) > 12 else ''}）。")
                inputs = tuple(Figure(f"{c.row_label} {col}", c.value, c.unit, "", (), cell_citations(kb, t, c)[1])
                               for c in cells)
                figures.append(Figure(f"{what} {col}合计", total, unit, " + ".join(f.label for f in inputs), inputs))
    if summing and not counting and not listing and len(lines) < 2 and aggregate and not grouped:
        return None  # a sum was asked and no column could be added: a row count is not its answer
    if sum_only:
        if len(lines) < 2:
            return None
        lines = lines[1:]  # the rows were listed in the answer before
    return Answer("\n".join(lines), dedupe(citations), tuple(figures), intent="filter",
                  trace=(f"rows of {t.title} where {sorted(conditions)} → {len(chosen)}",))


PLACE_COLUMN = re.compile(r"^(?:所在|所属)?(?:区|区县|行政区|街镇|乡镇|地区|区域)$|^所在(?:区位|地)$")


def _place_not_listed(kb, named, question: str) -> Answer | None:
    """"名单里黄浦区的产业区域是哪个": the table the question names lists its rows by place, and that place is not
    among them. Say so, and which places it does list; never answer with another place's row."""
    if len(named) != 1:
        return None
    t = named[0]
    places = [col for col, role in zip(t.columns, t.roles) if PLACE_COLUMN.match(re.sub(r"\s", "", col))]
    if not places:
        return None
    rows = _rows(t)
    titles = t.title + doc_title(kb, t.doc_id)
    listed = list(dict.fromkeys(v for r in rows.values() for col, v in _words(r) if col in places))
    if not listed:
        return None
    for place in _places_asked(question):
        if place in titles or any(place in w or w in place for r in rows.values()
                                  for w in [r["label"]] + [v for _, v in _words(r)]):
            continue
        return Answer(f"《{doc_title(kb, t.doc_id)}》{t.title}中没有{place}的内容。表中列出的是："
                      f"{'、'.join(listed[:20])}。", (cell_citations(kb, t, t.cells[0])[0],), refused=True,
                      intent="out_of_scope", trace=(f"{place} not among the places of {t.title}",))
    return None


def _row_names(t, chosen: list[dict], question: str, selecting: set[str]) -> list[str]:
    """What to call each row: the column the question counts ("几家培训医院" → 培训医院), else the row label when the
    rows have their own, else the first word column that tells them apart."""
    labels = [r["label"] for r in chosen]
    columns = [col for col in t.columns if any(c == col for r in chosen for c, _ in _words(r))]
    text_columns = {name for name, role in zip(t.columns, t.roles) if role == "text"}
    asked = [col for col in columns if col in text_columns and col not in selecting and len(col) >= 2
             and (col in question or col[-2:] in question)]
    distinct = len(set(labels)) == len(labels)
    pick = asked[0] if asked else (None if distinct else next(
        (col for col in columns if len({dict(_words(r)).get(col) for r in chosen}) == len(chosen)), None))
    if pick is None:
        return labels
    return [dict(_words(r)).get(pick) or r["label"] for r in chosen]


def _grouped(kb, t, rows, grouped, excluded, plan: QueryPlan) -> Answer | None:
    """"哪个区的基地最多": the rows counted by the word column the asked dimension names, the largest group first."""
    want = re.compile(DIMENSION.get(grouped.group(1), re.escape(grouped.group(1))))
    columns = Counter()
    for r in rows.values():
        for col, v in _words(r):
            if want.search(col):
                columns[col] += 1
    if not columns:
        return None
    col = columns.most_common(1)[0][0]
    groups: dict[str, list] = {}
    for _, r in sorted(rows.items()):
        v = next((w for c, w in _words(r) if c == col), None)
        if v is None or _is_total(r) or excluded and _excluded(r, excluded.group(1)):
            continue
        groups.setdefault(v, []).append(r)
    if len(groups) < 2:
        return None
    ranked = sorted(groups.items(), key=lambda kv: len(kv[1]), reverse=grouped.group(2) == "多")
    top_n = len(ranked[0][1])
    top = [k for k, v in ranked if len(v) == top_n]
    rest = "；其后是" + "、".join(f"{k}（{len(v)}项）" for k, v in ranked[len(top):len(top) + 2]) if len(ranked) > len(top) else ""
    citations = [cell_citations(kb, t, ranked[0][1][0]["cells"][0])[0]]
    citations += [cell_citations(kb, t, r["cells"][0])[1] for k in top for r in groups[k]]
    figures = tuple(Figure(f"{k} 行数", float(len(groups[k])), "项", "按组计数", (), citations[1]) for k in top)
    figures += tuple(Figure(f"{k} 行数", float(len(v)), "项", "按组计数") for k, v in ranked[len(top):len(top) + 2])
    out = "（不含" + excluded.group(1) + "）" if excluded else ""
    word = "最" + grouped.group(2)
    return Answer(f"根据《{doc_title(kb, t.doc_id)}》{t.title}{out}，{word}的是{'、'.join(top)}，共{top_n}项"
                  f"{'（并列）' if len(top) > 1 else ''}{rest}。", dedupe(citations), figures, intent="rank",
                  trace=(f"rows of {t.title} grouped by {col or '分组'}: {len(groups)} groups",))


def answer_row_columns_sum(kb, plan: QueryPlan) -> Answer | None:
    """"南桥镇等级和社区总量加起来": one row's columns that differ only by a part the question names each of
    (等级·2025年底总量, 社区·2025年底总量) are added; each cell is cited."""
    if not SUM_ASKED.search(plan.question) or len(plan.scope.regions) != 1:
        return None
    place = plan.scope.regions[0]
    q = plan.question.replace(place, " ")
    for t in kb.tables:
        if plan.scope.doc_ids and t.doc_id not in plan.scope.doc_ids:
            continue
        cells = [c for c in t.cells if c.row_label == place and c.value is not None and "·" in c.column]
        by_rest: dict[str, list] = {}
        for c in cells:
            parts = c.column.split("·")
            for i, part in enumerate(parts):
                if len(part) >= 2 and part in q:
                    rest = "·".join(parts[:i] + parts[i + 1:])
                    by_rest.setdefault(rest, []).append((part, c))
        best = None
        for rest, named in by_rest.items():
            kinds = {p for p, _ in named}
            leaf = _grams(re.sub(r"[（(][^）)]*[）)]", "", rest.split("·")[-1]))
            cover = len(leaf & _grams(q)) / len(leaf) if leaf else 0.0
            if len(kinds) >= 2 and cover >= 0.5 and (best is None or cover > best[0]):
                best = (cover, rest, [c for _, c in named])
        if best is None:
            continue
        _, rest, chosen = best
        units = {c.unit for c in chosen}
        if len(units) != 1:
            return None
        unit = units.pop()
        total = sum(c.value for c in chosen)
        inputs = tuple(Figure(f"{place} {c.column}", c.value, c.unit, "", (), cell_citations(kb, t, c)[1]) for c in chosen)
        parts = " + ".join(f"{c.column}{value_words(c)}" for c in chosen)
        citations = dedupe(x for c in chosen for x in cell_citations(kb, t, c))
        return Answer(f"根据《{doc_title(kb, t.doc_id)}》{t.title}，{place}{parts} = {fmt_num(total, 4)}{unit}。",
                      citations, (Figure(f"{place} {rest}合计", total, unit, " + ".join(f.label for f in inputs), inputs),),
                      intent="compute", trace=(f"sum of {len(chosen)} columns of {place} in {t.title}",))
    return None
