"""Answers built from the tables: lookup, rank, compare, and computations on table values."""

from __future__ import annotations

import re

from assistant.entities import Entities
from assistant.intent import Intent
from assistant.executor import within_period, doc_title, prose_names_it_exactly, says_nothing
from kb.errors import NotInKnowledgeBase
from kb.records import Answer, Figure
from kb.vocab import is_region_table
from tools import calc
from tools.audit import conflicting_facts
from tools.base import cell_citations, cell_figure, cn_int, dedupe, fact_citation, fact_figure, fmt_num
from tools.tables import Match, aggregate, column_kind, compare, find_cells, rank, series

PERIOD_YEARS = 5  # a 五年规划 ("十X五") spans five years


def _value_text(cell) -> str:
    raw = cell.raw
    if cell.flag == "missing_percent":
        return f"{raw}（原表此处缺少“%”，按原文照录，未作推断）"
    if cell.unit and cell.value is not None and not raw.endswith(cell.unit):
        return raw + cell.unit  # the unit printed in a header or a "（单位：%）" line
    return raw


def _doc_prefix(kb, doc_id: str) -> str:
    return f"《{doc_title(kb, doc_id)}》" if len(kb.docs) > 1 else ""


def _years_of(kb, table, text: str) -> int:
    m = re.search(r"([一二三四五六七八九十\d]+)年(?:内|间|累计|要|共)?", text)
    if m and m.group(1) in ("五", "5"):
        return 5
    years = sorted({int(y) for y in re.findall(r"((?:19|20)\d{2})", " ".join(table.columns))})
    if len(years) >= 2:
        return years[-1] - years[0]
    return PERIOD_YEARS


def _chart(matches: list[Match], highlight: list[str]) -> dict | None:
    if not matches:
        return None
    return {
        "indicator": matches[0].cell.column,
        "unit": next((m.cell.unit for m in matches if m.cell.unit), ""),
        "values": {m.cell.row_label: m.cell.value for m in matches if m.cell.value is not None},
        "highlight": highlight,
    }


def _pick_columns(matches: list[Match], hint: str) -> list[Match]:
    if not hint or any(is_region_table(m.table) for m in matches):
        return matches
    kinds = {id(m): column_kind(m.cell.column) for m in matches}
    if hint == "annual":
        chosen = [m for m in matches if kinds[id(m)] == "annual"]
    elif hint == "change":
        chosen = [m for m in matches if kinds[id(m)] == "change"]
    elif hint == "target":
        years = sorted(k for k in kinds.values() if k.startswith("year:"))
        chosen = [m for m in matches if years and kinds[id(m)] == years[-1]]
    else:
        chosen = [m for m in matches if kinds[id(m)] == "year:" + hint]
        if not chosen:
            raise NotInKnowledgeBase(f"no {hint} column", f"表格中没有{hint}年的数值。")
    return chosen or matches


def _issue_notes(kb, matches: list[Match], audit_cache) -> tuple[list[str], list, list]:
    notes, cites, figs = [], [], []
    seen = set()
    for m in matches:
        for issue in audit_cache(m.table):
            if issue.indicator == m.cell.row_label and issue.message not in seen:
                seen.add(issue.message)
                notes.append("注意：" + issue.message)
                cites += issue.citations
                figs += issue.figures
    return notes, cites, figs


def _supporting_facts(kb, matches: list[Match]) -> list:
    out = []
    for m in matches:
        if m.cell.value is None or is_region_table(m.table):
            continue
        for f in kb.facts:
            if f.doc_id == m.table.doc_id and f.unit == m.cell.unit and abs(f.value - abs(m.cell.value)) < 1e-9 and (
                m.cell.row_label[:2] in f.sentence
            ):
                out.append(fact_citation(kb, f))
                break
    return out


