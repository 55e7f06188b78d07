"""Operations over a region table (rows are places) that need no indicator the resolver knows: the column is
the one the question's words name ("化学需氧量减排任务" → "化学需氧量重点工程减排量").

A place's share of the total, a place against the whole (the total row, or the overall table's row for the
same measure), the spread of one column, places past a bound, whether the places add up to the total, a
place's largest task among columns of one kind, the base a stated cut was reached from, and the refusal
when the question asks a percentage of a column that holds amounts. Each returns an Answer or None.
"""

from __future__ import annotations

import re

from assistant.executor import (
    _column_score,
    _grams,
    _region_tables,
    _value_columns,
    doc_title,
    referenced_tables,
    value_words,
)
from assistant.plan import QueryPlan
from kb.records import Answer, Figure
from kb.vocab import indicator_keys, is_overall, is_region_table
from tools import calc
from tools.base import cell_citations, cn_int, dedupe, fact_citation, fmt_num

SHARE = re.compile(r"占.{0,14}(?:比例|比重|百分之|份额|多少|几成)|占比|所占比")
WHOLE = re.compile(r"全市|全区|全省|全县|全旗|全盟|总体|整体|全域")
VERSUS = re.compile(r"高还是低|低还是高|多还是少|比.{0,16}(?:高|低|多|少|严|松|大|小)|差多少|相差|相比|对比|比较|更严|宽松|"
                    r"高多少|低多少|多多少|少多少|比呢|比如何|比怎么样")
CHECK = re.compile(r"对得上|对不上|吻合|相符|一致|核对|加起来.{0,6}(?:等于|是不是|是否)|合计.{0,8}(?:等于|相等)")
PERCENT_ASKED = re.compile(r"百分之|下降.{0,2}%|降幅|降低.{0,2}(?:多少)?%|增幅|下降了?多少个?百分")
EMITTED = re.compile(r"(?<!减)排放(?:总)?量|排放总量")
REDUCED = re.compile(r"减排量|削减量|减排任务")
SCALE = {("万吨", "吨"): 1e4, ("亿元", "万元"): 1e4, ("万元", "元"): 1e4, ("万千瓦", "千瓦"): 1e4,
         ("万立方米", "立方米"): 1e4, ("万亩", "亩"): 1e4, ("公顷", "平方米"): 1e4, ("平方公里", "公顷"): 100}


def region_column(kb, plan: QueryPlan):
    """(table, column, {place: {column: cell}}) of the region table column the question names best."""
    tables = _region_tables(kb, plan)
    named = referenced_tables(kb, plan)
    if named is not None:
        tables = [t for t in tables if t.table_id in named] or tables
    best = None
    for t in tables:
        for i, col in enumerate(_value_columns(t)):
            score = _column_score(col, plan)
            if best is None or score > best[0]:
                best = (score, t, col)
    if best is None or best[0] <= 0.6:
        return None
    _, t, col = best
    rows: dict[str, dict] = {}
    for c in t.cells:
        rows.setdefault(c.row_label, {})[c.column] = c
    return t, col, rows


def _place_value(kb, plan: QueryPlan):
    """(table, column, rows, place, cell) of the one place asked, in the column the question names; None when
    that place has no figure there."""
    found = region_column(kb, plan)
    if not found:
        return None
    t, col, rows = found
    place = plan.scope.regions[0]
    mine = rows.get(place, {}).get(col)
    if mine is None or mine.value is None:
        return None
    return t, col, rows, place, mine


def column_places(kb, plan: QueryPlan, least: int = 1):
    """(table, column, rows, [(place, cell)…]) of the region column the question names, when it has `least`
    places."""
    found = region_column(kb, plan)
    if not found:
        return None
    t, col, rows = found
    places = _places(rows, col, plan)
    return (t, col, rows, places) if len(places) >= least else None


def _places(rows, col, plan):
    excluded = set(plan.scope.exclude)
    return [(label, cols[col]) for label, cols in rows.items() if not is_overall(label) and label not in excluded
            and col in cols and cols[col].value is not None]


