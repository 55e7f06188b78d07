"""Table headers: which cells are header cells, and the column names when headers span several rows.

A header scraped from HTML is its cells row after row: ``乡镇 | 减量化情况 | 计划完成时间 | 备注 | 总面积 | 主要地类 |
建设用地面积 | 工业 | 宅基地 | 其他`` is three rows, where 减量化情况 spans three cells of the row below and
建设用地面积 spans the last row. Given the number of columns the data has, the layout (each cell's row and
column span) is searched for, preferring spanning cells with group words and leaves whose names fit their
column's values (单位 over units, 属性 over 约束性/预期性, years over numbers …).
"""

from __future__ import annotations

import re

STRONG = re.compile(
    r"^(?:序号|编号|序|No\.?|类别|类型|类目|分类|板块|领域|维度|任务类型|指标类别|指标类型|指标属性|属性|单位|计量单位|指标单位|"
    r"指标|指标名称|指标项|指标内容|一级指标|二级指标|三级指标|名称|项目名称|项目|主要内容|任务|工作任务|重点任务|任务名称|任务内容|"
    r"具体任务|目标|目标值|指标值|预期目标|规划目标|现状|现状值|基期值|基准值|基础值|完成值|完成情况|地区|区域|区县|街镇|乡镇|"
    r"街镇、园区|盟市|地市|设区市|市州|市（州）|市\(州\)|地市州|区县|县（市、区）|旗县|旗县（市、区）|省份|责任单位|牵头单位|牵头部门|配合部门|配合单位|推进单位|责任部门|主要责任单位|职责分工|时间|时间节点|"
    r"完成时间|进度安排|备注|说明|合计|总计|累计|数据来源|指标解释|计算方法|单位名称|所在区|所在区县|所在地|所在区位|位置|地点|地址|"
    r"四至范围|范围|区域等级|等级|级别|区域名称|地块名称|行政区|行政区划|所属|所属区|所属区县|所属街镇|ID|id)$"
)
WEAK_SUFFIX = re.compile(
    r"(?:目标|目标值|基期值|现状|现状值|完成值|任务量|情况|名称|类型|属性|单位|部门|时间|节点|指标|规划|"
    r"值|率|数|(?<!质)量|面积|数量|累计|年度|类|领域|项目|任务|措施|工程|内容|事项|降低|下降|增长|比重|浓度|比率|比例|"
    r"排放量|能耗|占比|百分比|名单|名录|级别|等级|编号|代码|结构|方式|用途)$"
)
YEARISH = re.compile(r"^[（(]?(?:“[^”]{2,6}”|(?:19|20)\d{2}(?:[-—–](?:19|20)?\d{2})?年?(?:度)?)"
                     r"(?:基期值?|目标值?|现状值?|完成值?|规划值?|末|底|年)?[）)]?$")
STRONG_PARENT = re.compile(r"(?:情况|指标值|目标值|分年度.*|构成|其中|分项)$|(?<=..)(?:类型|区域|指标|目标|分类)$")
WEAK_PARENT = re.compile(r"(?:面积|规划|现状|内容|数量)$")
TOTAL_IN_NAME = re.compile(r"约?\d+(?:\.\d+)?(?:亩|公顷|万平方米|平方米|个|项|万元)")  # "2026年度任务量约1625亩"
LEAF_WORDS = re.compile(r"^(?:序号|编号|单位|计量单位|属性|备注|名称|项目名称|个数|数量|类别|说明|牵头部门|配合部门|时间节点|地址|位置|地点|"
                        r"其他|其它|合计|小计|总计)$")


def header_score(cell: str) -> int:
    """2: a word that names a column (序号, 单位, 属性 …); 1: looks like a column name; 0: not; −1: data."""
    s = re.sub(r"\s+", "", cell)
    if not s or len(s) > 24:
        return -1
    if STRONG.match(s):
        return 2
    if YEARISH.match(s):
        return 1
    if re.fullmatch(r"[\d.,%〔〕≥≤<>＞＜/—-]+", s):
        return -1
    bare = re.sub(r"[（(][^（）()]{1,12}[）)]$", "", s)  # "氨氮排放量降低（%）": the unit does not name it
    if len(bare) <= (24 if bare.endswith("名称") else 16) and WEAK_SUFFIX.search(bare) and not re.search(r"\d", re.sub(r"(?:19|20)\d{2}", "", bare)):
        return 1
    return 0


