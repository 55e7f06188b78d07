"""QueryPlan → Answer for what documents are asked about beyond the bundled plan's region tables.

Operations here: metadata fields, short names a document defines, a row's value by column role (现状 /
目标 / 属性 / 单位 / 阶段 / 累计) with words kept as words, counts of list items and table rows, threshold
filters, ranks and ranges over one table's rows of one unit, and the refusal when the quantity asked for
(an amount in 吨, a level in a year) is not what the document states. Each returns None when the plan is
not of its kind, so the regular handlers take over; a figure always comes from a cell, a quoted line or a
computation over cited figures.
"""

from __future__ import annotations

import re

from assistant.plan import META_WORDS, QueryPlan
from ingest.metadata import DOC_NUMBER
from kb.records import Answer, Citation, Figure
from kb.tokens import plain_bigrams
from tools.base import _chunk_at, cell_citations, cn_int, dedupe, fmt_num

COMPARATOR_WORDS = {"≥": "不低于", ">": "高于", "≤": "不高于", "<": "低于", "=": "等于"}
ROLE_NAMES = {"base": "现状", "target": "目标", "cumulative": "累计", "milestone": "阶段目标", "annual": "年均",
              "change": "变化"}


def doc_title(kb, doc_id: str) -> str:
    """How an answer names a document: the plan a notice issues ("关于印发《X》的通知" → X), years kept."""
    doc = next((d for d in kb.docs if d["doc_id"] == doc_id), {})
    full = ((doc.get("meta") or {}).get("title") or doc.get("name", "").rsplit(".", 1)[0]).strip()
    if not full or len(full) > 60 or full.endswith(("。", "；", "：")):
        return kb.doc_label(doc_id)  # a first line that is a sentence names nothing; the file name does
    core = re.sub(r"^.*?关于(?:印发|转发|下发|发布|下达)\s*", "", full)
    core = re.sub(r"^.*?(?:印发|转发|下发)(?=《)", "", core)
    core = re.sub(r"^[^《》]{1,24}?(?:制订|制定|起草|编制|拟定)?的?(?=《[^》]+》(?:的(?:通知|函))?$)", "", core)  # 转发区建设管理委《…》
    core = re.sub(r"的(?:通知|函|通告|决定)$", "", core).strip()
    m = re.fullmatch(r"《([^》]+)》", core)
    title = (m.group(1) if m else core or full).strip()
    return title.replace("《", "〈").replace("》", "〉")  # a title inside the answer's 《》 is written 〈〉


def quote_citation(kb, doc_id: str, quote: str) -> Citation | None:
    text = kb.text_of(doc_id)
    at = text.find(quote)
    if not quote or at < 0:
        return None
    chunk_id = _chunk_at(kb, doc_id, at)
    chunk = kb.chunk_by_id.get(chunk_id) if hasattr(kb, "chunk_by_id") else None
    return Citation(kb.doc_name(doc_id), chunk.section_path if chunk else "", quote, chunk_id, doc_id)


NOTE_MARKS = ("〔", "［", "/", "*", "※", "△", "▲", "①", "②", "③", "#")


def table_note(kb, t, cells) -> tuple[str, Citation | None]:
    """The table's note that explains a mark the quoted cells carry ("〔 〕内为五年累计数", "“/”表示基期未统计"),
    with its citation; ("", None) when no cell carries a mark a note explains."""
    marks = {m for c in cells for m in NOTE_MARKS if m in (c.raw or "")}
    for note in getattr(t, "notes", ()) or ():
        if any(m in note or (m == "〔" and "〔 〕" in note) for m in marks):
            return note, quote_citation(kb, t.doc_id, note)
    return "", None


def _docs_in_scope(kb, plan: QueryPlan) -> list[dict]:
    ids = set(plan.scope.doc_ids)
    return [d for d in kb.docs if not ids or d["doc_id"] in ids]


# ---------- metadata and aliases ----------

