"""question → tools → Answer. The deterministic assistant: no LLM, no network."""

from __future__ import annotations

import logging
import re
import threading
import time
from dataclasses import replace

from assistant import executor as ex
from assistant import table_answers as ta
from assistant import text_answers as tx
from assistant.cell_quantities import answer_clause_column
from assistant.compose import COMPOSED, refuse_status_for_target, refuse_wrong_quantity
from assistant.conversation import ANAPHOR, Conversation, Turn, merge_context
from assistant.counts import EXECUTORS
from assistant.entities import Resolver
from assistant.guard import check
from assistant.intent import ASKS_NUMBER, Intent, classify
from assistant.plan import QueryPlan
from assistant.period_compare import against_period
from assistant.planner import (FOLLOW_UP, document_for_phrase, missing_document, plan_question, scope_documents,
                               strip_titles)
from assistant.region_ops import REGION_OPS
from assistant.requirements import answer_requirements
from assistant.row_ops import ROW_OPS
from kb.errors import BadQuestion, NotInKnowledgeBase, PolicyQAError, StoreError, ToolError
from kb.knowledge import KnowledgeBase, open_kb
from kb.records import Answer, Citation, Figure
from kb.settings import Settings, load_settings
from kb.tokens import bigrams
from kb.vocab import is_region_table
from tools.audit import table_issues, unit_issues
from tools.base import cn_int, dedupe, fact_citation, fact_figure, fmt_num, header_citation

logger = logging.getLogger(__name__)
PER_DOCUMENT = ("rank", "compare", "list", "filter")
MAX_DOCUMENTS_SHOWN = 3
CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
QUESTION_WORD = re.compile(r"哪|什么|多少|几|怎么|怎样|如何|百分点|是否|有没有|能否|可否")


