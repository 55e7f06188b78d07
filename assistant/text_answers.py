"""Answers from the prose: quantities (facts), computations on them, extractive passages, audit and refusals."""

from __future__ import annotations

import re

from assistant.entities import TITLE_MARKS, Entities
from assistant.executor import doc_title
from assistant.intent import Intent
from kb.errors import NotInKnowledgeBase
from kb.records import Answer, Citation, Figure
from kb.tokens import bigrams
from kb.vocab import region_short
from tools import calc
from tools.audit import audit
from tools.base import dedupe, fact_citation, fact_figure, fmt_num
from tools.facts import find_facts

QUESTION_WORDS = re.compile(
    r"是多少|多少|是什么|什么|有哪些|哪些|哪个|怎么样|怎么|如何|怎样|请问|一下|目标值|目标|要求|规定|几个|几项|几|吗|呢|啊|了|"
    r"是|要|的|有|约|大约|那么|那|又|还|[？?！!。，,、\s“”\"'：:]")
ACTION_WORDS = ["淘汰", "新增", "新建", "建成", "建设", "达到", "控制在", "下降", "降低", "减少", "提高", "增长", "节约", "实施", "执行", "完成", "改造", "超过"]
MAX_PASSAGE_SENTENCES = 8
MIN_FACT_SCORE = 0.55


def content(text: str) -> str:
    """The words that carry the question: no question words, no document titles (《…》 only scope it)."""
    return QUESTION_WORDS.sub("", re.sub(r"《[^》]{1,80}》", "", text))


def question_action(text: str) -> str | None:
    for word in ACTION_WORDS:
        if word in text:
            return word
    if re.search(r"建几|建多少|建设几", text):
        return "建设"
    return None


def _fact_text(f) -> str:
    when = f"到{f.year}年，" if f.year and f.action not in ("基数",) and f.unit != "%" or (f.year and f.year >= "2011") else ""
    prefix = "" if not f.qualifier or f.qualifier in f.raw or f.action.endswith(f.qualifier) else f.qualifier
    return f"{when}{f.subject}：{f.action}{prefix}{f.raw}"


UNIT_HINTS = [(re.compile(r"比重|比例|占比|率|百分之|百分比|幅度|降幅|增幅"), ("%",)),
              (re.compile(r"几个|多少个|几项|多少项|几家|多少家|几座|多少座"), ("个", "项", "家", "座", "处")),
              (re.compile(r"天数|多少天|几天"), ("天",)),
              (re.compile(r"万吨标准煤|吨标准煤"), ("万吨标准煤", "吨标准煤", "吨标准煤/万元")),
              (re.compile(r"多少万吨|几万吨|多少吨"), ("万吨", "吨", "亿吨")),
              (re.compile(r"面积|平方米"), ("万平方米", "平方米"))]


def _fit(f, ent: Entities) -> float:
    """Bonus for a fact whose unit and years fit the question; a value the question itself states is not the answer."""
    bonus = 0.0
    for pattern, units in UNIT_HINTS:
        if pattern.search(ent.text):
            bonus += 0.25 if f.unit in units else -0.1
            break
    if ent.years and (f.year in ent.years or f.base_year in ent.years):
        bonus += 0.2
    running = "累计" in (f.qualifier or "")
    if re.search(r"累计|总计|总共|一共|总数|合计", ent.text):
        bonus += 0.3 if running else 0.0  # "到2025年底累计呢": the running total, not that stage's increase
    elif re.search(r"新增|增加|新建", ent.text) and running:
        bonus -= 0.3
    if re.search(rf"(?<![\d.]){re.escape(f.raw.rstrip('以上以下以内左右'))}", ent.text):
        bonus -= 0.5
    return bonus