def answer_metadata(kb, plan: QueryPlan) -> Answer | None:
    if plan.operation.kind != "metadata":
        return None
    docs = _docs_in_scope(kb, plan)
    if len(docs) > 3 and not plan.scope.doc_ids:
        return Answer("知识库中有多份文件，请指明是哪一份文件（例如在问题中写出文件标题的关键词）。", refused=True,
                      intent="metadata", trace=("metadata: document not named",))
    lines, citations, figures = [], [], []
    for d in docs:
        meta = d.get("meta") or {}
        title = doc_title(kb, d["doc_id"])
        for field in plan.measure.meta_field.split("+"):
            if field == "period":
                value, quote = _period_of(kb, d, title)
                quotes = [quote]
            else:
                value, quote_field = _meta_value(meta, field)
                quotes = [(meta.get("quotes") or {}).get(f, "") for f in quote_field]
            if field == "doc_number" and CITED_BASIS.search(plan.question):
                cited = _cited_numbers(kb, d["doc_id"])
                if cited:
                    # "依据苏州市哪个文件（文号）": the documents this one cites, not its own number
                    for number, sentence in cited[:3]:
                        lines.append(f"《{title}》依据的文件：{number}。")
                        c = quote_citation(kb, d["doc_id"], sentence)
                        if c:
                            citations.append(c)
                    continue
            if not value:
                lines.append(f"《{title}》中没有写明{META_WORDS.get(field, field)}。")
                continue
            lines.append(f"《{title}》的{META_WORDS.get(field, field)}：{value}。")
            if field == "attachments":
                quotes += meta.get("attachment_lines") or []
            for quote in quotes:
                c = quote_citation(kb, d["doc_id"], quote)
                if c:
                    citations.append(c)
            if field == "attachments" and meta.get("attachment_titles"):
                figures.append(Figure("附件个数", float(len(meta["attachment_titles"])), "个", "逐项计数", (),
                                      citations[-1] if citations else None))
            if field == "doc_number" and meta.get("doc_number_variants"):
                lines[-1] = lines[-1].rstrip("。") + f"（文中也写作{'、'.join(v for v in meta['doc_number_variants'] if v != value)}）。"
            if field == "issuers" and meta.get("issuers_listed"):
                lines[-1] = lines[-1].rstrip("。") + f"（发布平台登记的发布单位为{'、'.join(meta['issuers_listed'])}）。"
            drafter = re.search(r"转发\s*([^《》]{2,24}?)(?:制订|制定|起草|编制)?的?《", meta.get("title", "") or "")
            if field == "issuers" and drafter:
                # "关于转发区建设管理委《…》的通知": one body drew the plan up, the issuer forwarded it
                lines[-1] = lines[-1].rstrip("。") + f"；《{title}》由{drafter.group(1)}制订，经发文机关转发。"
                c = quote_citation(kb, d["doc_id"], drafter.group(0).rstrip("《"))
                if c:
                    citations.append(c)
    refused = not citations
    if refused:
        return Answer("\n".join(lines) or "文件中没有写明这一信息。", refused=True, intent="metadata")
    return Answer("\n".join(lines), dedupe(citations), tuple(figures), intent="metadata")


CITED_BASIS = re.compile(r"依据|根据|按照|依照|落实|转发")
CITED_NUMBER = re.compile(r"(《[^》]{2,60}》)?\s*[（(]?(" + DOC_NUMBER.pattern + ")")  # the cited title, then its 文号


def _cited_numbers(kb, doc_id: str) -> list[tuple[str, str]]:
    """Document numbers the text cites after 根据/依据/按照 ("根据…《…通知》(苏府办〔2019〕144号)"), each with its
    sentence."""
    out = []
    for sentence in re.split(r"(?<=[。；;])", kb.text_of(doc_id)):
        if not CITED_BASIS.search(sentence):
            continue
        for m in CITED_NUMBER.finditer(sentence):
            shown = f"{m.group(1)}（{m.group(2)}）" if m.group(1) else m.group(2)
            if all(m.group(2) not in x for x, _ in out):
                out.append((shown, sentence.strip()[-200:]))
    return out


_PERIOD = re.compile(r"(?:(?:19|20)\d{2})\s*[—–\-~～至到]\s*(?:(?:19|20)\d{2})年")
_FIVE_YEAR = {"十一五": "2006—2010年", "十二五": "2011—2015年", "十三五": "2016—2020年", "十四五": "2021—2025年",
              "十五五": "2026—2030年"}


def _period_of(kb, doc: dict, title: str) -> tuple[str, str]:
    """The span of years a plan covers, as the title or the text states it ("2011—2015年", "十二五")."""
    m = _PERIOD.search(title)
    if m:
        return m.group(0), m.group(0)
    text = kb.text_of(doc["doc_id"])[:4000]
    m = re.search(r"规划期(?:限)?[为是：:]?\s*" + _PERIOD.pattern, text) or _PERIOD.search(text)
    if m:
        return _PERIOD.search(m.group(0)).group(0), m.group(0)
    for word, span in _FIVE_YEAR.items():
        if word in title:
            return f"“{word}”时期（{span}）", word
    return "", ""


def _meta_value(meta: dict, field: str) -> tuple[str, tuple[str, ...]]:
    if field == "issuers":
        bodies = meta.get("issuers") or []
        return ("、".join(bodies), ("issuers", "signature")) if bodies else ("", ())
    if field == "attachments":
        titles = meta.get("attachment_titles") or []
        if titles:
            return f"共{len(titles)}个：" + "；".join(f"“{t}”" for t in titles), ("attachment_titles",)
        links = meta.get("attachments") or []
        return ("、".join(links), ("attachments",)) if links else ("", ())
    if field == "validity":
        if meta.get("validity"):
            return meta["validity"], ("validity",)
        if meta.get("status"):
            return f"文件没有写明有效期，发布平台标注的状态为“{meta['status']}”", ("status",)
        return "", ()
    if field in ("signed_date", "published_date"):
        value = meta.get(field, "")
        if value and re.fullmatch(r"\d{4}-\d{2}-\d{2}", value):
            y, m, d = value.split("-")
            value = f"{y}年{int(m)}月{int(d)}日"
        return value, (field,)
    return str(meta.get(field, "") or ""), (field,)


def answer_alias(kb, plan: QueryPlan) -> Answer | None:
    if plan.operation.kind != "alias":
        return None
    short = plan.measure.subject
    if short == "?":
        return _short_names(kb, plan)
    for d in _docs_in_scope(kb, plan):
        full = (d.get("aliases") or {}).get(short)
        if not full:
            continue
        text = kb.text_of(d["doc_id"])
        m = re.search(re.escape(full) + r"[（(](?:以下)?简称[“\"《「]" + re.escape(short), text)
        quote = m.group(0) if m else ""
        c = quote_citation(kb, d["doc_id"], quote)
        return Answer(f"《{doc_title(kb, d['doc_id'])}》中“{short}”是“{full}”的简称。",
                      (c,) if c else (), intent="alias")
    return None


