"""Operations that compose: sums over prose quantities, the spread of a series, a region's heaviest task,
thresholds on one indicator, a region against the overall target, percentage points, multi-year lookups,
and the refusal when the question asks for a quantity the plan does not state.

Each takes the knowledge base and the QueryPlan and returns an Answer or None (not its kind); every figure is
a cited cell or fact, or a computation whose inputs are.
"""

from __future__ import annotations

import re

from assistant.plan import QueryPlan
from kb.errors import NotInKnowledgeBase
from kb.records import Answer, Figure
from kb.tokens import plain_bigrams
from kb.vocab import indicator_key, is_region_table
from tools.base import cell_citations, dedupe, fact_citation, fact_figure, fmt_num
from tools.facts import find_facts
from tools.tables import series

SUM_WORDS = re.compile(r"一共|合计|总共|加起来|总计|共计|总和")
SPLIT_SUBJECTS = re.compile(r"[和与及、]|加上|(?<![增追参添叠施更])加(?![强快装大工油密固速入剧紧以])")
STRICTER = re.compile(r"更严|更高|更大|要求更|高于|比.{0,4}(?:全区|全省|全市|总体)")


def _figure(kb, t, c, label: str | None = None) -> Figure:
    return Figure(label or f"{c.row_label} {c.column}", c.value, c.unit, "", (), cell_citations(kb, t, c)[1], c.flag)


def _row_value(kb, plan: QueryPlan, subject: str):
    """The target cell of an indicator-table row named by `subject` in the documents asked about, or None."""
    ids = set(plan.scope.doc_ids)
    best = None
    for t in kb.tables:
        if ids and t.doc_id not in ids or is_region_table(t):
            continue
        for c in t.cells:
            if c.value is None or c.role not in ("target", "value", "cumulative"):
                continue
            label = re.sub(r"[（(][^）)]*[）)]|\s", "", c.row_label)
            near = len(plain_bigrams(subject) & plain_bigrams(label)) / max(len(plain_bigrams(label)), 1) >= 0.6
            if (subject in label and near) or (len(label) >= 3 and label in subject):
                score = (c.role == "target", -abs(len(label) - len(subject)))
                if best is None or score > best[0]:
                    best = (score, t, c)
    return None if best is None else best[1:]