def answer_fact(kb, ent: Entities, intent: Intent, query: str | None = None, action: str | None = None) -> Answer:
    query = query or content(ent.text)
    action = action or question_action(ent.text)
    found = find_facts(kb, query, action, min_score=MIN_FACT_SCORE)
    if not found and action:
        found = find_facts(kb, query, None, min_score=MIN_FACT_SCORE)
    if ent.years:
        # A quantity of another year is not an answer ("2015年能源消费总量" must not get 2010's figure).
        found = [(s, f) for s, f in found if not f.year or f.year in ent.years or f.base_year in ent.years]
    found = sorted(((s + _fit(f, ent), f) for s, f in found), key=lambda x: (-x[0], x[1].start))
    if not found:
        raise NotInKnowledgeBase(f"no fact for {query}", "规划正文中没有找到相关的数量。")
    best_score, best = found[0]
    if ent.regions and not any(r in best.sentence or region_short(r) in best.sentence for r in ent.regions):
        # "罗店镇干垃圾日均控制量" answered by "全区干垃圾日均控制量不高于1610吨": the place asked is not in it
        places = "、".join(ent.regions)
        return Answer(f"规划没有给出{places}的这一数量，只写了：{_fact_text(best)}（原文：“{best.quote}”），无法回答。",
                      dedupe([fact_citation(kb, best)]), (fact_figure(kb, best),), refused=True, intent="out_of_scope",
                      trace=(f"fact found for another scope than {places}",))
    other_docs = [f for s, f in found[1:] if f.doc_id != best.doc_id and s >= best_score - 0.02]
    if other_docs and len(kb.docs) > 1:
        # Several plans state the same kind of quantity equally well: answer for each, naming the plan.
        chosen = [best] + list({f.doc_id: f for f in other_docs}.values())[:2]
        lines = [f"《{doc_title(kb, f.doc_id)}》{_fact_text(f)}。原文：“{f.quote}”" for f in chosen]
        lines.append("（多个规划都有相近内容，以上分别列出；可在问题中指明规划。）")
    else:
        chosen = [best] + [f for s, f in found[1:] if f.sentence == best.sentence and s >= best_score - 0.05
                           and f.subject != best.subject][:2]
        chosen += [f for f in _each_item(kb, ent.text, best.doc_id) if f not in chosen]
        lines = [_fact_text(f) + "。" for f in chosen]
        lines.append(f"原文：“{best.quote}”")
    figures = tuple(fact_figure(kb, f) for f in chosen)
    citations = dedupe(fact_citation(kb, f) for f in chosen)
    trace = (f"fact({query!r}, {action}) → {best.subject} {best.raw} (score {best_score:.2f})",)
    return Answer("\n".join(lines), citations, figures, trace=trace, intent="fact")


EACH = re.compile(r"((?:[\u4e00-\u9fff]{2,16}[和、及与])+[\u4e00-\u9fff]{2,16}?)(?:各|分别|各自)")


def _each_item(kb, text: str, doc_id: str) -> list:
    """"租赁房和宿舍床位各多少": each listed item's own quantity in the answering document, best match each."""
    m = EACH.search(text)
    if m is None:
        return []
    items = [re.sub(r"^(?:那么|那|其中|以及|还有)+", "", x) for x in re.split(r"[和、及与]", m.group(1))]
    out = []
    for item in items:
        if len(item) < 2:
            continue
        want = bigrams(item)
        best, score = None, 0.0
        for f in kb.facts:
            if f.doc_id != doc_id:
                continue
            s = len(want & bigrams(f.subject)) / max(len(want), 1)
            if s > score or (s == score and best is not None and f.start < best.start):
                best, score = f, s
        if best is not None and score >= 0.6 and best not in out:
            out.append(best)
    return out