def _short_names(kb, plan: QueryPlan) -> Answer | None:
    """The short names a document gives ("（以下简称《规划》）"): the document's own when the question asks about
    the plan itself, else the one whose full name the question shares most words with, else all of them."""
    if not plan.scope.doc_ids and len(kb.docs) > 1:
        return None  # whose short names: the question must name the document
    for d in _docs_in_scope(kb, plan):
        aliases = d.get("aliases") or {}
        if not aliases:
            continue
        title = doc_title(kb, d["doc_id"])
        itself = re.search(r"本身|本规划|本方案|本计划|这个规划|这份|文件自己|规划自己|方案自己", plan.question)
        q = _grams(plan.question)
        ranked = sorted(aliases.items(), key=lambda kv: (
            not (itself and (kv[1].strip("《》") in title or title in kv[1])), -len(_grams(kv[1]) & q)))
        chosen = ranked[:1] if itself or len(_grams(ranked[0][1]) & q) >= 3 else ranked
        text = kb.text_of(d["doc_id"])
        lines, cites = [], []
        for short, full in chosen:
            m = re.search(re.escape(full) + r"[》”\"]?[（(](?:以下)?简称([“\"《「]?" + re.escape(short.strip("《》")) +
                          r"[”\"》」]?)", text)
            c = quote_citation(kb, d["doc_id"], m.group(0)) if m else None
            cites += [c] if c else []
            written = m.group(1) if m else f"“{short}”"
            lines.append(f"“{full}”简称{written}")
        return Answer(f"《{title}》中：" + "；".join(lines) + "。", tuple(cites), intent="alias",
                      trace=("short names the document defines",))
    return None


# ---------- table rows by role ----------

_grams = plain_bigrams
CAPTION_NUMBER = re.compile(r"^(?:附件|附表|专栏|表)\s*[一二三四五六七八九十\d]*[：:.、\s]*")


def caption_grams(t) -> set[str]:
    """The bigrams of a table's caption without its number ("附件1：", "专栏2", "表3")."""
    return _grams(CAPTION_NUMBER.sub("", t.title))


def caption_cover(t, q: set[str]) -> float:
    """How much of the table's caption the question's bigrams `q` repeat (0 when the caption is empty)."""
    caption = caption_grams(t)
    return len(caption & q) / len(caption) if caption else 0.0


def topic_grams(plan: QueryPlan) -> tuple[set[str], set[str]]:
    """(the follow-up's own words, everything asked): "那氨氮呢" after "清源县化学需氧量减排量多少吨" → ({氨氮}, all)."""
    about = plan.about
    own, _, before = about.partition("‖")
    if not before:
        return set(), _grams(about)
    return _grams(own), _grams(own) | _grams(before)


def _row_matches(kb, plan: QueryPlan):
    """(table, row label, cells) of the rows the question is about, best first: the resolver's indicator,
    else the label whose words the question covers best ("美丽街区数量" → "提升和新建“美丽街区”数量")."""
    from kb.vocab import indicator_key, indicator_keys, is_region_table

    wanted = [indicator_key(i) for i in plan.measure.indicators]
    own, q = topic_grams(plan)
    ids = set(plan.scope.doc_ids)
    found = []
    for t in kb.tables:
        if ids and t.doc_id not in ids or not t.roles or is_region_table(t):
            continue
        rows: dict[str, list] = {}
        for c in t.cells:
            rows.setdefault(c.row_label, []).append(c)
        for label, cells in rows.items():
            score = 0.0
            for w in wanted:
                for key in indicator_keys(label):
                    if key == w:
                        score = max(score, 2.0)
                    elif len(w) >= 2 and (w in key or key in w):
                        score = max(score, 1.0 + min(len(w), len(key)) / max(len(w), len(key)))
            g = _grams(re.sub(r"[（(][^）)]*[）)]", "", label))
            if g:
                cover = len(g & q) / len(g)
                if cover >= 0.6 or (len(g & q) >= 8 and cover >= 0.5):  # a long name asked without its fillers
                    score = max(score, 1.0 + cover)
                if own and score:
                    score += len(own & g) / len(own)  # what the follow-up names decides between the rows
            if score:
                found.append((score, t, label, cells))
    if not found:
        return []
    top = max(s for s, *_ in found)
    return [(t, label, cells) for s, t, label, cells in sorted(found, key=lambda x: -x[0]) if s >= top - 1e-9]


def prose_names_it_exactly(kb, names, labels, docs, question: str = "") -> bool:
    """The rows found only contain the asked name inside a longer one ("公园数量" in "改建或新建口袋公园数量") while
    a sentence of the same document states a quantity right after the name itself ("公园数量累计达到1600座以上")."""
    from kb.vocab import indicator_key, indicator_keys

    names = [n for n in names if len(n) >= 3]
    wanted = {indicator_key(n) for n in names}
    if not names or any(set(indicator_keys(label)) & wanted for label in labels):
        return False
    for label in labels:
        for name in names:
            at = label.find(name)
            if at >= 2 and label[at - 2:at] + name in question:
                return False  # "口袋公园数量" asked: the longer row name is what the question says
    for f in kb.facts:
        if f.doc_id not in docs:
            continue
        for name in names:
            at = f.sentence.find(name)
            gap = f.sentence.find(f.quote) + max(f.quote.find(f.raw), 0) - (at + len(name))
            if at >= 0 and 0 <= gap <= 12 and (at == 0 or f.sentence[at - 1] in "，。；、：（(“\"的"):
                return True
    return False


