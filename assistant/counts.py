"""Counts and filters over one table or one list: how many items a list or table has, the rows past a bound,
the indicators of one attribute (约束性 / 预期性), each table counted on its own with its document."""

from __future__ import annotations

import re

from assistant.executor import (
    COMPARATOR_WORDS,
    _docs_in_scope,
    _grams,
    _pick,
    caption_grams,
    answer_alias,
    answer_metadata,
    cell_citations,
    doc_title,
    quote_citation,
    referenced_tables,
    value_words,
)
from assistant.plan import QueryPlan
from assistant.bands import answer_band
from assistant.row_select import answer_row_columns_sum, answer_rows_where
from assistant.year_goals import answer_missing_table, answer_year_goals
from kb.records import Answer, Figure
from kb.vocab import is_region_table
from tools.base import cn_int, dedupe, fmt_num


def answer_count(kb, plan: QueryPlan) -> Answer | None:
    """How many items a list or table has ("保障措施一共几条", "主要指标有几项")."""
    if plan.operation.kind != "count" or plan.operation.threshold is not None:
        return None
    topic = re.sub(r"(?:一共|共|总共)?(?:有)?(?:几|多少)(?:条|项|类|个方面|个部分|项任务|方面|大类|个任务|个行动|个指标|个附件|个阶段|"
                   r"部分|笔|个步骤|步|个(?:街镇|乡镇|镇|街道|区县|区|县|单位|地区|盟市|园区)).*$", "", plan.question)
    places_asked = bool(re.search(r"几个(?:街镇|乡镇|镇|街道|区县|区|县|单位|地区|盟市|园区)|多少个(?:街镇|乡镇|镇|街道|区县|区|县|单位|地区|盟市|园区)",
                                  plan.question))
    topic = re.sub(r"《[^》]*》|规划|方案|中|的|里|提出|列出|列了|明确", "", topic).strip()
    topic = re.sub(r"(?:一共|总共|共|分为|分成|分|有|包括|包含)+$", "", topic).strip()
    if not topic:
        return None
    q = _grams(plan.about)
    referenced = referenced_tables(kb, plan) or set()
    rows = {r for t in kb.tables if not plan.scope.doc_ids or t.doc_id in plan.scope.doc_ids for r in t.row_labels}
    if any(len(i) >= 4 and any(i in r for r in rows) for i in plan.measure.indicators):
        return None  # "更新责任区“一店一档”信息目标多少条": a row's value in 条, not a count of rows
    if places_asked and plan.scope.doc_ids:
        own = [t.table_id for t in kb.tables if t.doc_id in plan.scope.doc_ids and is_region_table(t)]
        if len(own) == 1:
            referenced = referenced | set(own)  # "一共给几个镇分了任务": the document's one place table
    for t in sorted(kb.tables, key=lambda t: t.table_id not in referenced):
        if plan.scope.doc_ids and t.doc_id not in plan.scope.doc_ids:
            continue
        doc = next((d for d in kb.docs if d["doc_id"] == t.doc_id), {})
        named = _grams(doc_title(kb, t.doc_id)) | _grams((doc.get("meta") or {}).get("title", ""))
        # The table's own words ("核心指标表"), not the document's name it repeats, must be asked for.
        g = _grams(re.sub(r"^(?:专栏|附表|表)\s*[一二三四五六七八九十\d]+\s*", "", t.title)) - named
        if places_asked and not is_region_table(t):
            continue
        if (t.table_id in referenced or g and len(g & q) / len(g) >= 0.6) and re.search(
                r"指标|项目|任务|行|条|项|镇|街道|区|县|单位|地区|盟市|园区", plan.question):
            labels = [r for r in t.row_labels if r and not re.match(r"^(?:合计|总计|小计)$", r)]
            cites = [cell_citations(kb, t, t.cells[0])[0]]
            # A row name with figures in it ("轨交站点600米…") is cited with its row.
            cites += [cell_citations(kb, t, c)[1] for c in t.cells if re.search(r"\d", c.row_label)
                      and c.row_label in labels[:30]]
            count = Figure("项数", float(len(labels)), "项", "逐行计数", (), cites[0])
            return Answer(f"《{doc_title(kb, t.doc_id)}》{t.title}共列出{len(labels)}项：" + "、".join(
                labels[:30]) + ("等" if len(labels) > 30 else "") + "。", dedupe(cites), (count,),
                intent="count", trace=(f"count rows of {t.title}",))
    for d in _docs_in_scope(kb, plan):
        text = kb.text_of(d["doc_id"])
        heading = _heading_with(text, topic, plan.question)
        if heading is None:
            continue
        start, end, title = heading
        items = _numbered_children(text[start:end])
        if items:
            quote = items[-1]
            c = quote_citation(kb, d["doc_id"], quote)
            # the heading counted under, then the last item (which shows the count when the items are numbered)
            heading_cite = quote_citation(kb, d["doc_id"], title)
            names = "；".join(re.split(r"[。：:，,；]", re.sub(r"^[（(]?[一二三四五六七八九十\d]+[）)、.．]\s*", "", i))[0][:20]
                             for i in items[:12])
            count = Figure("项数", float(len(items)), "项", "逐条计数", (), c)
            cites = [x for x in (heading_cite, c) if x]
            if re.search(r"各[\u4e00-\u9fff]{0,3}(?:多少|几)|各占|各是|分别|各为|比例", plan.question):
                # "分几笔拨付，各占多少": each item with the figures it states, quoted
                parts = []
                for item in items[:12]:
                    head = re.split(r"[：:，,]", re.sub(r"^[（(]?[一二三四五六七八九十\d]+[）)、.．]\s*", "", item))[0][:16]
                    figures = re.findall(r"\d+(?:\.\d+)?%|\d+(?:\.\d+)?(?:万元|元|亩|公顷|个|项)", item)
                    parts.append(f"{head}（{'、'.join(figures)}）" if figures else head)
                    ci = quote_citation(kb, d["doc_id"], item)
                    if ci and ci not in cites:
                        cites.append(ci)
                names = "；".join(parts)
            return Answer(f"《{doc_title(kb, d['doc_id'])}》“{title}”部分共列出{len(items)}项：{names}。",
                          tuple(cites), (count,), intent="count", trace=(f"count under {title}",))
    return None