def answer_lookup(kb, ent: Entities, intent: Intent, audit_cache) -> Answer:
    lines, citations, figures, trace = [], [], [], []
    blank: list[Match] = []
    chart = None
    regions = ent.regions or [None]
    for indicator in ent.indicators:
        for region in regions:
            matches = find_cells(kb, indicator, region)
            base = re.search(r"(?:比|较)((?:19|20)\d{2})年", ent.text)
            if base:
                # "比2005年下降多少": a table whose years do not include 2005 cannot say.
                matches = [m for m in matches if is_region_table(m.table)
                           or base.group(1) in " ".join(m.table.columns)]
            filled = [m for m in matches if not says_nothing(m.cell)]
            if not filled and matches and all(not m.cell.raw.strip() for m in matches):
                blank += matches[:1]  # the row's cell is left blank: the table gives no figure there
                continue
            matches = filled or matches  # "—" in a total row says nothing when another table gives the figure
            if not matches or not any(is_region_table(m.table) for m in matches) and prose_names_it_exactly(
                    kb, [indicator], {m.cell.row_label for m in matches}, {m.table.doc_id for m in matches}, ent.text):
                continue
            years = list(dict.fromkeys(ent.years))
            within = within_period(matches[0].table, years[-1], [m.cell for m in matches]) if len(years) == 1 and not base \
                and all(m.table is matches[0].table for m in matches) else ""
            if within:
                # "2027年当年完成多少" of a row that gives only "十四五"完成值 and "十五五"目标值
                return Answer(f"《{doc_title(kb, matches[0].table.doc_id)}》{matches[0].table.title}中的“{matches[0].cell.row_label}”"
                              f"只给出{within}的数值，没有给出{years[-1]}年当年的数值。",
                              dedupe(cell_citations(kb, matches[0].table, matches[0].cell)), refused=True,
                              intent="lookup", trace=("a year inside a period the table gives as a whole",))
            if len(years) >= 2 and not any(is_region_table(m.table) for m in matches):
                # "2010年…是多少，到2015年要降到多少": every year asked
                picked = [m for y in years for m in _pick_columns(matches, y)]
                matches = picked or _pick_columns(matches, intent.column)
            else:
                matches = _pick_columns(matches, intent.column)
            trace.append(f"lookup({indicator}, {region or '全区'}, {intent.column or '全部列'}) → {len(matches)} 个单元格")
            by_row: dict[tuple, list[Match]] = {}
            for m in matches:
                by_row.setdefault((m.table.table_id, m.cell.row_label), []).append(m)
            for (_, label), row in by_row.items():
                table = row[0].table
                values = "，".join(
                    (f"{m.cell.column}{_value_text(m.cell)}" if not is_region_table(table) else _value_text(m.cell))
                    for m in row)
                if is_region_table(table):
                    lines.append(f"{_doc_prefix(kb, table.doc_id)}根据{table.title}，{label}“{row[0].cell.column}”为{values}。")
                else:
                    lines.append(f"{_doc_prefix(kb, table.doc_id)}根据{table.title}，{label}：{values}。")
                falls = []
                for m in row:
                    citations += list(cell_citations(kb, m.table, m.cell))
                    if m.cell.value is not None:
                        fig = cell_figure(kb, m.table, m.cell)
                        figures.append(fig)
                        if m.cell.value < 0 and column_kind(m.cell.column) in ("change", "annual"):
                            word = "年均下降" if column_kind(m.cell.column) == "annual" else "下降"
                            figures.append(Figure(word, -m.cell.value, m.cell.unit, f"表中{m.cell.raw}，负号表示下降", (fig,)))
                            falls.append(f"{word}{fmt_num(-m.cell.value, 4)}{m.cell.unit}")
                if falls:
                    lines[-1] = lines[-1].rstrip("。") + f"（负号表示下降，即{'，'.join(falls)}）。"
                if is_region_table(table):
                    chart = _chart(series(kb, indicator, table.doc_id), [label])
            for m in matches:
                if is_region_table(m.table):
                    for f in conflicting_facts(kb, m.table, m.cell):
                        lines.append(f"注意：《{doc_title(kb, f.doc_id)}》中另写为{f.raw}（原文：“{f.quote}”），"
                                     f"与《{doc_title(kb, m.table.doc_id)}》表中的{m.cell.raw}不一致，请核实。")
                        citations.append(fact_citation(kb, f))
                        figures.append(fact_figure(kb, f))
            notes, c2, f2 = _issue_notes(kb, matches, audit_cache)
            lines += notes
            citations += c2 + _supporting_facts(kb, matches)
            figures += f2
    if not lines and blank:
        m = blank[0]
        return Answer(f"根据{m.table.title}，{m.cell.row_label}的“{m.cell.column}”一栏是空的，规划没有给出这一数值。",
                      dedupe(cell_citations(kb, m.table, m.cell)), (), refused=True, intent="out_of_scope",
                      trace=("blank cell",))
    if not lines:
        raise NotInKnowledgeBase("lookup found nothing", "表格中没有找到这个地区和指标的组合。")
    return Answer("\n".join(lines), dedupe(citations), tuple(figures), trace=tuple(trace), intent="lookup", chart=chart)


