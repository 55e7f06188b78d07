"""Question → QueryPlan, from the knowledge base's own vocabulary: its documents' titles, tables, metadata.

The resolver finds regions, indicators and years; the legacy intent gives the operation for the bundled
kind of plan; on top of them this reads what real documents are asked about: which document (a title
paraphrased, a district, a year), which column role (现状 / 目标 / 属性 / 单位 / 年均 / 累计 / 阶段), which
quantity type and unit, metadata fields, short names a document defines, counts and thresholds.
"""

from __future__ import annotations

import re
from dataclasses import replace

from assistant.conversation import COMPARE_TO
from assistant.entities import Entities
from assistant.intent import EXCLUDE, NTH, RANK_MAX, RANK_MIN, Intent, _cn_int
from assistant.plan import Measure, Operation, QueryPlan, Scope
from kb.tokens import plain_bigrams

META_PATTERNS = [
    ("doc_number", re.compile(r"文号|发文字号|文件编号|发文编号|字号")),
    ("issuers", re.compile(r"(?:哪个|哪些|什么)(?:部门|单位|机关|机构)(?!GDP|地区|国内|工业|产值|面积|能耗|增加值|生产总值)(?:印发|发布|"
                           r"制定|制订|起草|下发|出台|发的|联合)|发文机关|发文单位|印发单位|发布单位|发布机构|联合印发|"
                           r"谁(?:印发|发布|制定|下发)|由谁|落款|哪家单位")),
    ("validity", re.compile(r"有效期|废止|失效|还有效|是否有效|有效吗|截止到?什么时候|施行期限|执行期限")),
    ("published_date", re.compile(r"发布日期|发布时间|公开日期|什么时候发布|何时发布|哪天发布")),
    ("signed_date", re.compile(r"成文日期|成文时间|签发|落款日期|(?:什么时候|何时|哪天|哪一天|哪日)(?:印发|成文|签署|出台|转发|下发)|"
                               r"印发日期|印发时间|哪一天")),
    ("attachments", re.compile(r"(?:哪些|几个|多少个|什么)附件|附件(?:有哪些|有几个|有什么|是什么|名称|清单|列了|包括)")),
    ("period", re.compile(r"规划期(?:限|是)?|实施期限|执行期|期限是|哪几年|起止年")),
]
REVERSE_ALIAS = re.compile(r"简称(?:成|为|是|叫|作)?(?:什么|啥|哪个|哪几个)|怎么简称|简称叫|哪些简称|简称有哪些|几个简称")
ROLE_PATTERNS = [
    ("attribute", re.compile(r"属性|约束性还是预期性|是约束性|是预期性|约束性指标|预期性指标")),
    ("unit", re.compile(r"单位是|计量单位|用什么单位|以什么单位")),
    ("annual", re.compile(r"年均(?!浓度|气温|温度|降水|值)|平均每年|每年")),
    ("cumulative", re.compile(r"累计|五年合计|五年总计")),
    ("milestone", re.compile(r"\d{1,2}月(?:底|前|中旬|末)|季度|阶段性?目标|时间节点")),
    ("base", re.compile(r"现状|基期|基准年|基础值|目前|当前|现在|现有|完成值|完成了|完成情况|实际|已经")),
    ("target", re.compile(r"目标|规划值|要达到|达到多少|力争|预期|计划|到(?:19|20)\d{2}年|要求")),
]
UNIT_ASKED = re.compile(r"多少(万?亿?(?:吨标准煤|吨|亩|公顷|平方公里|平方千米|平方米|公里|千米|米|个|座|处|家|条|台|套|户|人|"
                        r"张|辆|栋|项|元|万元|亿元))")
COUNT_ASKED = re.compile(r"(?:一共|共|总共)?(?:有)?(?:几|多少)(?:条|项|类|个方面|个部分|项任务|方面|大类|个任务|个行动|个指标|个附件|"
                         r"个阶段|部分|笔|个步骤|步|个(?:街镇|乡镇|镇|街道|区县|区|县|单位|地区|盟市|园区)(?![\u4e00-\u9fff]{0,2}(?:最|的)))")
