"""What kind of question this is, from its wording and the entities found in it."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from assistant.entities import Entities

AUDIT = re.compile(r"矛盾|不一致|不符|核对|核查|校验|审核|有误|错误|对不上|出入|自洽|一致吗|是否一致|勘误")
RANK_MAX = re.compile(r"最大|最高|最多|最强|最快|第一")
RANK_MIN = re.compile(r"最小|最低|最少|最弱|最慢|倒数第一")
TOP_N = re.compile(r"前([一二三四五六七八九十两\d]+)(?:名|个|位)?")
BOTTOM_N = re.compile(r"后([一二三四五六七八九十两\d]+)(?:名|个|位)")
EXCLUDE = re.compile(r"(?:除了?|不算|不含|不包括|排除)(.+?)(?:之外|以外|外|，|,|$)")
COMPARE = re.compile(r"哪个|哪一个|谁|比较|对比|相比|相差|差多少|高多少|低多少|多多少|少多少|之差|差距|更大|更小|更高|更低|更多|更少|还是")
ANNUAL = re.compile(r"年均|每年|平均每年|一年|年平均")
MEAN = re.compile(r"平均(?!浓度|气温|温度|寿命|每年|年)|均值")
SUM = re.compile(r"合计|总和|加起来|总计|一共")
COUNT = re.compile(r"几个|多少个")
ABS_CHANGE = re.compile(r"(?:减少|下降|降低|削减|减排|增加|增长|提高|少|多)了?多少(?:万吨|吨|万|个|亿)|(?:减少|削减|减排|增加)(?:了)?多少|减少量|削减量|减排量")
BACKCAST = re.compile(r"推算|倒推|反推|折算.*(?:19|20)\d{2}年|(?:19|20)\d{2}年.*(?:约|大约)是?多少")
PROJECT = re.compile(r"按(?:此|这个|照|目前)?.*(?:速度|速率|降幅|增幅).*(?:到|至)((?:19|20)\d{2})年")
NARRATIVE = re.compile(r"措施|政策|怎么|如何|怎样|做法|举措|办法|哪些方面|途径|任务|工作|内容|要求|机制|制度|推行|推进|重点|方向|意见|原则|思路")
ASKS_NUMBER = re.compile(r"多少|几|百分之|比例|比重|幅度|降幅|增幅|目标值|数值|数量|量是|率是|目标是|控制在|达到|要降|要减|任务是")
FOLLOW_UP = re.compile(r"^(?:那|那么|那么说|还有|另外|再问|那个)|呢[？?]?$|又是|又|也是|同样|分别")
NTH = re.compile(r"第([二三四五六七八九十\d]+)(?:大|高|多|小|低|少)")
LIST_ALL = re.compile(r"各盟市|各市|各地|各地区|各设区市|各区县|各县|所有|全部|分别|每个|逐个|列出|一览(?!表)|各自")
FILTER_VALUE = re.compile(r"(?:哪些|哪几个|哪个|几个|多少个)[^？?]*?(\d+(?:\.\d+)?)\s*%|(\d+(?:\.\d+)?)\s*%[^？?]*?(?:哪些|哪几个|哪个|几个|多少个)")
CN_NUM = {"一": 1, "两": 2, "二": 2, "三": 3, "四": 4, "五": 5, "六": 6, "七": 7, "八": 8, "九": 9, "十": 10}


def _cn_int(text: str) -> int:
    return int(text) if text.isdigit() else CN_NUM.get(text, 3)


@dataclass
class Intent:
    kind: str  # lookup | rank | compare | compute | fact | narrative | audit | out_of_scope
    op: str = ""  # compute: annual | mean | sum | count | abs_change | backcast | per_year | project
    order: str = "desc"
    top: int = 1
    exclude: list[str] = field(default_factory=list)
    column: str = ""  # a year ("2015"), "annual", "change", "target"
    follow_up: bool = False
    nth: int = 0  # rank: only the n-th place ("第二大")
    value: float | None = None  # filter: regions whose value equals this


PROFILE_WORDS = re.compile(r"节能减排|主要|各项|所有|全部|目标|指标|任务|数值|情况|哪些|什么|多少|分别|是|有|的|呢|吗|和|与|及|[？?，,。、\s]")


def _leftover(ent: Entities) -> str:
    """What a question says besides its entities and generic words ("包头市的目标有哪些" → "")."""
    chars = list(ent.text)
    for a, b in ent.spans:
        for i in range(a, min(b, len(chars))):
            chars[i] = " "
    return PROFILE_WORDS.sub("", "".join(chars))


def column_hint(text: str, ent: Entities) -> str:
    if ANNUAL.search(text):
        return "annual"
    if re.search(r"(?:比|较)(?:19|20)\d{2}年?.*(?:下降|降低|减少|削减|增长|提高|增加)|(?:下降|降低|减少|增长|提高)了?(?:百分之几|多少|几)", text):
        return "change"
    if ent.years:
        return ent.years[-1]
    if re.search(r"控制在|目标值|到期末|末期|达到多少|规划目标|目标是多少", text) and not re.search(r"降|减|下降|降低", text):
        return "target"
    if re.search(r"降|减|下降|降低|增长|提高|变化|幅度", text):
        return "change"
    return ""


def _masked(ent: Entities) -> str:
    """The question with its entities blanked, so "平均浓度" in an indicator's name is not a request to average."""
    chars = list(ent.text)
    for a, b in ent.spans:
        for i in range(a, min(b, len(chars))):
            chars[i] = "□"
    # A document title (《…节能减排规划》) is a name: its words ask for nothing.
    return re.sub(r"《[^》]{1,80}》", lambda m: "□" * len(m.group(0)), "".join(chars))