def answer_rank(kb, ent: Entities, intent: Intent) -> Answer:
    indicator = ent.indicators[0]
    res = rank(kb, indicator, intent.order, tuple(intent.exclude), intent.top)
    chosen = res.data["chosen"]
    if intent.nth:
        return _answer_nth(kb, indicator, intent, res)
    column = chosen[0].cell.column
    word = ("最大" if intent.order == "desc" else "最小") if intent.top == 1 else (
        f"前{cn_int(intent.top)}名" if intent.order == "desc" else f"倒数{cn_int(intent.top)}名")
    prefix = f"除{'、'.join(m.cell.row_label for m in res.data['excluded'])}外，" if res.data["excluded"] else ""
    if intent.top == 1:
        names = "、".join(m.cell.row_label for m in chosen)
        same = "均" if len(chosen) > 1 else ""
        text = f"{_doc_prefix(kb, chosen[0].table.doc_id)}{prefix}“{column}”{word}的是{names}，{same}为{_value_text(chosen[0].cell)}（{chosen[0].table.title}）。"
    else:
        items = "；".join(f"{m.cell.row_label} {_value_text(m.cell)}" for m in chosen)
        text = f"{_doc_prefix(kb, chosen[0].table.doc_id)}{prefix}“{column}”{word}：{items}（{chosen[0].table.title}）。"
    excluded = res.data["excluded"]
    if excluded:
        text += "（已排除：" + "、".join(f"{m.cell.row_label} {_value_text(m.cell)}" for m in excluded) + "）"
    flagged = [m for m in res.data["ranked"] if m.cell.flag]
    citations = list(res.citations)
    if flagged:
        text += "\n注意：" + "、".join(f"{m.cell.row_label}的原值{m.cell.raw}缺少单位" for m in flagged) + "，按原数参与排序。"
        for m in flagged:
            citations += list(cell_citations(kb, m.table, m.cell))
    trace = (f"rank({indicator}, {intent.order}, exclude={intent.exclude}, top={intent.top})",)
    return Answer(text, dedupe(citations), res.figures, trace=trace, intent="rank",
                  chart=_chart(res.data["all"], [m.cell.row_label for m in chosen]))


def answer_compare(kb, ent: Entities, intent: Intent) -> Answer:
    indicator = ent.indicators[0]
    res = compare(kb, indicator, ent.regions)
    chosen = res.data["chosen"]
    column = chosen[0].cell.column
    parts = "，".join(f"{m.cell.row_label}为{_value_text(m.cell)}" for m in chosen)
    ordered = sorted(chosen, key=lambda m: m.cell.value, reverse=True)
    figures = list(res.figures[:-1])
    if ordered[0].cell.value == ordered[-1].cell.value:
        verdict = "两者相同"
    else:
        big, small = ordered[0], ordered[-1]
        gap = big.cell.value - small.cell.value
        unit = "个百分点" if big.cell.unit == "%" else big.cell.unit
        figures.append(Figure(f"{big.cell.row_label} − {small.cell.row_label}", gap, unit,
                              f"{fmt_num(big.cell.value, 4)} − {fmt_num(small.cell.value, 4)} = {fmt_num(gap, 4)}",
                              tuple(f for f in res.figures[:-1] if f.label in (big.cell.row_label, small.cell.row_label))))
        verdict = f"{big.cell.row_label}更大，高出{fmt_num(gap, 4)}{unit}"
    text = f"{_doc_prefix(kb, chosen[0].table.doc_id)}根据{chosen[0].table.title}，“{column}”：{parts}；{verdict}。"
    return Answer(text, res.citations, tuple(figures), trace=(f"compare({indicator}, {ent.regions})",), intent="compare",
                  chart=_chart(res.data["all"], [m.cell.row_label for m in chosen]))