THRESHOLD = re.compile(r"(不低于|不少于|至少|不小于|大于等于|超过|高于|大于|多于|不高于|不超过|不大于|低于|小于|少于|以上|以下)"
                       r"\s*(\d+(?:\.\d+)?)\s*(%|个百分点)?|(\d+(?:\.\d+)?)\s*(%|万?吨|万?元|亿元|公里|千米|个|项|微克/立方米|"
                       r"平方公里|平方米|公顷|万?亩|万?千瓦|天)?\s*(以上|以下|及以上|及以下)")
THRESHOLD_COMPARATOR = {"不低于": "≥", "不少于": "≥", "至少": "≥", "不小于": "≥", "大于等于": "≥", "以上": "≥", "及以上": "≥",
                        "超过": ">", "高于": ">", "大于": ">", "多于": ">", "不高于": "≤", "不超过": "≤", "不大于": "≤",
                        "以下": "≤", "及以下": "≤", "低于": "<", "小于": "<", "少于": "<"}
EXACTLY = re.compile(r"(?:各|都|均|正好|恰好|刚好)有\s*(\d+(?:\.\d+)?)\s*[个家处项所座条名村]")
RANGE_ASKED = re.compile(r"最大.{0,6}最小|最高.{0,6}最低|最多.{0,6}最少|极差|相差最大|差距最大|最大值与最小值|最大和最小")
ALIAS_WORDS = re.compile(r"指的是|指什么|是指|是什么意思|的全称|全称是|全称叫|指哪|是什么的简称|简称")
REQUIREMENTS = re.compile(r"有(?:什么|哪些)要求|要求是什么|提出了?(?:什么|哪些)要求|怎么要求")


TOPIC_SEP = "‖"  # a follow-up's own words ‖ the question before (see executor.topic_grams)
PLACE_NTH = re.compile(r"排(?:名|在)?(倒数)?第([二三四五六七八九十\d]+)(?:位|名)?")
WHICH = re.compile(r"哪(?:个|一个|些|几个|家|项|一项)?|谁")
FOLLOW_UP = re.compile(r"^(?:那|那么|还有|另外|再问)|呢[？?]?$|^(?:现状|目标|基期|属性|单位)[呢？?]|"
                       r"^“?十[一二三四五六七八九]五”?(?:那|时期|期间)|"  # "十四五那五年做了多少"
                       r"^(?:和|与|跟|同)[^，,？?]{2,40}?比(?:呢|一下|较)?[，,]|比呢[，,]")  # "和普陀…的值比呢，哪个高"


def plan_question(ent: Entities, intent: Intent, kb, prev: QueryPlan | None = None,
                  used_context: bool = False, docs: tuple[str, ...] | None = None) -> QueryPlan:
    """The typed plan of one question (its entities and legacy intent already found); `prev` is the plan of
    the turn before, whose scope and measure a follow-up ("那现状呢？", "安亭镇呢") keeps."""
    plan = _plan(ent, intent, kb, used_context, docs)
    return inherit(plan, prev) if prev is not None else plan