def classify(ent: Entities) -> Intent:
    text = _masked(ent)
    follow = bool(FOLLOW_UP.search(text)) and len(text) <= 20
    if ent.unknown_places or ent.unknown_periods or ent.unknown_terms or ent.unknown_years:
        return Intent("out_of_scope", follow_up=follow)
    if AUDIT.search(text):
        return Intent("audit", follow_up=follow)
    excl = EXCLUDE.search(ent.text)  # the excluded names are entities: read them unmasked
    exclude = [r for r in ent.regions if excl and (r[:2] in excl.group(1) or r[-3:] in excl.group(1))]
    named = [r for r in ent.regions if r not in exclude]
    col = column_hint(text, ent)
    if BACKCAST.search(text) and ent.years:
        return Intent("compute", op="backcast", follow_up=follow)
    if ent.regions and not ent.indicators and not follow and not _leftover(ent):
        return Intent("profile", follow_up=follow)
    if ent.indicators and NARRATIVE.search(text) and not ASKS_NUMBER.search(text) and not (
        RANK_MAX.search(text) or RANK_MIN.search(text) or ANNUAL.search(text) or MEAN.search(text)
    ):
        return Intent("narrative", follow_up=follow)
    if ent.indicators and not named:
        fv = FILTER_VALUE.search(text)
        if fv:
            return Intent("filter", value=float(fv.group(1) or fv.group(2)), follow_up=follow)
    if ent.indicators:
        nth = NTH.search(text)
        if nth:
            n = _cn_int(nth.group(1))
            is_min = nth.group(0)[-1] in "小低少"
            return Intent("rank", order="asc" if is_min else "desc", top=n, nth=n, exclude=exclude, follow_up=follow)
        top_m = TOP_N.search(text) or BOTTOM_N.search(text)
        is_min = bool(RANK_MIN.search(text)) or bool(BOTTOM_N.search(text))
        if RANK_MAX.search(text) or is_min or top_m:
            top = _cn_int(top_m.group(1)) if top_m else 1
            return Intent("rank", order="asc" if is_min else "desc", top=top, exclude=exclude, follow_up=follow)
        if len(named) >= 2 and (COMPARE.search(text) or "和" in text or "与" in text):
            return Intent("compare", follow_up=follow)
        if LIST_ALL.search(text) and not named and not ent.overall and not MEAN.search(text) and not SUM.search(text):
            return Intent("list", follow_up=follow)
        if ANNUAL.search(text) and not named and not ent.overall and MEAN.search(text) and "每年" not in text and "年均" not in text:
            return Intent("compute", op="mean", exclude=exclude, follow_up=follow)
        if ANNUAL.search(text):
            return Intent("compute", op="annual", column="annual", follow_up=follow)
        if MEAN.search(text) and not named:
            return Intent("compute", op="mean", exclude=exclude, follow_up=follow)
        if SUM.search(text) and not named:
            return Intent("compute", op="sum", exclude=exclude, follow_up=follow)
        if ABS_CHANGE.search(text) and not named:
            return Intent("compute", op="abs_change", follow_up=follow)
        return Intent("lookup", column=col, follow_up=follow)
    if ANNUAL.search(text) and re.search(r"\d", text):
        return Intent("compute", op="per_year", follow_up=follow)
    if NARRATIVE.search(text) and not re.search(r"多少|几个|几项|比例|比重|率是|率要|率目标", text):
        return Intent("narrative", follow_up=follow)
    return Intent("fact", column=col, follow_up=follow)