def value_words(cell) -> str:
    """A cell as a person reads it: "不低于80%", "4.1%左右", "〔3000—4000〕万平方米（五年累计）", or its words."""
    if cell.kind == "text":
        return f"“{cell.raw}”"
    if cell.value is None:
        return cell.raw or "（空）"
    unit = cell.unit if cell.unit not in ("—", "-") else ""
    if re.search(r"以上|以下|以内|左右|约|不低于|不少于|不超过|超过|力争|至少", cell.raw):
        # Bounds printed in words are quoted as printed ("70以上" → "70%以上")
        raw = cell.raw
        if unit and unit not in raw:
            raw = re.sub(r"(\d(?:[\d.]*\d)?)", lambda m: m.group(1) + unit, raw, count=1) if "—" not in raw else raw
        return raw + ("（规划期累计）" if cell.role == "cumulative" else "")
    if cell.kind == "range":
        core = f"{fmt_num(cell.value, 4)}—{fmt_num(cell.value_hi, 4)}{unit}"
    else:
        core = f"{fmt_num(cell.value, 4)}{unit}"
    words = COMPARATOR_WORDS.get(cell.comparator, "") + core
    if cell.qualifier and "左右" in cell.qualifier:
        words += "左右"
    if cell.qualifier and "约" in cell.qualifier:
        words = "约" + words
    if "力争" in (cell.qualifier or ""):
        words = "力争" + words
    if "累计" in (cell.qualifier or "") or cell.role == "cumulative":
        words += "（规划期累计）"
    if cell.flag == "missing_percent":
        words += "（原表此处缺少“%”，按原文照录）"
    if cell.flag == "realigned":
        words += "（原表该行缺少单元格，此值所在列是按列对齐推定的，请核对原文）"
    return words


def _pick(cells, plan: QueryPlan):
    role, year = plan.measure.role, plan.measure.year
    own, _ = topic_grams(plan)
    asked = plan.about.partition("‖")[0] if own else plan.about
    asked = re.sub(r"[\u4e00-\u9fff“”]{0,20}(?:一览表|表)(?:里|中|内)?", " ", asked)  # "…完成情况表里" names the table
    named = [c for c in cells if c.role in ("text", "value", "attribute") and len(c.column) >= 3
             and not re.search(r"(?:19|20)\d{2}|十[一二三四五六七八九]五", c.column) and c.column in asked]
    if named:
        # "完成情况是怎么写的": the column the question names by its header, after the row's figures
        context = [c for c in cells if c.role in ("base", "target") and c not in named]
        return context + named
    values = [c for c in cells if c.role not in ("attribute", "text", "label", "index", "group", "unit")]
    if role in ("attribute",):
        return [c for c in cells if c.role == "attribute"]
    if year:
        chosen = [c for c in values if c.year == year]
        if chosen and role in ("base", "target") and not any(c.role == role for c in chosen):
            # "目标怎么定的？2020年是多少？": the target and the 2020 value are both asked
            chosen = [c for c in values if c.role == role] + chosen
        if chosen and "目标" in plan.question and not any(c.role == "target" for c in chosen):
            # "目标和2025年实际完成各是多少": the target too
            chosen = [c for c in values if c.role == "target" and c not in chosen] + chosen
        if chosen:
            return chosen
    if role in ("base", "target", "milestone", "annual", "change", "cumulative"):
        chosen = [c for c in values if c.role == role]
        if chosen:
            return chosen
    return values or cells


PERIODS = {"十一五": (2006, 2010), "十二五": (2011, 2015), "十三五": (2016, 2020), "十四五": (2021, 2025),
           "十五五": (2026, 2030), "十六五": (2031, 2035)}


def _outside_period(t, year: str, picked) -> str:
    """The plan period a table's targets belong to, when the asked year lies outside it (else "")."""
    if not year or any(c.year == year for c in picked):
        return ""
    names = t.title + " " + " ".join(t.columns)
    years = {int(y) for y in re.findall(r"((?:19|20)\d{2})", names)}
    for word, (a, b) in PERIODS.items():
        if word in names:
            years |= {a, b}
    if not years:
        return ""
    lo, hi = min(years), max(years)
    if lo <= int(year) <= hi:
        return ""
    word = next((w for w, (a, b) in PERIODS.items() if w in names), "")
    return f"“{word}”时期（{lo}—{hi}年）" if word else f"{lo}—{hi}年"


MONTH_ASKED = re.compile(r"(\d{1,2})月(?:底|末|中旬|上旬|下旬|初)?")


def _asked_month(plan: QueryPlan) -> str:
    m = MONTH_ASKED.search(plan.question)
    return m.group(0) if m else ""


