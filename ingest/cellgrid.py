"""A stream of table cells, one per line as web scrapers and some exports leave them, → rows and columns.

A scraped HTML table arrives as its cells in reading order: the header cells (every header row one after the
other), then the data cells, each on its own line with a blank line between cells, or one row per block of
lines. Cells merged down a column appear only in their first row, empty cells often not at all, and a cell
may wrap onto the next line. The grid is rebuilt here by aligning the stream to the columns:

- every column has a profile of what its cells look like (a sequence number, a unit, 约束性/预期性, a number,
  a bound, a date, words of some length), learned from the table itself;
- a row is an increasing run of columns; a column a row skips is a merged or empty cell, and how often a
  column is skipped is learned too;
- the best alignment of the whole stream is found by dynamic programming (Viterbi), refined twice.

A 序号 column, when there is one, anchors the rows: its values run 1, 2, 3 … and each starts a row.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass

import numpy as np

from ingest.values import parse_value

TYPES = ("seq", "int", "num", "pct", "bound", "unit", "attr", "empty", "date", "short", "text", "long", "mixed",
         "check")
T_INDEX = {t: i for i, t in enumerate(TYPES)}
ATTRIBUTE = re.compile(r"^(?:约束性|预期性|指导性|约束|预期|引导性)(?:指标)?$")
DATE_CELL = re.compile(r"\d{1,2}月|月底|月前|月中|季度|年底|年内|(?:19|20)\d{2}年$|^(?:19|20)\d{2}[-—–](?:19|20)?\d{2}年?$")
UNIT_WORDS = ("平方千米", "平方公里", "平方米", "千米", "公里", "公顷", "千瓦时", "千瓦", "吨标准煤", "标准煤", "万元", "亿元",
              "万人", "万户", "万套", "万张", "万台", "万㎡", "k㎡", "km", "㎡", "m²", "米", "亩", "吨", "元", "个", "座", "处",
              "家", "条", "块", "株", "台", "套", "间", "栋", "幢", "户", "人", "项", "次", "辆", "张", "起", "件", "所", "管段",
              "床", "段", "分钟", "小时", "天", "年", "倍", "%", "‰", "每年", "千人", "万人", "百人", "段", "公里/万人")
UNIT_SPLIT = re.compile(r"[/、（）()]")
ANCHOR = re.compile(r"^\*?([1-9]\d{0,2})$")
HEADING_LIKE = re.compile(r"^(?:行动|任务|专项|板块|领域|方面|第)?[一二三四五六七八九十]+(?:[、：:]|是|部分|章|节|类)|^[（(][一二三四五六七八九十]+[）)]")
SMOOTH = 0.05
DROP_COST = -7.0
DROPPED = -99  # the column of a cell left out of the grid


@dataclass
class StreamCell:
    text: str
    lo: int  # first line index
    hi: int  # index after the last line
    gap: bool = False  # a blank line comes before it (a row-break hint when cells are one per line)


def is_unit_cell(text: str) -> bool:
    s = text.strip()
    if not s or len(s) > 12 or re.search(r"\d(?!$)", s.replace("²", "").replace("³", "")):
        return False
    parts = [p for p in UNIT_SPLIT.split(s) if p]
    return bool(parts) and all(p in UNIT_WORDS or re.fullmatch(r"万?(?:" + "|".join(map(re.escape, UNIT_WORDS)) + ")", p)
                               for p in parts)


def cell_type(text: str, anchor: bool = False) -> str:
    if anchor:
        return "seq"
    s = text.strip()
    v = parse_value(s)
    if v.kind == "empty":
        return "empty"
    if v.kind in ("number", "range"):
        if v.comparator or v.qualifier or v.kind == "range" or v.cumulative:
            return "bound"
        if v.unit == "%":
            return "pct"
        if v.unit:
            return "num"
        return "int" if float(v.value).is_integer() and "." not in s else "num"
    if "□" in s:
        return "check"
    if ATTRIBUTE.match(s):
        return "attr"
    if is_unit_cell(s):
        return "unit"
    if DATE_CELL.search(s) and len(s) <= 16:
        return "date"
    if re.search(r"\d", s):
        return "mixed" if len(s) <= 30 else "long"
    if len(s) <= 6:
        return "short"
    return "text" if len(s) <= 30 else "long"


def find_anchors(cells: list[StreamCell]) -> dict[int, int]:
    """Cell index → row number for the 序号 run 1, 2, 3 …; where a number appears twice (a value that happens
    to equal the next row number), the chain whose rows are most even in length wins."""
    positions: dict[int, list[int]] = {}
    for i, c in enumerate(cells):
        m = ANCHOR.match(c.text.strip())
        if m:
            positions.setdefault(int(m.group(1)), []).append(i)
    if 1 not in positions:
        return {}
    best: list[int] = []
    for first in positions[1][:2]:
        for second in [p for p in positions.get(2, []) if p > first][:3] or [None]:
            chain = _chain(positions, [first] + ([second] if second is not None else []))
            if len(chain) > len(best) or (len(chain) == len(best) and _spread(chain) < _spread(best)):
                best = chain
    if len(best) < 3:
        return {}
    return {p: k + 1 for k, p in enumerate(best)}


def _chain(positions: dict[int, list[int]], chain: list[int]) -> list[int]:
    n = len(chain) + 1
    while n in positions:
        later = [p for p in positions[n] if p > chain[-1]]
        if not later:
            break
        if len(chain) >= 2:
            gaps = sorted(b - a for a, b in zip(chain, chain[1:]))
            usual = gaps[len(gaps) // 2]
            near = [p for p in later if p - chain[-1] <= 3 * usual + 3]
            pick = min(near, key=lambda p: abs(p - chain[-1] - usual)) if near else later[0]
        else:
            pick = later[0]
        chain = chain + [pick]
        n += 1
    return chain


def _spread(chain: list[int]) -> float:
    gaps = [b - a for a, b in zip(chain, chain[1:])]
    if not gaps:
        return float("inf")
    mean = sum(gaps) / len(gaps)
    return sum((g - mean) ** 2 for g in gaps) / len(gaps)


class Aligner:
    """Hard-EM over a left-to-right column model: emission profiles and presence rates per column.

    Internally column 0 is a virtual *group* column: a row may start with a group heading ("行动一：…",
    "奉城镇" over its sub-rows) that belongs to no printed column, and a row holding only that cell is a group
    row. It is reported as column -1.
    """

    def __init__(self, cells: list[StreamCell], anchors: dict[int, int], n_cols: int, index_col: int | None,
                 hints: bool, presence_prior=None, lead_group: bool = False, type_prior=None):
        # type_prior: per column, pseudo-counts over TYPES from the column's name (what a 单位 column holds …)
        self.type_prior = None if type_prior is None else np.vstack([np.zeros(len(TYPES)), np.asarray(type_prior)])
        self.cells = cells
        self.n = n_cols + 1
        self.index_col = None if index_col is None else index_col + 1
        self.hints = hints
        prior = np.full(n_cols, 0.6) if presence_prior is None else np.asarray(presence_prior, dtype=float)
        # When the table's own first column holds the groups (类别 | 序号 | …), that column plays this role.
        self.lead_group = lead_group or (index_col is not None and index_col > 0)
        self.prior = np.concatenate([[0.03 if self.lead_group else 0.08], prior])
        self.has_prior = presence_prior is not None
        self.types = np.array([T_INDEX[cell_type(c.text, i in anchors)] for i, c in enumerate(cells)])
        self.anchor = np.array([i in anchors for i in range(len(cells))])
        self.gap = np.array([c.gap for c in cells])
        self.texts = [c.text.strip() for c in cells]
        self.tokens = [set(re.split(r"[、，,；;]", t)) - {""} for t in self.texts]
        self.identity = np.array([TYPES[t] not in ("seq", "num", "pct", "bound", "empty") for t in self.types])

    def fit(self, rows: list[list[tuple[int, int]]], rounds: int = 3) -> tuple[list[list[tuple[int, int]]], float]:
        rows = [[(c + 1, i) for c, i in r] for r in rows]
        # The fullest rows say best what each column holds: learn from them first.
        longest = max(len(r) for r in rows)
        complete = [r for r in rows if len(r) == longest]
        learn = complete if longest >= self.n - 2 else rows
        first = True
        for _ in range(rounds):
            emit, present = self._estimate(learn)
            if first:
                present = np.clip(self.prior, 0.02, 0.98)
                first = False
            new_rows, _ = self._viterbi(emit, present)
            if new_rows == rows:
                break
            rows = learn = new_rows
        # Score every width the same way: parameters estimated from the alignment itself.
        emit, present = self._estimate(rows)
        rows, score = self._viterbi(emit, present)
        return [[(c if c == DROPPED else c - 1, i) for c, i in r] for r in rows], score

    def _estimate(self, rows):
        counts = np.full((self.n, len(TYPES)), SMOOTH)
        if self.type_prior is not None:
            counts = counts + self.type_prior
        seen = np.full(self.n, 0.5)
        texts: list[dict[str, int]] = [dict() for _ in range(self.n)]
        tokens: list[set[str]] = [set() for _ in range(self.n)]
        for row in rows:
            for col, i in row:
                if col < 0:
                    continue
                counts[col, self.types[i]] += 1
                seen[col] += 1
                texts[col][self.texts[i]] = texts[col].get(self.texts[i], 0) + 1
                tokens[col] |= self.tokens[i]
        emit = np.log(counts / counts.sum(axis=1, keepdims=True))
        if self.index_col is not None:
            emit[:, T_INDEX["seq"]] = -12.0
            emit[self.index_col, :] = -12.0
            emit[self.index_col, T_INDEX["seq"]] = 0.0
        for t in ("seq", "int", "num", "pct", "bound", "empty", "unit", "attr"):
            emit[0, T_INDEX[t]] = -12.0  # a group heading is words
        present = np.clip(seen / (len(rows) + 1.0), 0.02, 0.98)
        strength = 4.0 if self.has_prior else 1.0
        present = np.clip((seen + strength * self.prior) / (len(rows) + 1.0 + strength), 0.02, 0.98)
        # A column that repeats a value ("郊野单元", "221、253") claims that value in other rows too.
        self.bonus = np.zeros((len(self.cells), self.n))
        for i, text in enumerate(self.texts):
            if HEADING_LIKE.match(text):
                self.bonus[i, 0] = 5.0  # "行动二：…", "（三）…": a heading over the rows below
            if not self.identity[i] and TYPES[self.types[i]] != "int":
                continue
            mine = self.tokens[i]
            for col in range(1, self.n):
                if texts[col].get(text, 0) >= 2:
                    self.bonus[i, col] = 1.0
                elif mine:
                    shared = len(mine & tokens[col]) / len(mine)
                    if shared >= 0.3:  # "区规划资源局、区建设管理委…" shares bodies with its column
                        self.bonus[i, col] = 0.5 + shared
        return emit, present

    def _viterbi(self, emit, present):
        n, m = self.n, len(self.cells)
        log_p, log_q = np.log(present), np.log(1 - present)
        cum_q = np.concatenate([[0.0], np.cumsum(log_q)])  # cum_q[k] = sum of log_q[:k]
        # same row: a at j', b at j > j': skip j'+1..j-1; new row: trailing j'+1..n-1, leading 0..j-1
        jp = np.arange(n)[:, None]
        j = np.arange(n)[None, :]
        same = np.where(j > jp, cum_q[j] - cum_q[jp + 1], -np.inf)
        trailing = cum_q[n] - cum_q[np.arange(n) + 1]
        trailing[0] = 0.0  # a row holding only a group heading skips nothing
        new_row = trailing[:, None] + cum_q[j] - 1.0
        score = np.full((m, n), -np.inf)
        back = np.zeros((m, n), dtype=np.int32)
        newrow_flag = np.zeros((m, n), dtype=bool)
        dropped = np.zeros((m, n), dtype=bool)
        bonus = getattr(self, "bonus", np.zeros((m, n)))
        score[0] = cum_q[j[0]] + log_p + emit[:, self.types[0]] + bonus[0]
        for i in range(1, m):
            e = emit[:, self.types[i]] + log_p + bonus[i]
            bonus_new, bonus_same = (0.0, 0.0)
            if self.hints:
                bonus_new, bonus_same = (1.5, -1.5) if self.gap[i] else (-1.5, 0.0)
            prev = score[i - 1][:, None]
            s_same = prev + same + bonus_same
            s_new = prev + new_row + bonus_new
            if self.anchor[i] and self.index_col is not None:
                s_same = np.where(jp < self.index_col, s_same, -np.inf)
            best_same = s_same.max(axis=0)
            best_new = s_new.max(axis=0)
            use_new = best_new >= best_same
            score[i] = np.where(use_new, best_new, best_same) + e
            back[i] = np.where(use_new, s_new.argmax(axis=0), s_same.argmax(axis=0))
            newrow_flag[i] = use_new
            if not self.anchor[i]:
                # A stray cell that fits no column ("96.15%" after a full row) is dropped, at a price.
                kept = score[i - 1] + DROP_COST
                better = kept > score[i]
                score[i] = np.where(better, kept, score[i])
                back[i] = np.where(better, np.arange(n), back[i])
                newrow_flag[i] = np.where(better, False, newrow_flag[i])
                dropped[i] = better
        end = score[m - 1] + trailing
        col = int(end.argmax())
        total = float(end[col])
        path = [0] * m
        starts = [False] * m
        drop = [False] * m
        for i in range(m - 1, -1, -1):
            path[i] = col
            if i > 0:
                drop[i] = bool(dropped[i, col])
                starts[i] = bool(newrow_flag[i, col])
                col = int(back[i, col])
        starts[0] = True
        rows: list[list[tuple[int, int]]] = []
        for i in range(m):
            if starts[i]:
                rows.append([])
            rows[-1].append((DROPPED if drop[i] else path[i], i))
        return rows, total


def initial_rows(cells: list[StreamCell], anchors: dict[int, int], n_cols: int, index_col: int | None,
                 hints: bool) -> list[list[tuple[int, int]]]:
    """A first segmentation to learn profiles from: by 序号, by blank-line rows, by unique labels, or by width."""
    m = len(cells)
    starts: list[int] = []
    if anchors and index_col is not None:
        starts = sorted(anchors)
        if starts[0] > 0:
            starts.insert(0, 0)
    elif hints and sum(c.gap for c in cells) >= 2:
        starts = [i for i, c in enumerate(cells) if i == 0 or c.gap]
    else:
        counts = Counter(c.text for c in cells)
        label_type = cell_type(cells[0].text)
        starts = [i for i, c in enumerate(cells)
                  if i == 0 or (counts[c.text] == 1 and cell_type(c.text) == label_type
                                and i + 1 < m and cell_type(cells[i + 1].text) != label_type)]
        if len(starts) < 2:
            starts = list(range(0, m, n_cols))
    if anchors and index_col is not None and len(starts) >= 3:
        # The rows after the last 序号 (合计, 总计) have none: cut an over-long last stretch at the usual width.
        usual = Counter(b - a for a, b in zip(starts, starts[1:])).most_common(1)[0][0]
        last = starts[-1]
        while m - last > usual + 1:
            last += usual
            starts.append(last)
    rows = []
    bounds = starts + [m]
    carry: list[int] = []  # cells at the end of a 序号 stretch that lead the next row (its group cells)
    for a, b in zip(bounds, bounds[1:]):
        idx = list(range(a, b))
        if anchors and index_col is not None and a in anchors:
            core = n_cols - index_col
            extra = idx[core:] if index_col > 0 and len(idx) > core else []
            idx = idx[:core] if extra else idx
            lead = carry[-index_col:] if index_col else []
            row = [(index_col - len(lead) + k, i) for k, i in enumerate(lead)]
            row += [(index_col + k, i) for k, i in enumerate(idx) if index_col + k < n_cols]
            carry = extra
            rows.append(row or [(0, a)])
            continue
        carry = []
        rows.append([(c, i) for c, i in enumerate(idx) if c < n_cols] or [(0, a)])
    return rows


def align(cells: list[StreamCell], n_cols: int, anchors: dict[int, int], index_col: int | None,
          hints: bool, presence_prior=None, lead_group: bool = False,
          type_prior=None) -> tuple[list[list[tuple[int, int]]], float]:
    aligner = Aligner(cells, anchors, n_cols, index_col, hints, presence_prior, lead_group, type_prior)
    rows = initial_rows(cells, anchors, n_cols, index_col, hints)
    return aligner.fit(rows)


def width_candidates(cells: list[StreamCell], anchors: dict[int, int], index_col: int | None, hints: bool,
                     header_guess: int) -> list[int]:
    """Plausible column counts: from the 序号 rows, the blank-line rows, and the header."""
    found: list[int] = []
    if anchors:
        pos = sorted(anchors)
        gaps = Counter(b - a for a, b in zip(pos, pos[1:]))
        core = gaps.most_common(1)[0][0]
        base = (index_col or 0) + core
        found += [base, base + 1, base - 1]
    if hints:
        sizes, run = [], 0
        for i, c in enumerate(cells):
            if c.gap and run:
                sizes.append(run)
                run = 0
            run += 1
        sizes.append(run)
        common = Counter(sizes).most_common(1)[0][0]
        found += [common, max(sizes)]
    if header_guess:
        found += [header_guess]
    out = []
    for n in found:
        if 2 <= n <= 40 and n not in out:
            out.append(n)
    return out or [max(2, header_guess)]