class Assistant:
    """Answers questions over the live knowledge base; picks up a swapped generation on the next question."""

    def __init__(self, settings: Settings | None = None, kb: KnowledgeBase | None = None):
        self.settings = settings or load_settings()
        self._fixed_kb = kb
        self._kb: KnowledgeBase | None = kb
        self._resolver: Resolver | None = None
        self._audit: dict[str, list] = {}
        self._lock = threading.Lock()

    # ----- knowledge base -----
    @property
    def kb(self) -> KnowledgeBase:
        return self._state()[0]

    def _state(self) -> tuple[KnowledgeBase, Resolver, dict]:
        """(kb, resolver, audit cache) of one generation, taken together so an answer never mixes two."""
        with self._lock:
            kb = self._fixed_kb or open_kb(self.settings)
            if kb is not self._kb or self._resolver is None:
                self._kb = kb
                self._resolver = Resolver(kb.tables, kb.texts, self.settings.synonyms_file, kb.doc_names)
                self._audit = {}
            return self._kb, self._resolver, self._audit

    def warm_up(self, dense_in_background: bool = False) -> None:
        """Load the knowledge base, jieba, the embedder and Chroma now, so the first question is as fast as the rest.

        Table and fact answers need only the first part; with `dense_in_background` the embedder and Chroma
        (a few seconds) load on a thread while those answers are already served.
        """
        kb, resolver, _ = self._state()
        resolver.resolve("预热")
        # The dense gate may skip a warm-up search; warm the embedder and Chroma themselves.
        if dense_in_background:
            threading.Thread(target=kb.warm_dense, daemon=True).start()
        else:
            kb.warm_dense()
        kb.search("预热", k=1)

    # ----- answering -----
    def ask(self, question: str, conversation: Conversation | None = None,
            doc_ids: set[str] | None = None) -> Answer:
        """Answer one question; `doc_ids` limits it to those documents (a chat scoped by the user)."""
        started = time.perf_counter()
        try:
            text = self._check_question(question)
            kb, resolver, audit_cache = self._state()
            if doc_ids:
                kb = kb.subset(set(doc_ids))
            parts = question_parts(text)
            if len(parts) > 1:
                answer, turn = self._answer_parts(parts, text, conversation, kb, resolver, audit_cache)
            else:
                answer, turn = self._answer(text, conversation, kb, resolver, audit_cache)
        except BadQuestion as exc:
            return Answer(exc.user_message, refused=True, intent="bad_question", trace=(str(exc),))
        except StoreError as exc:
            return Answer(exc.user_message, refused=True, intent="error", trace=(str(exc),))
        except PolicyQAError as exc:
            logger.warning("answer failed: %s", exc)
            return Answer(exc.user_message, refused=True, intent="error", trace=(str(exc),))
        answer = self._guard(self._with_headers(kb, answer), text)
        if conversation is not None and turn is not None:
            conversation.add(Turn(text, turn[0], turn[1], answer, turn[2]))
        ms = (time.perf_counter() - started) * 1000
        return replace(answer, trace=answer.trace + (f"{ms:.1f} ms",))

    def _answer_parts(self, parts, text, conversation, kb, resolver, audit_cache):
        """"目标是多少？现状呢？": each part answered in turn as a follow-up of the one before, one answer."""
        scratch = Conversation(list(conversation.turns) if conversation is not None else [])
        answers, turn = [], None
        for i, part in enumerate(parts):
            asked = part if i == 0 or part.startswith("那") else "那" + part  # a later part continues the first
            answer, turn = self._answer(asked, scratch, kb, resolver, audit_cache)
            answer = self._guard(self._with_headers(kb, answer), text)
            if turn is not None:
                scratch.add(Turn(asked, turn[0], turn[1], answer, turn[2]))
            if i and not _adds(answer, answers):
                continue
            answers.append(answer)
            if i == 0 and answer.refused and answer.intent == "out_of_scope":
                break  # the later parts ask more about what the documents do not have
        if len(answers) == 1:
            return answers[0], turn
        shown = [answers[0]] + [a for a in answers[1:] if not a.refused or not answers[0].refused]
        text_out = "\n".join(a.text for a in shown)
        return Answer(text_out, dedupe(c for a in shown for c in a.citations),
                      tuple(f for a in shown for f in a.figures), all(a.refused for a in shown),
                      tuple(t for a in shown for t in a.trace), shown[0].intent, shown[0].chart,
                      understood="；".join(dict.fromkeys(a.understood.replace("我理解为：", "", 1 if k else 0)
                                                        for k, a in enumerate(shown) if a.understood)),
                      plan=shown[-1].plan), turn

    def answer_plan(self, plan: QueryPlan) -> Answer | None:
        """Answer a plan filled elsewhere (an LLM's structured output) with the same executor and number guard;
        None when the executor has no answer for it."""
        kb = self._state()[0]
        if plan.scope.doc_ids:
            kb = kb.subset(set(plan.scope.doc_ids))
        answer = self._planned(kb, plan)
        if answer is None:
            return None
        names = {d["doc_id"]: ex.doc_title(kb, d["doc_id"]) for d in kb.docs}
        answer = replace(answer, understood=plan.understood(names), plan=plan.to_dict())
        return self._guard(self._with_headers(kb, answer), plan.question)

    def _check_question(self, question) -> str:
        if not isinstance(question, str):
            raise BadQuestion("not a string", "问题必须是文字。")
        text = CONTROL.sub("", question).strip()
        if not text:
            raise BadQuestion("empty", "请输入问题，例如：乌海市二氧化硫目标是多少？")
        if len(text) > self.settings.max_question_chars:
            raise BadQuestion("too long", "问题太长了，请精简后再问（不超过两千字）。")
        if not re.search(r"[\u4e00-\u9fffA-Za-z0-9]", text):
            raise BadQuestion("no words", "没有识别到文字内容，请用中文提问。")
        return text

    def _audit_for(self, kb, cache):
        def get(table):
            if table.table_id not in cache:
                cache[table.table_id] = table_issues(kb, table) + unit_issues(kb, table)
            return cache[table.table_id]
        return get

    def _answer(self, text, conversation, kb, resolver, audit_cache):
        if conversation is not None and conversation.last() is not None and ANAPHOR.search(text):
            # "这个指标的2025年基期值是多少": the pronoun is not an indicator; the turn before names it
            text = ANAPHOR.sub("", text)
            text = text if FOLLOW_UP.search(text) else "那" + text
        both = self._two_documents(text, kb, resolver, audit_cache)
        if both is not None:
            return both
        whole = kb  # before it is narrowed to the documents asked about: the turn before may name another
        ent = resolver.resolve(text)
        slips = list(ent.corrected)
        intent = classify(ent)
        first = plan_question(ent, intent, kb)
        docs = first.scope.doc_ids
        before = conversation.last() if conversation is not None else None
        before_docs = tuple((before.answer.plan or {}).get("scope", {}).get("doc_ids") or ()) if before else ()
        continues = bool(before_docs) and (bool(FOLLOW_UP.search(text)) or len(text) <= 16)
        same_plan = False
        if continues and docs and set(docs) != set(before_docs) and not scope_documents(
                PERIOD_OR_YEAR.sub(" ", ent.text), kb):
            docs, same_plan = (), True  # "那“十四五”完成值是多少": a period of the same plan, not another plan
        missing = "" if docs or continues else missing_document(ent.text, kb)
        if missing:
            return Answer(missing, refused=True, intent="out_of_scope", understood=first.understood(),
                          plan=first.to_dict(), trace=("no document matches the scope words",)), (ent, intent, None)
        if docs:
            asked = strip_titles(ent.text, kb, set(docs))
            if asked != ent.text:
                ent = resolver.resolve(asked)  # the question without the words that name its document
                intent = classify(ent)
            ent.doc_ids = set(docs)
        elif same_plan:
            ent.doc_ids = set(before_docs)  # the period names a column of the plan just asked about
        prev = conversation.last() if conversation is not None else None
        ent, intent, used_context = merge_context(ent, intent, prev)
        prev_plan = QueryPlan.from_dict(prev.answer.plan) if prev is not None and prev.answer.plan else None
        plan = plan_question(ent, intent, kb, prev_plan, used_context, docs if docs or same_plan else None)
        if plan.inherited and plan.scope.doc_ids:
            ent.doc_ids = set(plan.scope.doc_ids)
        trace = [f"intent={intent.kind}{'/' + intent.op if intent.op else ''} regions={ent.regions} "
                 f"indicators={ent.indicators} overall={ent.overall} years={ent.years}"
                 + (" (沿用上一轮)" if used_context or plan.inherited else "")]
        fact_action = None
        missing_year = self._year_not_stated(kb, plan) or self._period_not_planned(kb, plan)
        if missing_year:
            return missing_year, (ent, intent, fact_action)
        both = (self._the_two_before(conversation, ent) or self._quoted_total(kb, conversation, ent)
                or self._part_of_the_sentence_before(kb, conversation, ent)
                or against_period(kb, conversation, text))
        if both is not None:
            return replace(both, understood=plan.understood(), plan=plan.to_dict()), (ent, intent, fact_action)
        if ent.doc_ids:
            kb = kb.subset(ent.doc_ids)
            trace.append("文档范围：" + "、".join(kb.doc_name(d) for d in sorted(ent.doc_ids)))
            owners = _owning_districts(kb, ent.regions)
            if owners:
                # "奉贤…一览表里，上海城建职业学院…": the district the plan belongs to names the plan, not a row
                ent.regions = [r for r in ent.regions if r not in owners]
                plan = replace(plan, scope=replace(plan.scope, regions=tuple(r for r in plan.scope.regions
                                                                              if r not in owners)))
                trace.append("地区即文件所属：" + "、".join(owners))
        if plan.operation.kind in ("rank", "nth") and intent.kind not in ("rank", "out_of_scope") and ent.indicators:
            # "排第二的是哪个盟市": the plan read a rank the legacy intent missed
            n = plan.operation.n
            intent = Intent("rank", order=plan.operation.order, top=n, nth=n if plan.operation.kind == "nth" else 0,
                            exclude=list(plan.scope.exclude), follow_up=intent.follow_up)
        planned = None if intent.kind == "out_of_scope" else self._planned(kb, plan)
        if planned is not None:
            answer = planned
        elif intent.kind == "out_of_scope":
            answer = tx.refusal(kb, ent, resolver)
        else:
            if intent.kind == "fact" and prev is not None and not ent.indicators and (intent.follow_up or len(ent.text) <= 10):
                fact_action = tx.question_action(ent.text) or prev.fact_action
            else:
                fact_action = tx.question_action(ent.text)
            answer = self._dispatch(kb, ent, intent, resolver, audit_cache, fact_action, prev)
        names = {d["doc_id"]: ex.doc_title(kb, d["doc_id"]) for d in kb.docs}
        answer = replace(answer, trace=tuple(trace) + answer.trace, understood=plan.understood(names),
                         plan=plan.to_dict())
        answer = refuse_status_for_target(plan, refuse_wrong_quantity(kb, plan, answer))
        cited = {c.doc_id for c in answer.citations if c.doc_id}
        if not answer.refused and len(cited) == 1 and len(kb.docs) > 1 and set(plan.scope.doc_ids) != cited and (
                not plan.scope.doc_ids or cited <= set(plan.scope.doc_ids)):
            # the follow-up stays with the document that answered ("那徐行镇呢" after the 2014 table)
            answered = replace(plan, scope=replace(plan.scope, doc_ids=tuple(cited)))
            answer = replace(answer, plan=answered.to_dict())
        if (used_context or plan.inherited) and not answer.refused:
            regions = list(ent.regions) or (list(plan.scope.regions) if "地区" in plan.inherited else [])
            carried = "、".join(dict.fromkeys(regions + list(ent.indicators) + (
                [ex.doc_title(kb, d) for d in plan.scope.doc_ids] if "文件" in plan.inherited else [])))
            if carried:
                answer = replace(answer, text=f"（接上一问：{carried}）{answer.text}")
        answer = self._against_previous_document(whole, before, before_docs, answer, text)
        if slips:
            said = "、".join(f"“{wrong}”按“{meant}”理解" for wrong, meant in slips)
            answer = replace(answer, text=f"（{said}）{answer.text}")
        return answer, (ent, intent, fact_action)

    @staticmethod
    def _against_previous_document(kb, before, before_docs, answer: Answer, text: str) -> Answer:
        """"和市里的城市更新和住房发展十五五规划比呢": the figure just found in the other document beside the one
        the turn before gave, and their difference (same unit only)."""
        if before is None or answer.refused or not answer.figures or not before.answer.figures or not re.search(
                r"(?:和|与|跟|同|比)[^，,？?]{2,40}(?:规划|方案|计划|通知)[^，,？?]{0,12}(?:比|相比|对比|比较)", text):
            return answer
        cited = {c.doc_id for c in answer.citations if c.doc_id}
        if not cited or cited & set(before_docs):
            return answer
        now, then = answer.figures[0], before.answer.figures[0]
        per_head = lambda f: re.sub(r"/人$", "", f.unit) if "人均" in f.label or f.unit.endswith("/人") else f.unit
        if per_head(now) != per_head(then) or now.value == then.value:
            return answer  # 平方米/人 of a 人均 row and 平方米 of another 人均 row are one unit
        where = "、".join(f"《{ex.doc_title(kb, d)}》" for d in before_docs) or "上一问"
        gap = Figure("相差", abs(now.value - then.value), "个百分点" if now.unit == "%" else now.unit,
                     f"|{fmt_num(now.value, 4)} − {fmt_num(then.value, 4)}|", (now, then))
        word = "高" if now.value > then.value else "低"
        line = (f"\n与上一问{where}的{fmt_num(then.value, 4)}{then.unit}相比，这里的{fmt_num(now.value, 4)}{now.unit}"
                f"{word}{fmt_num(gap.value, 4)}{gap.unit}。")
        return replace(answer, text=answer.text + line, figures=answer.figures + (then, gap),
                       citations=dedupe(tuple(answer.citations) + tuple(before.answer.citations)))

    def _two_documents(self, text, kb, resolver, audit_cache):
        """"普陀国土空间近期规划和普陀绿化十五五规划，对人均公园绿地面积的目标分别是多少": the same question put
        to each of the two documents it names, each answer under its document, compared when both give a figure."""
        m = TWO_DOCS.search(text)
        if m is None or len(kb.docs) < 2:
            return None
        a, b = (document_for_phrase(re.sub(r"^(?:市里的?|区里的?|那个|这个)", "", x), kb) for x in (m.group("a"), m.group("b")))
        if len(a) != 1 or len(b) != 1 or a == b:
            return None
        # "既有公共建筑节能改造，静安…方案和松江…计划各要完成多少": the topic may come before the documents too
        before = text[: m.start()].strip(" ，,")
        after = re.sub(r"^(?:对于|对|关于|里|中|的|在)+", "", m.group("rest").strip(" ，,")).strip(" ，,")
        rest = (re.sub(r"(?:这块|这一块|方面|这项)$", "", before) + "的" if before else "") + after
        asked = re.sub(r"分别|各自", "", rest)
        if len(re.sub(r"[^\u4e00-\u9fff]", "", asked)) < 3:
            return None
        parts, turn = [], None
        for doc in (a[0], b[0]):
            answer, turn = self._answer(asked, None, kb.subset({doc}), resolver, audit_cache)
            parts.append((doc, answer))
        lines = [f"《{ex.doc_title(kb, d)}》：{x.text}" for d, x in parts]
        figures = [f for _, x in parts for f in x.figures]
        firsts = [x.figures[0] for _, x in parts if x.figures and not x.refused]
        if len(firsts) == 2 and firsts[0].unit == firsts[1].unit and firsts[0].value != firsts[1].value and re.search(
                r"哪个|哪份|更|谁|相比|比较|高|低|多|少", rest.replace("多少", "")):
            big, small = sorted(zip(firsts, (ex.doc_title(kb, d) for d, _ in parts)), key=lambda x: -x[0].value)
            diff = Figure("相差", big[0].value - small[0].value, "个百分点" if big[0].unit == "%" else big[0].unit,
                          f"{fmt_num(big[0].value, 4)} − {fmt_num(small[0].value, 4)}", (big[0], small[0]))
            lines.append(f"《{big[1]}》的数值更高，相差{fmt_num(diff.value, 4)}{diff.unit}。")
            figures.append(diff)
        return (Answer("\n".join(lines), dedupe(c for _, x in parts for c in x.citations), tuple(figures),
                       all(x.refused for _, x in parts), tuple(t for _, x in parts for t in x.trace), "compare",
                       understood="我理解为：分别问两份文件 · " + "、".join(f"《{ex.doc_title(kb, d)}》" for d, _ in parts)
                       + f" · {asked}"), turn)

    @staticmethod
    def _the_two_before(conversation, ent) -> Answer | None:
        """"这两个哪个更大": the figures of the two answers before, compared (nothing new is looked up)."""
        if conversation is None or ent.regions or ent.indicators or not re.search(
                r"这两个|两者|二者|这俩|前两个|上面两个|这两[年项笔次期]|两年|两项", ent.text):
            return None
        total = re.search(r"加起来|一共|合计|总共|共计|加在一起|之和|总和", ent.text)
        if not total and not re.search(r"哪个|谁|相差|差多少|更", ent.text):
            return None
        answered = [t.answer for t in conversation.turns if not t.answer.refused and t.answer.figures][-2:]
        if len(answered) < 2:
            return None
        a, b = (x.figures[0] for x in answered)
        if a.unit != b.unit:
            return Answer(f"前两问的数值单位不同（{a.unit}、{b.unit}），不能直接{'相加' if total else '比较'}。",
                          refused=True, intent="compare")
        cites = tuple(c for x in answered for c in x.citations)
        if total:
            # "这两年加起来最少多少": the two figures just answered, added; bounds stay bounds (不少于 + 不少于)
            both = Figure("合计", a.value + b.value, a.unit, f"{fmt_num(a.value, 4)} + {fmt_num(b.value, 4)}", (a, b))
            lower = r"不少于|不低于|至少|以上|≥|超过"
            bound = "至少" if all(re.search(lower, x.text) for x in answered) else ""
            text = (f"（前两问的结果相加）{a.label}为{fmt_num(a.value, 4)}{a.unit}，{b.label}为{fmt_num(b.value, 4)}"
                    f"{b.unit}；合计{bound}{fmt_num(both.value, 4)}{a.unit}。")
            return Answer(text, cites, (a, b, both), intent="sum", trace=("added the two answers before",))
        big, small = (a, b) if abs(a.value) >= abs(b.value) else (b, a)
        diff = Figure("相差", abs(abs(a.value) - abs(b.value)), "个百分点" if a.unit == "%" else a.unit,
                      f"|{fmt_num(abs(a.value), 4)} − {fmt_num(abs(b.value), 4)}|", (a, b))
        text = (f"（比较前两问的结果）{big.label}为{fmt_num(big.value, 4)}{big.unit}，{small.label}为"
                f"{fmt_num(small.value, 4)}{small.unit}；前者更大，相差{fmt_num(diff.value, 4)}{diff.unit}。")
        return Answer(text, cites, (a, b, diff), intent="compare", trace=("compared the two answers before",))

    @staticmethod
    def _part_of_the_sentence_before(kb, conversation, ent) -> Answer | None:
        """"其中公园绿地多少" after "全区绿地总量1633.8万平方米，其中公园绿地758.03万平方米": the part the sentence just
        quoted states, before any table row of that name."""
        m = re.match(r"^(?:那么?)?其中(?:的)?([\u4e00-\u9fff]{2,12}?)(?:有|是|为|占)?(?:多少|几|呢)", ent.text.strip())
        if conversation is None or not conversation.turns or m is None:
            return None
        before = conversation.turns[-1].answer
        quotes = {(c.doc_id, c.quote) for c in before.citations if not c.table}
        if before.refused or not quotes:
            return None
        part = bigrams(m.group(1))
        for f in kb.facts:
            if not any(d == f.doc_id and (q in f.sentence or f.sentence in q) for d, q in quotes):
                continue
            at = f.sentence.find(f.quote)
            lead = f.sentence[max(0, at - 4):at + len(f.quote)]
            if "其中" in lead and len(part & bigrams(f.quote)) >= 0.6 * len(part) and f.quote not in before.text:
                text = f"其中{f.subject.removeprefix('其中')}为{fmt_num(f.value, 4)}{f.unit}。原文：“{f.quote}”"
                return Answer(text, (fact_citation(kb, f),), (fact_figure(kb, f),), intent="fact",
                              trace=("the part the sentence before states",))
        return None

    @staticmethod
    def _quoted_total(kb, conversation, ent) -> Answer | None:
        """"加起来多少" after an answer that quoted "第一年…不少于700亩；第二年…不少于900亩；…": the quantities of one
        kind in the sentences just quoted, added (the quoted facts that share a subject, unit and action)."""
        if conversation is None or not conversation.turns or ent.regions or ent.indicators:
            return None
        if not re.fullmatch(r"(?:那|那么)?(?:这些|这几[项个年笔])?(?:加起来|一共|合计|总共|共计|加在一起|总和)(?:是|有|要|应)?"
                            r"(?:多少|几)?[\u4e00-\u9fff]{0,2}(?:呢|吗)?[？?。]?", ent.text.strip()):
            return None
        before = conversation.turns[-1].answer
        if before.figures or not before.citations:
            return None
        quotes = {(c.doc_id, c.quote) for c in before.citations}
        groups: dict[tuple, list] = {}
        for f in kb.facts:
            if any(d == f.doc_id and f.quote in q for d, q in quotes):
                groups.setdefault((f.subject, f.unit, f.action), []).append(f)
        parts = max(groups.values(), key=len, default=[])
        if len(parts) < 2:
            return None
        parts.sort(key=lambda f: f.start)
        figs = tuple(fact_figure(kb, f) for f in parts)
        total = Figure("合计", sum(f.value for f in parts), parts[0].unit,
                       " + ".join(fmt_num(f.value, 4) for f in parts), figs)
        bound = "至少" if all(re.search(r"不少于|不低于|以上|超过|至少", f.quote) for f in parts) else ""
        listed = "、".join(f"“{f.quote}”" for f in parts)
        text = (f"（上一问引用的各数相加）{listed}；合计{bound}{fmt_num(total.value, 4)}{parts[0].unit}"
                f"（{total.formula}）。")
        return Answer(text, dedupe(fact_citation(kb, f) for f in parts), figs + (total,), intent="sum",
                      trace=(f"added the {len(parts)} quantities quoted before",))

    @staticmethod
    def _year_not_stated(kb, plan) -> Answer | None:
        """A year the named documents never mention: say what they cover instead of answering another year."""
        year = plan.measure.year
        if not year or not plan.scope.doc_ids or plan.operation.kind in ("metadata", "alias"):
            return None
        texts = [kb.text_of(d) for d in plan.scope.doc_ids]
        if any(f"{year}年" in t or re.search(rf"{year}[-—–]|[-—–]{year}", t) for t in texts):
            return None
        if any(year in column for t in kb.tables if t.doc_id in plan.scope.doc_ids for column in t.columns):
            return None  # a year column ("建设年限" over 2021 … 2025) states that year's figures
        names = "、".join(f"《{ex.doc_title(kb, d)}》" for d in plan.scope.doc_ids)
        years = sorted({y for t in texts for y in re.findall(r"((?:19|20)\d{2})年", t)})
        span = f"，文中涉及的年份为{years[0]}—{years[-1]}年" if len(years) >= 2 else ""
        return Answer(f"{names}没有提到{year}年{span}，无法给出{year}年的数值。", refused=True, intent="out_of_scope",
                      trace=(f"year {year} not in the named documents",), understood=plan.understood(),
                      plan=plan.to_dict())

    @staticmethod
    def _period_not_planned(kb, plan) -> Answer | None:
        """Targets of another five-year period than the named plan's ("十四五规划里十二五期间的节能目标"): the plan
        sets none, though it may look back on that period."""
        if not plan.scope.doc_ids or plan.operation.kind in ("metadata", "alias"):
            return None
        asked = PERIOD.findall(plan.question)
        if len(set(asked)) != 1 or not TARGET_ASKED.search(plan.question) or LOOK_BACK.search(plan.question):
            return None
        period = asked[0]
        for d in plan.scope.doc_ids:
            title = ex.doc_title(kb, d)
            own = PERIOD.findall(title)
            if not own or period in own:
                return None
            text = kb.text_of(d)
            if re.search(rf"{period}[^。；\n]{{0,30}}(?:目标|指标)", text):
                return None  # the plan states that period's targets (a review with its goals)
        names = "、".join(f"《{ex.doc_title(kb, d)}》" for d in plan.scope.doc_ids)
        own = "、".join(dict.fromkeys(p for d in plan.scope.doc_ids for p in PERIOD.findall(ex.doc_title(kb, d))))
        return Answer(f"{names}是“{own}”时期的规划，没有给出“{period}”时期的目标。", refused=True,
                      intent="out_of_scope", trace=(f"period {period} is not the plan's",),
                      understood=plan.understood(), plan=plan.to_dict())

    @staticmethod
    def _planned(kb, plan) -> Answer | None:
        """Operations the plan answers directly (metadata, short names, counts, thresholds, rows by role)."""
        # With one document every question is about it; region operations need no named document then.
        one = len(kb.docs) == 1
        for run in COMPOSED + (REGION_OPS if plan.scope.doc_ids or one else ()) + EXECUTORS + ROW_OPS + (
                answer_requirements,):
            try:
                answer = run(kb, plan)
            except (PolicyQAError, ArithmeticError, ValueError, KeyError, IndexError, TypeError, AttributeError):
                # One operation failing on an odd table must not cost the user the answer the others give.
                logger.exception("operation %s failed on %r", run.__name__, plan.question)
                continue
            if answer is not None:
                return answer
        if plan.scope.doc_ids or (one and not plan.measure.indicators):
            answer = answer_clause_column(kb, plan) or ex.answer_region(kb, plan)
            if answer is not None:
                return answer
        if plan.measure.role in ("attribute", "unit", "milestone", "base", "cumulative") or plan.scope.doc_ids or (
                one and plan.operation.kind != "narrative"):
            return ex.answer_row(kb, plan)
        return None

    def _dispatch(self, kb, ent, intent: Intent, resolver, audit_cache, fact_action, prev) -> Answer:
        per_doc = intent.kind in PER_DOCUMENT or (intent.kind == "compute" and intent.op in ("mean", "sum"))
        if per_doc and len(kb.docs) > 1:
            return self._per_document(kb, ent, intent, resolver, audit_cache, fact_action, prev)
        return self._dispatch_one(kb, ent, intent, resolver, audit_cache, fact_action, prev)

    def _per_document(self, kb, ent, intent, resolver, audit_cache, fact_action, prev) -> Answer:
        """Region-wise questions over several plans: one answer per plan that has the indicator, the plan named."""
        answers = []
        with_tables = {t.doc_id for t in kb.tables if is_region_table(t)}
        for doc in kb.docs:
            if doc["doc_id"] not in with_tables:
                continue
            view = kb.subset({doc["doc_id"]})
            answer = self._dispatch_one(view, ent, intent, resolver, audit_cache, fact_action, prev)
            if not answer.refused:
                answers.append((doc, answer))
        if not answers:
            return tx.refusal(kb, ent, resolver, "各规划的表格中都没有找到这个指标。")
        if len(answers) == 1:
            doc, answer = answers[0]
            return replace(answer, text=f"《{ex.doc_title(kb, doc['doc_id'])}》{answer.text}")
        shown = answers[:MAX_DOCUMENTS_SHOWN]
        text = "\n".join(f"《{ex.doc_title(kb, doc['doc_id'])}》{a.text}" for doc, a in shown)
        if len(answers) > len(shown):
            text += (f"\n另有{cn_int(len(answers) - len(shown))}个规划也有该指标；"
                     "请在问题中指明规划（如省份、时期）以缩小范围。")
        else:
            text += "\n（知识库中有多个规划，以上按规划分别作答；可在问题中指明规划。）"
        return Answer(text, tuple(c for _, a in shown for c in a.citations), tuple(f for _, a in shown for f in a.figures),
                      trace=tuple(t for _, a in shown for t in a.trace), intent=shown[0][1].intent, chart=shown[0][1].chart)

    def _dispatch_one(self, kb, ent, intent: Intent, resolver, audit_cache, fact_action, prev) -> Answer:
        audit = self._audit_for(kb, audit_cache)
        attempts = []
        if intent.kind == "lookup":
            attempts = [lambda: ta.answer_lookup(kb, ent, intent, audit), lambda: tx.answer_fact(kb, ent, intent)]
        elif intent.kind == "list":
            attempts = [lambda: ta.answer_list(kb, ent, intent), lambda: ta.answer_lookup(kb, ent, Intent("lookup"), audit)]
        elif intent.kind == "filter":
            attempts = [lambda: ta.answer_filter(kb, ent, intent)]
        elif intent.kind == "profile":
            attempts = [lambda: ta.answer_profile(kb, ent, intent)]
        elif intent.kind == "rank":
            attempts = [lambda: ta.answer_rank(kb, ent, intent)]
        elif intent.kind == "compare":
            attempts = [lambda: ta.answer_compare(kb, ent, intent), lambda: ta.answer_lookup(kb, ent, Intent("lookup"), audit)]
        elif intent.kind == "compute":
            handler = {"annual": lambda: ta.answer_annual(kb, ent, intent, audit),
                       "mean": lambda: ta.answer_aggregate(kb, ent, intent),
                       "sum": lambda: ta.answer_aggregate(kb, ent, intent),
                       "abs_change": lambda: ta.answer_abs_change(kb, ent, intent),
                       "backcast": lambda: tx.answer_backcast(kb, ent, intent),
                       "per_year": lambda: tx.answer_per_year(kb, ent, intent)}.get(intent.op)
            attempts = [handler] if handler else []
            if intent.op in ("backcast", "per_year"):
                if ent.indicators:
                    attempts.append(lambda: ta.answer_lookup(kb, ent, Intent("lookup"), audit))
                attempts.append(lambda: tx.answer_fact(kb, ent, intent))
            else:
                attempts.append(lambda: ta.answer_lookup(kb, ent, Intent("lookup", column="change"), audit))
        elif intent.kind == "audit":
            attempts = [lambda: tx.answer_audit(kb, ent, intent)]
        elif intent.kind == "fact":
            query = None
            if fact_action and prev is not None and intent.follow_up:
                query = tx.content(ent.text) + fact_action
            if prev is not None and re.match(r"^(?:那|那么)", ent.text.strip()) and len(ent.text) <= 20:
                query = self._fact_follow_up(ent, prev, fact_action) or query
            attempts = [lambda: tx.answer_fact(kb, ent, intent, query, fact_action)]
            if ent.indicators:
                attempts.insert(0, lambda: ta.answer_lookup(kb, ent, Intent("lookup", column=intent.column), audit))
        if intent.kind in ("fact", "narrative", "lookup", "compute"):
            attempts.append(lambda: self._narrative(kb, ent, intent, resolver))
        if intent.kind == "narrative":
            attempts.insert(0, lambda: self._narrative(kb, ent, intent, resolver))
        last_error: PolicyQAError | None = None
        for attempt in attempts:
            try:
                return attempt()
            except (NotInKnowledgeBase, ToolError) as exc:
                last_error = exc
                continue
        reason = last_error.user_message if last_error else ""
        return tx.refusal(kb, ent, resolver, reason)

    def _narrative(self, kb, ent, intent, resolver) -> Answer:
        query = tx.content(ent.text)
        missing = self._missing_terms(query, resolver)
        if missing:
            ent.unknown_terms = missing
            raise NotInKnowledgeBase(f"terms not in plan: {missing}", f"规划中没有提到“{'、'.join(missing)}”。")
        hits = kb.search(re.sub(r"《[^》]{1,80}》", "", ent.text), k=5)
        hits = [h for h in hits if h.lexical > 0]
        # A number asked for a year: only passages of that year may answer ("2015年能源消费总量" ≠ 2010's).
        year = ent.years[0] if ent.years and intent.kind != "narrative" and ASKS_NUMBER.search(ent.text) else None
        if year and ent.doc_ids and self._year_names_document(kb, ent, year):
            year = None  # "崇明2021年城市体检…": the year names the document, not the sentence's year
        return tx.answer_narrative(kb, ent, intent, hits, must_contain=f"{year}年" if year else None)

    @staticmethod
    def _fact_follow_up(ent, prev, fact_action) -> str | None:
        """A prose follow-up keeps what it does not change: "那到2025年底累计呢" the thing counted before, "那特色园呢"
        the stage (year, running total) asked before."""
        own = tx.content(ent.text)
        subject = re.sub(r"[^\u4e00-\u9fff]", "", STAGE_WORDS.sub("", own))
        before = tx.content(prev.question)
        if len(subject) < 2:
            # only the stage changes: the thing the answer before counted, at the stage asked now
            named = prev.answer.figures[0].label if prev.answer.figures else before
            named = re.sub(r"[（(][^）)]*[）)]", "", named)
            action = "" if re.search(r"累计|总计|一共|总共", own) else (fact_action or "")
            return named + own + action
        kept = "".join(re.findall(r"(?:19|20)\d{2}年(?:\d{1,2}月)?(?:底|末)?|累计|总计|新增", before))
        if not ent.years:
            ent.years = list(prev.entities.years)
        return own + kept + (fact_action or "")

    @staticmethod
    def _year_names_document(kb, ent, year: str) -> bool:
        """Is the year the question names part of the named documents' titles, written with the title's own next
        words ("2021年城市体检" for "…印发2021年本区城市体检工作方案…"), not a target year ("2030年的人口规模")?"""
        m = re.search(year + r"年?", ent.text)
        after = bigrams(ent.text[m.end():m.end() + 5]) if m else set()
        for d in kb.docs:
            if d["doc_id"] not in ent.doc_ids:
                continue
            title = d.get("name", "") + " " + ((d.get("meta") or {}).get("title") or "")
            spots = [t.end() for t in re.finditer(year + r"年?", title)]
            if not any(after & bigrams(title[at:at + 8]) for at in spots):
                return False
        return bool(after)

    @staticmethod
    def _missing_terms(query: str, resolver) -> list[str]:
        import jieba

        words = [w for w in jieba.cut(query) if len(w) >= 3 and re.fullmatch(r"[\u4e00-\u9fff]+", w)
                 and not QUESTION_WORD.search(w)]  # "哪一年", "百分点", "多少个" ask; they name nothing
        # "建材行业" is absent but 建材 and 行业 are there: only a word whose head or tail is unknown is missing.
        names = list(getattr(resolver, "doc_heads", {}).values())
        return [w for w in words if not resolver.in_corpus(w)
                and not (resolver.in_corpus(w[:2]) and resolver.in_corpus(w[-2:]))
                and not UNIT_PHRASE.fullmatch(w)  # "每平方米" asks in a unit, it names nothing
                and not any(_abbreviates(w, n) for n in names)]  # "经信委" of "…经济信息化委…"

    @staticmethod
    def _with_headers(kb, answer: Answer) -> Answer:
        """Cite the header row of every table an answer quotes when the header holds digits the text repeats."""
        if not answer.citations or not re.search(r"\d", answer.text):
            return answer
        wanted = {(c.doc_id, c.table) for c in answer.citations if c.table}
        extra = []
        for t in kb.tables:
            if (t.doc_id, t.title) in wanted:
                c = header_citation(kb, t)
                if c and re.search(r"\d", c.quote) and c not in answer.citations:
                    extra.append(c)
        return replace(answer, citations=answer.citations + tuple(extra)) if extra else answer

    def _guard(self, answer: Answer, question: str) -> Answer:
        bad = check(answer, question)
        if not bad:
            return answer
        logger.error("number guard: unsupported %s in %r", bad, answer.text)
        quotes = "\n".join(f"- “{c.quote}”（{c.section_path}）" for c in answer.citations[:5])
        text = "系统无法核实回答中的全部数字，以下仅列出原文出处供核对：\n" + quotes if quotes else "系统无法核实回答中的数字，已停止作答。"
        return Answer(text, answer.citations, answer.figures, not quotes, answer.trace + (f"guard: unsupported {bad}",),
                      answer.intent, understood=answer.understood, plan=answer.plan)