def answer_backcast(kb, ent: Entities, intent: Intent) -> Answer:
    year = ent.years[0]
    query = content(re.sub(r"(?:19|20)\d{2}年?|推算|倒推|反推|约|大约", "", ent.text))
    candidates = [f for f in kb.facts if f.base_year == year and f.unit == "%"]
    best = None
    for change_fact in candidates:
        score = len(bigrams(change_fact.subject) & bigrams(query)) / max(len(bigrams(change_fact.subject)), 1)
        values = [f for f in kb.facts if f.sentence == change_fact.sentence and f.subject == change_fact.subject
                  and f.unit != "%" and f.start < change_fact.start]
        if values and score > 0.5 and (best is None or score > best[0]):
            best = (score, values[-1], change_fact)
    if best is None:
        raise NotInKnowledgeBase("nothing to backcast", f"规划中没有可用于推算{year}年数值的数据。")
    _, value_fact, change_fact = best
    value, change = fact_figure(kb, value_fact), fact_figure(kb, change_fact)
    signed = type(change)(change.label, -change.value if "下降" in change_fact.action or "降低" in change_fact.action else change.value,
                          "%", "", (change,))
    result = calc.backcast(value, signed)
    text = (f"规划写明：{value_fact.subject}{value_fact.action}{value_fact.raw}，比{year}年{change_fact.action}{change_fact.raw}。"
            f"按此推算，{year}年约为{fmt_num(result.value, 2)}{value.unit}。")
    return Answer(text, dedupe([fact_citation(kb, value_fact), fact_citation(kb, change_fact)]), (result, value, change),
                  trace=(f"backcast({value.value}, {signed.value}%)",), intent="compute")


def answer_per_year(kb, ent: Entities, intent: Intent) -> Answer:
    numbers = [float(n) for n in re.findall(r"\d+(?:\.\d+)?", re.sub(r"(?:19|20)\d{2}年", "", ent.text))]
    m = re.search(r"([一二三四五六七八九十两\d]+)年", ent.text)
    years = {"一": 1, "两": 2, "二": 2, "三": 3, "四": 4, "五": 5, "六": 6, "七": 7, "八": 8, "九": 9, "十": 10}.get(
        m.group(1), None) if m else None
    if m and m.group(1).isdigit():
        years = int(m.group(1))
    query = content(ent.text)
    matches = [(s, f) for s, f in find_facts(kb, query, None, min_score=0.2, limit=20) if any(abs(f.value - n) < 1e-9 for n in numbers)]
    if not matches:
        raise NotInKnowledgeBase("no fact with that number", "规划中没有找到问题里提到的这个数量。")
    fact = matches[0][1]
    if years is None:
        years = 5 if "五年" in fact.sentence or "十" in fact.period else None
    if not years:
        raise NotInKnowledgeBase("years unknown", "无法确定年数，请说明按几年计算。")
    total = fact_figure(kb, fact)
    result = calc.per_year(total, years)
    span = "一二三四五六七八九十"[years - 1] if 1 <= years <= 10 else fmt_num(years)
    shown = f"{fmt_num(result.value, 2)}{fact.unit}"
    if fact.unit.startswith("万") and len(fact.unit) > 1 and result.value < 1:
        # "1万台以上 ÷ 5" is 2000台 a year, not "0.2万台"
        result = Figure(result.label, result.value * 10000, fact.unit[1:], result.formula + " 万 = "
                        + fmt_num(result.value * 10000, 2) + fact.unit[1:], result.inputs)
        shown = f"{fmt_num(result.value, 2)}{result.unit}"
    floor = "至少" if re.search(r"以上|超过|不少于|不低于", fact.quote) else "约"
    text = f"规划写明：{fact.quote}。按{span}年平均，每年{floor}{shown}。"
    return Answer(text, (fact_citation(kb, fact),), (result, total), trace=(f"per_year({total.value}, {years})",), intent="compute")


def _sentences(text: str, start: int, end: int):
    """(offset, sentence) pairs; lines are sentences too, so a heading never glues onto its paragraph."""
    pos = start
    for part in re.split(r"(?<=[。；;！？])|\n+", text[start:end]):
        if part is None:
            continue
        stripped = part.strip()
        if stripped:
            s = text.find(stripped, pos)
            if s >= 0:
                pos = s + len(stripped)
                yield s, stripped


def _strip_number(title: str) -> str:
    return re.sub(r"^(?:[（(][一二三四五六七八九十\d]+[）)]|[一二三四五六七八九十\d]+[、.．])\s*", "", title)


def _is_heading(sentence: str, section_path: str) -> bool:
    """A heading line repeats the section title (maybe with markdown #s); it is not an answer sentence."""
    bare = _strip_number(sentence.lstrip("#").strip()).rstrip("。")
    return sentence.startswith("#") or bare == _strip_number(section_path.split(" › ")[-1] if section_path else "")