def _heading_with(text: str, topic: str, question: str = ""):
    """(start, end, heading) of the section the question counts in: a heading holding the topic as written, else
    the numbered heading sharing most of its words with the question ("资金分几笔拨付" → "七、资金拨付流程")."""
    lines = text.split("\n")
    want = _grams(question or topic)
    best, pos = None, 0
    for i, line in enumerate(lines):
        s = line.strip().lstrip("#").strip()
        score = 0.0
        plain = re.sub(r"[\s：:、，,“”\"]", "", s)
        if (topic in s or (len(topic) >= 4 and re.sub(r"[\s：:、，,“”\"]", "", topic) in plain)) and len(s) <= 30:
            score = 2.0
        elif _level(s) is not None and len(s) <= 20:
            g = _grams(re.sub(r"^[（(]?[一二三四五六七八九十\d]+[）)、.．]", "", s))
            hits = len(g & want)
            if len(g) >= 3 and hits >= 2 and hits / len(g) >= 0.4:
                score = hits / len(g)
        if score and (best is None or score > best[0]):
            level = _level(s)
            end = pos + len(line) + 1
            for nxt in lines[i + 1:]:
                t = nxt.strip().lstrip("#").strip()
                if t and _level(t) is not None and level is not None and _level(t) <= level:
                    break
                end += len(nxt) + 1
            best = (score, (pos, end, s))
            if score >= 2.0:
                break
        pos += len(line) + 1
    return best[1] if best else None


def _level(s: str) -> int | None:
    for lvl, pattern in enumerate((r"^第[一二三四五六七八九十]+[章部分]", r"^[一二三四五六七八九十]+、", r"^[（(][一二三四五六七八九十]+[）)]",
                                   r"^\d+[.、．]", r"^[（(]\d+[）)]")):
        if re.match(pattern, s):
            return lvl
    return None