def answer_fact_sum(kb, plan: QueryPlan) -> Answer | None:
    """"电石和焦炭淘汰量一共多少", "老旧供水管网改造和排水主管修复改造加起来多少公里": each part's quantity (a
    prose fact, or the target of a table row of that name), then their sum (same unit only)."""
    if plan.scope.regions or not SUM_WORDS.search(plan.question):
        return None
    head = SUM_WORDS.split(plan.question)[0]
    action = next((a for a in ("淘汰", "新建", "建设", "建成", "新增", "改造", "完成") if a in head), None)
    core = re.sub(r"(?:淘汰|新建|建设|建成|新增|改造|完成)?量?$", "", re.sub(r"[？?，,。]", "", head)).strip()
    core = re.sub(r"^.*(?:规划|方案|计划|通知|表)(?:中|里|内|上)?(?:说|提出|明确|要求)?", "", core) or core
    subjects = [s for s in SPLIT_SUBJECTS.split(core) if len(s) >= 2]
    if len(subjects) < 2:
        return None
    asked_parts = list(subjects)
    # "“十二五”钢铁行业要淘汰的炼铁、炼钢、铁合金产能": the parts are 炼铁, 炼钢, 铁合金
    subjects[0] = re.sub(r"^.*(?:的|淘汰|新建|建设|建成|新增|改造|完成|实施)(?=[\u4e00-\u9fff]{2})", "", subjects[0])
    subjects[0] = re.sub(r"^(?:全区|全市|全县|全省)", "", subjects[0]) or subjects[0]
    subjects[-1] = re.sub(r"(?<=[\u4e00-\u9fff]{2})(?:产能|能力|任务|规模|数量)$", "", subjects[-1])
    rows = [_row_value(kb, plan, subject) for subject in subjects]
    options = []
    for subject, row in zip(subjects, rows):
        if row is not None:
            options.append([])
            continue
        want = plain_bigrams(subject)
        # the part's own words must be the fact's ("“美丽家园”特色小区" is not "…“美丽家园”示范小区")
        hits = [f for _, f in find_facts(kb, subject + (action or ""), action, limit=8)
                if (len(want & plain_bigrams(f.subject)) / max(len(want), 1) >= 0.6 if len(want) >= 3
                    else subject[:2] in f.subject) and (not plan.scope.doc_ids or f.doc_id in plan.scope.doc_ids)]
        if not hits:
            return _sum_in_one_sentence(kb, plan, asked_parts)
        options.append(hits)
    # Parts of one total are stated together ("新建环卫公厕3座，改建大修环卫公厕40座"): a sentence holding a
    # candidate of every part wins over each part's best match taken from different places.
    fact_options = [hits for hits in options if hits]
    shared = set.intersection(*({f.sentence for f in hits} for hits in fact_options)) if fact_options else set()
    parts = []  # (asked name, Figure, citation)
    for subject, row, hits in zip(subjects, rows, options):
        if row is not None:
            t, c = row
            cite = cell_citations(kb, t, c)
            parts.append((re.sub(r"[（(][^）)]*[）)]", "", c.row_label).strip(), _figure(kb, t, c), cite))
            continue
        if shared:
            sentence = min(shared, key=lambda s: min(f.start for h in fact_options for f in h if f.sentence == s))
            f = next(f for f in hits if f.sentence == sentence)
        else:
            f = hits[0]
        parts.append((subject, Figure(f"{f.subject}（{f.action}）", f.value, f.unit, "", (), fact_citation(kb, f)),
                      (fact_citation(kb, f),)))
    citations = dedupe(c for _, _, cites in parts for c in cites)
    units = {fig.unit for _, fig, _ in parts}
    if len(units) != 1:
        listed = "、".join(f"{name}{fmt_num(fig.value, 4)}{fig.unit}" for name, fig, _ in parts)
        return Answer(f"这几项的单位不同（{listed}），不能直接相加。", citations, refused=True, intent="compute")
    unit = units.pop()
    inputs = tuple(fig for _, fig, _ in parts)
    total = sum(fig.value for fig in inputs)
    formula = " + ".join(fmt_num(fig.value, 4) for fig in inputs) + f" = {fmt_num(total, 4)}"
    # each part named as asked, with the value the plan states for it (the quotes are the citations)
    listed = "，".join(f"{name}{fmt_num(fig.value, 4)}{unit}" for name, fig, _ in parts)
    return Answer(f"{listed}；合计{fmt_num(total, 4)}{unit}。", citations,
                  inputs + (Figure("合计", total, unit, formula, inputs),), intent="compute",
                  trace=(f"sum of {len(parts)} parts",))


def _anchors(part: str, sentence: str):
    """(end offset in the sentence, length) of each piece (two characters or more) of `part` the sentence
    prints, longest first."""
    for size in range(len(part), 1, -1):
        for i in range(len(part) - size, -1, -1):
            piece = part[i:i + size]
            if re.fullmatch(r"[\u4e00-\u9fff]{2,}", piece) and piece not in GENERIC_PIECES:
                at = sentence.rfind(piece)
                if at >= 0:
                    yield at + size, size


GENERIC_PIECES = {"完成", "任务", "建设", "目标", "要求", "达到", "全区", "全市", "一共", "多少"}


def _facts_by_sentence(kb, plan: QueryPlan) -> dict[str, list]:
    """The prose facts of the documents in scope, grouped by the sentence that states them (document order)."""
    out: dict[str, list] = {}
    for f in kb.facts:
        if not plan.scope.doc_ids or f.doc_id in plan.scope.doc_ids:
            out.setdefault(f.sentence, []).append(f)
    return out