def _title_score(title: str, qgrams: set[str]) -> float:
    """How well a section title answers the question: share of the question, or of the title, they have in common."""
    shared = bigrams(_strip_number(title)) & qgrams
    if len(shared) < 2:
        return 0.0
    return max(len(shared) / max(len(qgrams), 1), len(shared) / max(len(bigrams(_strip_number(title))), 1))


def _anchor(hits, qgrams: set[str]) -> tuple[float, str, str]:
    """(score, doc_id, section path) of the section — at any depth — whose title best answers the question."""
    best, key = (0.0, "", ""), (False, 0, 0.0)
    for hit in hits[:5]:
        parts = hit.chunk.section_path.split(" › ") if hit.chunk.section_path else []
        for depth in range(1, len(parts) + 1):
            score = _title_score(parts[depth - 1], qgrams) + 0.01 * depth
            # of the titles that answer the question, the one sharing most of its words ("街镇级城市体检" over
            # "区级体检" for "哪几个镇开展街镇级体检")
            rank = (score >= 0.5, len(bigrams(_strip_number(parts[depth - 1])) & qgrams) if score >= 0.5 else 0, score)
            if rank > key:
                best, key = (score, hit.chunk.doc_id, " › ".join(parts[:depth])), rank
    return best


def _section_sentences(kb, doc_id: str, path: str):
    """(offset, sentence, chunk) of every non-heading sentence under a section, in document order."""
    text = kb.text_of(doc_id)
    chunks = sorted((c for c in kb.chunks if c.doc_id == doc_id and c.kind != "table"
                     and (c.section_path == path or c.section_path.startswith(path + " › "))), key=lambda c: c.start)
    for chunk in chunks:
        for s, sentence in _sentences(text, chunk.start, chunk.end):
            if not _is_heading(sentence, chunk.section_path):
                yield s, sentence, chunk


def _whole_lines(kb, picked):
    """A short lead sentence ("绿色照明工程。") brings the rest of its line: the line is one item."""
    out = {(s, sentence): (score, chunk) for score, s, sentence, chunk in picked}
    for score, s, sentence, chunk in picked:
        if len(sentence) > 20:
            continue
        text = kb.text_of(chunk.doc_id)
        line_end = text.find("\n", s)
        line_end = len(text) if line_end < 0 else min(line_end, chunk.end)
        for s2, sentence2 in _sentences(text, s, line_end):
            out.setdefault((s2, sentence2), (score, chunk))
    return [(score, s, sentence, chunk) for (s, sentence), (score, chunk) in out.items()]


AMOUNT_ASKED = re.compile(r"多少|(?<!哪)几[个项座处条家万亿吨公里亩台套]|百分之几")
INDEX_CELL = re.compile(r"\|\s*\d{1,3}\s*(?=\|)|[㎡²³]")  # a table row's 序号 and unit marks state no quantity
YEARS = re.compile(r"(?:19|20)\d{2}(?:[-—–](?:19|20)?\d{2})?年?|“?十[一二三四五六七八九]五”?")