def answer_annual(kb, ent: Entities, intent: Intent, audit_cache) -> Answer:
    lines, citations, figures, trace = [], [], [], []
    for indicator in ent.indicators:
        for region in ent.regions or [None]:
            all_matches = find_cells(kb, indicator, region)
            groups: dict[str, list[Match]] = {}
            for m in all_matches:
                groups.setdefault(m.table.table_id, []).append(m)
            for matches in groups.values():
                _annual_for_table(kb, ent, matches, lines, citations, figures, trace)
    if not lines:
        raise NotInKnowledgeBase("no annual data", "表格中没有可用于计算年均变化的数据。")
    return Answer("\n".join(lines), dedupe(citations), tuple(figures), trace=tuple(trace), intent="compute")


def _annual_for_table(kb, ent: Entities, matches: list[Match], lines, citations, figures, trace) -> None:
    """Annual rate for one table's cells: a region's five-year target, or an overall row (printed and computed)."""
    table = matches[0].table
    prefix = _doc_prefix(kb, table.doc_id)
    if is_region_table(table):
        m = matches[0]
        n = _years_of(kb, table, ent.text)
        total = cell_figure(kb, table, m.cell)
        falling = bool(re.search(r"降低|下降|减少|削减", m.cell.column)) and total.value > 0
        signed = Figure(total.label, -total.value if falling else total.value, total.unit,
                        "降低目标按负变化计" if falling else "", (total,))
        yearly = calc.annual_rate(signed, n)
        figures += [total, yearly]
        citations += list(cell_citations(kb, table, m.cell))
        word = "下降" if yearly.value < 0 else "增长"
        lines.append(f"{prefix}根据{table.title}，{m.cell.row_label}“{m.cell.column}”为{_value_text(m.cell)}（规划期{cn_int(n)}年）；"
                     f"按复合计算，年均{word}约{fmt_num(abs(yearly.value), 2)}%。")
        trace.append(f"annual_rate({m.cell.raw}, {n}) = {fmt_num(yearly.value, 4)}%")
        return
    by_kind = {column_kind(m.cell.column): m for m in matches}
    annual, change = by_kind.get("annual"), by_kind.get("change")
    if annual is None and change is None:
        return
    label = (annual or change).cell.row_label
    n = _years_of(kb, table, ent.text)
    if annual is not None:
        fig = cell_figure(kb, table, annual.cell)
        figures.append(fig)
        citations += list(cell_citations(kb, table, annual.cell))
        lines.append(f"{prefix}根据{table.title}，{label}“{annual.cell.column}”为{_value_text(annual.cell)}"
                     + (f"，即年均下降{fmt_num(-fig.value, 4)}%。" if fig.value < 0 else "。"))
        if fig.value < 0:
            figures.append(Figure("年均下降", -fig.value, "%", f"表中{annual.cell.raw}", (fig,)))
    if change is not None and change.cell.unit == "%":
        total = cell_figure(kb, table, change.cell)
        yearly = calc.annual_rate(total, n)
        figures += [total, yearly]
        citations += list(cell_citations(kb, table, change.cell))
        if annual is None:
            word = "下降" if yearly.value < 0 else "增长"
            lines.append(f"{prefix}根据{table.title}，{label}“{change.cell.column}”为{change.cell.raw}；"
                         f"按复合计算，年均{word}约{fmt_num(abs(yearly.value), 2)}%。")
        else:
            same = abs(yearly.value - annual.cell.value) <= 0.05
            verdict = "，与表中一致" if same else f"，与表中的{annual.cell.raw}不一致（表中数字可能有误）"
            lines.append(f"核算：{cn_int(n)}年变化{change.cell.raw}按复合计算，年均约{fmt_num(yearly.value, 2)}%{verdict}。")
        trace.append(f"annual_rate({change.cell.raw}, {n}) = {fmt_num(yearly.value, 4)}%")