def _sum_in_one_sentence(kb, plan: QueryPlan, parts: list[str]) -> Answer | None:
    """"高标准农田新增建设和改造提升一共多少万亩" over "完成新增建设13万亩、改造提升11万亩高标准农田任务": one
    sentence prints every part's words, each followed by its quantity; the parts' quantities, then their sum."""
    asked = plain_bigrams("".join(parts))
    best = None
    for sentence, facts in _facts_by_sentence(kb, plan).items():
        if len(facts) < len(parts) or len(asked & plain_bigrams(sentence)) < 0.5 * len(asked):
            continue
        placed = []  # (part, fact) with the fact the first quantity printed after the part's words
        for part in parts:
            found = None
            for end, size in _anchors(part, sentence):
                after = [(sentence.find(f.raw, end), f) for f in facts if sentence.find(f.raw, end) >= end]
                if not after:
                    continue
                at, f = min(after, key=lambda x: x[0])
                if re.search(r"[，、；。,;]", sentence[end:at]) or any(f is g for _, g in placed):
                    continue  # the quantity belongs to the next clause, or to another part
                found = (sentence[end - size:end], f)
                break
            if found is None:
                break
            placed.append(found)
        else:
            if len({f.unit for _, f in placed}) == 1:
                score = len(asked & plain_bigrams(sentence))
                if best is None or score > best[0]:
                    best = (score, placed)
    if best is None:
        return None
    placed = best[1]
    figs = tuple(fact_figure(kb, f) for _, f in placed)
    unit = placed[0][1].unit
    total = sum(f.value for _, f in placed)
    result = Figure("合计", total, unit, " + ".join(fmt_num(f.value, 4) for _, f in placed) + f" = {fmt_num(total, 4)}",
                    figs)
    listed = "，".join(f"{name}{fmt_num(f.value, 4)}{unit}" for name, f in placed)
    quote = placed[0][1].sentence
    return Answer(f"{listed}；合计{fmt_num(total, 4)}{unit}。原文：“{quote}”",
                  dedupe(fact_citation(kb, f) for _, f in placed), figs + (result,), intent="compute",
                  trace=(f"sum of {len(placed)} parts in one sentence",))


LEVEL_NOW = re.compile(r"现在|目前|现有|原有|原来|当前|此前|之前")
INCREASE = ("新增", "增加", "新建", "增长")


def answer_level_before(kb, plan: QueryPlan) -> Answer | None:
    """"新增300座以上、总数达到1400座以上，现在大概有多少座": the level before the period, from the total the plan
    sets and the increase it sets for the same thing in the same sentence (total − increase)."""
    if not LEVEL_NOW.search(plan.question) or not re.search(r"多少|几", plan.question):
        return None
    titles = plain_bigrams("".join(kb.doc_label(d) for d in plan.scope.doc_ids))
    named = plain_bigrams(LEVEL_NOW.sub("", plan.question))
    asked = named - titles
    best = None
    for sentence, facts in _facts_by_sentence(kb, plan).items():
        overlap = len(asked & plain_bigrams(sentence))
        if overlap < 2:
            continue
        for inc in (f for f in facts if f.action in INCREASE):
            for tot in facts:
                if tot is inc or tot.unit != inc.unit or tot.action in INCREASE or tot.value <= inc.value:
                    continue
                noun = plain_bigrams(re.sub(r"总数|总量|总计|累计|全市|全区|全省|各类", "", tot.subject))
                if not noun & plain_bigrams(inc.subject) or not noun & named:
                    continue  # the total and the increase count the same thing, the thing asked about
                if plan.measure.unit and plan.measure.unit != tot.unit:
                    continue
                if best is None or overlap > best[0]:
                    best = (overlap, inc, tot)
    if best is None:
        return None
    _, inc, tot = best
    figs = (fact_figure(kb, tot), fact_figure(kb, inc))
    level = tot.value - inc.value
    result = Figure("推算的现有量", level, tot.unit, f"{fmt_num(tot.value, 4)} − {fmt_num(inc.value, 4)} = "
                    f"{fmt_num(level, 4)}", figs)
    bounds = "两个数都是下限（“以上”），推算值只是大致的数。" if inc.qualifier and tot.qualifier else ""
    text = (f"规划没有直接写现有数量。按规划的“{tot.quote}”和“{inc.quote}”推算：现有约{fmt_num(level, 4)}{tot.unit}"
            f"（{fmt_num(tot.value, 4)} − {fmt_num(inc.value, 4)}）。{bounds}")
    return Answer(text, dedupe((fact_citation(kb, tot), fact_citation(kb, inc))), figs + (result,),
                  intent="compute", trace=("level before = total − increase",))