def _total(rows, col):
    for label, cols in rows.items():
        if is_overall(label) and col in cols and cols[col].value is not None:
            return label, cols[col]
    return None


def _fig(kb, t, c, label=None):
    return Figure(label or f"{c.row_label} {c.column}", c.value, c.unit, "", (), cell_citations(kb, t, c)[1], c.flag)


def _where(kb, t) -> str:
    return f"《{doc_title(kb, t.doc_id)}》{t.title}"


def _convert(value: float, unit: str, to: str) -> float | None:
    if unit == to:
        return value
    if (unit, to) in SCALE:
        return value * SCALE[(unit, to)]
    if (to, unit) in SCALE:
        return value / SCALE[(to, unit)]
    return None


def answer_share(kb, plan: QueryPlan) -> Answer | None:
    """"南浦区化学需氧量减排量占全市合计的比例": the place's value over the total row (or the places' sum)."""
    if len(plan.scope.regions) != 1 or not SHARE.search(plan.question):
        return None
    found = _place_value(kb, plan)
    if not found:
        return None
    t, col, rows, place, mine = found
    total = _total(rows, col)
    a = _fig(kb, t, mine)
    if total:
        b = _fig(kb, t, total[1], f"{total[0]} {col}")
        whole = f"{total[0]}{value_words(total[1])}"
    else:
        places = _places(rows, col, plan)
        parts = tuple(_fig(kb, t, c) for _, c in places)
        b = Figure(f"各地区{col}之和", sum(p.value for p in parts), mine.unit,
                   " + ".join(fmt_num(p.value, 4) for p in parts), parts)
        whole = f"各地区之和{fmt_num(b.value, 4)}{mine.unit}"
    if not b.value:
        return None
    share = Figure(f"{place}占比", a.value / b.value * 100, "%",
                   f"{fmt_num(a.value, 4)} ÷ {fmt_num(b.value, 4)} × 100% = {fmt_num(a.value / b.value * 100, 2)}%", (a, b))
    text = (f"根据{_where(kb, t)}，{place}“{col}”为{value_words(mine)}，{whole}；"
            f"{place}占{fmt_num(share.value, 1)}%。")
    cites = list(cell_citations(kb, t, mine)) + (list(cell_citations(kb, t, total[1])) if total else [])
    return Answer(text, dedupe(cites), (a, b, share), intent="compute", trace=("share of the total",))


def _overall_cell(kb, plan, t, col, unit, total_row: bool = True):
    """The whole's value for a region column: the total row, else the overall table's row for that measure
    (same role and a unit that converts)."""
    rows = {}
    for c in t.cells:
        rows.setdefault(c.row_label, {})[c.column] = c
    total = _total(rows, col) if total_row else None
    if total:
        return t, total[1], 1.0
    role = next((r for name, r in zip(t.columns, t.roles) if name == col), "")
    if role not in ("base", "target", "change"):
        # a column of amounts allotted to places ("减排量") answers to the plan's target, unless a base is asked
        role = "base" if re.search(r"基期|现状|完成", plan.question) else "target"
    leaf = _grams(re.sub(r"目标|任务|[（(][^）)]*[）)]", "", col))
    best = None
    for other in kb.tables:
        if other.doc_id != t.doc_id or is_region_table(other) or not other.roles:
            continue
        for c in other.cells:
            if c.value is None or c.role in ("attribute", "text", "label", "index", "group", "unit"):
                continue
            overlap = 0.0
            for key in indicator_keys(c.row_label) + (c.row_label,):
                g = _grams(re.sub(r"[（(][^）)]*[）)]", "", key))
                if g and leaf:
                    overlap = max(overlap, len(g & leaf) / (len(g) * len(leaf)) ** 0.5)
            factor = 1.0 if c.unit == unit else (_convert(1.0, c.unit, unit) if c.unit and unit else None)
            if factor is None or overlap < 0.5:
                continue
            cell_role = "target" if c.role == "cumulative" and not re.search(r"基期|现状|完成", c.column) else c.role
            score = overlap + (0.5 if cell_role == role else 0.0)
            if best is None or score > best[0]:
                best = (score, other, c, factor)
    return best[1:] if best else None