def inherit(plan: QueryPlan, prev: QueryPlan) -> QueryPlan:
    """What a follow-up leaves out comes from the turn before; what it says replaces it. The plan says which."""
    text = plan.question
    if not (FOLLOW_UP.search(text) and len(text) <= 24) or plan.operation.kind == "refuse":
        return plan
    if plan.measure.meta_field:
        # "那落款单位是谁": another field of the same document
        if not plan.scope.doc_ids and prev.scope.doc_ids:
            return replace(plan, scope=replace(plan.scope, doc_ids=prev.scope.doc_ids), inherited=("文件",))
        return plan
    carried: list[str] = []
    scope, measure = plan.scope, plan.measure
    if not scope.doc_ids and prev.scope.doc_ids:
        scope = replace(scope, doc_ids=prev.scope.doc_ids)
        carried.append("文件")
    if not scope.regions and not scope.overall and (prev.scope.regions or prev.scope.overall) and not measure.indicators:
        scope = replace(scope, regions=prev.scope.regions, overall=prev.scope.overall)
        carried.append("地区")
    elif not scope.regions and prev.scope.regions and re.search(r"(?:和|与|跟|同|比)(?:全区|全市|全省|全县|全域|总体)", text):
        # "那和全区二氧化硫目标比高多少": the place before against the whole
        scope = replace(scope, regions=prev.scope.regions, overall=False)
        carried.append("地区")
    elif COMPARE_TO.search(text) and scope.regions and prev.scope.regions and not set(scope.regions) & set(
            prev.scope.regions):
        # "和南翔镇比呢": the place before and the one named now, compared
        scope = replace(scope, regions=tuple(prev.scope.regions) + tuple(scope.regions))
        plan = replace(plan, operation=replace(plan.operation, kind="compare"))
        carried.append("地区")
    if not measure.indicators:
        measure = replace(measure, indicators=prev.measure.indicators, subject=measure.subject or prev.measure.subject,
                          year=measure.year or ("" if measure.role else prev.measure.year),
                          # "那2030年指标值是多少" after "是约束性还是预期性": a year asks for a value, not the 属性 again
                          role=measure.role or ("" if measure.year and prev.measure.role in ("attribute", "unit")
                                                else prev.measure.role),
                          unit=measure.unit or prev.measure.unit)
        carried.append("指标")
    topic = plan.about
    if "指标" in carried or "指标" in plan.inherited:
        own = re.sub(r"^(?:那么|那|还有|另外|再问)|呢|[？?。，,！!]|是多少|多少|怎么样|如何|的$", "", text).strip()
        # The follow-up's own words ("那氨氮呢") outweigh the earlier question's ("清源县化学需氧量减排量多少吨")
        topic = f"{own}{TOPIC_SEP}{prev.about}" if len(own) >= 2 and own not in prev.about else prev.about
    own_total = re.search(r"合计|总计|共计|一共|总共|加起来|全区|全市|全县|总数", text)
    kind = plan.operation if plan.operation.kind not in ("fact", "narrative") or own_total else prev.operation
    return replace(plan, scope=scope, measure=measure, operation=kind, inherited=tuple(carried) or plan.inherited,
                   topic=topic)


def _leading_name(text: str, kb) -> tuple[str, ...]:
    """"城市更新和住房发展规划，到2030年新增达到海绵城市建设要求的…": the phrase before the first document kind
    names the document; words of another title later in the question do not."""
    m = DOC_TYPE_END.search(text)
    if m is None or m.start() > 40 or m.start() < 4:
        return ()
    found = scope_documents(text[:m.end()], kb)
    return found if len(found) == 1 else ()