PERIOD = re.compile(r"十[一二三四五六七八九]五")
DOC_END = r"(?:规划|方案|计划|通知|意见|指引|要求|清单|细则|办法)(?:（[^）]{1,20}）)?"
TWO_DOCS = re.compile(rf"(?:^|(?<=[，,]))(?P<a>[^，,？?]{{4,50}}?{DOC_END})(?:和|与|跟|以及|及|同)"
                      rf"(?P<b>[^，,？?]{{4,50}}?{DOC_END})(?P<rest>[，,里中对的各分].*)$")
PERIOD_OR_YEAR = re.compile(r"“?十[一二三四五六七八九]五”?(?:时期|期间)?|(?:19|20)\d{2}(?:[-—–](?:19|20)?\d{2})?年?")
TARGET_ASKED = re.compile(r"目标|指标|要达到|要求")
LOOK_BACK = re.compile(r"完成|成效|实际|回顾|取得|实现了|淘汰了|下降了|成绩")
ONLY_ASKING = re.compile(r"请问|多少|几|是|什么|哪个|哪些|哪|谁|呢|分别|各|相差|差|吗|有|一共|共|总共|大约|大概|约|的|了|"
                         r"个|项|座|条|处|家|台|套|间|株|万|亿|吨|公顷|亩|公里|千米|平方米|米|元|天|次|%|[？?，,。！!\s]")