def _series(kb, plan: QueryPlan):
    if not plan.measure.indicators:
        return []
    try:
        matches = series(kb, plan.measure.indicators[0])
    except NotInKnowledgeBase:
        return []
    return [m for m in matches if m.cell.value is not None and m.cell.row_label not in plan.scope.exclude]


def answer_range(kb, plan: QueryPlan) -> Answer | None:
    """The spread between the largest and the smallest value of a region series."""
    if plan.operation.kind != "range":
        return None
    matches = _series(kb, plan)
    if len(matches) < 2:
        return None
    hi = max(matches, key=lambda m: m.cell.value)
    lo = min(matches, key=lambda m: m.cell.value)
    a, b = _figure(kb, hi.table, hi.cell), _figure(kb, lo.table, lo.cell)
    diff = hi.cell.value - lo.cell.value
    unit = hi.cell.unit
    points = "个百分点" if unit == "%" else unit
    spread = Figure("最大值与最小值之差", diff, points, f"{fmt_num(a.value, 4)} − {fmt_num(b.value, 4)}", (a, b))
    column = hi.cell.column
    text = (f"根据{hi.table.title}，“{column}”最大的是{hi.cell.row_label}（{hi.cell.raw}{'' if hi.cell.raw.endswith(unit) else unit}），"
            f"最小的是{lo.cell.row_label}（{lo.cell.raw}{'' if lo.cell.raw.endswith(unit) else unit}），"
            f"两者相差{fmt_num(diff, 4)}{points}。")
    return Answer(text, dedupe(list(cell_citations(kb, hi.table, hi.cell)) + list(cell_citations(kb, lo.table, lo.cell))),
                  (a, b, spread), intent="compute", trace=("range over regions",))


def answer_region_profile_rank(kb, plan: QueryPlan) -> Answer | None:
    """"包头市哪项减排任务最重": across one region's indicators (same unit), the largest (or smallest)."""
    if plan.operation.kind not in ("rank", "nth", "lookup", "fact", "narrative") or len(plan.scope.regions) != 1:
        return None
    if plan.measure.indicators or not re.search(r"哪项|哪个指标|哪一项|什么指标|哪方面", plan.question):
        return None
    region = plan.scope.regions[0]
    cells = [(t, c) for t in kb.tables if is_region_table(t) for c in t.cells
             if c.row_label == region and c.value is not None]
    if len(cells) < 2:
        return None
    units = {c.unit for _, c in cells}
    if len(units) != 1:
        return None
    desc = not re.search(r"最轻|最小|最低|最少", plan.question)
    t, best = (max if desc else min)(cells, key=lambda x: x[1].value)
    listed = "；".join(f"{c.column}{c.raw}" for _, c in cells)
    figures = tuple(_figure(kb, tt, c) for tt, c in cells)
    word = "最大" if desc else "最小"
    return Answer(f"根据{t.title}，{region}各项目标中“{best.column}”{word}，为{best.raw}"
                  f"{'' if best.raw.endswith(best.unit) else best.unit}。（{region}各项：{listed}）",
                  dedupe(cell_citations(kb, t, best)), figures, intent="rank", trace=("rank within a region",))