def _milestone_not_given(t, plan: QueryPlan) -> str:
    """"10月底前要累计完成多少" of a table whose milestones are 3月底、6月底、9月底、11月中旬: the milestones it gives
    ("" when the month asked is one of them, or the table has no milestones)."""
    m = MONTH_ASKED.search(plan.question)
    if m is None:
        return ""
    staged = [c for c in t.columns if re.search(r"\d{1,2}月", c)]
    if len(staged) < 2 or any(re.search(rf"(?<!\d){m.group(1)}月", c) for c in staged):
        return ""
    return "、".join(dict.fromkeys(re.search(r"(?:\d{1,2}[-—～~])?\d{1,2}月[^·完成]*", c.split("·")[-1]).group(0) for c in staged
                                   if re.search(r"\d{1,2}月", c.split("·")[-1])))


def within_period(t, year: str, cells) -> str:
    """"2027年当年要完成多少" of a table that gives "十四五"完成值 and "十五五"目标值 only: the year lies inside a period
    and is not its last year, so no cell states it. Returns the periods the table gives ("" when it answers)."""
    if not year or any(c.year for c in cells):
        return ""
    names = " ".join(c.column for c in cells)
    spans = [(w, a, b) for w, (a, b) in PERIODS.items() if w in names]
    if not spans or any(str(b) == year for _, _, b in spans) or not any(a <= int(year) < b for _, a, b in spans):
        return ""
    return "、".join(f"“{w}”时期（{a}—{b}年）" for w, a, b in spans)


def answer_row(kb, plan: QueryPlan) -> Answer | None:
    """A row's values by column role or year; the attribute or unit of an indicator."""
    if plan.operation.kind not in ("lookup", "fact", "narrative") or plan.scope.regions:
        return None
    if plan.measure.year and re.search(rf"(?:比|较|相比|相对){plan.measure.year}年", plan.question):
        return None  # "比2005年下降了多少": a change since a base year, which the prose states, not a column
    matches = _row_matches(kb, plan)
    if not matches or any(not t.roles for t, _, _ in matches):
        return None
    if prose_names_it_exactly(kb, plan.measure.indicators, [label for _, label, _ in matches],
                              {t.doc_id for t, _, _ in matches}, plan.question):
        return None
    if len({t.doc_id for t, _, _ in matches}) > 1 and not plan.scope.doc_ids and len(kb.docs) > 1:
        pass  # several documents state it: each is shown with its document below
    lines, citations, figures = [], [], []
    for t, label, cells in matches[:4]:
        title = doc_title(kb, t.doc_id)
        where = f"《{title}》{t.title}" if len(kb.docs) > 1 else t.title
        if plan.measure.role == "unit":
            unit = next((c.unit or c.column_unit for c in cells if c.unit or c.column_unit), "")
            if not unit:
                continue
            lines.append(f"根据{where}，“{label}”的单位是{unit}。")
        else:
            picked = _pick(cells, plan)
            if plan.measure.role == "attribute" and not picked:
                continue
            years = sorted({c.year for c in cells if c.year})
            if plan.measure.year and years and plan.measure.year not in years and plan.measure.role not in (
                    "attribute", "unit") and not _outside_period(t, plan.measure.year, picked):
                # "2023年要降到多少" of a table with a 2020 base and a 2025 target: no figure for 2023
                given = "、".join(f"{y}年" for y in years)
                return Answer(f"《{title}》{t.title}中的“{label}”只给出{given}的数值，没有给出{plan.measure.year}年的数值。",
                              dedupe(list(cell_citations(kb, t, cells[0]))), refused=True, intent="lookup",
                              trace=("year asked is not a column year",))
            within = within_period(t, plan.measure.year, cells)
            if within:
                return Answer(f"《{title}》{t.title}中的“{label}”只给出{within}的数值，没有给出{plan.measure.year}年当年的数值。",
                              dedupe(list(cell_citations(kb, t, cells[0]))), refused=True, intent="lookup",
                              trace=("a year inside a period the table gives as a whole",))
            outside = _outside_period(t, plan.measure.year, picked)
            if outside:
                return Answer(f"《{title}》{t.title}中的“{label}”是{outside}的目标，没有给出{plan.measure.year}年的数值。",
                              dedupe(list(cell_citations(kb, t, cells[0]))), refused=True, intent="lookup",
                              trace=("year outside the table's period",))
            if plan.measure.quantity == "amount" and plan.measure.unit and any(
                    c.value is not None for c in picked) and all(
                    c.unit and plan.measure.unit not in c.unit and c.unit not in plan.measure.unit for c in picked
                    if c.value is not None):
                stated = "、".join(f"{c.column}{value_words(c)}" for c in picked)
                return Answer(f"《{title}》没有给出“{label}”以{plan.measure.unit}计的数值，只给出：{stated}。",
                              dedupe(list(cell_citations(kb, t, picked[0]))), refused=True, intent="lookup",
                              trace=("unit asked not in the table",))
            if plan.measure.quantity == "percent" and picked and not re.search(r"率|比例|比重|占比|%", label) and all(
                    c.unit and c.unit != "%" for c in picked if c.value is not None) and any(
                    c.value is not None for c in picked):
                # "公园绿地服务半径覆盖率要提高到百分之多少" answered by the 公园绿地 area row: another quantity
                stated = "、".join(f"{c.column}{value_words(c)}" for c in picked)
                return Answer(f"《{title}》{t.title}中的“{label}”是以{picked[0].unit}计的数量（{stated}），"
                              f"规划没有给出问题所问的百分比。", dedupe(list(cell_citations(kb, t, picked[0]))),
                              refused=True, intent="lookup", trace=("percent asked, the row is an amount",))
            if picked and all(c.value is None and c.kind == "empty" for c in picked):
                note, note_cite = table_note(kb, t, picked)
                shown = "、".join(f"{c.column}为“{c.raw}”" for c in picked)
                return Answer(f"《{title}》{t.title}中“{label}”{shown}，表中没有给出这一数值"
                              + (f"（表注：{note}）" if note else "") + "。",
                              dedupe(list(cell_citations(kb, t, picked[0])) + ([note_cite] if note_cite else [])),
                              refused=True, intent="lookup", trace=("the asked cell is empty",))
            groups = list(dict.fromkeys(c.parent_label for c in picked))
            if len(groups) > 1:
                # one name in several groups ("延中绿地" under 静安 and under 黄浦): each row said with its group
                said = "；".join(f"“{label}”（{g or '未分组'}）" + "，".join(
                    f"{c.column}{'：' if c.kind == 'text' else '为'}{value_words(c)}" for c in picked
                    if c.parent_label == g) for g in groups)
                lines.append(f"根据{where}，“{label}”在表中不止一处：{said}。")
            else:
                parts = [f"{c.column}{'：' if c.kind == 'text' else '为'}{value_words(c)}" for c in picked]
                head = f"“{label}”" + (f"（{cells[0].parent_label}）" if cells[0].parent_label else "")
                lines.append(f"根据{where}，{head}{'，'.join(parts)}。")
            note, note_cite = table_note(kb, t, picked)
            if note:
                lines[-1] += f"（表注：{note}）"
                citations.append(note_cite) if note_cite else None
            for c in picked:
                if c.value is not None:
                    figures.append(Figure(f"{label} {c.column}", c.value, c.unit, "", (),
                                          cell_citations(kb, t, c)[1], c.flag))
        citations += list(cell_citations(kb, t, cells[0]))
        citations += prose_for_row(kb, t, label, cells)
    if not lines:
        return None
    if len(figures) == 2 and figures[0].unit == figures[1].unit and re.search(
            r"差多少|相差|高多少|低多少|多多少|少多少|贵多少|便宜多少|差距", plan.question):
        # "集运和散运的水运运输价格差多少", "C级比E级高多少": the two rows' values of one column, subtracted
        a, b = figures
        gap = Figure("相差", abs(a.value - b.value), "个百分点" if a.unit == "%" else a.unit,
                     f"|{fmt_num(a.value, 4)} − {fmt_num(b.value, 4)}|", (a, b))
        lines.append(f"两者相差{fmt_num(gap.value, 4)}{gap.unit}（{gap.formula}）。")
        figures.append(gap)
    return Answer("\n".join(lines), dedupe(citations), tuple(figures), intent="lookup",
                  trace=(f"row lookup: {len(matches)} rows",))