def answer_narrative(kb, ent: Entities, intent: Intent, hits, must_contain: str | None = None) -> Answer:
    """Extractive: the best sentences of the best sections, each quoted and cited; nothing is written anew.

    When a section's own title answers the question ("如何控制农牧业面源污染" → "控制农牧业面源污染"),
    that section is the answer (a section with many parts is answered part by part); otherwise the sentences
    that share most of the question's words.
    """
    query = content(ent.text)
    qgrams = bigrams(query)
    if not hits or not qgrams:
        raise NotInKnowledgeBase("no passage", "规划中没有找到相关内容。")
    score, doc_id, path = _anchor(hits, qgrams)
    scored: list[tuple[float, int, str, object]] = []
    if score >= 0.5:
        sentences = list(_section_sentences(kb, doc_id, path))
        children = list(dict.fromkeys(c.section_path for _, _, c in sentences if c.section_path != path))
        if len(sentences) > MAX_PASSAGE_SENTENCES and len(children) > 1:
            # A section of many parts ("专栏三：重点节能工程"): each part with its first sentence.
            firsts = {}
            for s, sentence, chunk in sentences:
                firsts.setdefault(chunk.section_path, (s, sentence, chunk))
            scored = [(1.0, s, sentence, chunk) for s, sentence, chunk in firsts.values()]
        else:
            scored = [(1.0, s, sentence, chunk) for s, sentence, chunk in sentences]
        limit = max(MAX_PASSAGE_SENTENCES, len(scored)) if len(children) > 1 else MAX_PASSAGE_SENTENCES
    else:
        for rank, hit in enumerate(hits[:4]):
            chunk = hit.chunk
            text = kb.text_of(chunk.doc_id)
            for s, sentence in _sentences(text, chunk.start, chunk.end):
                if _is_heading(sentence, chunk.section_path):
                    continue
                overlap = len(bigrams(sentence) & qgrams) / max(len(qgrams), 1)
                scored.append((overlap - 0.05 * rank, s, sentence, chunk))
        best = max((x[0] for x in scored), default=0.0)
        scored = [x for x in scored if x[0] >= max(0.3, 0.6 * best)]
        scored.sort(key=lambda x: -x[0])
        scored = _whole_lines(kb, scored[:MAX_PASSAGE_SENTENCES])
        limit = MAX_PASSAGE_SENTENCES
    if must_contain:
        scored = [x for x in scored if must_contain in x[2]]
    if not scored:
        raise NotInKnowledgeBase("no matching sentence", "规划中没有找到与问题直接相关的内容。")
    scored.sort(key=lambda x: -x[0])
    chosen = sorted({(x[1], x[2]): x for x in scored[:limit]}.values(), key=lambda x: (x[3].doc_id, x[1]))
    lines, citations, current = [], [], None
    for _, s, sentence, chunk in chosen:
        section = chunk.section_path
        if section != current:
            head = _strip_number(section.split(" › ")[-1]) if section else "正文"
            doc = f"《{doc_title(kb, chunk.doc_id)}》" if len(kb.docs) > 1 else ""
            lines.append(f"【{doc}{head}】")
            current = section
            if re.search(r"\d", head):
                # a heading with a figure in it ("数据资料收集（2021年9月）") is quoted as printed, so it is sourced
                # (the heading may be the very line the sentence begins: "（2）…；加2分，以此累计。")
                at = kb.text_of(chunk.doc_id).rfind(head, 0, s + len(sentence) + len(head))
                if at >= 0:
                    citations.append(Citation(kb.doc_name(chunk.doc_id), section, head, chunk.chunk_id, chunk.doc_id))
        lines.append(f"- {sentence}")
        citations.append(Citation(kb.doc_name(chunk.doc_id), section, sentence, chunk.chunk_id, chunk.doc_id))
    trace = (f"retrieve({query!r}) → {len(hits)} 个文本块，摘录 {len(chosen)} 句",)
    if intent.kind != "narrative" and AMOUNT_ASKED.search(ent.text) and not any(
            re.search(r"\d|[一二三四五六七八九十百千万两]+(?:个|项|座|处|条|家|万|亿|公里|吨|亩)",
                      INDEX_CELL.sub("|", YEARS.sub("", x[2])))
            for x in chosen) or _unit_not_stated(kb, ent, [x[2] for x in chosen]) or (
            intent.kind != "narrative" and _number_not_stated(kb, ent, [x[2] for x in chosen])) or (
            intent.kind != "narrative" and AMOUNT_ASKED.search(ent.text) and _place_not_quoted(kb, ent, chosen)):
        # "要完成多少处文物保护单位修缮": passages on the topic that state no quantity do not answer it
        return Answer("规划中没有写明这一数量。以下是与问题相关的原文，供查阅：\n" + "\n".join(lines),
                      tuple(dedupe(citations)), (), refused=True, trace=trace + ("no quantity in the passages",),
                      intent="narrative")
    return Answer("规划中的相关内容（原文摘录）：\n" + "\n".join(lines), tuple(dedupe(citations)), (),
                  trace=trace, intent="narrative")


