"""A conversation remembers the last turn's entities and intent so follow-ups can reuse them."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from assistant.entities import Entities
from assistant.intent import Intent, classify
from kb.records import Answer

MAX_TURNS = 50
COMPARE_TO = re.compile(r"(?:和|与|跟|同)[\u4e00-\u9fff]{1,8}(?:比|相比|比较|对比)|比[\u4e00-\u9fff]{1,8}(?:呢|如何)")


@dataclass
class Turn:
    question: str
    entities: Entities
    intent: Intent
    answer: Answer
    fact_action: str | None = None


@dataclass
class Conversation:
    turns: list[Turn] = field(default_factory=list)

    def last(self) -> Turn | None:
        for turn in reversed(self.turns):
            if not turn.answer.refused and turn.intent.kind not in ("out_of_scope",):
                return turn
        return None

    def add(self, turn: Turn) -> None:
        self.turns.append(turn)
        del self.turns[:-MAX_TURNS]

    def reset(self) -> None:
        self.turns.clear()


def _own_intent_words(text: str) -> bool:
    return bool(re.search(r"最大|最小|最高|最低|前[一二三四五六七八九十\d]|年均|平均|合计|比较|哪个|减少多少|排名|比呢|相比",
                          text))


# "这个指标的2025年基期值": the indicator of the turn before, named by a pronoun
ANAPHOR = re.compile(r"(?:这个|这一|这项|该|此|同一|同一个|上述)(?:指标|数值|数据|目标值|项目标|项)")
_COLUMN_ONLY = re.compile(
    r"那么?|呢|的|是|为|有|多少|几|吗|怎么写|如何|要|要求|达到|到|在|里|中|规划|方案|计划|文件|里面|"
    r"(?:19|20)\d{2}年?(?:底|末)?|十[一二三四五六]五|期末|年底|年末|基期值?|基数|现状值?|目标值?|预期值?|"
    r"实际|完成值?|情况|数值|数|值|时|期间|时期|末|净增加?|净减少?|增加了?|减少了?|相差|"
    r"(?<=几|少)[个座处条项块亩吨台套家户人]|[？?。，,！!\s“”\"]")


def only_column_words(text: str) -> bool:
    """A follow-up that names only a year, a period or a column role ("那2025年基期值是多少", "十三五完成了多少"):
    the indicator (and place) of the turn before is meant."""
    rest = _COLUMN_ONLY.sub("", text)
    return len(rest) <= 1 and len(text) <= 40


def merge_context(ent: Entities, intent: Intent, prev: Turn | None) -> tuple[Entities, Intent, bool]:
    """Fill what a follow-up leaves out from the previous turn; an explicit new entity replaces the old one."""
    if prev is None or intent.kind in ("out_of_scope", "audit", "profile"):
        return ent, intent, False
    # Only a real follow-up borrows: "那包头呢？", "氨氮的目标又是多少？", or a bare entity ("包头市的").
    follow = intent.follow_up or (len(ent.text) <= 8 and bool(ent.regions or ent.indicators)) or (
        not ent.indicators and not ent.regions and only_column_words(ent.text))
    if not follow:
        return ent, intent, False
    used = False
    if ent.regions and not ent.indicators and prev.entities.indicators:
        ent.indicators = list(prev.entities.indicators)
        used = True
    elif ent.indicators and not ent.regions and not ent.overall and (prev.entities.regions or prev.entities.overall):
        if prev.intent.kind in ("lookup", "compute", "compare") and not _own_intent_words(ent.text):
            ent.regions = list(prev.entities.regions)
            ent.overall = prev.entities.overall
            used = True
        elif prev.intent.kind == "rank":
            used = False
    elif not ent.indicators and not ent.regions and prev.entities.indicators and (
            _own_intent_words(ent.text) or only_column_words(ent.text)):
        ent.indicators = list(prev.entities.indicators)
        if not COMPARE_TO.search(ent.text):
            ent.regions = list(prev.entities.regions)  # "那年均呢": the same place, another column
            ent.overall = prev.entities.overall
        used = True
    if used and COMPARE_TO.search(ent.text) and prev.entities.regions and ent.regions and not set(
            prev.entities.regions) & set(ent.regions):
        # "和包头比呢": the place before and the one named now, compared
        ent.regions = list(prev.entities.regions) + list(ent.regions)
        return ent, Intent("compare", follow_up=True), True
    if not used:
        return ent, intent, False
    new_intent = classify(ent)
    if not _own_intent_words(ent.text) and prev.intent.kind in ("lookup", "compute", "rank", "compare"):
        if prev.intent.kind == "compare" and len(ent.regions) < 2:
            new_intent = Intent("lookup", column=prev.intent.column, follow_up=True)
        elif prev.intent.kind == "rank" and ent.regions:
            new_intent = Intent("lookup", follow_up=True)
        elif prev.intent.kind != "compare":
            new_intent = Intent(prev.intent.kind, op=prev.intent.op, order=prev.intent.order, top=prev.intent.top,
                                column=intent.column or prev.intent.column, follow_up=True)
    return ent, new_intent, True