def prose_for_row(kb, t, label: str, cells, limit: int = 2) -> list[Citation]:
    """The document's own sentences that state a figure of this row ("公园数量达到69座" beside the table's 69):
    the text and the table agree, and the reader sees both."""
    from tools.base import fact_citation

    key = re.sub(r"^其中\s*|[（(][^）)]*[）)]|\s", "", label)
    out = []
    for c in cells:
        if c.value is None or len(key) < 2:
            continue
        for f in kb.facts:
            if f.doc_id == t.doc_id and f.unit == c.unit and abs(f.value - c.value) < 1e-9 and key[:4] in f.sentence:
                cite = fact_citation(kb, f)
                if cite not in out:
                    out.append(cite)
                break
        if len(out) >= limit:
            break
    return out


# ---------- region tables: a place's value, ranks and comparisons across places ----------

TABLE_REF = re.compile(r"(专栏|附件|附表|表)\s*(\d+|十?[一二三四五六七八九]|十)")


def referenced_tables(kb, plan: QueryPlan) -> set[str] | None:
    """Tables the question names by number ("专栏1", "附件1", "表2"): by their title, or the line printed
    just above them ("附件1" ⏎ title). None when the question names no table."""
    refs = TABLE_REF.findall(plan.question)
    if not refs:
        return None
    ids = set(plan.scope.doc_ids)
    found = set()
    for t in kb.tables:
        if ids and t.doc_id not in ids:
            continue
        above = kb.text_of(t.doc_id)[max(0, t.start - 80):t.start]
        above = above.strip().split("\n")[-3:]
        for kind, number in refs:
            pattern = re.compile(re.escape(kind) + r"\s*" + re.escape(number) + r"(?![\d])")
            if pattern.match(t.title) or pattern.match(t.caption or "") or any(
                    pattern.fullmatch(line.strip()) for line in above):
                found.add(t.table_id)
    return found


def _region_tables(kb, plan: QueryPlan):
    from kb.vocab import is_region_table

    ids = set(plan.scope.doc_ids)
    return [t for t in kb.tables if (not ids or t.doc_id in ids) and t.roles and is_region_table(t)]


def says_nothing(cell) -> bool:
    """A cell that gives no figure: "—", or left blank."""
    return cell.value is None and (cell.kind == "empty" or not cell.raw.strip())


def _value_columns(t) -> list[str]:
    filled = {c.column for c in t.cells if c.raw.strip()}
    return [name for name, role in zip(t.columns, t.roles)
            if role not in ("label", "index", "group", "unit", "text", "attribute") and name in filled]  # 备注 left blank