UNIT_OF_ASK = re.compile(r"多少(万?亿?(?:吨|亩|公顷|平方公里|平方千米|平方米|公里|千米|米|座|处|家|条|台|套|户|人|张|辆|栋|元))")
ASK_WORDS = re.compile(r"多少|几|什么|哪|要|完成|达到|规划|方案|计划|里|中|的|了|是|有|给|安排|一共|总共|共|至少|最少|不少于|"
                       r"现在|目前|当前|现有|说|写|提到|讲|"
                       r"每年|全年|大约|大概|约|应|需要|必须|[两二三四五六七八九十]年(?:内|间|里)?")


ROLE_WORDS = re.compile(r"现状值|现状|目标值|目标|基期值|基期|完成值|指标值|数值|评价标准值|标准值|值|最高|最低|最多|最少|上限|下限|钱")


BARE_NUMBER = re.compile(r"(?<![\d.])\d+(?:\.\d+)?(?!\d|年|月|日)")


ASKED_PLACE = re.compile(r"(?![哪各每全本该这那其])[\u4e00-\u9fff]{2,4}?(?:新区|区|县|镇|街道)(?=的|分解|分到|有|是|要|[，,？?])")


def _place_not_quoted(kb, ent: Entities, chosen) -> bool:
    """"给浦东新区分解的面积是多少": a place asked that no quoted sentence names (and no title of the documents in
    scope): the passages are about the whole, not about it."""
    titles = "".join(kb.doc_label(d) + kb.doc_name(d) for d in (ent.doc_ids or ()))
    for m in ASKED_PLACE.finditer(TITLE_MARKS.sub(" ", ent.text)):
        place = re.sub(r"^.*[里中的在和与及对给]", "", m.group(0))  # "规划中浦东新区" → 浦东新区
        stem = re.sub(r"(?:新区|区|县|镇|街道)$", "", place)
        if len(stem) < 2:
            continue
        if place in titles or stem in titles:
            continue
        if not any(place in x[2] or stem in x[2] for x in chosen):
            return True
    return False


def _asked_subject(kb, ent: Entities, text: str, *fillers: re.Pattern) -> set[str]:
    """The bigrams of what the question asks about: no 《titles》, asking words, `fillers` or the named
    documents' own title words."""
    asked = ASK_WORDS.sub(" ", TITLE_MARKS.sub(" ", text))
    for words in fillers:
        asked = words.sub(" ", asked)
    titles = "".join(kb.doc_label(d) for d in (ent.doc_ids or ()))
    return bigrams(content(asked)) - bigrams(titles)


def _a_clause_states(items, number: re.Pattern, subject: set[str], need: float) -> bool:
    """Does one clause (or list item) hold both a number and `need` of the subject's bigrams?"""
    return any(number.search(clause) and len(bigrams(clause) & subject) >= need for clause in items)


def _number_not_stated(kb, ent: Entities, sentences: list[str]) -> bool:
    """"森林覆盖率的现状值是多少" where the passages only list 森林覆盖率 among new indicators: no item that names
    the subject also states a number, so the passages do not answer it (a unit asked is _unit_not_stated's)."""
    if not re.search(r"多少|(?<!哪)几", ent.text) or UNIT_OF_ASK.search(ent.text):
        return False
    subject = _asked_subject(kb, ent, ent.text, ROLE_WORDS)
    if len(subject) < 3:
        return False
    need = max(2, 0.34 * len(subject))
    # a table row is one item; in prose each clause or list item is
    return not any(_a_clause_states([sentence] if sentence.startswith("|") else re.split(
        r"[，,；;。:：、]", YEARS.sub(" ", sentence)), BARE_NUMBER, subject, need) for sentence in sentences)


def _unit_not_stated(kb, ent: Entities, sentences: list[str]) -> bool:
    """"老旧供水管道改造要完成多少公里": quoted passages answer it only when one clause has both the subject
    and a number in that unit. A kilometre figure of the next clause (排水主管检测约123公里) does not."""
    m = UNIT_OF_ASK.search(ent.text)
    if not m:
        return False
    unit = m.group(1)
    # what is counted may come before the asked unit (供水管道改造要完成多少公里) or after it (有多少辆消防车)
    before = _asked_subject(kb, ent, ent.text[:m.start()])
    after = _asked_subject(kb, ent, re.split(r"[？?，,。；;]", ent.text[m.end():])[0])
    subject = before | after
    if len(subject) < 2:
        return False
    number = re.compile(r"\d+(?:\.\d+)?\s*(?:万|亿)?" + re.escape(unit.lstrip("万亿")))
    need = max(1, 0.6 * len(subject)) if not after else max(1, 0.6 * len(before), 0.5 * len(subject))
    return not any(_a_clause_states(re.split(r"[，,；;。:：|]", sentence), number, subject, need)
                   for sentence in sentences)