def answer_versus_whole(kb, plan: QueryPlan) -> Answer | None:
    """"南浦区的PM2.5目标和全市目标比，高还是低": the place's value beside the whole's, and the gap."""
    if len(plan.scope.regions) != 1 or not (WHOLE.search(plan.question) or plan.scope.overall) or not VERSUS.search(
            plan.question):
        return None
    found = _place_value(kb, plan)
    if not found:
        return None
    t, col, _rows, place, mine = found
    whole = _overall_cell(kb, plan, t, col, mine.unit)
    if not whole:
        return None
    t2, c2, factor = whole
    a = _fig(kb, t, mine)
    b = _fig(kb, t2, c2, f"全域 {c2.row_label} {c2.column}")
    other = c2.value * factor
    if c2.value < 0 <= mine.value and re.search(r"降低|下降|减少|削减|降幅", col):
        other = -other  # the whole's change printed as −5.8%, the places' cuts as 13.8%: both are cuts
    gap = abs(a.value - other)
    unit = "个百分点" if mine.unit == "%" else mine.unit
    diff = Figure("相差", gap, unit, f"|{fmt_num(a.value, 4)} − {fmt_num(other, 4)}|", (a, b))
    verdict = "高于" if a.value > other else ("低于" if a.value < other else "等于")
    scaled = "" if factor == 1.0 else f"（即{fmt_num(other, 4)}{mine.unit}）"
    if factor != 1.0:
        b = Figure(b.label, other, mine.unit, f"{fmt_num(c2.value, 4)}{c2.unit} × {fmt_num(factor, 4)}", (b,))
    text = (f"{place}“{col}”为{value_words(mine)}（{_where(kb, t)}）；全域“{c2.row_label}”{c2.column}为{value_words(c2)}"
            f"{scaled}（{t2.title}）。{place}{verdict}全域" + (f"，相差{fmt_num(gap, 4)}{unit}。" if gap else "。"))
    return Answer(text, dedupe(list(cell_citations(kb, t, mine)) + list(cell_citations(kb, t2, c2))), (a, b, diff),
                  intent="compare", trace=("place against the whole",))


def answer_spread(kb, plan: QueryPlan) -> Answer | None:
    """"各区县PM2.5目标浓度最高和最低的分别是谁？差多少": the two ends of one column and their gap."""
    if plan.operation.kind != "range":
        return None
    found = column_places(kb, plan, 2)
    if not found:
        return None
    t, col, rows, places = found
    hi = max(places, key=lambda p: p[1].value)
    lo = min(places, key=lambda p: p[1].value)
    a, b = _fig(kb, t, hi[1]), _fig(kb, t, lo[1])
    unit = "个百分点" if hi[1].unit == "%" else hi[1].unit
    gap = Figure("最大值与最小值之差", a.value - b.value, unit, f"{fmt_num(a.value, 4)} − {fmt_num(b.value, 4)}", (a, b))
    text = (f"根据{_where(kb, t)}，“{col}”最高的是{hi[0]}（{value_words(hi[1])}），最低的是{lo[0]}"
            f"（{value_words(lo[1])}），两者相差{fmt_num(gap.value, 4)}{unit}。")
    return Answer(text, dedupe(list(cell_citations(kb, t, hi[1])) + list(cell_citations(kb, t, lo[1]))), (a, b, gap),
                  intent="compute", trace=("range over one region column",))


TESTS = {"≥": lambda v, x: v >= x, ">": lambda v, x: v > x, "≤": lambda v, x: v <= x, "<": lambda v, x: v < x}
BOUND_WORDS = {"≥": "不低于", ">": "高于", "≤": "不高于", "<": "低于"}


