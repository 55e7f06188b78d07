"""Entity resolution from the knowledge base's own names plus the editable synonym file."""

from __future__ import annotations

import difflib
import json
import logging
import re
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

from ingest.normalize import normalize_question
from kb.vocab import Vocabulary, cell_indicator_key, indicator_key, region_short

logger = logging.getLogger(__name__)
logging.getLogger("jieba").setLevel(logging.WARNING)
SYNONYMS_FILE = Path(__file__).with_name("synonyms.json")
YEAR = re.compile(r"(?<!\d)((?:19|20)\d{2})(?:年|(?![\d.]|\s*(?:吨|亩|个|万|元|公里|千米|平方|人|户|台|套|座|米|%|项|家|辆|条|处|公顷)))")
PERIOD = re.compile(r"十[一二三四五六七八九]五|(?<=[“\"])十五(?=[”\"])|十五(?=期间|时期|规划|计划|末)")
TITLE_MARKS = re.compile(r"《[^》]{1,80}》")
FILLER = ("占一次能源消费总量", "占能源消费总量", "地级及以上城市", "消费", "总量", "平均")
ASCII_TERM = re.compile(r"[A-Za-z][A-Za-z0-9.\-₂]*")
CJK = re.compile(r"[\u4e00-\u9fff]")
PLACE_SUFFIXES = ("市", "区", "县", "镇", "乡", "村", "省", "盟", "旗", "州")


def to_simplified(text: str) -> str:
    try:
        import zhconv

        return zhconv.convert(text, "zh-cn")
    except ImportError:  # a plain dictionary is enough for the common region/indicator characters
        return text


def clean_question(text: str) -> str:
    text = to_simplified(normalize_question(text))
    # "乌 海 市": characters spaced out for emphasis are one name
    text = re.sub(r"(?<=[\u4e00-\u9fff])\s+(?=[\u4e00-\u9fff])", "", text)
    # "NOx2015年" → "NOx 2015年": a year glued to an abbreviation is still a year
    return re.sub(r"([A-Za-z])((?:19|20)\d{2})(?=年|\b|[^\d])", r"\1 \2", text)


@dataclass
class Entities:
    text: str
    regions: list[str] = field(default_factory=list)  # canonical labels as in the tables
    indicators: list[str] = field(default_factory=list)  # indicator keys
    overall: bool = False
    years: list[str] = field(default_factory=list)
    periods: list[str] = field(default_factory=list)
    unknown_places: list[str] = field(default_factory=list)
    unknown_terms: list[str] = field(default_factory=list)
    unknown_periods: list[str] = field(default_factory=list)
    unknown_years: list[str] = field(default_factory=list)
    suggestions: list[str] = field(default_factory=list)
    spans: list[tuple[int, int]] = field(default_factory=list)  # where entities were found
    corrected: list[tuple[str, str]] = field(default_factory=list)  # ("闽行", "闵行"): a one-character slip read as meant
    doc_ids: set[str] | None = None  # documents the question names (province, period in a title); None: all


def _title_line(text: str) -> str:
    """A document's first non-empty line, without markdown marks: where a plan says what it is."""
    for line in text.splitlines():
        line = line.strip().lstrip("#").strip()
        if line:
            return line[:80]
    return ""


GENERIC_INDICATOR = re.compile(r"^(?:指标|指标名称|项目|名称|内容|任务|目标|数量|合计|总计|小计|其中|其他|备注|街镇|乡镇|地区|区县|单位|序号)$")


def _real_word(word: str) -> bool:
    """A word jieba's dictionary knows ("上海市", "北京市"): written on purpose, not a slip of a local name."""
    import jieba

    jieba.initialize()
    return bool(jieba.dt.FREQ.get(word))