def answer_aggregate(kb, ent: Entities, intent: Intent) -> Answer:
    indicator = ent.indicators[0]
    res = aggregate(kb, indicator, intent.op, tuple(intent.exclude))
    matches = res.data["all"]
    result = res.figures[0]
    count = Figure("地区个数", float(len(matches)), "个", f"共 {len(matches)} 个地区")
    total = calc.aggregate(list(result.inputs), "sum") if intent.op == "mean" else None
    column = matches[0].cell.column
    scope = f"{len(matches)}个地区"
    if intent.op == "mean":
        text = (f"{scope}“{column}”的简单算术平均为{fmt_num(result.value, 2)}{result.unit}"
                f"（合计{fmt_num(total.value, 4)}{result.unit} ÷ {len(matches)}，数据来自{matches[0].table.title}）。")
        figures = (result, total, count)
    else:
        text = f"{scope}“{column}”合计为{fmt_num(result.value, 4)}{result.unit}（{matches[0].table.title}）。"
        figures = (result, count)
    if res.note:
        text += "\n" + res.note
    return Answer(text, res.citations, figures, trace=(f"aggregate({indicator}, {intent.op})",), intent="compute",
                  chart=_chart(matches, []))


def answer_abs_change(kb, ent: Entities, intent: Intent) -> Answer:
    for indicator in ent.indicators:
        matches = [m for m in find_cells(kb, indicator, None) if column_kind(m.cell.column).startswith("year:")]
        if len(matches) < 2:
            continue
        matches.sort(key=lambda m: column_kind(m.cell.column))
        base_m, target_m = matches[0], matches[-1]
        base, target = cell_figure(kb, base_m.table, base_m.cell), cell_figure(kb, target_m.table, target_m.cell)
        absolute, percent = calc.change(base, target)
        word = "减少" if absolute.value < 0 else "增加"
        shown = Figure(word + "量", abs(absolute.value), absolute.unit, absolute.formula, absolute.inputs)
        unit = base.unit
        text = (f"根据{base_m.table.title}，{base_m.cell.row_label}由{base_m.cell.column}的{base_m.cell.raw}{unit}"
                f"变为{target_m.cell.column}的{target_m.cell.raw}{unit}，{word}{fmt_num(abs(absolute.value), 4)}{unit}"
                f"（变化幅度{fmt_num(percent.value, 2)}%）。")
        citations = list(cell_citations(kb, base_m.table, base_m.cell)) + _supporting_facts(kb, [target_m])
        return Answer(text, dedupe(citations), (shown, absolute, percent), trace=(f"change({base.value}, {target.value})",),
                      intent="compute")
    raise NotInKnowledgeBase("no base/target", "表格中没有该指标的基期和目标年数值，无法计算变化量。")


def _answer_nth(kb, indicator: str, intent: Intent, res) -> Answer:
    """Only the n-th place ("第二大"): distinct values are ranked, so ties share a place."""
    ranked = res.data["ranked"]
    values = sorted({m.cell.value for m in ranked}, reverse=(intent.order == "desc"))
    if intent.nth > len(values):
        raise NotInKnowledgeBase("not enough places", f"只有{cn_int(len(values))}个不同的数值，没有第{cn_int(intent.nth)}名。")
    target = values[intent.nth - 1]
    chosen = [m for m in ranked if m.cell.value == target]
    word = ("大" if intent.order == "desc" else "小")
    names = "、".join(m.cell.row_label for m in chosen)
    text = (f"{_doc_prefix(kb, chosen[0].table.doc_id)}“{chosen[0].cell.column}”第{cn_int(intent.nth)}{word}的是{names}，"
            f"为{_value_text(chosen[0].cell)}（{chosen[0].table.title}；相同数值并列）。")
    figures = tuple(cell_figure(kb, m.table, m.cell, m.cell.row_label) for m in chosen)
    citations = [c for m in chosen for c in cell_citations(kb, m.table, m.cell)]
    return Answer(text, dedupe(citations), figures, trace=(f"rank({indicator}, {intent.order}, nth={intent.nth})",),
                  intent="rank", chart=_chart(res.data["all"], [m.cell.row_label for m in chosen]))