def _plan(ent: Entities, intent: Intent, kb, used_context: bool, docs: tuple[str, ...] | None) -> QueryPlan:
    text = ent.text
    # Words that are entities (a region, an indicator) say what is asked, not which document: blank them.
    chars = list(text)
    for a, b in ent.spans:
        for i in range(a, min(b, len(chars))):
            chars[i] = " "
    if docs is None:
        # a title word the resolver also took for an indicator ("城市更新") still names the document
        named = _leading_name(text, kb) or scope_documents("".join(chars), kb) or scope_documents(text, kb)
        # A title the question paraphrases names the document more surely than a period or a place in it; a
        # district no document belongs to names none ("徐汇区…十五五规划" is not any 十五五 plan).
        absent = not named and len(kb.docs) > 1 and _absent_districts(
            re.sub(r"《[^》]*》", "", text), *_title_words(kb), kb)
        docs = named or (tuple(sorted(ent.doc_ids)) if ent.doc_ids and not absent else ())
    fields = [field for field, pattern in META_PATTERNS if pattern.search(text)]
    meta_field = "+".join(dict.fromkeys(fields))
    if meta_field and (ent.indicators or ent.regions) and re.search(r"多少|几|[比更]|哪个.{0,6}(?:最|更)", text) and not re.search(
            r"文号|字号|成文|发文机关|附件|有效期|废止", text):
        meta_field = ""  # "哪个单位GDP能耗下降更多" asks about an indicator, not who issued the plan
    role = next((r for r, pattern in ROLE_PATTERNS if pattern.search(text)), "")
    if intent.column == "annual":
        role = "annual"
    unit_m = UNIT_ASKED.search(text)
    quantity = ""
    if "百分点" in text:
        quantity = "points"
    elif re.search(r"百分之|%|比例|比重|占比|率(?:是|为|要|达|多少)", text):
        quantity = "percent"
    elif unit_m:
        quantity = "amount"
    elif COUNT_ASKED.search(text):
        quantity = "count"
    elif re.search(r"哪一?年|什么时候|何时", text) and not meta_field:
        quantity = "date"
    kind = _operation(text, intent, meta_field)
    if kind == "narrative" and ent.indicators and role in ("target", "base", "attribute", "unit", "milestone"):
        kind = "lookup"  # "红线面积的目标怎么定的": the row's target cell, not a passage about it
    order, n = intent.order, intent.nth or intent.top or 1
    exclude = tuple(intent.exclude)
    excl = EXCLUDE.search(text)
    if excl and not exclude:
        exclude = tuple(r for r in ent.regions if r[:2] in excl.group(1) or r[-3:] in excl.group(1))
    placed = PLACE_NTH.search(text)
    if placed and kind in ("fact", "narrative", "lookup", "rank", "nth"):
        kind, n = "nth", _cn_int(placed.group(2))
        order = "asc" if placed.group(1) else "desc"
    if kind in ("rank", "nth") and intent.kind != "rank":
        order = "asc" if RANK_MIN.search(text) and not RANK_MAX.search(text) else "desc"
        nth = NTH.search(text)
        if kind == "nth" and nth:
            n = _cn_int(nth.group(1))
            order = "asc" if nth.group(0)[-1] in "小低少" else "desc"
    comparator, threshold = "", None
    th = THRESHOLD.search(text)
    exactly = EXACTLY.search(text)
    if not th and exactly and re.search(r"哪些|哪几", text):
        comparator, threshold, kind = "=", float(exactly.group(1)), "filter"  # "哪些区各有4个村入选"
    if th and kind in ("filter", "list", "lookup", "count", "fact", "narrative") and re.search(
            r"哪些|哪几|几[个项处座条家所块]|多少[个项处座条家所]|有哪", text):
        word = th.group(1) or th.group(6)
        comparator = THRESHOLD_COMPARATOR.get(word, "")
        threshold = float(th.group(2) or th.group(4))
        kind = "count" if quantity == "count" and kind == "count" else "filter"
    alias = ""
    if ALIAS_WORDS.search(text):
        known = sorted({a for d in kb.docs for a in (d.get("aliases") or {})}, key=len, reverse=True)
        # the short name must be what is asked about: "“新三年行动”是指…", not "规划" inside "…规划…什么意思"
        alias = next((a for a in known if re.search(re.escape(a) + r"[”\"]?(?:是|到底|具体|究竟|说的|都)*(?:指|的全称|全称|"
                                                                     r"是什么意思|指的是|啥意思)", text)), "")
        if alias:
            kind = "alias"
    if not alias and REVERSE_ALIAS.search(text):
        kind, alias = "alias", "?"  # "文件里把规划本身简称成什么": the short name of a full one
    subject = alias or _fact_subject(text, ent)
    inherited = ("地区", "指标") if used_context else ()
    return QueryPlan(
        question=text,
        scope=Scope(docs, tuple(r for r in ent.regions if r not in exclude), ent.overall, exclude),
        measure=Measure(tuple(ent.indicators), subject, role, ent.years[-1] if ent.years else "", quantity,
                        unit_m.group(1) if unit_m else "", meta_field),
        operation=Operation(kind, order, n, comparator, threshold),
        inherited=inherited,
        unknown=tuple(ent.unknown_places + ent.unknown_terms + ent.unknown_periods + ent.unknown_years),
        suggestions=tuple(ent.suggestions),
    )