RUN_IN = re.compile(r"^([\u4e00-\u9fff“”（）()]{2,14}?(?:工程|行动|计划|项目|工作|制度|体系|机制|措施))。")


def _numbered_children(block: str) -> list[str]:
    """The items numbered directly under a heading: the first numbering level met, until a heading of a higher
    rank ends the section (a 专栏 box has no rank of its own). Without numbering, paragraphs opening with a
    run-in title ("锅炉窑炉改造工程。以钢铁…") are the items, up to the next numbered heading."""
    lines = [line.strip() for line in block.split("\n")[1:] if line.strip()]
    if lines and _level(lines[0]) is None and RUN_IN.match(lines[0]):
        items = []
        for line in lines:
            if _level(line) is not None or line.startswith("专栏"):
                break
            if RUN_IN.match(line):
                items.append(line)
        if len(items) >= 2:
            return items
    items, top, last = [], None, None
    for line in lines:
        lv = _level(line)
        if lv is None:
            continue
        if top is None:
            top = lv
        if lv < top:
            break
        if lv == top:
            number = _number(line)
            if items and number is not None and last is not None and number != last + 1:
                break  # "五、…" then "四、…": the box's own numbering ended, the document's went on
            items.append(line)
            last = number
    return items


def _number(line: str) -> int | None:
    from ingest.structure import cn_to_int

    m = re.match(r"^[（(]?([一二三四五六七八九十百]+|\d+)", line)
    return cn_to_int(m.group(1)) if m else None


def answer_table_filter(kb, plan: QueryPlan) -> Answer | None:
    """Rows of a table whose value meets a threshold ("目标不低于50%的指标有哪些"); words never compared."""
    if plan.operation.kind != "filter" or plan.operation.threshold is None:
        return None
    op, x = plan.operation.comparator, plan.operation.threshold
    test = {"≥": lambda v: v >= x, ">": lambda v: v > x, "≤": lambda v: v <= x, "<": lambda v: v < x,
            "=": lambda v: abs(v - x) < 1e-9}.get(op)
    if test is None:
        return None
    wants_pct = "%" in plan.question or plan.measure.quantity == "percent"
    said = re.search(r"有\s*\d+(?:\.\d+)?\s*([个家处项所座条名])", plan.question) if op == "=" else None
    counted = said.group(1) if said else ""
    hits, citations = [], []
    for t in kb.tables:
        if plan.scope.doc_ids and t.doc_id not in plan.scope.doc_ids or not t.roles:
            continue
        for c in _pick(list(t.cells), plan):
            if c.value is None or (wants_pct and c.unit != "%") or c.role in ("attribute", "text"):
                continue
            if op == "=" and (c.kind == "range" or c.comparator or counted and counted not in (c.unit or "")):
                continue  # "各有4个村": a count in 个, never a range or a bound that happens to start at 4
            # A bound meets the threshold only when the whole bound does: "≥40" meets "不低于30".
            low = c.value
            if test(low):
                hits.append((t, c))
    if not hits:
        return Answer(f"没有找到{COMPARATOR_WORDS.get(op, op)}{fmt_num(x)}{'%' if wants_pct else ''}的指标。",
                      refused=False, intent="filter") if kb.tables else None
    lines = [f"- {c.row_label}：{c.column}{value_words(c)}" for _, c in hits[:20]]
    for t, c in hits[:20]:
        citations += list(cell_citations(kb, t, c))
    figures = tuple(Figure(f"{c.row_label} {c.column}", c.value, c.unit, "", (), cell_citations(kb, t, c)[1])
                    for t, c in hits[:20])
    more = f"\n（另有{len(hits) - 20}项未列出）" if len(hits) > 20 else ""
    figures += (Figure("项数", float(len(hits)), "项", "按条件计数", (), citations[0] if citations else None),)
    if len(hits) > 20:
        figures += (Figure("未列出项数", float(len(hits) - 20), "项", "项数 − 20", ()),)
    return Answer(f"{COMPARATOR_WORDS.get(op, op)}{fmt_num(x)}{'%' if wants_pct else ''}的有{len(hits)}项：\n"
                  + "\n".join(lines) + more, dedupe(citations), figures, intent="filter")