def _column_score(name: str, plan: QueryPlan) -> float:
    q = plan.about.replace("‖", " ")
    for place in sorted(plan.scope.regions, key=len, reverse=True):
        q = q.replace(place, " ")  # "嘉定工业区分到多少": 工业 names the place, not the column "主要地类·工业"
    own, _ = topic_grams(plan)
    score = 0.0
    if plan.measure.year and plan.measure.year in name:
        score += 1.0
    for m in re.finditer(r"\d{1,2}月(?:底|中旬|末)?前?|[一二三四]季度", q):
        if m.group(0) in name:
            score += 3.0
    leaf, _, parents = name.rpartition("·")[::-1] if "·" in name else (name, "", "")
    qg = _grams(q)
    g = _grams(re.sub(r"[（(][^）)]*[）)]", "", leaf))
    if g:
        score += 3.0 * len(g & qg) / len(g)
        if own:
            score += 3.0 * len(own & g) / len(own)
    pg = _grams(parents)
    if pg:
        score += 1.0 * len(pg & qg) / len(pg)
        if own:
            score += 2.0 * len(own & pg) / len(pg)  # "那社区呢" after "等级…2021年任务": the follow-up's kind decides
    return score


DATE_COLUMN = re.compile(r"时间|时限|期限|节点|日期")
DATE_CELL = re.compile(r"(?:19|20)\d{2}年(?:\d{1,2}月)?|\d{1,2}月(?:底|末|中旬|前)")


def _date_columns(t) -> list[str]:
    """Columns that hold when something is done ("计划完成时间": 2014年12月底), whatever role they parsed as."""
    out = []
    for name, role in zip(t.columns, t.roles):
        if role in ("label", "index") or not DATE_COLUMN.search(name.rpartition("·")[2]):
            continue
        raws = [c.raw for c in t.cells if c.column == name and c.raw.strip()]
        if raws and sum(bool(DATE_CELL.search(r)) for r in raws) >= 0.5 * len(raws):
            out.append(name)
    return out


def _pick_column(t, plan: QueryPlan) -> list[str]:
    if plan.measure.quantity == "date":
        dated = _date_columns(t)
        if dated:
            return dated[:1]  # "什么时候完成": the table's own deadline column
    columns = _value_columns(t)
    if not columns:
        return []
    scored = sorted(((_column_score(c, plan), -i, c) for i, c in enumerate(columns)), reverse=True)
    if scored[0][0] <= 0.3:
        # "嘉定工业区分到多少公顷" names no column: the place's row; a bare "那包头市呢" is not a lookup yet
        rest = plan.question
        for place in plan.scope.regions:
            rest = rest.replace(place, "")
        rest = re.sub(r"多少|几|分到|分配|分得|下达|承担|任务量?|指标|要|完成|的|是|有|呢|个|[？?，,。]|" + re.escape(
            plan.measure.unit or "@"), "", rest)
        asked = plan.operation.kind == "lookup" or (plan.operation.kind == "fact" and re.search(
            r"多少|几", plan.question) and len(re.findall(r"[\u4e00-\u9fff]", rest)) <= 2)
        if plan.operation.kind in ("rank", "nth") and len(columns) > 1:
            # "哪个镇的任务最大" names no column: the table's total column is each place's whole task
            totals = [c for c in columns if re.search(r"(?:^|·)(?:总面积|总量|合计|总计|小计|总任务|任务量|总数)", c)]
            return totals[:1]
        return columns if len(columns) <= 1 or asked else []
    return [scored[0][2]]


def region_chart(rows: dict, col: str, highlight) -> dict | None:
    """The bar chart of one region column (places only, totals left out), the asked places highlighted."""
    from kb.vocab import is_overall

    values = {label: cols[col].value for label, cols in rows.items()
              if not is_overall(label) and col in cols and cols[col].value is not None}
    if len(values) < 2:
        return None
    unit = next((cols[col].unit for cols in rows.values() if col in cols and cols[col].unit), "")
    return {"indicator": col, "unit": unit, "values": values, "highlight": list(highlight)}


SUBJECT_STOP = {"任务", "指标", "数量", "目标", "规划", "计划", "工作", "情况", "数值", "数字", "要求", "面积", "多少", "通知",
                "方案", "表格", "表里", "全区", "全市", "全县", "地区", "各地"}


def _foreign_subject(kb, t, plan: QueryPlan) -> str:
    """A noun the question asks about that the table's document never uses ("人工造林" of a 封山育林 plan)."""
    import jieba.posseg as pseg

    text = plan.question
    for place in sorted(plan.scope.regions, key=len, reverse=True):
        text = text.replace(place, "，")
    doc = kb.text_of(t.doc_id)
    words = list(pseg.cut(text))
    for i, w in enumerate(words):
        word = w.word
        if len(word) >= 2 and w.flag.startswith("n") and w.flag not in ("ns", "nr", "nt") and word not in SUBJECT_STOP \
                and re.fullmatch(r"[\u4e00-\u9fff]+", word) and word not in doc:
            for nxt in words[i + 1:]:  # "人工" + "造林": the noun phrase it starts
                if not nxt.flag.startswith("n") or nxt.word in SUBJECT_STOP:
                    break
                word += nxt.word
            return word
    return ""