def _operation(text: str, intent: Intent, meta_field: str) -> str:
    if intent.kind == "out_of_scope":
        return "refuse"
    if meta_field:
        return "metadata"
    if RANGE_ASKED.search(text):
        return "range"
    if COUNT_ASKED.search(text) and not re.search(r"多少个百分点", text):
        return "count"
    if REQUIREMENTS.search(text):
        return "requirements"
    kind = intent.kind
    if kind == "rank":
        return "nth" if intent.nth else "rank"
    if kind in ("fact", "narrative", "lookup", "profile") and WHICH.search(text):
        # "哪个区县化学需氧量减排任务最大": a rank even when the column is not a known indicator
        if NTH.search(text):
            return "nth"
        if RANK_MAX.search(text) or RANK_MIN.search(text):
            return "rank"
    if kind == "compute":
        return {"annual": "annual", "mean": "mean", "sum": "sum", "abs_change": "difference", "backcast": "backcast",
                "per_year": "per_year", "project": "project"}.get(intent.op, "lookup")
    return kind


def _fact_subject(text: str, ent: Entities) -> str:
    """What a prose question is about, without its question words ("电石淘汰量是多少" → "电石淘汰量")."""
    s = re.sub(r"《[^》]{1,80}》", "", text)
    s = re.sub(r"[？?。！!，,]|是多少|多少|是什么|有哪些|哪些|吗|呢|请问|规划中|方案中|文件中|的$|^那么?", "", s)
    return s.strip()[:30]


# ---------- which document ----------

TITLE_QUOTE = re.compile(r"《([^》]{2,80})》")


def document_titles(doc: dict) -> list[str]:
    """The names a document goes by: its file name, its full title, the plan's own title inside 《》."""
    meta = doc.get("meta") or {}
    names = [doc.get("name", "").rsplit(".", 1)[0], meta.get("title", "")]
    full = meta.get("title", "") or doc.get("name", "")
    names += TITLE_QUOTE.findall(full)
    # "…委员会关于发布2025年本市海绵城市建设工作要求的通知": what it issues, without the issuer and the notice
    issued = ISSUED.search(full)
    if issued and "《" not in issued.group(1) and len(issued.group(1)) >= 6:
        names.append(issued.group(1))
    return [n for n in dict.fromkeys(names) if n]


ISSUED = re.compile(r"关于(?:印发|发布|转发|下发|下达|做好|开展|加强|推进)?\s*(.+?)(?:的(?:通知|函|通告|决定|意见))?(?:\.\w+)?$")


_grams = plain_bigrams


GENERIC_TITLE = _grams("上海市人民政府办公厅办公室关于印发的通知实施方案工作方案规划行动计划区")


TOWN = re.compile(r"[\u4e00-\u9fff]{2,3}(?:街道|镇|乡)")
DISTRICT = re.compile(r"[\u4e00-\u9fff]{2,3}(?:区|县)(?=[\u4e00-\u9fff“（(]|$)")
SCOPE_WORD = re.compile(r"十[一二三四五六七八九]五|(?:19|20)\d{2}年|[\u4e00-\u9fff]{2,3}(?:区|县)(?=[\u4e00-\u9fff“（(]|$)")


NOT_A_DISTRICT = re.compile(r"(?:示范|风貌|保护|开发|集聚|功能|试验|先行|核心|中心|重点|建成|城|社|街|园|景|辖|本|全|各|市|郊|片|"
                            r"新城|老城|小|校|厂|矿|库|景观|生态|旅游|商|工业|农业|物流|居住)区$|^(?:本|全|各|该|我)")


