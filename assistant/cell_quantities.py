"""Quantities written inside the text cells of a place table.

Some tables give each place one paragraph of targets instead of a column per figure ("罗店镇 | …创建达标累计61个
小区…“两网融合”服务点累计79个…"). The same clause recurs in every row with a different number, so the clause
with its number taken out is a column in all but name: "创建达标累计#个小区". Such clauses are found per table
(in at least two rows and 40% of them) and answer lookups, comparisons, rankings and sums over the places.
"""

from __future__ import annotations

import re

from assistant.plan import QueryPlan
from kb.records import Answer, Figure
from kb.tokens import bigrams
from tools.base import cell_citations, dedupe, fmt_num

NUMBER = re.compile(r"\d+(?:\.\d+)?")
CLAUSE = re.compile(r"[，,。；;！!]")
UNIT_AFTER = re.compile(r"^(?:万?(?:个|座|处|家|户|辆|吨/日|吨|公里|平方米|公顷|亩|条|项|所|套|张|株|人次|人)|%)")
MIN_SHARE = 0.4
_CACHE: dict[str, dict] = {}


def clause_columns(t) -> dict[str, dict[str, tuple[float, str, str, object]]]:
    """template → {place: (value, unit, clause, cell)} for the clauses that recur over the table's rows."""
    key = t.table_id
    if key in _CACHE:
        return _CACHE[key]
    from kb.vocab import is_overall

    seen: dict[str, dict[str, tuple]] = {}
    places = set()
    for c in t.cells:
        if c.kind != "text" or not c.raw or is_overall(c.row_label):
            continue
        places.add(c.row_label)
        for clause in CLAUSE.split(c.raw):
            numbers = list(NUMBER.finditer(clause))
            if len(numbers) != 1 or re.search(r"(?:19|20)\d{2}年", clause):
                continue
            n = numbers[0]
            unit_m = UNIT_AFTER.match(clause[n.end():])
            template = clause[: n.start()] + "#" + clause[n.end():]
            if len(bigrams(template)) < 3:
                continue
            seen.setdefault(template.strip(), {}).setdefault(
                c.row_label, (float(n.group(0)), unit_m.group(0) if unit_m else "", clause.strip(), c))
    found = {tpl: rows for tpl, rows in seen.items()
             if len(rows) >= 2 and len(rows) >= MIN_SHARE * max(len(places), 1)}
    if len(_CACHE) > 512:
        _CACHE.clear()
    _CACHE[key] = found
    return found


def _best_template(columns: dict, plan: QueryPlan) -> str | None:
    q = plan.about.replace("‖", " ")
    for place in sorted(plan.scope.regions, key=len, reverse=True):
        q = q.replace(place, " ")
    qg = bigrams(q)
    scored = []
    for tpl in columns:
        g = bigrams(tpl.replace("#", ""))
        if g:
            scored.append((len(g & qg) / len(g), len(g & qg), tpl))
    if not scored:
        return None
    share, hits, tpl = max(scored)
    return tpl if share >= 0.5 and hits >= 3 else None


def answer_clause_column(kb, plan: QueryPlan) -> Answer | None:
    from assistant.executor import _region_tables, _value_columns, doc_title

    kind = plan.operation.kind
    if kind not in ("lookup", "fact", "compare", "rank", "nth", "sum", "list"):
        return None
    if not (plan.scope.doc_ids or len(kb.docs) == 1):
        return None
    for t in _region_tables(kb, plan):
        if _value_columns(t):
            continue  # a table with figure columns answers from them
        columns = clause_columns(t)
        if not columns:
            continue
        tpl = _best_template(columns, plan)
        if tpl is None:
            continue
        rows = columns[tpl]
        title = f"《{doc_title(kb, t.doc_id)}》{t.title}"
        name = tpl.replace("#", "N")
        places = [p for p in plan.scope.regions if p in rows]
        if kind in ("rank", "nth") or (not places and re.search(r"最多|最大|最高|最少|最小|最低", plan.question)):
            order_desc = not re.search(r"最少|最小|最低", plan.question) if kind not in ("rank", "nth") else (
                plan.operation.order == "desc")
            ranked = sorted(rows.items(), key=lambda kv: -kv[1][0] if order_desc else kv[1][0])
            n = max(1, plan.operation.n) if kind == "nth" else 1
            top_value = ranked[n - 1][1][0]
            chosen = [kv for kv in ranked if kv[1][0] == top_value] if kind != "nth" else ranked[n - 1:n]
            word = "最多" if order_desc else "最少"
            text = (f"根据{title}，“{name}”{word}的是" + "、".join(
                f"{p}（{fmt_num(v[0], 4)}{v[1]}，原文：“{v[2]}”）" for p, v in chosen) + "。"
                + "（按表中各单位目标任务文字里的这一项逐一比较）")
            return _answer(kb, t, text, chosen, "rank", f"clause column rank: {name}")
        if kind == "sum" or (plan.scope.overall and not places and re.search(r"合计|一共|总共|加起来|共计", plan.question)):
            total = sum(v[0] for v in rows.values())
            unit = next((v[1] for v in rows.values() if v[1]), "")
            parts = list(rows.items())
            figs = [Figure(f"{p} {name}", v[0], v[1], "", (), cell_citations(kb, t, v[3])[1]) for p, v in parts]
            result = Figure(f"合计 {name}", total, unit, " + ".join(fmt_num(v[0], 4) for _, v in parts), tuple(figs))
            text = (f"根据{title}，{len(parts)}个单位的“{name}”相加为{fmt_num(total, 4)}{unit}"
                    f"（{' + '.join(f'{p}{fmt_num(v[0], 4)}' for p, v in parts)}）。")
            cites = [x for _, v in parts for x in cell_citations(kb, t, v[3])]
            return Answer(text, dedupe(cites), (result,) + tuple(figs), intent="compute",
                          trace=(f"clause column sum: {name}",))
        if not places:
            continue
        chosen = [(p, rows[p]) for p in places]
        text = f"根据{title}，" + "；".join(f"{p}：“{v[2]}”" for p, v in chosen) + "。"
        extra = ()
        if len(chosen) == 2 and chosen[0][1][1] == chosen[1][1][1]:
            (pa, va), (pb, vb) = chosen
            if va[0] != vb[0]:
                big, small = ((pa, va), (pb, vb)) if va[0] > vb[0] else ((pb, vb), (pa, va))
                diff = big[1][0] - small[1][0]
                text += f"{big[0]}更多，多{fmt_num(diff, 4)}{va[1]}。"
                extra = (Figure("相差", diff, va[1], f"{fmt_num(big[1][0], 4)} − {fmt_num(small[1][0], 4)}"),)
        missing = [p for p in plan.scope.regions if p not in rows]
        if missing:
            text += f"（表中{'、'.join(missing)}的目标任务没有写这一项。）"
        answer = _answer(kb, t, text, chosen, "compare" if extra else "lookup", f"clause column: {name}")
        return Answer(answer.text, answer.citations, answer.figures + extra, intent=answer.intent, trace=answer.trace)
    return None


def _answer(kb, t, text, chosen, intent, trace) -> Answer:
    figs = tuple(Figure(f"{p}", v[0], v[1], "", (), cell_citations(kb, t, v[3])[1]) for p, v in chosen)
    cites = [x for _, v in chosen for x in cell_citations(kb, t, v[3])]
    return Answer(text, dedupe(cites), figs, intent=intent, trace=(trace,))