def answer_places_past(kb, plan: QueryPlan) -> Answer | None:
    """"优良天数比例目标不低于88%的区县有哪些", "…在2000吨以上的区县有几个": places of one column past a bound."""
    op, x = plan.operation.comparator, plan.operation.threshold
    if plan.operation.kind not in ("filter", "count") or x is None or op not in TESTS or not re.search(
            r"区县|地区|盟市|城市|市|县|区|镇|街道|乡|旗|省", plan.question):
        return None
    found = column_places(kb, plan, 1)
    if not found:
        return None
    t, col, rows, places = found
    hits = [(label, c) for label, c in places if TESTS[op](c.value, x)]
    unit = places[0][1].unit
    where = _where(kb, t)
    if not hits:
        return Answer(f"根据{where}，没有“{col}”{BOUND_WORDS[op]}{fmt_num(x)}{unit}的地区。",
                      dedupe(cell_citations(kb, t, places[0][1])[:1]), intent="filter")
    figures = tuple(_fig(kb, t, c) for _, c in hits)
    count = Figure("地区个数", float(len(hits)), "个", "按条件计数", figures)
    listed = "、".join(f"{label}（{value_words(c)}）" for label, c in hits)
    return Answer(f"根据{where}，“{col}”{BOUND_WORDS[op]}{fmt_num(x)}{unit}的有{len(hits)}个：{listed}。",
                  dedupe(c for _, cell in hits for c in cell_citations(kb, t, cell)), figures + (count,),
                  intent="filter", trace=("places past a bound",))


def answer_adds_up(kb, plan: QueryPlan) -> Answer | None:
    """"各区县化学需氧量减排量合计和专栏1的全市目标对得上吗": the places' sum against the total row and
    against the overall table's figure for the same measure, units converted."""
    if not CHECK.search(plan.question) or plan.scope.regions:
        return None
    found = column_places(kb, plan, 2)
    if not found:
        return None
    t, col, rows, places = found
    unit = places[0][1].unit
    parts = tuple(_fig(kb, t, c) for _, c in places)
    total = sum(p.value for p in parts)
    summed = Figure(f"各地区“{col}”之和", total, unit, " + ".join(fmt_num(p.value, 4) for p in parts)
                    + f" = {fmt_num(total, 4)}", parts)
    lines = [f"根据{_where(kb, t)}，各地区“{col}”相加为{fmt_num(total, 4)}{unit}"]
    cites = [c for _, cell in places for c in cell_citations(kb, t, cell)[:1]]
    figures = [summed]
    verdicts = []
    row = _total(rows, col)
    if row:
        same = abs(row[1].value - total) < 1e-6 * max(1.0, abs(total))
        lines.append(f"表中“{row[0]}”行为{value_words(row[1])}，{'一致' if same else '不一致'}")
        verdicts.append(same)
        figures.append(_fig(kb, t, row[1]))
        cites += list(cell_citations(kb, t, row[1]))
    whole = _overall_cell(kb, plan, t, col, unit, total_row=False)
    if whole:
        t2, c2, factor = whole
        value = c2.value * factor
        same = abs(value - total) < 1e-6 * max(1.0, abs(total))
        scaled = "" if factor == 1.0 else f"，即{fmt_num(value, 4)}{unit}"
        lines.append(f"{t2.title}中“{c2.row_label}”{c2.column}为{value_words(c2)}{scaled}，{'一致' if same else '不一致'}")
        verdicts.append(same)
        figures.append(_fig(kb, t2, c2))
        if factor != 1.0:
            figures.append(Figure(f"{c2.row_label}（换算为{unit}）", value, unit,
                                  f"{fmt_num(c2.value, 4)}{c2.unit} × {fmt_num(factor, 4)}", (figures[-1],)))
        cites += list(cell_citations(kb, t2, c2))
    if not verdicts:
        return None
    verdict = "对得上。" if all(verdicts) else "对不上，请以原文为准并向编制单位核实。"
    return Answer("；".join(lines) + "。" + ("两处" if len(verdicts) > 1 else "") + verdict, dedupe(cites),
                  tuple(figures), intent="audit", trace=("places against the totals",))