def answer_audit(kb, ent: Entities, intent: Intent) -> Answer:
    res = audit(kb)
    issues = res.data["issues"]
    if ent.indicators:
        keyed = [i for i in issues if any(k in i.indicator or k in i.message for k in ent.indicators)]
        issues = keyed or issues
    if not issues:
        return Answer("没有发现规划表格中的数字不一致。", (), (), intent="audit", trace=("audit() → 0",))
    lines = [f"{n}. {i.message}".replace(f"{n}. ", "- ", 1) for n, i in enumerate(issues, 1)]
    citations = dedupe(c for i in issues for c in i.citations)
    figures = tuple(f for i in issues for f in i.figures)
    return Answer("核对发现以下不一致（均附原文出处）：\n" + "\n".join(lines), citations, figures, intent="audit",
                  trace=(f"audit() → {len(issues)} 处",))


def refusal(kb, ent: Entities, resolver, reason: str = "") -> Answer:
    from kb.vocab import is_overall, is_region_table

    # What the documents in scope have (not the whole knowledge base's vocabulary): their places and rows.
    tables = list(getattr(kb, "tables", ()))
    places = [r for t in tables if is_region_table(t) for r in t.row_labels if not is_overall(r)]
    regions = "、".join(list(dict.fromkeys(places))[:20]) if tables else "、".join(resolver.vocab.regions[:20])
    # Names only: an indicator name with figures in it ("15分钟…") would state a number nobody cited.
    listed = ([re.sub(r"[（(][^）)]*[）)]", "", r) for t in tables if not is_region_table(t) for r in t.row_labels]
              if tables else [re.sub(r"[（(][^）)]*[）)]", "", names[0]) for names in resolver.vocab.indicators.values()])
    listed = [n.strip() for n in dict.fromkeys(listed) if 2 <= len(n.strip()) <= 20]
    indicators = "、".join([n for n in listed if not re.search(r"\d", n)][:12])
    lines = []
    suggestions = tuple(ent.suggestions)
    if ent.unknown_places:
        lines.append(f"规划中没有{ '、'.join(ent.unknown_places)}的内容。")
        if regions and not suggestions:
            lines.append(f"本知识库覆盖的地区有：{regions}。")
    elif ent.unknown_periods:
        periods = (set().union(*(resolver.doc_periods.get(d, set()) for d in ent.doc_ids)) if ent.doc_ids
                   else resolver.known_periods)
        known = "、".join(f"“{p}”" for p in sorted(periods)) or "（无）"
        lines.append(f"{'所问规划' if ent.doc_ids else '知识库中的规划'}只涉及{known}时期，"
                     f"没有“{ent.unknown_periods[0]}”的目标或数据。")
    elif ent.unknown_terms:
        lines.append(f"规划中没有关于“{'、'.join(ent.unknown_terms)}”的指标或内容。")
        if indicators and not suggestions:
            lines.append(f"可以查询的指标有：{indicators}。")
    elif ent.unknown_years:
        lines.append(f"规划中没有{'、'.join(ent.unknown_years)}年的数据。")
    else:
        lines.append(reason or "规划中没有找到能回答这个问题的内容，因此不作推测。")
        if indicators:
            lines.append(f"可以查询的指标有：{indicators}。")
    if suggestions:
        lines.append(f"您是否想问：{'、'.join(suggestions)}？")
    return Answer("\n".join(lines), (), (), refused=True, intent="out_of_scope", suggestions=suggestions,
                  trace=(f"refuse: places={ent.unknown_places} periods={ent.unknown_periods} terms={ent.unknown_terms}",))