UNIT_NAMED = re.compile(r"^[\u4e00-\u9fff]{2,12}[（(](?:年|%|万元|元|亿元|平方米|万平方米|平方公里|公顷|亩|米|公里|千米|吨|万吨|个|"
                        r"人|户|m2|m²|㎡|万m2)[）)]$")


def is_header_run(cells: list[str], captioned: bool = False) -> bool:
    """Do these first cells of a block read as a table header? Under a caption, two column names do."""
    # "生产用房（年）", "残值率（%）": a name printed with its unit names a column (here only: as a row's first cell
    # it is an indicator with its unit, so header_score leaves it alone)
    scores = [max(header_score(c), 1 if UNIT_NAMED.search(re.sub(r"\s", "", c)) else 0) for c in cells[:14]]
    strong = sum(s == 2 for s in scores)
    named = sum(s >= 1 for s in scores)
    # under a caption, a header may be just two column names over rows of values ("建筑基地面积 | 折减率")
    two = captioned and len(scores) >= 2 and scores[0] >= 1 and scores[1] >= 1 and all(s <= 0 for s in scores[2:4])
    return strong >= 2 or (strong >= 1 and named >= (2 if captioned else 3)) or (captioned and named >= 3) or two


# ---------- naming the columns of a multi-row header ----------

def column_names(header: list[str], n_cols: int, fits=None, lines_layout: bool = False) -> tuple[list[str], float]:
    """Leaf names for `n_cols` columns from the header cells in reading order, and how well they fit.

    `fits(col, name) -> float` scores how well a name suits a column's values. With one line per cell
    (`lines_layout`), extra lines are wrapped header cells and are joined instead.
    """
    header = [h for h in header if h.strip()]
    if not header:
        return [_typed_name(fits, c) for c in range(n_cols)], 0.0
    if len(header) <= n_cols or lines_layout:
        if len(header) == n_cols:
            names = header
        elif len(header) < n_cols:
            names = header + [_typed_name(fits, c) for c in range(len(header), n_cols)]
        else:
            names = _join_wrapped(header, n_cols)
        fit = sum(fits(c, n) for c, n in enumerate(names)) if fits else 0.0
        return names, fit + 0.5 * min(len(header), n_cols) - 1.0 * abs(len(header) - n_cols)
    names, score = search_layout(tuple(header), n_cols, fits)
    if names:
        return names, score
    names = _join_wrapped(header, n_cols)
    return names, (sum(fits(c, n) for c, n in enumerate(names)) if fits else 0.0) - 3.0


def _typed_name(fits, c: int) -> str:
    """A column with no header cell is named by what it holds (序号, 单位, 属性), else by its position."""
    if fits:
        for name in ("序号", "单位", "属性"):
            if fits(c, name) > 0.5:
                return name
    return f"第{c + 1}列"


def _join_score(a: str, b: str) -> float:
    score = -1.0
    if a.endswith(("”", "“")) or re.fullmatch(r"“[^”]*”", a):
        score += 3
    if re.match(r"^(?:完成值|目标值|基期值|现状值|值|面积|数量|任务量|[（(])", b):
        score += 3
    if re.match(r"^[年、]", b) or a.endswith(("、", "和", "及", "（")):
        score += 3
    if STRONG.match(a) or STRONG.match(b):
        score -= 3
    return score


def _join_wrapped(lines: list[str], n_cols: int) -> list[str]:
    """Join adjacent lines into exactly n_cols names, choosing the joins that read best (DP)."""
    h = len(lines)
    neg = float("-inf")
    # best[i][k]: best score splitting lines[:i] into k names
    best = [[neg] * (n_cols + 1) for _ in range(h + 1)]
    back = [[0] * (n_cols + 1) for _ in range(h + 1)]
    best[0][0] = 0.0
    for i in range(1, h + 1):
        for k in range(1, min(i, n_cols) + 1):
            for start in range(max(0, i - 3), i):  # a name spans at most three lines
                if best[start][k - 1] == neg:
                    continue
                joined = sum(_join_score(lines[x], lines[x + 1]) for x in range(start, i - 1))
                s = best[start][k - 1] + joined
                if s > best[i][k]:
                    best[i][k] = s
                    back[i][k] = start
    if best[h][n_cols] == neg:
        return lines[:n_cols]
    names, i, k = [], h, n_cols
    while k:
        start = back[i][k]
        names.append("".join(lines[start:i]))
        i, k = start, k - 1
    return names[::-1]


MAX_NODES = 30000