def place_row(place: str, rows) -> str:
    """The row a place is listed under: itself, or the same name without the district before it ("嘉定工业区"
    listed as "工业区" in 嘉定's own table), or the reverse; "" when the table does not list it."""
    if place in rows:
        return place
    for label in rows:
        if len(label) >= 3 and len(place) >= 3 and (place.endswith(label) or label.endswith(place)) and abs(
                len(place) - len(label)) <= 3:
            return label
    return ""


def answer_region(kb, plan: QueryPlan) -> Answer | None:
    """Values of places in a region table of the named document: lookup, rank, compare, sum."""
    from kb.vocab import is_overall

    kind = plan.operation.kind
    if not (plan.scope.doc_ids or len(kb.docs) == 1) or kind not in ("lookup", "rank", "nth", "compare", "sum", "fact",
                                                                        "list"):
        return None
    named = referenced_tables(kb, plan)
    for t in _region_tables(kb, plan):
        if named and t.table_id not in named:
            continue
        rows: dict[str, dict[str, object]] = {}
        for c in t.cells:
            rows.setdefault(c.row_label, {})[c.column] = c
        columns = _pick_column(t, plan)
        if not columns:
            continue
        places = [place_row(r, rows) for r in plan.scope.regions if place_row(r, rows)]
        missing = _milestone_not_given(t, plan)
        if missing and places:
            return Answer(f"《{doc_title(kb, t.doc_id)}》{t.title}只给出{missing}的节点，没有{_asked_month(plan)}的节点，无法回答。",
                          dedupe(cell_citations(kb, t, next(iter(rows[places[0]].values())))), (), refused=True,
                          intent="out_of_scope", trace=("milestone asked is not a column",))
        foreign = _foreign_subject(kb, t, plan) if places and max(_column_score(c, plan) for c in columns) <= 0.3 else ""
        if foreign:
            # "哈尔滨市的人工造林任务" where the table has only 封山育林 and the plan never says 人工造林
            return Answer(f"《{doc_title(kb, t.doc_id)}》没有提到“{foreign}”；{t.title}只列出"
                          + "、".join(f"“{c}”" for c in _value_columns(t)[:6]) + "，无法回答。",
                          dedupe(cell_citations(kb, t, rows[places[0]][columns[0]])) if columns[0] in rows[places[0]]
                          else (), (), refused=True, intent="out_of_scope", trace=(f"subject not in document: {foreign}",))
        totals = [r for r in rows if is_overall(r)]
        title = doc_title(kb, t.doc_id)
        if kind in ("rank", "nth") or (kind == "list" and not places):
            col = columns[0]
            excluded = set(plan.scope.exclude)
            ranked = sorted(((c.value, label, c) for label, cols in rows.items()
                             if not is_overall(label) and label not in excluded
                             for c in [cols.get(col)] if c is not None and c.value is not None),
                            key=lambda x: -x[0] if plan.operation.order == "desc" else x[0])
            if not ranked:
                continue
            n = max(1, plan.operation.n)
            chosen = ranked[n - 1:n] if kind == "nth" else ranked[:n]
            word = "最大" if plan.operation.order == "desc" else "最小"
            if kind == "nth":
                word = ("倒数" if plan.operation.order == "asc" else "") + f"第{cn_int(n)}" + (
                    "大" if plan.operation.order == "desc" else "")
            lines = [f"根据《{title}》{t.title}，“{col}”{word}的是" +
                     "、".join(f"{label}（{value_words(c)}）" for _, label, c in chosen) + "。"]
            cites = [x for _, _, c in chosen for x in cell_citations(kb, t, c)]
            figs = [Figure(f"{label} {col}", c.value, c.unit, "", (), cell_citations(kb, t, c)[1]) for _, label, c in
                    chosen]
            return Answer("\n".join(lines), dedupe(cites), tuple(figs), intent="rank",
                          chart=region_chart(rows, col, [label for _, label, _ in chosen]))
        if kind == "sum" or (plan.scope.overall and not places):
            places = totals[:1]
        if not places:
            continue
        lines, cites, figs = [], [], []
        for place in places:
            for col in columns:
                c = rows[place].get(col)
                if c is None or says_nothing(c):
                    continue  # "—" or a blank cell: the table gives no figure there; another table may
                lines.append(f"{place}“{col}”为{value_words(c)}")
                cites += list(cell_citations(kb, t, c))
                if c.value is not None:
                    figs.append(Figure(f"{place} {col}", c.value, c.unit, "", (), cell_citations(kb, t, c)[1]))
        if not lines:
            continue
        asked_unit = plan.measure.unit if plan.measure.quantity == "amount" else ""
        if asked_unit and figs and all(f.unit and asked_unit not in f.unit and f.unit not in asked_unit for f in figs):
            continue  # "多少公顷" is not answered by a column in 亩 (another table, or no answer)
        text = f"根据《{title}》{t.title}，" + "；".join(lines) + "。"
        if kind == "compare" and len(figs) == 2 and figs[0].unit == figs[1].unit:
            a, b = figs
            bigger = a if a.value >= b.value else b
            diff = abs(a.value - b.value)
            text += (f"\n{bigger.label.split(' ')[0]}更大，两者相差{fmt_num(diff, 4)}{a.unit}。" if diff else "\n两者相同。")
            figs.append(Figure("差值", diff, a.unit, f"|{fmt_num(a.value, 4)} − {fmt_num(b.value, 4)}|", (a, b)))
        return Answer(text, dedupe(cites), tuple(figs), intent=kind, chart=region_chart(rows, columns[0], places))
    return None