def answer_indicator_threshold(kb, plan: QueryPlan) -> Answer | None:
    """"氮氧化物降低目标不低于15%的盟市有哪些": regions of one indicator meeting a bound."""
    if plan.operation.kind != "filter" or plan.operation.threshold is None or not plan.measure.indicators:
        return None
    matches = _series(kb, plan)
    if not matches:
        return None
    x, op = plan.operation.threshold, plan.operation.comparator
    test = {"≥": lambda v: v >= x, ">": lambda v: v > x, "≤": lambda v: v <= x, "<": lambda v: v < x}.get(op)
    if test is None:
        return None
    hits = [m for m in matches if test(m.cell.value)]
    word = {"≥": "不低于", ">": "高于", "≤": "不高于", "<": "低于"}[op]
    column = matches[0].cell.column
    unit = matches[0].cell.unit
    if not hits:
        return Answer(f"根据{matches[0].table.title}，没有“{column}”{word}{fmt_num(x)}{unit}的地区。",
                      dedupe(cell_citations(kb, matches[0].table, matches[0].cell)[:1]), intent="filter")
    figures = tuple(_figure(kb, m.table, m.cell) for m in hits)
    count = Figure("地区个数", float(len(hits)), "个", "按条件计数")
    listed = "、".join(f"{m.cell.row_label}（{m.cell.raw}）" for m in hits)
    return Answer(f"根据{hits[0].table.title}，“{column}”{word}{fmt_num(x)}{unit}的有{len(hits)}个：{listed}。",
                  dedupe(c for m in hits for c in cell_citations(kb, m.table, m.cell)), figures + (count,),
                  intent="filter", trace=("threshold over one indicator",))


def _overall_change(kb, key: str):
    for t in kb.tables:
        if is_region_table(t):
            continue
        for c in t.cells:
            if indicator_key(c.row_label) == key and c.value is not None and c.unit == "%" and (
                    c.role == "change" or re.search(r"下降|降低|增长|变化", c.column)):
                return t, c
    return None


def answer_region_vs_overall(kb, plan: QueryPlan) -> Answer | None:
    """"乌海市二氧化硫减排目标比全区要求更严吗": the region's cut beside the overall one."""
    if len(plan.scope.regions) != 1 or not plan.measure.indicators or not STRICTER.search(plan.question):
        return None
    if not re.search(r"全区|全省|全市|总体|整体", plan.question):
        return None
    region = plan.scope.regions[0]
    key = indicator_key(plan.measure.indicators[0])
    mine = next(((t, c) for t in kb.tables if is_region_table(t) for c in t.cells
                 if c.row_label == region and indicator_key(c.column) == key and c.value is not None), None)
    whole = _overall_change(kb, key)
    if not mine or not whole:
        return None
    (t1, c1), (t2, c2) = mine, whole
    a, b = abs(c1.value), abs(c2.value)
    fa, fb = _figure(kb, t1, c1), _figure(kb, t2, c2, f"全区 {c2.row_label} {c2.column}")
    diff = Figure("相差", abs(a - b), "个百分点", f"|{fmt_num(a, 4)} − {fmt_num(b, 4)}|", (fa, fb))
    verdict = "更严" if a > b else ("与全区相同" if a == b else "比全区宽松")
    text = (f"{region}“{c1.column}”为{fmt_num(a, 4)}%（{t1.title}），全区{c2.row_label}{c2.column}为{c2.raw}"
            f"（{t2.title}，即下降{fmt_num(b, 4)}%）；{region}的要求{verdict}，相差{fmt_num(abs(a - b), 4)}个百分点。")
    return Answer(text, dedupe(list(cell_citations(kb, t1, c1)) + list(cell_citations(kb, t2, c2))), (fa, fb, diff),
                  intent="compare", trace=("region against the overall target",))