def search_layout(header: tuple[str, ...], n_cols: int, fits=None) -> tuple[list[str] | None, float]:
    """Lay the header cells out over rows: each row's cells tile the free spans left by the row above.

    A cell is a leaf (one column, down to the data) or a parent spanning w columns whose children start one
    or two rows below (a parent may itself span two rows). Returns the leaf names and the layout's score.
    """
    best = {"score": float("-inf"), "names": None, "anc": [[] for _ in range(n_cols)],
            "totals": any(STATED_TOTAL_HINT.search(h) for h in header)}  # totals can add 2 per cell
    nodes = [0]
    _row(header, 0, [(0, n_cols)], {}, [], n_cols, 0.0, best, nodes, fits, 0)
    return best["names"], best["score"]


def _row(header, k, segments, later, placed, n_cols, score, best, nodes, fits, depth):
    """Fill the free `segments` of this row with header[k:]; `later` holds spans opened for rows below."""
    nodes[0] += 1
    if nodes[0] > MAX_NODES or depth > 4:
        return
    if not segments:
        if k == len(header) and not later:
            names, leaf_score = _leaf_names(header, placed, n_cols, fits)
            total = (score + leaf_score - 0.3 * depth - 0.15 * _parent_gaps(placed)
                     - 1.0 * _split_siblings(header, placed) - 0.5 * _mixed_children(header, placed)
                     + 1.5 * _parent_totals(header, placed, fits))
            if total > best["score"]:
                best["score"], best["names"] = total, names
        return
    _cells(header, k, segments, 0, 0, later, {}, placed, n_cols, score, best, nodes, fits, depth)


def _cells(header, k, segments, si, used, later, opened, placed, n_cols, score, best, nodes, fits, depth):
    nodes[0] += 1
    if nodes[0] > MAX_NODES:
        return
    if si == len(segments):  # this row is full: go down one row
        nxt = sorted(later.get(depth + 1, []) + opened.get(depth + 1, []))
        rest: dict[int, list] = {}
        for source in (later, opened):
            for d, v in source.items():
                if d != depth + 1:
                    rest[d] = rest.get(d, []) + list(v)
        _row(header, k, nxt, rest, placed, n_cols, score, best, nodes, fits, depth + 1)
        return
    if k == len(header):
        return
    start, width = segments[si]
    remaining = width - used
    col = start + used
    text = header[k]
    parents = sum(1 for p in placed if p[4])
    free_here = remaining + sum(w for _, w in segments[si + 1:])
    pending = sum(w for v in list(later.values()) + list(opened.values()) for _, w in v)
    left = len(header) - k
    if left < free_here + pending:
        return  # too few cells left to give every open column its leaf
    if score + (4.5 if best["totals"] else 2.5) * left < best["score"]:
        return  # even the best rest cannot beat the layout found
    repeated = header.count(text) > 1  # "图斑面积" under each of nine groups: always a leaf
    ancestors = best["anc"][col]
    # The leaf's own name is fitted to the values; only a name that says nothing by itself ("工业") borrows, at
    # half weight, its parents' words (建设用地面积·工业): a parent's word must not make just any child fit.
    fit = 0.0
    if fits:
        fit = fits(col, text) or 0.5 * fits(col, join_parts(ancestors + [text]))
    total = getattr(fits, "total", None)  # a total printed in the name that the column's values add up to
    options = [(1, 0, _cell_prior(text, True, 1) + (1.0 if repeated else 0.0) + fit
                + (total(col, text) if total else 0.0))]  # a leaf
    if parents < len(header) - n_cols and not repeated:
        for w in range(1, remaining + 1):
            for rs in (1, 2):
                options.append((w, rs, _cell_prior(text, False, w) - (0.7 if rs == 2 else 0.0)))
    options.sort(key=lambda o: -o[2])
    for w, rs, prior in options:
        nsi, nused = (si + 1, 0) if used + w == width else (si, used + w)
        new_opened = opened
        if rs:
            new_opened = {d: list(v) for d, v in opened.items()}
            new_opened.setdefault(depth + rs, []).append((col, w))
        placed.append((k, depth, col, w, rs))
        if rs:
            for c in range(col, col + w):
                best["anc"][c].append(text)
        _cells(header, k + 1, segments, nsi, nused, later, new_opened, placed, n_cols, score + prior, best,
               nodes, fits, depth)
        if rs:
            for c in range(col, col + w):
                best["anc"][c].pop()
        placed.pop()


