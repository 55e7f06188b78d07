"""Computations on one indicator row of a target table: the yearly rate a cumulative cut over the period
implies, and the percentage change from the base value to the target.

Both take the row the question names (executor._row_matches), use only its cited cells and the years its
columns or the question state, and show the formula.
"""

from __future__ import annotations

import re

from assistant.executor import _row_matches, doc_title, value_words
from assistant.plan import QueryPlan
from kb.records import Answer, Figure
from tools import calc
from tools.base import cell_citations, dedupe, fmt_num

YEARLY = re.compile(r"年均|每年|平均每年|折合每年|一年")
FALLS = re.compile(r"降低|下降|减少|削减|减排|降幅")
RISES = re.compile(r"提高|增长|增加|提升")
CHANGE_ASKED = re.compile(r"降幅|增幅|下降了?(?:百分之|多少%|多少个?百分比|几成)|降低了?(?:百分之|多少%)|变化幅度|"
                          r"下降(?:比例|幅度)|(?:增长|提高)了?(?:百分之|多少%)|降了?(?:百分之)?多少(?!个百分点)")
CN_YEARS = {"两": 2, "二": 2, "三": 3, "四": 4, "五": 5, "六": 6, "七": 7, "八": 8, "九": 9, "十": 10}
PERIOD_WORDS = ("十一五", "十二五", "十三五", "十四五", "十五五")


def _years_in(question: str, table, cells) -> tuple[float | None, str]:
    """How many years the change spans: as asked ("五年"), else from the base and target years of the table."""
    m = re.search(r"([两二三四五六七八九十\d]+)年(?:累计|内|间|来|合计|共|里|期间|要|降|下降|降低)", question)
    if m:
        n = int(m.group(1)) if m.group(1).isdigit() else CN_YEARS.get(m.group(1))
        if n:
            return float(n), f"按问题所说的{m.group(1)}年"
    years = sorted({int(c.year) for c in cells if c.year})
    if len(years) >= 2:
        return float(years[-1] - years[0]), f"按{years[0]}—{years[-1]}年共{years[-1] - years[0]}年"
    names = table.title + " " + " ".join(table.columns)
    if any(w in names for w in PERIOD_WORDS):
        return 5.0, "按五年规划期"
    return None, ""


def answer_yearly_rate(kb, plan: QueryPlan) -> Answer | None:
    """"单位GDP二氧化碳排放五年累计降18%，年均要降多少": 1 − (1 − 18%)^(1/5) from the cumulative cell."""
    if plan.scope.regions or not (plan.measure.role == "annual" or YEARLY.search(plan.question)):
        return None
    if plan.operation.kind not in ("lookup", "fact", "narrative", "annual"):
        return None
    for t, label, cells in _row_matches(kb, plan)[:1]:
        if any(c.role == "annual" and c.value is not None for c in cells):
            return None  # the table states the yearly figure itself
        stated = [float(x) for x in re.findall(r"\d+(?:\.\d+)?", re.sub(r"(?:19|20)\d{2}年", "", plan.question))]
        cumulative = [c for c in cells if c.value is not None and c.unit == "%" and (
            c.role == "cumulative" or "累计" in (c.qualifier or ""))]
        if not cumulative:
            return None
        # the target's cut, or the one the question quotes; never the base period's completed cut
        chosen = next((c for c in cumulative if any(abs(c.value - x) < 1e-9 for x in stated)), None) or next(
            (c for c in reversed(cumulative) if not re.search(r"基期|现状|完成", c.column)), cumulative[-1])
        years, how = _years_in(plan.question, t, cells)
        if not years:
            return None
        down = bool(FALLS.search(label + chosen.column)) and not RISES.search(label)
        total = Figure(f"{label} {chosen.column}", -chosen.value if down else chosen.value, "%", "", (),
                       cell_citations(kb, t, chosen)[1], chosen.flag)
        rate = calc.annual_rate(total, years)
        word = "年均下降" if down else "年均增长"
        shown = Figure(word, abs(rate.value), "%", rate.formula, rate.inputs)
        span = Figure("年数", years, "年", how)
        text = (f"根据《{doc_title(kb, t.doc_id)}》{t.title}，“{label}”{chosen.column}为{value_words(chosen)}。"
                f"{how}复合计算，{word}约{fmt_num(abs(rate.value), 2)}%。")
        return Answer(text, dedupe(cell_citations(kb, t, chosen)), (total, span, shown), intent="compute",
                      trace=(f"annual_rate({total.value}, {years})",))
    return None