def answer_by_attribute(kb, plan: QueryPlan) -> Answer | None:
    """Indicators of one attribute ("约束性指标有哪些"), from the tables' 属性 columns."""
    m = re.search(r"(约束性|预期性|指导性)", plan.question)
    if not m or not re.search(r"哪|几|多少|列出|包括|有什么|属于", plan.question) or plan.measure.indicators and not \
            re.search(r"哪些|哪几|几项|多少项", plan.question):
        return None  # "X是约束性还是预期性" asks one row's attribute (answer_row)
    want = m.group(1)
    hits, cites = [], []
    named = referenced_tables(kb, plan)
    for t in kb.tables:
        if plan.scope.doc_ids and t.doc_id not in plan.scope.doc_ids or named and t.table_id not in named:
            continue
        for c in t.cells:
            if c.role == "attribute" and c.raw.startswith(want):
                hits.append((t, c))
                cites += list(cell_citations(kb, t, c))
    if not hits:
        return None
    by_table: dict[str, list] = {}
    for t, c in hits:
        by_table.setdefault(t.table_id, []).append((t, c))
    lines, figures = [], []
    for group in list(by_table.values())[:MAX_TABLES_LISTED]:  # each table counted on its own, with its document
        t = group[0][0]
        labels = list(dict.fromkeys(c.row_label for _, c in group))
        first = cell_citations(kb, t, group[0][1])[1]
        lines.append(f"根据《{doc_title(kb, t.doc_id)}》{t.title}，{want}指标共{len(labels)}项：{'、'.join(labels)}。")
        figures.append(Figure(f"{t.title} {want}指标项数", float(len(labels)), "项", "按属性计数", (), first))
    if len(by_table) > MAX_TABLES_LISTED:
        lines.append(f"另有{cn_int(len(by_table) - MAX_TABLES_LISTED)}个表格也有{want}指标；可在问题中指明文件或表格。")
    return Answer("\n".join(lines), dedupe(cites), tuple(figures), intent="filter")


MAX_TABLES_LISTED = 3
CN_COUNT = "一二两三四五六七八九十"
NAMED_SET = re.compile(rf"[“\"]?(?P<term>(?P<n>[{CN_COUNT}]|\d{{1,2}})(?:张|个|大|项|类|条|份|种|支|级)(?P<head>[\u4e00-\u9fff]{{1,4}}?))[”\"]?"
                       rf"(?:是|指|包括|分别是|具体是|具体指|都是|有)+(?:哪|什么|啥)")


def answer_named_set(kb, plan: QueryPlan) -> Answer | None:
    """"“三张地图”是哪三张": a set the plan names by its size; its members are the words ending in the same noun
    (问题地图, 资源地图, 需求地图) in the passage that introduces it, as many as the size says."""
    m = NAMED_SET.search(plan.question)
    if m is None:
        return None
    term, head = m.group("term"), m.group("head")
    size = int(m.group("n")) if m.group("n").isdigit() else "一二三四五六七八九十".find(m.group("n").replace("两", "二")) + 1
    if not size or size < 2 or len(head) < 1:
        return None
    member = re.compile(rf"([\u4e00-\u9fff]{{2,6}}?){re.escape(head)}")
    for d in _docs_in_scope(kb, plan):
        text = kb.text_of(d["doc_id"])
        for paragraph in (p for p in text.split("\n") if term in p):
            seen: dict[str, int] = {}
            for found in member.finditer(paragraph):
                name = re.sub(r"^.*(?:形成|绘制|建立|编制|构建|制定|打造|建设|和|及|与|、|，|；)", "", found.group(1))
                if len(name) < 2 or name == term[:-len(head)] or term in paragraph[max(0, found.start() - 2):found.end() + 2]:
                    continue
                seen.setdefault(name + head, found.start())
            if len(seen) != size:
                continue
            members = list(seen)
            sentences = [s for s in re.split(r"(?<=[。；;])", paragraph) if any(x in s for x in members)]
            cites = tuple(c for c in (quote_citation(kb, d["doc_id"], s.strip()) for s in sentences) if c)
            return Answer(f"《{doc_title(kb, d['doc_id'])}》中的“{term}”是：" + "、".join(members) + "。", cites,
                          intent="list", trace=(f"named set {term}: {len(members)} members",))
    return None