def _absent_districts(text: str, titles: dict[str, str], districts: dict[str, set[str]], kb=None) -> list[str]:
    """Districts the question names as a document's owner that no document's title carries and no document even
    mentions ("徐汇区城市更新“十五五”规划" among 黄浦区's and 闵行区's); a district a document lists as a row
    ("名单里松江区是哪个区域") is asked about, not named as an owner."""
    if not any(districts.values()):
        return []
    out = []
    for m in DISTRICT.finditer(text):
        if not re.match(r"[^，,。？?；;]{0,24}?(?:规划|方案|计划|通知|意见|办法|细则|名单|名录|要求)", text[m.end():]):
            continue  # no document kind follows: the district is what is asked about
        if m.start() and not re.match(r"[市，,、“《\s]", text[m.start() - 1]):
            continue  # "罗泾镇居民区": a word that ends in 区, not a district named on its own
        w = m.group(0)
        forms = {w, w[1:]} if len(w) == 4 else {w}  # "那黄浦区" is 黄浦区
        if NOT_A_DISTRICT.search(w) or any(f in t or f[:-1] in t for f in forms for t in titles.values()):
            continue
        if kb is not None and any(w in kb.text_of(d["doc_id"]) for d in kb.docs):
            continue  # the documents' text mentions it: read last, the other tests are cheaper
        out.append(w)
    return list(dict.fromkeys(out))


def missing_document(text: str, kb) -> str:
    """When the question names a document by its district, period or year and no document has them all
    ("静安区“十五五”城市更新规划" where 静安区 has only a 2023—2025 programme): say so and list the near ones."""
    if len(kb.docs) < 2:
        return ""
    titles = {d["doc_id"]: " ".join(document_titles(d)) for d in kb.docs}
    all_titles, districts = _title_words(kb)
    absent = _absent_districts(re.sub(r"《[^》]*》", "", text), all_titles, districts, kb)
    if absent:
        return f"知识库中没有{'、'.join(absent)}的文件，无法回答。请确认文件名称，或先导入该文件。"
    words = [w for w in dict.fromkeys(SCOPE_WORD.findall(re.sub(r"《[^》]*》", "", text)))
             if any(w in t for t in titles.values()) and not all(w in t for t in titles.values())]
    if len(words) < 2 or any(all(w in t for w in words) for t in titles.values()):
        return ""
    near = [d for d, t in titles.items() if sum(w in t for w in words) == len(words) - 1]
    if not near:
        return ""
    captions = {}
    for t in getattr(kb, "tables", ()):
        captions[t.doc_id] = captions.get(t.doc_id, "") + " " + t.title
    if any(all(w in titles[d] or w in captions.get(d, "") for w in words) for d in near):
        return ""  # "普陀区绿化“十四五”指标完成情况一览表": a table of the 十五五 plan carries the other period
    listed = "、".join(f"《{_short_title(kb, d)}》" for d in near[:3])
    return f"知识库中没有同时符合“{'”“'.join(words)}”的文件；相近的有：{listed}。请确认要问的是哪一份文件。"


def _short_title(kb, doc_id: str) -> str:
    from assistant.executor import doc_title

    return doc_title(kb, doc_id)


DOC_TYPE_END = re.compile(r"(?:规划|方案|计划|通知|指引|意见|条例|要求|清单|行动)(?:（[^）]{0,12}）)?(?:的通知)?"
                          r"(?:中|里|内|上|的|对|要求|提出|明确)*[，,、：:]?")


def strip_titles(text: str, kb, doc_ids) -> str:
    """The question without the phrase that names its document ("松江区城市更新2025年度实施计划中…"), so the
    rest is what it asks about. Only a leading phrase ending in the document's kind (规划/方案/计划…) goes,
    and only when its words are the title's."""
    quoted = re.match(r"^\s*《[^》]{1,80}》(?:的通知)?(?:中|里|内|上|的|对|要求|提出|明确)*[，,、：:]?", text)
    if quoted:
        rest = text[quoted.end():].strip(" ，,")
        return rest if len(rest) >= 2 else text
    if "《" in text:
        return text  # a title named in 《》 elsewhere in the question is the resolver's to read
    titles = set()
    for d in kb.docs:
        if d["doc_id"] in doc_ids:
            for name in document_titles(d):
                titles |= _grams(name)
    found = ""
    for i, m in enumerate(list(DOC_TYPE_END.finditer(text))[:2]):
        if i and not re.search(r"(?:中|里|内|上)[，,、：:]?$|[，,、：:]$", m.group(0)):
            break  # "…规划中住宅用地面积的规划目标": a later 规划 that closes no naming phrase
        head = text[: m.start()]
        g = _grams(head)
        if len(g) >= 2 and len(g & titles) / len(g) >= 0.5:
            rest = text[m.end():].strip(" ，,")
            found = rest if len(rest) >= 2 else found  # "…更新行动的重点任务清单里": the longer naming phrase
        elif not found:
            break  # only the first document words can close the naming phrase
    return found or text