def answer_points(kb, plan: QueryPlan) -> Answer | None:
    """"提高了多少个百分点": the target share minus the base share, in percentage points."""
    if plan.measure.quantity != "points" or not plan.measure.indicators or plan.scope.regions:
        return None
    key = indicator_key(plan.measure.indicators[0])
    for t in kb.tables:
        if is_region_table(t):
            continue
        row = [c for c in t.cells if indicator_key(c.row_label) == key and c.value is not None]
        years = sorted((c for c in row if c.year), key=lambda c: c.year)
        if len(years) < 2 or not (years[0].unit == years[-1].unit == "%" or "%" in (t.unit or "") or
                                  "%" in row[0].column_unit):
            continue
        base, target = years[0], years[-1]
        fa, fb = _figure(kb, t, base), _figure(kb, t, target)
        diff = target.value - base.value
        word = "提高" if diff >= 0 else "下降"
        points = Figure(f"{word}的百分点", abs(diff), "个百分点",
                        f"{fmt_num(target.value, 4)} − {fmt_num(base.value, 4)}", (fa, fb))
        return Answer(f"根据{t.title}，{base.row_label}由{base.year}年的{base.raw}%变为{target.year}年的{target.raw}%，"
                      f"{word}{fmt_num(abs(diff), 4)}个百分点。", dedupe(cell_citations(kb, t, base)), (fa, fb, points),
                      intent="compute", trace=("percentage points",))
    return None


def _dimension(unit: str) -> str:
    """What a unit measures: area, length, volume, mass or money ("" when it is a count or unknown)."""
    u = unit or ""
    if re.search(r"平方|公顷|亩", u):
        return "area"
    if re.search(r"立方", u):
        return "volume"
    if re.search(r"^(?:万|千)?(?:公里|千米|米)$", u):
        return "length"
    if re.search(r"^(?:万|亿)?吨$", u):
        return "mass"
    if re.search(r"^(?:千|万|百万|亿)?元$", u):
        return "money"
    return ""


def refuse_wrong_quantity(kb, plan: QueryPlan, answer: Answer) -> Answer:
    """An amount asked ("多少吨") where the answer's figures are percentages: say what the plan states instead."""
    asked = plan.measure.unit
    if not asked or answer.refused or not answer.figures or plan.operation.kind in ("count", "metadata"):
        return answer
    units = {f.unit for f in answer.figures if f.unit}
    dims = {_dimension(u) for u in units}
    if units and _dimension(asked) and "" not in dims and _dimension(asked) not in dims:
        # "游径总长度是多少公里" answered with 15.6平方公里: an area is not a length
        stated = "、".join(f"{f.label}{fmt_num(f.value, 4)}{f.unit}" for f in answer.figures[:3])
        return Answer(f"规划给出的是{stated}，不是以{asked}计的数量；规划没有写明问题所问的{asked}数，无法回答。",
                      answer.citations, answer.figures, refused=True, intent="out_of_scope",
                      trace=answer.trace + ("another kind of quantity than asked",), understood=answer.understood,
                      plan=answer.plan)
    if not units or any(asked in u or u in asked for u in units) or units - {"%", "个百分点"}:
        return answer
    what = "、".join(dict.fromkeys(f.label for f in answer.figures[:3]))
    year = f"{plan.measure.year}年的" if plan.measure.year else ""
    stated = "、".join(f"{f.label}{fmt_num(f.value, 4)}{f.unit}" for f in answer.figures[:3])
    return Answer(f"规划只给出{what}的比例（{stated}），没有给出{year}以{asked}计的数量，无法回答。", answer.citations,
                  answer.figures, refused=True, intent="out_of_scope", trace=answer.trace + ("unit asked not stated",),
                  understood=answer.understood, plan=answer.plan)


TARGET_ASKED = re.compile(r"到(?:19|20)\d{2}年(?:底|末)?.{0,12}(?:要|将|达到|增加|增至|新增|建成)|"
                          r"(?:要|将)(?:增加|达到|新增|提高|建成|增至|扩大)到?|增加到|增至|目标")
STATUS_CLAUSE = re.compile(r"目前|现有|现已|已有|已建成|截至|截止|现状|已经")
PLANNED_CLAUSE = re.compile(r"到(?:19|20)\d{2}|力争|将|计划|目标|新增|规划|预计")