def answer_change_between(kb, plan: QueryPlan) -> Answer | None:
    """"PM2.5从2020年的36降到2025年的32，降幅是多少": (target − base) ÷ base from the row's two cells."""
    if plan.scope.regions or not CHANGE_ASKED.search(plan.question):
        return None
    if plan.operation.kind not in ("lookup", "fact", "narrative", "difference"):
        return None
    for t, label, cells in _row_matches(kb, plan)[:1]:
        if any(c.value is not None and (c.role in ("change", "annual", "cumulative") or c.unit == "%" and re.search(
                r"下降|降低|增长|变化|幅度|降幅|增幅", c.column)) for c in cells):
            return None  # the table states the change itself
        numbers = [c for c in cells if c.value is not None and c.kind == "number" and c.unit != "%"
                   and c.role in ("base", "target", "value", "milestone")]
        base = next((c for c in numbers if c.role == "base"), None)
        target = next((c for c in reversed(numbers) if c.role in ("target", "milestone")), None)
        if base is None or target is None or base.unit != target.unit or not base.value:
            return None
        asked_years = set(re.findall(r"((?:19|20)\d{2})年", plan.question))
        periods = [w for w in PERIOD_WORDS if w in plan.question]
        names = t.title + " " + " ".join(t.columns)
        if asked_years - {base.year, target.year} or any(w not in names for w in periods):
            return None  # "比2005年下降了多少" is not the change from this table's base year
        a = Figure(f"{label} {base.column}", base.value, base.unit, "", (), cell_citations(kb, t, base)[1])
        b = Figure(f"{label} {target.column}", target.value, target.unit, "", (), cell_citations(kb, t, target)[1])
        _, pct = calc.change(a, b)
        word = "下降" if pct.value < 0 else "增长"
        shown = Figure(f"{word}幅度", abs(pct.value), "%", pct.formula, pct.inputs)
        bound = "（目标为上限，实际降幅不小于此）" if target.comparator in ("≤", "<") and pct.value < 0 else (
            "（目标为下限，实际增幅不小于此）" if target.comparator in ("≥", ">") and pct.value > 0 else "")
        text = (f"根据《{doc_title(kb, t.doc_id)}》{t.title}，“{label}”{base.column}为{value_words(base)}，"
                f"{target.column}为{value_words(target)}；按（目标值 − 基期值）÷ 基期值计算，"
                f"{word}{fmt_num(abs(pct.value), 1)}%{bound}。")
        return Answer(text, dedupe(cell_citations(kb, t, base)), (a, b, shown), intent="compute",
                      trace=("percent change base → target",))
    return None


GAP_ASKED = re.compile(r"多多少|少多少|高多少|低多少|差多少|相差多少|增加多少|减少多少|多了多少|少了多少|差距|"
                       r"(?<![至最])多[\u4e00-\u9fff]{1,3}?了?多少|超(?:额|出)?(?:完成)?了?多少")  # 多换多少, 多建了多少


NET_ASKED = re.compile(r"净增|净减|从[^，,。？?]{0,10}?(?:增加|提高|提升|增长|扩大|减少|降低|下降|压减)到")