class Resolver:
    """Finds regions, indicators, years and out-of-scope names in a question."""

    def __init__(self, tables, texts: dict[str, str], synonyms_file: Path | None = None,
                 doc_names: dict[str, str] | None = None):
        data = json.loads((synonyms_file or SYNONYMS_FILE).read_text(encoding="utf-8"))
        self.vocab = Vocabulary.from_tables(tables)
        self.column_text = "\n".join(c for t in tables for c in t.columns)
        self.texts = texts
        self._fragments: dict[str, set[str]] | None = None  # built on the first question that needs it
        self.indicator_docs: dict[str, set[str]] = {}
        for t in tables:
            for c in t.cells:
                self.indicator_docs.setdefault(cell_indicator_key(t, c), set()).add(t.doc_id)
        self.corpus = "\n".join(texts.values())
        # What names a document: its file name and its first lines (the plan's title).
        self.doc_names = {d: Path(n).stem for d, n in (doc_names or {}).items()}
        self.doc_heads = {doc_id: f"{(doc_names or {}).get(doc_id, '')}\n{_title_line(text)}" for doc_id, text in texts.items()}
        self.corpus_lower = self.corpus.lower()
        self.generic_places = set(data.get("generic_places", []))
        self.scope_words = sorted(data.get("scope_words", []), key=len, reverse=True)
        self.known_periods = set(PERIOD.findall(self.corpus))
        self.known_years = set(YEAR.findall(self.corpus))
        self.doc_periods = {d: set(PERIOD.findall(t)) for d, t in texts.items()}
        self.doc_years = {d: set(YEAR.findall(t)) for d, t in texts.items()}
        self.region_aliases: dict[str, str] = {}
        for label in self.vocab.regions:
            for alias in {label, region_short(label)}:
                if len(alias) >= 2:
                    self.region_aliases[alias] = label
        # Common short forms: the first character and the rank ("阿盟" 阿拉善盟, "呼市" 呼和浩特市), when only one
        # place of that rank starts with that character and the form is not a word of the documents already.
        firsts: dict[str, list[str]] = {}
        for label in self.vocab.regions:
            stem = region_short(label)
            if len(stem) >= 3 and label.endswith(("市", "盟", "州", "县", "旗")):
                firsts.setdefault(stem[0] + label[-1], []).append(label)
        for alias, labels in firsts.items():
            if len(labels) == 1 and alias not in self.region_aliases:
                self.region_aliases[alias] = labels[0]
        for zone in ("经开区", "高新区", "开发区", "保税区", "工业园区", "新区"):
            labels = [label for label in self.vocab.regions if label.endswith(zone) and label != zone]
            if len(labels) == 1 and zone not in self.region_aliases:
                self.region_aliases[zone] = labels[0]  # "经开区" for 清江经开区 when it is the only one
        for label, aliases in data.get("regions", {}).items():
            target = self.region_aliases.get(label) or self.region_aliases.get(region_short(label))
            if target:
                for alias in aliases:
                    self.region_aliases[alias] = target
        self.indicator_aliases: dict[str, str] = {}
        self.synonym_only: set[str] = set()  # aliases from the synonym file, not printed in the plan
        for key, names in self.vocab.indicators.items():
            self.indicator_aliases[key] = key
            for name in names:
                self.indicator_aliases[re.sub(r"[（(][^）)]*[）)]", "", name)] = key
                self.indicator_aliases.setdefault(normalize_question(name), key)  # "细颗粒物(PM2.5)平均浓度"
        for key in list(self.vocab.indicators):
            short = key
            for word in FILLER:
                short = short.replace(word, "")
            if len(short) >= 3 and short != key:
                self.indicator_aliases.setdefault(short, key)  # 可再生能源消费比重 → 可再生能源比重
        self.word_synonyms = {w: list(o) for w, o in data.get("words", {}).items() if not w.startswith("_")}
        self.ascii_aliases: set[str] = set()
        for group in data.get("indicators", []):
            keys = {indicator_key(term) for term in group} | set(group)
            target = next((k for k in self.vocab.indicators if k in keys), None)
            for term in group:
                if ASCII_TERM.fullmatch(term):
                    self.ascii_aliases.add(term.lower())
                if target and term not in self.indicator_aliases:
                    self.indicator_aliases[term] = target
                    self.synonym_only.add(term)
        self._region_sorted = sorted(self.region_aliases, key=len, reverse=True)
        self._indicator_sorted = sorted(self.indicator_aliases, key=len, reverse=True)

    # ----- helpers -----
    def in_corpus(self, term: str) -> bool:
        return term.lower() in self.corpus_lower

    def _find(self, text: str, aliases: list[str], taken: list[tuple[int, int]], ascii_ci: bool = True):
        found: list[tuple[int, str]] = []
        lowered = text.lower()
        for alias in aliases:
            needle = alias.lower() if ascii_ci else alias
            start = 0
            while True:
                i = lowered.find(needle, start)
                if i < 0:
                    break
                j = i + len(alias)
                start = j
                if any(a < j and i < b for a, b in taken):
                    continue
                if ASCII_TERM.fullmatch(alias) and (
                    (i > 0 and text[i - 1].isascii() and text[i - 1].isalnum()) or (j < len(text) and text[j].isascii() and text[j].isalnum())
                ):
                    continue
                if alias in self.synonym_only and len(alias) <= 2 and CJK.match(alias) and i > 0 and CJK.match(text[i - 1]) and not self._left_ok(text[:i]):
                    continue  # "能耗" inside "单位工业增加值能耗" is another indicator
                taken.append((i, j))
                found.append((i, alias))
        return sorted(found)

    def _left_ok(self, left: str) -> bool:
        left = left.rstrip("的和与及、")
        return not left or not CJK.match(left[-1]) or any(left.endswith(a) for a in self.region_aliases) or any(
            left.endswith(w) for w in self.scope_words) or left.endswith(("年", "期间", "目标"))

    # ----- main -----
    def _word_synonyms(self, text: str) -> str:
        """"占GDP比例" in a plan that writes 地区生产总值: the plan's own word (only when it has it, and not the
        asked one)."""
        for word, options in self.word_synonyms.items():
            if word.lower() in text.lower() and not self.in_corpus(word):
                found = next((o for o in options if self.in_corpus(o)), None)
                if found:
                    text = re.sub(re.escape(word), found, text, flags=re.IGNORECASE)
        return text

    def _place_names(self) -> list[str]:
        if getattr(self, "_names_cache", None) is None:
            names = {label for label in self.region_aliases if len(label) >= 3 and CJK.match(label)}
            for head in self.doc_heads.values():
                names |= {m.group(1) for m in re.finditer(r"([\u4e00-\u9fff]{2})区(?=人民政府|[\u4e00-\u9fff“《（])", head)}
            self._names_cache = sorted(n for n in names if n not in self.generic_places)
        return self._names_cache

    def _slip_index(self) -> dict[str, set[str]]:
        """Each place name under its one-character masks ("闵行" → "?行", "闵?"): a window of the question finds the
        names one character away from it by lookup, not by comparing it with every name."""
        if getattr(self, "_slip_masks", None) is None:
            masks: dict[str, set[str]] = {}
            for name in self._place_names():
                for k in range(len(name)):
                    masks.setdefault(name[:k] + "?" + name[k + 1:], set()).add(name)
            self._slip_masks = masks
        return self._slip_masks

    def _slips(self, text: str) -> tuple[str, list[tuple[str, str]]]:
        """"闽行城市更新规划", "松南镇": a place name written with one character wrong, where the written form is in no
        document and exactly one known name is that close, is read as that name (and the answer says so)."""
        masks = self._slip_index()
        lengths = sorted({len(k) for k in masks})
        found: dict[str, set[str]] = {}  # name → the windows one character away from it
        for n in lengths:
            for i in range(len(text) - n + 1):
                window = text[i:i + n]
                if not re.fullmatch(r"[\u4e00-\u9fff]+", window):
                    continue
                near = set().union(*(masks.get(window[:k] + "?" + window[k + 1:], set()) for k in range(n)))
                for name in near - {window}:
                    if name in text:
                        continue
                    two_ok = (i == 0 or text[i - 1] in "，,。？?、和与及跟同那在 ") and i + n < len(text) and text[i + n] in "区城规县"
                    # a longer name keeps its place word (…镇, …市) or is followed by one: "松南镇", "鄂尔多丝市"
                    suffix = "镇市区县盟旗乡州"
                    long_ok = n >= 3 and ((window[-1] == name[-1] and name[-1] in suffix) or (
                        i + n < len(text) and text[i + n] in suffix))
                    if (long_ok or (n == 2 and two_ok)) and not re.search(r"[呢吗的了和与及或在是]", window) and \
                            not self.in_corpus(window) and not _real_word(window) and \
                            not any(a in window for a in self.region_aliases if len(a) >= 2):
                        found.setdefault(name, set()).add(window)  # never a real other place ("上海市" ≠ 乌海市)
        fixed: list[tuple[str, str]] = []
        for name, windows in found.items():
            if len(windows) != 1:
                continue
            wrong = next(iter(windows))
            rivals = [o for o in set().union(*(masks.get(wrong[:k] + "?" + wrong[k + 1:], set())
                                               for k in range(len(wrong)))) if o != name]
            if not rivals and wrong in text:
                text = text.replace(wrong, name)
                fixed.append((wrong, name))
        return text, fixed

    def resolve(self, question: str) -> Entities:
        text, slips = self._slips(self._word_synonyms(clean_question(question)))
        ent = Entities(text=text, corrected=slips)
        # A document named in 《…》 is a name that scopes the question: its words (吉林省, 十二五, _gb) are
        # neither entities nor unknowns. Same length, so offsets still point into `text`.
        plain = TITLE_MARKS.sub(lambda m: "　" * len(m.group(0)), text)
        taken: list[tuple[int, int]] = []
        for _, alias in self._find(plain, self._region_sorted, taken):
            label = self.region_aliases[alias]
            if label not in ent.regions:
                ent.regions.append(label)
        for _, alias in self._find(plain, self._indicator_sorted, taken):
            key = self.indicator_aliases[alias]
            if GENERIC_INDICATOR.match(key):
                continue  # a row named "指标" in some table: the word names no quantity in a question
            if key not in ent.indicators:
                ent.indicators.append(key)
        ent.overall = any(w in plain for w in self.scope_words)
        ent.spans = list(taken)
        ent.years = YEAR.findall(plain)
        ent.periods = PERIOD.findall(plain)
        ent.unknown_periods = [p for p in ent.periods if p not in self.known_periods]
        ent.unknown_years = [y for y in ent.years if y not in self.known_years]
        self._unknowns(plain, ent, taken)
        self._near_misses(plain, ent, taken)
        ent.doc_ids = self._documents_named(text, ent)
        if not ent.indicators:
            self._fragment_indicator(plain, ent, taken)
        if ent.doc_ids:
            # In the plans the question names, a period or year they never mention is out of scope.
            periods = set().union(*(self.doc_periods.get(d, set()) for d in ent.doc_ids))
            years = set().union(*(self.doc_years.get(d, set()) for d in ent.doc_ids))
            ent.unknown_periods = [p for p in ent.periods if p not in periods]
            ent.unknown_years = [y for y in ent.years if y not in years]
        return ent

    def _fragment_index(self) -> dict[str, set[str]]:
        """Every four characters of an indicator's name → the indicators whose names hold them."""
        if self._fragments is None:
            index: dict[str, set[str]] = {}
            titles = "\n".join(self.doc_heads.values())
            for alias, key in self.indicator_aliases.items():
                if alias in self.synonym_only or len(alias) > 20 or re.search(r"[\d,，、；;。]", alias):
                    continue  # a task sentence used as a row label names no indicator
                for i in range(len(alias) - 3):
                    gram = alias[i:i + 4]
                    if CJK.fullmatch(gram[0]) and CJK.fullmatch(gram[-1]) and gram not in titles and \
                            gram not in self.column_text:  # "化学需氧" also names a column of a place table
                        index.setdefault(gram, set()).add(key)
            self._fragments = index
        return self._fragments

    def _fragment_indicator(self, text: str, ent: Entities, taken) -> None:
        """"手拎马桶那项": four or more characters found in one indicator's name only name that indicator
        (消除老旧小区手拎马桶). Words in document titles or column names, and words several indicators share,
        name none."""
        index = self._fragment_index()
        hits: dict[str, list[int]] = {}
        for i in range(len(text) - 3):
            if any(a < i + 4 and i < b for a, b in taken):
                continue
            keys = index.get(text[i:i + 4])
            if keys and len(keys) == 1:
                hits.setdefault(next(iter(keys)), []).append(i)
        if len(hits) != 1:
            return
        key, starts = next(iter(hits.items()))
        if ent.doc_ids and not (self.indicator_docs.get(key, set()) & set(ent.doc_ids)):
            return  # the named document has no such row: the words belong to another plan's indicator
        lo, hi = starts[0], starts[-1] + 4
        names = [a for a, k in self.indicator_aliases.items() if k == key and a not in self.synonym_only]
        said = text[lo:hi]
        for name in names:
            common = difflib.SequenceMatcher(None, said, name).find_longest_match(0, len(said), 0, len(name))
            if common.size >= 4 and (common.b + common.size == len(name) or common.size >= 0.8 * len(name)):
                break  # the name's own end (手拎马桶), or most of it
        else:
            return  # "优秀历史建筑" is the head of "优秀历史建筑保护应用场景覆盖率", another quantity of the subject
        owners = self.indicator_docs.get(key, set())
        if any(said in t for d, t in self.texts.items() if d not in owners):
            return  # another document uses these words for its own quantity (美丽幸福河湖建成率 in 闵行's prose)
        ent.indicators.append(key)
        taken.append((lo, hi))

    def _near_misses(self, text: str, ent: Entities, taken) -> None:
        """Misspelt names ("鄂尔多丝市", "二氧化流") get a "did you mean", never a guess."""
        for m in re.finditer(r"[\u4e00-\u9fff]{2,6}?(?:市|盟|州|县|旗)", text):
            word = m.group(0)
            if "各" in word or word.endswith(("区县", "市县", "旗县")):
                continue  # "清江各区县": all of them, not a misspelt one
            if any(a < m.end() and m.start() < b for a, b in taken) or word in self.generic_places:
                continue
            if self.in_corpus(word) or word in ent.unknown_places:
                continue
            close = difflib.get_close_matches(word, self.vocab.regions, n=2, cutoff=0.6)
            if close:
                ent.unknown_places.append(word)
                ent.suggestions += [c for c in close if c not in ent.suggestions]
        if ent.indicators:
            return
        best: tuple[float, str, str] | None = None
        periods = [m.span() for m in re.finditer(r"“?十[一二三四五六七八九]五”?", text)]
        for name, target in self.indicator_aliases.items():
            n = len(name)
            if not 3 <= n <= 8 or not CJK.match(name) or sum(ch in text for ch in name) < n - 1:
                continue  # a near miss shares all but one character with the name
            for i in range(0, max(0, len(text) - n) + 1):
                window = text[i:i + n]
                if window == name or not CJK.fullmatch(window[0]) or self.in_corpus(window):
                    continue
                if window[:-1] == name[1:] or window[1:] == name[:-1]:
                    continue  # "路网密度力争": the name's own words (道路网密度) beside the next word, not a slip
                if window[0] in "和与及或的、年" or (i and text[i - 1].isdigit()) or self.in_corpus(
                        text[i + 1:i + 1 + n]) or (
                        i and self.in_corpus(text[i - 1:i - 1 + n])):
                    continue  # "和老旧供水管道改": the plan's own words shifted by one, not a misspelt name
                if any(a < i + n and i < b for a, b in periods) or any(
                        self.in_corpus(window[:k]) and self.in_corpus(window[k:]) for k in range(2, n - 1)):
                    continue  # "十四五公园" is a period and a word, "奉贤公园绿地" two words of the plan: no slip
                ratio = difflib.SequenceMatcher(None, window, name).ratio() + 0.01 * (window[0] == name[0])
                if ratio >= 0.75 and (best is None or ratio > best[0]):
                    label = re.sub(r"[（(][^）)]*[）)]", "", self.vocab.indicators.get(target, [target])[0])
                    best = (ratio, window, label)
        if best:
            ent.unknown_terms.append(best[1])
            ent.suggestions.append(best[2])

    def _documents_named(self, text: str, ent: Entities) -> set[str] | None:
        """Documents whose title carries every scope word the question uses (a province, a period)."""
        if len(self.doc_heads) < 2:
            return None
        # A document named outright (《…》 or its file name) settles it.
        named = {d for d, name in self.doc_names.items() if len(name) >= 4 and name in text}
        if named:
            return named
        # Scope words are periods and places that are not rows of a table (a 盟市 named in a plan's title must
        # not hide the plans that list it).
        places = {w for w in self._places(text) if len(w) >= 2 and w not in self.region_aliases
                  and region_short(w) not in self.region_aliases}
        words = set(ent.periods) | places | set(re.findall(r"[\u4e00-\u9fff]{2,8}?(?:省|自治区)", text))
        scoped = [w for w in words if any(w in head for head in self.doc_heads.values())
                  and not all(w in head for head in self.doc_heads.values())]
        if not scoped:
            return None
        chosen = {d for d, head in self.doc_heads.items() if all(w in head for w in scoped)}
        return chosen or None

    def _unknowns(self, text: str, ent: Entities, taken) -> None:
        for m in ASCII_TERM.finditer(text):
            term = m.group(0).rstrip(".-")
            if any(a <= m.start() < b for a, b in taken):
                continue
            if term.lower() in self.ascii_aliases and self.indicator_aliases.get(term) is None and not self.in_corpus(term):
                ent.unknown_terms.append(term)
            elif term.lower() not in self.ascii_aliases and not self.in_corpus(term) and len(term) >= 2:
                ent.unknown_terms.append(term)
        # An indicator the synonym file knows but this knowledge base does not have (PM2.5, VOCs…)
        for place in self._places(text):
            if any(text.find(place) >= a and text.find(place) < b for a, b in taken):
                continue
            if place in self.generic_places or place in self.region_aliases or self.in_corpus(place):
                continue
            if region_short(place) in self.region_aliases or self.in_corpus(region_short(place)):
                continue
            if len(place) <= 2 and place[0] in "中的在和与及里内上下等之其各该本":
                continue  # jieba tags fragments ("计划中旧住房" → "中旧") as places
            at = text.find(place)
            if place[0] in "一二三四五六七八九十" and at > 0 and text[at - 1] in "表第":
                continue  # "表三中": a table's number and 中, not a school called 三中
            ent.unknown_places.append(place)
            close = difflib.get_close_matches(place, list(self.region_aliases), n=2, cutoff=0.75)
            ent.suggestions += [self.region_aliases[c] for c in close if self.region_aliases[c] not in ent.suggestions]

    @staticmethod
    @lru_cache(maxsize=256)  # unknown-place and document-scope checks tag the same question
    def _places(text: str) -> tuple[str, ...]:
        import jieba
        import jieba.posseg as pseg

        jieba.setLogLevel(logging.WARNING)

        return tuple(w for w, flag in pseg.cut(text) if flag == "ns" and len(w) >= 2)