PARTS = re.compile(r"(?<=[？?])")


# the words of a prose follow-up that name only its stage (a date, a running total), not what is counted
STAGE_WORDS = re.compile(r"^(?:那么?|到|截至|截止)|(?:19|20)\d{2}年?|\d{1,2}月|底|末|前|累计|总计|一共|总共|新增|呢|的|要|是|多少|几")
UNIT_PHRASE = re.compile(r"每?[万亿千百]?(?:平方米|平方公里|平方千米|公顷|亩|吨|元|公里|千米|米|人|户|个|年|月|天|千瓦时)")


def _abbreviates(word: str, name: str) -> bool:
    """Is `word` a short form of a name in it ("经信委" in "上海市经济信息化委关于…"): its characters in order,
    close together, the first and last of them present."""
    at = name.find(word[0])
    while at >= 0:
        pos, ok = at, True
        for ch in word[1:]:
            nxt = name.find(ch, pos + 1)
            if nxt < 0 or nxt - pos > 4:
                ok = False
                break
            pos = nxt
        if ok:
            return True
        at = name.find(word[0], at + 1)
    return False


def _owning_districts(kb, regions) -> list[str]:
    """The regions asked that the documents in scope are named by (奉贤区 for 《奉贤区…方案》) and that no table of
    theirs has as a row or a word cell: they say whose document it is."""
    if not regions or not kb.tables:
        return []
    titles = "".join(ex.doc_title(kb, d["doc_id"]) + kb.doc_name(d["doc_id"]) for d in kb.docs)
    named = [(r, re.sub(r"(?:新区|区|县|市)$", "", r)) for r in regions]
    named = [(r, stem) for r, stem in named if r in titles or len(stem) >= 2 and stem in titles]
    if not named:
        return []  # the tables' cells are read only when a region asked is in a title
    words = {w for t in kb.tables for c in t.cells for w in (c.row_label, c.parent_label, c.raw if c.kind == "text" else "")}
    return [r for r, stem in named if r not in words and stem not in words]