def _cell_prior(text: str, leaf: bool, span: int) -> float:
    """How likely a header cell is a leaf (its own column) or a parent spanning `span` columns."""
    s = text.strip()
    group = 0.9 if STRONG_PARENT.search(s) else (0.3 if WEAK_PARENT.search(s) else 0.0)
    if TOTAL_IN_NAME.search(s):
        group = max(group, 0.6)  # a total printed over its parts heads the columns that split it
    if leaf:
        return 0.5 - 0.3 * (group > 0.5)
    p = (-0.3 if span == 1 else -0.2) + group
    if len(s) <= 2:
        p -= 0.4  # a word this short names a column, rarely a group of columns
    if LEAF_WORDS.match(s) or (YEARISH.match(s) and not s.startswith(("“", '"'))):
        p -= 1.5
    elif re.match(r"^总[\u4e00-\u9fff]{1,4}$", s) and not TOTAL_IN_NAME.search(s):
        p -= 0.8  # "总面积", "总量": the total's own column, printed beside the parts (not over them)
    return p


def _shape(text: str) -> str:
    """A cell's form with its digits blurred: "2024年约1900亩" and "2025年约2200亩" are one form."""
    return re.sub(r"\d+(?:\.\d+)?", "9", re.sub(r"\s", "", text))


def _split_siblings(header, placed) -> int:
    """Cells of one form with a number in them ("2024年约1900亩", "2025年约2200亩") are printed in one header row
    (under one parent or under several: 现状（2025年） | 近期规划（2030年）). Count the cells a layout puts in another
    row than their first sibling."""
    spot = {k: depth for k, depth, col, w, rs in placed}
    first: dict[str, int] = {}
    split = 0
    for k in sorted(spot):
        form = _shape(header[k])
        if not re.search(r"\d", header[k]) or header.count(header[k]) > 1:
            continue
        if form in first:
            split += first[form] != spot[k]
        else:
            first[form] = spot[k]
    return split


def _parent_totals(header, placed, fits) -> int:
    """Parents whose printed total ("总面积1.06万亩分布情况") is what one of their own leaf columns adds up to."""
    total = getattr(fits, "total", None)
    if total is None:
        return 0
    found = 0
    for k, depth, col, w, rs in placed:
        if rs and STATED_TOTAL_HINT.search(header[k]):
            found += any(total(c2, header[k]) for k2, d2, c2, _, rs2 in placed
                         if d2 == depth + rs and not rs2 and col <= c2 < col + w)
    return found


STATED_TOTAL_HINT = re.compile(r"\d(?:[\d.]*)\s*(?:万|亿)?(?:亩|公顷|平方米|平方公里|个|项|处|件|万元|元)")


def _mixed_children(header, placed) -> int:
    """A parent over a run of one form ("分年度任务量" over 2024年…, 2025年…, 2026年…) rarely has a child of another
    form among them: count such odd children."""
    odd = 0
    for k, depth, col, w, rs in placed:
        if not rs:
            continue
        forms = [_shape(header[k2]) if re.search(r"\d", header[k2]) else "" for k2, d2, c2, _, _ in placed
                 if d2 == depth + rs and col <= c2 < col + w]
        common = max(set(forms), key=forms.count) if forms else ""
        if common and forms.count(common) >= 2:
            odd += sum(f != common for f in forms)
    return odd


def _parent_gaps(placed) -> int:
    """How far parents sit from their first child in reading order: a group heading is usually printed
    right before the row of cells it spans."""
    gaps = 0
    for k, depth, col, w, rs in placed:
        if not rs or depth:
            continue  # below the first row, children follow the whole row by nature
        children = [k2 for k2, d2, c2, _, _ in placed if d2 == depth + rs and col <= c2 < col + w]
        if children:
            gaps += min(children) - k - 1
    return gaps


def _leaf_names(header, placed, n_cols, fits) -> tuple[list[str], float]:
    """Each column's name: the cells above it, top down; a leaf's name fits its column's values or not."""
    covering: list[list[tuple[int, int]]] = [[] for _ in range(n_cols)]
    for k, depth, col, w, rs in placed:
        for c in range(col, col + w):
            covering[c].append((depth, k))
    names, score = [], 0.0
    for c in range(n_cols):
        parts = [header[k] for _, k in sorted(covering[c])]
        names.append(join_parts(parts))
    return names, score


def join_parts(parts: list[str]) -> str:
    """Parent and child header names as one column name: "指标值·现状（2025年）"."""
    out = ""
    for p in parts:
        p = p.strip()
        if not out:
            out = p
        elif p.startswith(("（", "(")) or out.endswith(("“", "（")):
            out += p
        else:
            out += "·" + p
    return out