_TITLE_INDEX: dict[tuple[str, ...], tuple[dict, dict]] = {}


def _title_index(kb) -> tuple[dict, dict, dict]:
    """Each document's title grams and each gram's weight (1 / the titles holding it), kept per set of
    documents: document ids are content hashes, so the same ids always mean the same titles."""
    key = tuple(d["doc_id"] for d in kb.docs)
    found = _TITLE_INDEX.get(key)
    if found is None:
        titles = {d["doc_id"]: [_grams(n) - GENERIC_TITLE for n in document_titles(d)] for d in kb.docs}
        captions: dict[str, list] = {}
        for t in getattr(kb, "tables", ()):
            # "普陀区绿化“十四五”指标完成情况一览表里…": a table's caption names its document too
            caption = _grams(re.sub(r"^(?:专栏|附表|附件|表)\s*[一二三四五六七八九十\d]*[：:\s]*", "", t.title)) - GENERIC_TITLE
            if len(caption) >= 6 and t.doc_id in titles:
                captions.setdefault(t.doc_id, []).append(caption)
        df: dict[str, int] = {}
        for grams in titles.values():
            for g in set().union(*grams) if grams else ():
                df[g] = df.get(g, 0) + 1
        weight = {g: 1.0 / n for g, n in df.items()}  # "普陀区" in two titles says less than "国土空间"
        if len(_TITLE_INDEX) >= 8:
            _TITLE_INDEX.clear()
        found = _TITLE_INDEX[key] = (titles, weight, captions)
    return found


_TITLE_WORDS: dict[tuple[str, ...], tuple[dict[str, str], dict[str, set[str]]]] = {}


def _title_words(kb) -> tuple[dict[str, str], dict[str, set[str]]]:
    """Each document's names joined in one string, and the districts they name without their 区 ("普陀"), kept
    per set of documents (ids are content hashes: the same ids always mean the same titles)."""
    key = tuple(d["doc_id"] for d in kb.docs)
    if key not in _TITLE_WORDS:
        if len(_TITLE_WORDS) >= 8:
            _TITLE_WORDS.clear()
        joined = {d["doc_id"]: " ".join(document_titles(d)) for d in kb.docs}
        districts = {d: {m.group(1) for m in re.finditer(r"([\u4e00-\u9fff]{2})区(?=人民政府|[\u4e00-\u9fff“《（\s])", t)}
                     for d, t in joined.items()}
        _TITLE_WORDS[key] = (joined, districts)
    return _TITLE_WORDS[key]


def _plain(name: str) -> str:
    return re.sub(r"[^\u4e00-\u9fff\dA-Za-z]", "", name)


def _quoted_titles(text: str, kb) -> tuple[str, ...]:
    """Documents whose name or title the question quotes exactly in 《》 ("《河北省十三五…方案_7》")."""
    quoted = {_plain(q) for q in TITLE_QUOTE.findall(text)}
    quoted.discard("")
    if not quoted:
        return ()
    return tuple(sorted(d["doc_id"] for d in kb.docs if quoted & {_plain(n) for n in document_titles(d)}))


def document_for_phrase(phrase: str, kb) -> tuple[str, ...]:
    """The one document a phrase that only names a document points to ("普陀绿化市容十五五规划"): the title
    covering most of the phrase's words, when it covers most of them and no other title covers as much."""
    found = scope_documents(phrase, kb)
    if len(found) == 1:
        return found
    g = _grams(re.sub(r"[“”\"]", "", phrase)) - GENERIC_TITLE
    if len(g) < 3:
        return ()
    scored = []
    for d in kb.docs:
        title = set().union(*(_grams(re.sub(r"[“”\"]", "", n)) for n in document_titles(d)))
        scored.append((len(g & title) / len(g), d["doc_id"]))
    scored.sort(reverse=True)
    if scored[0][0] >= 0.6 and (len(scored) == 1 or scored[1][0] < scored[0][0] - 0.1):
        return (scored[0][1],)
    return ()