def question_parts(text: str) -> list[str]:
    """The questions one message asks: split at question marks; a part that only repeats the asking
    ("多少吨？", "差多少？", "一共几项？") stays with the part before it."""
    parts: list[str] = []
    pieces = [clause for piece in PARTS.split(text) for clause in _asking_clauses(piece)]
    for piece in pieces:
        piece = piece.strip()
        if not piece:
            continue
        if parts and (len(re.sub(r"[^\u4e00-\u9fff\dA-Za-z]", "", ONLY_ASKING.sub("", piece))) < 2 or re.match(
                r"^(?:那么?)?(?:各|分别|每)[\u4e00-\u9fff]{0,6}(?:多少|几)", piece)):
            parts[-1] += piece  # "分几步？各拨多少比例？": the shares of the items just counted, one question
        else:
            parts.append(piece)
    return parts


ASKS_AT_END = re.compile(r"(?:多少|几)[\u4e00-\u9fff]{0,2}[、，,；;]$|(?:是什么|怎么写|哪[个些天年])[、，,；;]$")
ASKS = re.compile(r"多少|几|什么|怎么|哪")


ROLE_WORD = r"(?:目标值?|现状值?|基期值?|完成值|属性|单位)"
ROLE_PAIR = re.compile(rf"({ROLE_WORD})(?:和|及|与|、)({ROLE_WORD})(分别|各)?(是什么|是多少|多少|怎么写)")