def answer_heaviest_task(kb, plan: QueryPlan) -> Answer | None:
    """"东湖区三项重点工程减排量里哪项最多": among one place's columns of the kind asked (one unit), the largest."""
    if len(plan.scope.regions) != 1 or plan.measure.indicators or not re.search(
            r"哪项|哪一项|哪个指标|什么指标|哪方面|哪种", plan.question):
        return None
    place = plan.scope.regions[0]
    for t in _region_tables(kb, plan):
        row = {c.column: c for c in t.cells if c.row_label == place and c.value is not None}
        if len(row) < 2:
            continue
        scored = sorted(((_column_score(col, plan), col) for col in row), reverse=True)
        top = scored[0][0]
        family = [row[col] for s, col in scored if top <= 0.3 or s >= 0.6 * top]
        units = {c.unit for c in family}
        low = bool(re.search(r"最轻|最小|最低|最少", plan.question))
        high = bool(re.search(r"最重|最大|最高|最多", plan.question)) or not low
        if len(family) >= 2 and len(units) > 1:
            # "城关区三项指标里哪项最大": 微克/立方米 and 吨 are not comparable; the same-unit ones are
            listed = "；".join(f"{c.column}{value_words(c)}" for c in family)
            lines = [f"根据{_where(kb, t)}，{place}的{cn_int(len(family))}项单位不同（{'、'.join(sorted(units))}），"
                     f"不能直接比较大小。各项为：{listed}。"]
            for unit in sorted(units):
                same = [c for c in family if c.unit == unit]
                if len(same) >= 2:
                    ends = ([("最大", max(same, key=lambda c: c.value))] if high else []) + (
                        [("最小", min(same, key=lambda c: c.value))] if low else [])
                    lines.append(f"其中以{unit}计的{'两' if len(same) == 2 else cn_int(len(same))}项中，" + "，".join(
                        f"“{c.column}”{word}" for word, c in ends) + "。")
            return Answer("\n".join(lines), dedupe(x for c in family for x in cell_citations(kb, t, c)),
                          tuple(_fig(kb, t, c) for c in family), refused=len(lines) == 1, intent="rank",
                          trace=("columns of a place in different units",))
        if len(family) < 2:
            continue
        ends = ([("最大", max(family, key=lambda c: c.value))] if high else []) + (
            [("最小", min(family, key=lambda c: c.value))] if low else [])
        listed = "；".join(f"{c.column}{value_words(c)}" for c in family)
        figures = tuple(_fig(kb, t, c) for c in family)
        said = "，".join(f"“{c.column}”{word}，为{value_words(c)}" for word, c in ends)
        return Answer(f"根据{_where(kb, t)}，{place}的{cn_int(len(family))}项中{said}。（{place}各项：{listed}）",
                      dedupe(x for _, c in ends for x in cell_citations(kb, t, c)), figures,
                      intent="rank", trace=("largest column of one kind for a place",))
    return None