SUPERLATIVE = re.compile(r"最(大|多|高|长|重|宽|小|少|低|短|轻|窄)")
TOTAL_ROW = re.compile(r"^(?:合计|小计|总计|全区|全市|总量)")


def answer_table_rank(kb, plan: QueryPlan) -> Answer | None:
    """"公园绿地重点建设计划表里面积最大的是哪个项目": the rows of the table the question names, ranked by the
    column it names (totals left out); ties are said."""
    m = SUPERLATIVE.search(plan.question)
    if m is None or "哪" not in plan.question:
        return None
    low = m.group(1) in "小少低短轻窄"
    implied = {"长": "长度", "短": "长度", "宽": "宽度", "窄": "宽度"}.get(m.group(1), "")  # "哪条绿道最长"
    q = _grams(plan.question)
    best = None
    for t in kb.tables:
        if plan.scope.doc_ids and t.doc_id not in plan.scope.doc_ids:
            continue
        caption = caption_grams(t)
        if len(caption) < 3 or len(caption & q) < 0.6 * len(caption):
            continue  # only a table the question names by its caption
        if any(i not in t.title for i in plan.measure.indicators):
            continue  # an indicator asked that is not the table's own name is another question
        if set(plan.scope.regions) & set(t.row_labels):
            continue  # a row the question names is looked up, not ranked (a district owning the plan is no row)
        if any(r in (c.parent_label + c.raw) for r in plan.scope.regions for c in t.cells):
            continue  # "浦东新区哪个公园最大": the rows of one group are ranked by the selection, not the whole table
        for col in dict.fromkeys(c.column for c in t.cells):
            name = re.sub(r"[（(][^）)]*[）)]", "", col.split("·")[-1]).strip()
            if len(name) >= 2 and (name in plan.question or name == implied):
                cells = [c for c in t.cells if c.column == col and c.value is not None and not c.comparator
                         and not TOTAL_ROW.match(c.row_label)]
                if len(cells) >= 2 and (best is None or len(name) > best[0]):
                    best = (len(name), t, name, cells)
    if best is None:
        return None
    _, t, name, cells = best
    both = {x.group(1) for x in SUPERLATIVE.finditer(plan.question)}
    if both & set("大多高长重宽") and both & set("小少低短轻窄"):
        return _both_ends(kb, t, name, cells, plan)  # "面积最大和最小的分别是哪家"
    cells.sort(key=lambda c: c.value, reverse=not low)
    top = [c for c in cells if c.value == cells[0].value]
    word = "最" + m.group(1)
    lines = "、".join(f"{c.row_label}（{value_words(c)}）" for c in top)
    rest = "；其后是" + "、".join(f"{c.row_label}（{value_words(c)}）" for c in cells[len(top):len(top) + 2]) \
        if len(cells) > len(top) else ""
    shown = top + cells[len(top):len(top) + 2]
    citations = dedupe(x for c in shown for x in cell_citations(kb, t, c))
    figures = tuple(Figure(f"{c.row_label} {name}", c.value, c.unit, "", (), cell_citations(kb, t, c)[1]) for c in shown)
    tie = "（并列）" if len(top) > 1 else ""
    what = "" if name == implied and name not in plan.question else name
    return Answer(f"{t.title}中{what}{word}的是{lines}{tie}{rest}。", citations, figures, intent="rank",
                  trace=(f"rank rows of {t.title} by {name} ({len(cells)} rows)",))