def refuse_status_for_target(plan: QueryPlan, answer: Answer) -> Answer:
    """"到2025年优秀历史建筑要增加到多少处" answered by "目前全区有…289处": today's count is not the target.
    Say what the plan states instead."""
    if answer.refused or answer.intent != "fact" or not answer.figures or not TARGET_ASKED.search(plan.question):
        return answer
    if STATUS_CLAUSE.search(plan.question):
        return answer  # the question asks about today itself
    quotes = [c.quote for c in answer.citations if c.quote]
    if not quotes:
        return answer
    for f in answer.figures:
        number = fmt_num(f.value, 4)
        clauses = [c for q in quotes for c in re.split(r"[，,；;。]", q) if number in c.replace(",", "")]
        if not clauses or not all(STATUS_CLAUSE.search(c) and not PLANNED_CLAUSE.search(c) for c in clauses):
            return answer
    stated = "、".join(re.sub(r"[（(][）)]", "", f.label) + f"{fmt_num(f.value, 4)}{f.unit}" for f in answer.figures[:3])
    return Answer(f"规划只写了目前的情况（{stated}），没有给出问题所问的目标数量，无法回答。", answer.citations,
                  answer.figures, refused=True, intent="out_of_scope", trace=answer.trace + ("status, not a target",),
                  understood=answer.understood, plan=answer.plan)


DOUBLING = re.compile(r"翻了?(一|两|二|三)番")


def answer_doubling(kb, plan: QueryPlan) -> Answer | None:
    """"计划启动30万平方米…较十三五翻一番，那十三五大约是多少": the stated figure ÷ 2 (翻两番 ÷ 4), from the sentence
    that says both."""
    if not DOUBLING.search(plan.question) or not re.search(r"多少|几", plan.question):
        return None
    stated = {float(x) for x in re.findall(r"\d+(?:\.\d+)?", re.sub(r"(?:19|20)\d{2}年", "", plan.question))}
    for f in kb.facts:
        m = DOUBLING.search(f.sentence)
        if m is None or (plan.scope.doc_ids and f.doc_id not in plan.scope.doc_ids) or (stated and f.value not in stated):
            continue
        times = {"一": 2, "两": 4, "二": 4, "三": 8}[m.group(1)]
        from assistant.executor import quote_citation

        base = fact_figure(kb, f)
        factor = Figure("倍数", float(times), "倍", f"{m.group(0)} = 原来的{times}倍")
        result = Figure("推算的原数", f.value / times, f.unit, f"{fmt_num(f.value, 4)} ÷ {times} = {fmt_num(f.value / times, 4)}",
                        (base, factor))
        whole = quote_citation(kb, f.doc_id, f.sentence)
        then = re.search(r"(?:较|比)“?(十[一二三四五六七八九]五)”?", f.sentence)
        period = f"“{then.group(1)}”" if then else "原来"
        text = (f"规划写明：“{f.quote}”，并说{m.group(0)}（为原来的{times}倍）。按此推算，{period}约为"
                f"{fmt_num(result.value, 4)}{f.unit}（{fmt_num(f.value, 4)} ÷ {times}）。这是推算值，规划没有直接写出。")
        return Answer(text, dedupe([fact_citation(kb, f)] + ([whole] if whole else [])), (base, factor, result),
                      intent="compute", trace=("doubling backcast",))
    return None


YEARS_TOTAL = re.compile(r"([两二三四五六七八九十]|\d{1,2})年(?:内|间|里|期间)?(?:至少|一共|共|合计|累计|总共|总计|加起来)")
CN_N = {"两": 2, "二": 2, "三": 3, "四": 4, "五": 5, "六": 6, "七": 7, "八": 8, "九": 9, "十": 10}