def scope_documents(text: str, kb) -> tuple[str, ...]:
    """Documents a question names by (a paraphrase of) their title; () when it names none."""
    docs = list(kb.docs)
    if len(docs) < 2:
        return ()
    exact = _quoted_titles(text, kb)
    if exact:
        return exact
    q = _grams(text)
    if not q:
        return ()
    titles, weight, captions = _title_index(kb)
    by_table = bool(re.search(r"表|专栏", text))  # only a question that speaks of a table names it by caption
    scored = []
    for d in docs:
        best = 0.0
        own = captions.get(d["doc_id"], [])
        # without a word for a table, only a caption the question mostly repeats names its document
        own = own if by_table else [g for g in own if len(g & q) >= 6 and len(g & q) / len(g) >= 0.5]
        for g in titles[d["doc_id"]] + own:
            if len(g) < 4 or len(g & q) < 3:
                continue  # a title of a word or two, or three shared characters, names nothing surely
            total = sum(weight.get(x, 1.0) for x in g)
            hit = sum(weight.get(x, 1.0) for x in g & q)
            best = max(best, hit / total + 0.02 * len(g & q))
        scored.append((best, d["doc_id"]))
    all_titles, districts = _title_words(kb)
    plain_q = re.sub(r"《[^》]*》", "", text)
    # "头桥街道减量化实施方案": a town or street the question names and only one title carries is a strong sign
    for m in TOWN.finditer(plain_q):
        holders = [d for d, t in all_titles.items() if m.group(0) in t]
        if len(holders) == 1:
            scored = [(s + 0.3 if d == holders[0] else s, d) for s, d in scored]
    # "普陀绿化市容那个十五五规划": a district named without its 区 that only a title or two carry
    for name in {n for ns in districts.values() for n in ns if n in plain_q}:
        holders = [d for d, ns in districts.items() if name in ns]
        if len(holders) <= 2:
            scored = [(s + 0.25 if d in holders else s, d) for s, d in scored]
    scored.sort(reverse=True)
    top = scored[0][0]
    second = scored[1][0] if len(scored) > 1 else 0.0
    # "奉贤违法用地三年行动方案里…": a shortened title that names a document (ends in its kind) and fits one
    # title clearly better than any other
    shortened = top >= 0.3 and second <= 0.6 * top and bool(re.search(
        r"(?:规划|方案|计划|通知|指引|意见|行动)(?:里|中|内|上|的|，|,|每|各|全|要|对|提出|明确)", text))
    if top < 0.45 and not shortened:
        return ()
    near = [d for s, d in scored if s >= top - 0.05]
    # "静安区城市更新“十五五”规划" must not be answered from 黄浦区's: a district the question names and some
    # titles carry must be in the chosen document's title
    if _absent_districts(plain_q, all_titles, districts, kb):
        return ()  # "徐汇区城市更新规划" where no document is 徐汇区's: no other district's plan answers it
    places = [w for w in DISTRICT.findall(plain_q) if any(w in t for t in all_titles.values())]
    if places:
        near = [d for d in near if all(w in all_titles[d] for w in places)]
        if not near:
            return ()
    # "普陀绿化市容那个十五五规划": a district named without 区 ("普陀") picks the titles of that district
    if len(near) > 1:
        near = [d for d in near if any(n in plain_q for n in districts[d])] or near
    # "嘉定2014年减量化任务" between the 2014 and the 2026 notice: the title with the year asked
    marks = set(re.findall(r"(?:19|20)\d{2}|十[一二三四五六七八九]五", re.sub(r"[“”\"]", "", text)))
    if marks and len(near) > 1:
        titled = [d for d in near if marks & set(re.findall(r"(?:19|20)\d{2}|十[一二三四五六七八九]五", re.sub(
            r"[“”\"]", "", all_titles[d])))]
        near = titled or near
    return tuple(sorted(near))