def answer_column_gap(kb, plan: QueryPlan) -> Answer | None:
    """"十五五目标比十四五完成值多多少公里", "从现状多少座增加到多少座", "净增几座": the difference of a row's target
    and base cells (one unit)."""
    q = plan.question
    if plan.scope.regions or PERCENT_WORDS.search(q) or not (
            GAP_ASKED.search(q) and "比" in q or NET_ASKED.search(q)):
        return None  # "X比Y多多少" compares two of the row's columns; "五年要减少多少" is the table's change
    if plan.operation.kind not in ("lookup", "fact", "narrative", "difference", "compare"):
        return None
    for t, label, cells in _row_matches(kb, plan)[:1]:
        numbers = [c for c in cells if c.value is not None and c.kind == "number" and c.role in (
            "base", "target", "cumulative", "value", "milestone")]
        base = next((c for c in numbers if c.role == "base" or re.search(r"基期|现状|完成|实际", c.column)), None)
        if base is None and re.search(r"实际|完成", plan.question):
            # "实际比目标多完成了多少": the year's column of a completion table is what was done
            base = next((c for c in numbers if c.role == "value" and c.year), None)
        target = next((c for c in reversed(numbers) if c is not base and (
            c.role in ("target", "milestone") or re.search(r"目标|规划", c.column))), None)
        if base is None or target is None or base.unit != target.unit:
            return None
        a = Figure(f"{label} {base.column}", base.value, base.unit, "", (), cell_citations(kb, t, base)[1])
        b = Figure(f"{label} {target.column}", target.value, target.unit, "", (), cell_citations(kb, t, target)[1])
        gap = target.value - base.value
        unit = "个百分点" if base.unit == "%" else base.unit
        shown = Figure("相差", abs(gap), unit, f"{fmt_num(target.value, 4)} − {fmt_num(base.value, 4)}", (a, b))
        word = "多" if gap > 0 else "少"
        text = (f"根据《{doc_title(kb, t.doc_id)}》{t.title}，“{label}”{target.column}为{value_words(target)}，"
                f"{base.column}为{value_words(base)}；前者比后者{word}{fmt_num(abs(gap), 4)}{unit}。")
        return Answer(text, dedupe(list(cell_citations(kb, t, base)) + list(cell_citations(kb, t, target))),
                      (a, b, shown), intent="compute", trace=("target − base of one row",))
    return None


def answer_yearly_amount(kb, plan: QueryPlan) -> Answer | None:
    """"更换切断型智能燃气表的目标摊到每年平均多少": a cumulative amount over the plan period ÷ its years."""
    if plan.scope.regions or not YEARLY.search(plan.question) or PERCENT_WORDS.search(plan.question):
        return None
    if plan.operation.kind not in ("lookup", "fact", "narrative", "annual", "per_year"):
        return None
    for t, label, cells in _row_matches(kb, plan)[:1]:
        if any(c.role == "annual" and c.value is not None for c in cells):
            return None  # the table states the yearly figure itself
        totals = [c for c in cells if c.value is not None and c.unit and c.unit != "%" and (
            c.role == "cumulative" or "累计" in (c.qualifier or "") or c.raw.startswith(("〔", "[", "［")))
                  and not re.search(r"[—～~-]", c.raw.strip("〔〕[]［］"))]
        chosen = next((c for c in reversed(totals) if not re.search(r"基期|现状|完成", c.column)), None)
        if chosen is None:
            return None
        years, how = _years_in(plan.question, t, cells)
        if not years:
            return None
        total = Figure(f"{label} {chosen.column}", chosen.value, chosen.unit, "", (), cell_citations(kb, t, chosen)[1],
                       chosen.flag)
        each = calc.per_year(total, years)
        span = Figure("年数", years, "年", how)
        text = (f"根据《{doc_title(kb, t.doc_id)}》{t.title}，“{label}”{chosen.column}为{value_words(chosen)}。"
                f"{how}平均，每年约{fmt_num(each.value, 2)}{chosen.unit}。")
        return Answer(text, dedupe(cell_citations(kb, t, chosen)), (total, span, each), intent="compute",
                      trace=(f"per_year({total.value}, {years})",))
    return None


PERCENT_WORDS = re.compile(r"百分之|%|幅度|降幅|增幅")
ROW_OPS = (answer_yearly_rate, answer_yearly_amount, answer_change_between, answer_column_gap)