def answer_place_backcast(kb, plan: QueryPlan) -> Answer | None:
    """"北山区PM2.5到2025年要比2020年下降11.4%，目标是31，倒推2020年": the place's target from the table and
    the cut the prose states for that place give the base: target ÷ (1 − cut)."""
    if len(plan.scope.regions) != 1 or not re.search(r"倒推|推算|反推|折算|倒算", plan.question):
        return None
    found = _place_value(kb, plan)
    if not found:
        return None
    t, col, _rows, place, mine = found
    key = _grams(re.sub(r"目标|任务|[（(][^）)]*[）)]", "", col))
    cuts = [f for f in kb.facts if f.doc_id == t.doc_id and f.unit == "%" and place in f.sentence
            and len(_grams(f.sentence) & key) >= max(1, len(key) // 2)]
    if not cuts:
        return None
    cut = cuts[0]
    value = _fig(kb, t, mine)
    down = bool(re.search(r"下降|降低|减少|削减", cut.action + cut.quote))
    change = Figure(f"{place}{cut.subject}（{cut.action}）", -cut.value if down else cut.value, "%", "", (),
                    fact_citation(kb, cut))
    result = calc.backcast(value, change)
    base = f"{cut.base_year}年" if cut.base_year else "基期"
    text = (f"{_where(kb, t)}中{place}“{col}”为{value_words(mine)}；规划正文写明“{cut.quote}”。"
            f"按此反推，{place}{base}约为{fmt_num(result.value, 1)}{mine.unit}。")
    return Answer(text, dedupe(list(cell_citations(kb, t, mine)) + [fact_citation(kb, cut)]),
                  (result, value, change), intent="compute", trace=("backcast a place's base",))


def refuse_other_measure(kb, plan: QueryPlan) -> Answer | None:
    """A place's value asked as a percentage ("下降百分之多少") or as emissions ("排放总量") where the region table
    holds amounts cut ("减排量"): say what the table gives instead of answering another measure."""
    asked_pct = bool(PERCENT_ASKED.search(plan.question))
    asked_emitted = bool(EMITTED.search(plan.question)) and not REDUCED.search(plan.question)
    if not (asked_pct or asked_emitted) or plan.operation.kind not in ("lookup", "fact", "narrative", "rank"):
        return None
    found = region_column(kb, plan)
    if not found:
        return None
    t, col, rows = found
    if plan.scope.regions:
        cells = [rows.get(p, {}).get(col) for p in plan.scope.regions]
    else:
        total = _total(rows, col) if plan.scope.overall or WHOLE.search(plan.question) else None
        cells = [total[1]] if total else []
    cells = [c for c in cells if c is not None and c.value is not None]
    if not cells:
        return None
    wrong_unit = asked_pct and all(c.unit and c.unit != "%" for c in cells)
    wrong_measure = asked_emitted and REDUCED.search(col) and not EMITTED.search(col)
    if not (wrong_unit or wrong_measure):
        return None
    what = "下降的百分比" if wrong_unit else "排放总量"
    stated = "、".join(f"{c.row_label}“{col}”{value_words(c)}" for c in cells)
    return Answer(f"{_where(kb, t)}只给出{stated}，没有给出{what}，无法回答这一问。",
                  dedupe(c for cell in cells for c in cell_citations(kb, t, cell)), refused=True, intent="out_of_scope",
                  trace=("region table holds another measure",))


# a place the question names as the subject: after a boundary, a name of two to four characters and its kind
PLACE_WORD = re.compile(r"(?:^|(?<=[，,、和与及的里中在：:]))[\u4e00-\u9fff]{2,4}?(?:镇街道|街道|镇|乡|新区|工业区)"
                        r"(?=分到|分配|承担|的|任务|有|是|要|呢|[，,？?]|$)")


def refuse_place_not_in_table(kb, plan: QueryPlan) -> Answer | None:
    """"嘉定镇街道分到的任务量": a place the question names that the document's place table does not list is
    refused with the places it does list (never answered from another row or another document)."""
    if plan.scope.regions or not plan.scope.doc_ids or plan.operation.kind not in ("lookup", "fact", "compare"):
        return None
    tables = [t for t in kb.tables if t.doc_id in plan.scope.doc_ids and is_region_table(t)]
    if not tables:
        return None
    title = " ".join(doc_title(kb, d) + " " + kb.doc_name(d) for d in plan.scope.doc_ids)
    labels = {r for t in kb.tables if t.doc_id in plan.scope.doc_ids for r in t.row_labels}
    text = re.sub(r"《[^》]*》", "", plan.question)
    for m in PLACE_WORD.finditer(text):
        place = re.sub(r"^(?:表中|表里|里的|中的|其中|那么|那|和|与|及|的|里|中)+", "", m.group(0))
        if len(place) < 3 or place in title or any(place in r or r in place for r in labels) or re.match(
                r"^(?:全|各|城|农|乡|本|该|每|示范|重点)", place):
            continue
        t = tables[0]
        listed = [r for r in t.row_labels if not is_overall(r)]
        return Answer(f"《{doc_title(kb, t.doc_id)}》{t.title}中没有“{place}”；表中列出的是：" + "、".join(listed[:30])
                      + ("等" if len(listed) > 30 else "") + "。", (cell_citations(kb, t, t.cells[0])[0],),
                      refused=True, intent="out_of_scope", trace=(f"place not in the table: {place}",))
    return None


REGION_OPS = (refuse_place_not_in_table, refuse_other_measure, answer_share, answer_versus_whole, answer_spread, answer_places_past,
              answer_adds_up, answer_heaviest_task, answer_place_backcast)