def _asking_clauses(piece: str) -> list[str]:
    """"十四五现状几座、十五五目标几座": two questions in one sentence, each ending in its own asking word.
    "2020年目标和属性是什么": two columns of one row, asked in turn."""
    pair = ROLE_PAIR.search(piece)
    if pair and pair.group(1) != pair.group(2):
        first = piece[:pair.start()] + pair.group(1) + pair.group(4) + "，"
        return [first, pair.group(2) + pair.group(4) + piece[pair.end():]]
    out: list[str] = []
    for clause in re.split(r"(?<=[、，,；;])", piece):
        if out and ASKS_AT_END.search(out[-1]) and ASKS.search(clause) and len(clause.strip()) >= 3:
            out.append(clause)
        elif out:
            out[-1] += clause
        else:
            out.append(clause)
    return out


def _adds(answer: Answer, before: list[Answer]) -> bool:
    """Does a later part's answer say something the earlier ones did not (a new number, other words)?"""
    from assistant.guard import stated_numbers

    said = "\n".join(a.text for a in before)
    new_numbers = [n for n in stated_numbers(answer.text) if n not in stated_numbers(said)]
    if new_numbers:
        return True
    if any(q not in said for q in re.findall(r"“([^”]{1,30})”", answer.text)):
        return True  # a value in words the earlier answers did not give ("属性：“预期性”")
    core = re.sub(r"^（接上一问：[^）]*）", "", answer.text)
    grams = {core[i:i + 2] for i in range(len(core) - 1)}
    seen = {said[i:i + 2] for i in range(len(said) - 1)}
    return bool(grams) and len(grams & seen) / len(grams) < 0.7


_DEFAULT: Assistant | None = None


def answer(question: str, conversation: Conversation | None = None, settings: Settings | None = None,
           doc_ids: set[str] | None = None) -> Answer:
    """The one entry point the edges use: app, CLI, eval and API."""
    global _DEFAULT
    if settings is not None:
        return Assistant(settings).ask(question, conversation, doc_ids)
    if _DEFAULT is None:
        _DEFAULT = Assistant()
    return _DEFAULT.ask(question, conversation, doc_ids)


__all__ = ["Assistant", "Conversation", "answer", "Citation"]