def answer_list(kb, ent: Entities, intent: Intent) -> Answer:
    """Every region's value of an indicator, in the table's order."""
    lines, citations, figures, chart = [], [], [], None
    for indicator in ent.indicators:
        matches = [m for m in series(kb, indicator) if m.cell.value is not None or m.cell.raw]
        table = matches[0].table
        items = "；".join(f"{m.cell.row_label} {_value_text(m.cell)}" for m in matches)
        lines.append(f"{_doc_prefix(kb, table.doc_id)}根据{table.title}，各地区“{matches[0].cell.column}”：{items}。")
        for m in matches:
            citations += list(cell_citations(kb, m.table, m.cell))
            if m.cell.value is not None:
                figures.append(cell_figure(kb, m.table, m.cell, m.cell.row_label))
        chart = chart or _chart(matches, [])
    return Answer("\n".join(lines), dedupe(citations), tuple(figures), trace=(f"series({ent.indicators})",),
                  intent="list", chart=chart)


def answer_filter(kb, ent: Entities, intent: Intent) -> Answer:
    """Regions whose value equals the one asked ("哪些盟市单位GDP能耗降低16%")."""
    indicator = ent.indicators[0]
    matches = [m for m in series(kb, indicator) if m.cell.value is not None]
    hits = [m for m in matches if abs(m.cell.value - intent.value) < 1e-9]
    column = matches[0].cell.column
    value = fmt_num(intent.value, 4)
    if not hits:
        text = f"根据{matches[0].table.title}，没有地区的“{column}”为{value}%。"
        return Answer(text, dedupe(cell_citations(kb, matches[0].table, matches[0].cell)[:1]), (), intent="filter",
                      chart=_chart(matches, []))
    names = "、".join(m.cell.row_label for m in hits)
    text = f"根据{hits[0].table.title}，“{column}”为{value}%的有{cn_int(len(hits))}个地区：{names}。"
    figures = [cell_figure(kb, m.table, m.cell, m.cell.row_label) for m in hits]
    figures.append(Figure("地区个数", float(len(hits)), "个", f"共 {len(hits)} 个"))
    citations = [c for m in hits for c in cell_citations(kb, m.table, m.cell)]
    return Answer(text, dedupe(citations), tuple(figures), trace=(f"filter({indicator} == {value})",), intent="filter",
                  chart=_chart(matches, [m.cell.row_label for m in hits]))


def answer_profile(kb, ent: Entities, intent: Intent) -> Answer:
    """All of a region's values in the region tables ("包头市的目标有哪些")."""
    lines, citations, figures = [], [], []
    for region in ent.regions:
        for table in kb.tables:
            if not is_region_table(table):
                continue
            cells = [c for c in table.cells if c.row_label == region]
            if not cells:
                continue
            items = "；".join(f"{c.column} {_value_text(c)}" for c in cells)
            lines.append(f"{_doc_prefix(kb, table.doc_id)}根据{table.title}，{region}：{items}。")
            for c in cells:
                citations += list(cell_citations(kb, table, c))
                if c.value is not None:
                    figures.append(cell_figure(kb, table, c))
    if not lines:
        raise NotInKnowledgeBase("no region rows", "表格中没有这个地区的指标。")
    return Answer("\n".join(lines), dedupe(citations), tuple(figures), trace=(f"profile({ent.regions})",), intent="lookup")