def _both_ends(kb, t, name: str, cells, plan: QueryPlan) -> Answer:
    """The largest and the smallest row of one column, ties said, each cited."""
    ordered = sorted(cells, key=lambda c: c.value)
    low = [c for c in ordered if c.value == ordered[0].value]
    high = [c for c in ordered if c.value == ordered[-1].value]
    big, small = (m.group(1) for m in (re.search(r"最([大多高长重宽])", plan.question),
                                       re.search(r"最([小少低短轻窄])", plan.question)))
    say = lambda group: "、".join(f"{c.row_label}（{value_words(c)}）" for c in group) + ("（并列）" if len(group) > 1 else "")
    shown = high + low
    citations = dedupe(x for c in shown for x in cell_citations(kb, t, c))
    figures = tuple(Figure(f"{c.row_label} {name}", c.value, c.unit, "", (), cell_citations(kb, t, c)[1]) for c in shown)
    return Answer(f"{t.title}中{name}最{big}的是{say(high)}；最{small}的是{say(low)}。", citations, figures,
                  intent="rank", trace=(f"both ends of {t.title} by {name} ({len(cells)} rows)",))


OWNER_ASKED = re.compile(r"哪个单位|哪些单位|哪个部门|哪些部门|哪家单位|谁负责|谁牵头|由谁|谁来|负责单位|责任单位|牵头单位|"
                         r"牵头部门|责任部门|推进单位|是谁的任务|哪个单位的任务|哪个单位负责|归谁")
OWNER_COLUMN = re.compile(r"责任|牵头|负责|推进单位|承办|实施主体|主体|配合")


def answer_task_owner(kb, plan: QueryPlan) -> Answer | None:
    """"对上海火车站开展专项监督检查由哪个单位负责": the task-list row whose words the question repeats, and its
    责任单位 / 牵头单位 cell as printed."""
    if not OWNER_ASKED.search(plan.question):
        return None
    named = set()
    for d in _docs_in_scope(kb, plan):
        named |= _grams(doc_title(kb, d["doc_id"]))
    q = _grams(re.sub(OWNER_ASKED.pattern + r"|负责|是|的|由|哪|任务|工作", "", plan.question)) - named
    if len(q) < 3:
        return None
    best = None
    for t in kb.tables:
        if plan.scope.doc_ids and t.doc_id not in plan.scope.doc_ids:
            continue
        owners = [c for c in t.columns if OWNER_COLUMN.search(c)]
        if not owners:
            continue
        rows: dict[int, list] = {}
        for c in t.cells:
            rows.setdefault(c.row, []).append(c)  # by row: a task list's label may be left blank
        for cells in rows.values():
            text = [c.raw for c in cells if c.column not in owners and c.raw.strip()]
            label = cells[0].row_label or (max(text, key=len) if text else "")
            words = _grams(cells[0].row_label + "".join(text))
            score = len(words & q) / len(q)
            if best is None or score > best[0]:
                best = (score, t, label, cells, owners)
    if best is None or best[0] < 0.35:
        return None
    _, t, label, cells, owners = best
    found = [c for c in cells if c.column in owners]
    if not found:
        return None
    shown = "；".join(f"{c.column}：{c.raw}" if c.raw.strip() else f"{c.column}一栏为空（原表可能与上一行合并）"
                     for c in found)
    short = label if len(label) <= 40 else label[:40] + "…"
    return Answer(f"根据《{doc_title(kb, t.doc_id)}》{t.title}，“{short}”的{shown}。",
                  dedupe(x for c in found[:1] for x in cell_citations(kb, t, c)), intent="lookup",
                  trace=(f"task owner: row matched {best[0]:.2f}",))


EXECUTORS = (answer_metadata, answer_alias, answer_missing_table, answer_band, answer_named_set, answer_row_columns_sum, answer_rows_where, answer_year_goals, answer_table_rank, answer_task_owner, answer_by_attribute, answer_count, answer_table_filter)