def answer_yearly_times_years(kb, plan: QueryPlan) -> Answer | None:
    """"每年安排专项资金不少于3亿元，五年至少安排多少": a yearly quantity the plan states × the years asked."""
    m = YEARS_TOTAL.search(plan.question)
    if m is None or not re.search(r"多少|几", plan.question):
        return None
    years = int(m.group(1)) if m.group(1).isdigit() else CN_N[m.group(1)]
    query = re.sub(r"“?十[一二三四五六七八九]五”?期间|[两二三四五六七八九十\d]+年(?:内|间|里|期间)?|至少|一共|合计|累计|总共|多少|几|[？?，,]",
                   "", plan.question)
    found = [(score, f) for score, f in find_facts(kb, query, None, limit=8) if "每年" in f.sentence[
        max(0, f.sentence.find(f.quote) - 12): f.sentence.find(f.quote) + len(f.quote)] and (
        not plan.scope.doc_ids or f.doc_id in plan.scope.doc_ids)]
    if not found:
        return None
    _, f = found[0]
    each = fact_figure(kb, f)
    n = Figure("年数", float(years), "年", f"问题所说的{m.group(1)}年")
    total = Figure(f"{years}年合计", f.value * years, f.unit, f"{fmt_num(f.value, 4)} × {years} = {fmt_num(f.value * years, 4)}",
                   (each, n))
    bound = "至少" if re.search(r"不少于|不低于|以上|超过|至少", f.quote) else "约"
    text = (f"规划写明：“{f.quote}”（每年）。按{m.group(1)}年计，合计{bound}{fmt_num(total.value, 4)}{f.unit}"
            f"（{fmt_num(f.value, 4)} × {years}）。")
    return Answer(text, (fact_citation(kb, f),), (each, n, total), intent="compute", trace=("yearly × years",))


VERB_PART = re.compile(r"^(?:新建|改造|新增|建设|建成|改建|扩建|提升|完成|淘汰)$")


def answer_shared_noun_sum(kb, plan: QueryPlan) -> Answer | None:
    """"新建和改造的污水管网一共多少公里": two verbs sharing one noun, each verb's quantity of it (one sentence)."""
    if not SUM_WORDS.search(plan.question):
        return None
    m = re.search(r"(新建|改造|新增|建设|建成|改建|扩建|提升)(?:和|与|及|、)(新建|改造|新增|建设|建成|改建|扩建|提升)(?:的)?"
                  r"([\u4e00-\u9fff]{2,12}?)(?:一共|合计|总共|加起来|总计|共计|共)", plan.question)
    if m is None:
        return None
    verbs, noun = (m.group(1), m.group(2)), m.group(3)
    tail = plain_bigrams(noun[-2:]) or plain_bigrams(noun)
    for facts in _facts_by_sentence(kb, plan).values():
        parts = []
        for verb in verbs:
            hit = next((f for f in facts if f.action == verb and (tail & plain_bigrams(f.subject))), None)
            if hit is None:
                break
            parts.append(hit)
        if len(parts) == 2 and parts[0] is not parts[1] and parts[0].unit == parts[1].unit:
            figs = tuple(fact_figure(kb, f) for f in parts)
            total = sum(f.value for f in parts)
            result = Figure("合计", total, parts[0].unit, " + ".join(fmt_num(f.value, 4) for f in parts), figs)
            listed = "，".join(f"{v}{fmt_num(f.value, 4)}{f.unit}（{f.subject}）" for v, f in zip(verbs, parts))
            quotes = "、".join(f"“{q}”" for q in dict.fromkeys(f.quote for f in parts))
            return Answer(f"{listed}；合计{fmt_num(total, 4)}{parts[0].unit}。原文：{quotes}",
                          dedupe(fact_citation(kb, f) for f in parts), figs + (result,), intent="compute",
                          trace=("two verbs, one noun",))
    return None


COMPOSED = (answer_doubling, answer_yearly_times_years, answer_level_before, answer_shared_noun_sum, answer_fact_sum, answer_range, answer_region_profile_rank, answer_indicator_threshold,
            answer_region_vs_overall, answer_points)
