"""Seeded plan-like documents (规划/实施方案) with their ground truth: test data and the benchmark corpus.

The same seed always gives the same bytes, so a generated corpus ingests idempotently. Usage::

    plan = generate_plan(7, "md")                    # also "txt", "txt-gb18030", "docx", "html"
    plan.targets[(plan.regions[0], plan.indicators[0])]   # Value(value=14.5, unit='%', raw='14.5%')
    write_corpus("/tmp/corpus", 100, seed=1, formats=("txt", "docx"))
"""

from __future__ import annotations

import html
import io
import random
import re
import zipfile
from dataclasses import dataclass, field, replace
from datetime import datetime
from pathlib import Path

FORMATS = ("txt", "txt-gb18030", "md", "docx", "html", "md-web")
SUFFIXES = {"txt": ".txt", "txt-gb18030": ".txt", "md": ".md", "docx": ".docx", "html": ".html", "md-web": ".md"}
PERIODS = {"十二五": (2010, 2015), "十三五": (2015, 2020), "十四五": (2020, 2025)}
PREVIOUS = {"十二五": "十一五", "十三五": "十二五", "十四五": "十三五"}
CN_NUMS = "一二三四五六七八九十"
FIXED_ZIP_TIME = (2020, 1, 1, 0, 0, 0)  # docx members get a fixed timestamp so bytes depend on the seed only
FIXED_DOC_TIME = datetime(2020, 1, 1)

# province → (word for its prefectures, region column header, prefectures; "全称/简称" where the short form is not
# just the name without 市/盟)
PROVINCES = {
    "河北省": ("设区市", "设区市", "石家庄市 唐山市 秦皇岛市 邯郸市 邢台市 保定市 张家口市 承德市 沧州市 廊坊市 衡水市"),
    "山西省": ("市", "地区", "太原市 大同市 阳泉市 长治市 晋城市 朔州市 晋中市 运城市 忻州市 临汾市 吕梁市"),
    "广西壮族自治区": ("设区市", "设区市", "南宁市 柳州市 桂林市 梧州市 北海市 防城港市 钦州市 贵港市 玉林市 百色市 "
                                      "贺州市 河池市 来宾市 崇左市"),
    "内蒙古自治区": ("盟市", "盟市", "呼和浩特市 包头市 乌海市 赤峰市 通辽市 鄂尔多斯市 呼伦贝尔市 巴彦淖尔市 乌兰察布市 "
                                "兴安盟 锡林郭勒盟 阿拉善盟"),
    "吉林省": ("市（州）", "地区", "长春市 吉林市 四平市 辽源市 通化市 白山市 松原市 白城市 延边朝鲜族自治州/延边州"),
    "四川省": ("市（州）", "市（州）", "成都市 自贡市 攀枝花市 泸州市 德阳市 绵阳市 广元市 遂宁市 内江市 乐山市 南充市 "
                                  "眉山市 宜宾市 广安市 达州市 雅安市 巴中市 资阳市 阿坝藏族羌族自治州/阿坝州 "
                                  "甘孜藏族自治州/甘孜州 凉山彝族自治州/凉山州"),
    "贵州省": ("市（州）", "市州", "贵阳市 六盘水市 遵义市 安顺市 毕节市 铜仁市 黔西南布依族苗族自治州/黔西南州 "
                                "黔东南苗族侗族自治州/黔东南州 黔南布依族苗族自治州/黔南州"),
    "甘肃省": ("市（州）", "市州", "兰州市 嘉峪关市 金昌市 白银市 天水市 武威市 张掖市 平凉市 酒泉市 庆阳市 定西市 陇南市 "
                                "临夏回族自治州/临夏州 甘南藏族自治州/甘南州"),
}


@dataclass(frozen=True)
class Indicator:
    key: str  # what people call it: "单位GDP能耗"
    column: str  # its column in the region table: "单位GDP能耗降低"
    unit: str  # unit of the region-table values
    region_range: tuple[float, float]
    row: str  # its row in the overall table: "单位GDP能耗"
    row_unit: str
    base_range: tuple[float, float]
    change_range: tuple[float, float]  # % change over the period; percentage points when row_unit is "%"


INDICATORS = (
    Indicator("单位GDP能耗", "单位GDP能耗降低", "%", (13, 18), "单位GDP能耗", "吨标准煤/万元", (0.4, 1.9), (-18, -13)),
    Indicator("单位GDP二氧化碳排放", "单位GDP二氧化碳排放降低", "%", (16, 22), "单位GDP二氧化碳排放", "吨/万元",
              (0.8, 4.5), (-22, -16)),
    Indicator("二氧化硫", "二氧化硫排放量降低", "%", (3, 20), "二氧化硫排放量", "万吨", (10, 150), (-20, -3)),
    Indicator("氮氧化物", "氮氧化物排放量降低", "%", (5, 20), "氮氧化物排放量", "万吨", (10, 150), (-20, -5)),
    Indicator("化学需氧量", "化学需氧量排放量降低", "%", (3, 12), "化学需氧量排放量", "万吨", (10, 100), (-12, -3)),
    Indicator("氨氮", "氨氮排放量降低", "%", (3, 12), "氨氮排放量", "万吨", (1, 10), (-12, -3)),
    Indicator("挥发性有机物", "挥发性有机物排放量降低", "%", (8, 15), "挥发性有机物排放量", "万吨", (10, 80), (-15, -8)),
    Indicator("可再生能源比重", "可再生能源消费比重", "%", (8, 30), "可再生能源占能源消费总量比重", "%", (5, 25), (2, 8)),
    Indicator("PM2.5浓度", "PM2.5浓度", "微克/立方米", (25, 55), "细颗粒物（PM2.5）平均浓度", "微克/立方米", (30, 70),
              (-20, -8)),
    Indicator("空气质量优良天数比率", "空气质量优良天数比率", "%", (75, 95), "地级及以上城市空气质量优良天数比率", "%",
              (70, 88), (1, 6)),
)

# (item, unit, range) for "淘汰炼铁230万吨、炼钢95万吨" lists
ELIMINATE = (("炼铁", "万吨", (50, 800)), ("炼钢", "万吨", (30, 600)), ("水泥", "万吨", (100, 1500)),
             ("平板玻璃", "万重量箱", (50, 800)), ("焦炭", "万吨", (20, 500)), ("电石", "万吨", (10, 200)),
             ("铁合金", "万吨", (10, 150)), ("造纸", "万吨", (5, 60)), ("制革", "万标张", (5, 50)),
             ("铜冶炼", "万吨", (1, 10)), ("铅冶炼", "万吨", (1, 10)), ("酒精", "万吨", (1, 20)))
RATES = (("城市污水处理率", (85, 98)), ("城市生活垃圾无害化处理率", (90, 100)), ("工业固体废物综合利用率", (60, 90)),
         ("秸秆综合利用率", (85, 95)), ("城镇新建建筑中绿色建筑比例", (50, 100)), ("工业用水重复利用率", (85, 95)),
         ("重点企业余热余压利用率", (40, 70)), ("采煤机械化水平", (80, 98)), ("城市再生水利用率", (20, 30)))
BUILDS = (("资源综合利用示范基地", "个", (3, 20)), ("循环经济示范园区", "个", (2, 15)), ("污水处理厂", "座", (10, 80)),
          ("生活垃圾焚烧发电厂", "座", (3, 20)), ("清洁生产示范企业", "家", (20, 200)),
          ("“城市矿产”示范基地", "个", (1, 5)), ("节能监测中心", "个", (3, 12)))
BUILD_VERBS = ("建设", "新建", "建成")

FILLER = """坚持稳中求进工作总基调，完整准确全面贯彻新发展理念。
以改善环境质量为核心，统筹推进污染治理和生态保护。
坚持节约资源和保护环境的基本国策，推动形成绿色发展方式和生活方式。
强化目标责任，完善政策机制，健全法规标准，形成有效的激励约束机制。
加快淘汰落后产能，严格控制高耗能、高排放行业盲目扩张。
推动重点行业清洁生产改造，提升资源综合利用水平。
发挥市场机制作用，推行合同能源管理和环境污染第三方治理。
加强统计监测能力建设，完善能源计量和排放监测体系。
各地区要把节能减排作为调整经济结构、转变发展方式的重要抓手。
经济发展方式尚未根本转变，产业结构偏重、能源结构偏煤的格局没有根本改变。
部分地区环境容量接近上限，完成目标任务的难度明显加大。
落实地方政府主体责任，层层分解目标任务，确保各项措施落到实处。
加大财政资金支持力度，引导社会资本投入节能环保领域。
完善价格、财税、金融等经济政策，健全资源有偿使用制度。
开展节能减排全民行动，倡导简约适度、绿色低碳的生活方式。
严格执行环境影响评价和节能审查制度，从源头控制新增排放。
推进工业园区循环化改造，实现能量梯级利用和废物综合利用。
加强重点用能单位管理，开展能效对标达标活动。
强化监督检查，对未完成目标任务的地区实行问责。
推动科技创新，突破一批节能减排关键共性技术。""".split("\n")
PRINCIPLES = ("坚持系统观念，统筹发展和减排", "坚持问题导向，突出重点领域", "坚持改革创新，完善体制机制",
              "坚持全民参与，形成工作合力", "坚持依法治理，强化责任落实")
MEASURES = ("加强组织领导", "强化监督考核", "完善经济政策", "加强能力建设", "开展全民行动", "推进科技创新")
KINDS = ("节能减排规划", "节能减排综合工作方案", "生态环境保护规划", "大气污染防治实施方案", "节能减排实施方案")


@dataclass(frozen=True)
class Value:
    value: float | None  # None for text cells (约束性)
    unit: str
    raw: str  # the cell text as printed


@dataclass(frozen=True)
class Quantity:
    subject: str
    action: str
    value: float
    unit: str


@dataclass(eq=False)
class GeneratedPlan:
    name: str
    data: bytes
    fmt: str
    layout: str  # see LAYOUTS
    title: str
    province: str
    period: str  # "十四五"
    base_year: int
    target_year: int
    regions: list[str]  # row labels of the region table, as printed
    indicators: list[str]  # region-table column labels, as printed without their unit
    targets: dict[tuple[str, str], Value]  # (region, indicator) → value
    overall: dict[tuple[str, str], Value]  # (row label without unit, column) → value
    quantities: list[Quantity]  # prose facts
    region_table_title: str = ""
    overall_table_title: str = ""
    indicator_keys: dict[str, str] = field(default_factory=dict)  # column label → Indicator.key
    meta: dict[str, str] = field(default_factory=dict)  # md-web: doc_number, issuer, signed_date as printed


# ---------- the document as blocks, rendered per format ----------

@dataclass
class _Table:
    title: str
    unit_line: str
    rows: list[list[str]]


def _num(rng: random.Random, lo: float, hi: float) -> str:
    """A number as printed in plans: 0–2 decimals, no trailing zeros."""
    digits = rng.choice((0, 1, 1, 2)) if hi - lo > 2 else 2
    text = f"{rng.uniform(lo, hi):.{digits}f}"
    return text.rstrip("0").rstrip(".") if "." in text else text


def _fmt(value: float, digits: int = 2) -> str:
    text = f"{value:.{digits}f}"
    return text.rstrip("0").rstrip(".") if "." in text else text


def _filler(rng: random.Random, lo: int = 2, hi: int = 4) -> str:
    return "".join(rng.sample(FILLER, rng.randint(lo, hi)))


def _regions(rng: random.Random, province: str) -> list[str]:
    pool = PROVINCES[province][2].split()
    keep = sorted(rng.sample(range(len(pool)), rng.randint(min(5, len(pool)), len(pool))))
    short = rng.random() < 0.3
    out = []
    for i in keep:
        full, _, abbrev = pool[i].partition("/")
        if short:
            full = abbrev or (full[:-1] if full.endswith(("市", "盟")) else full)
        out.append(full)
    return out


def _build(seed: int) -> tuple[list, GeneratedPlan]:
    """Blocks of one document and its ground truth (data filled in by the renderer)."""
    rng = random.Random(seed)
    province = rng.choice(sorted(PROVINCES))
    period = rng.choice(sorted(PERIODS))
    base, target = PERIODS[period]
    kind = rng.choice(KINDS)
    title = f"{province}“{period}”{kind}"
    region_word, region_header, _ = PROVINCES[province]
    paren = rng.choice(("（{}）", "({})"))
    boxes = iter(rng.choice(((f"专栏{n}：" for n in CN_NUMS), (f"专栏{n} " for n in range(1, 9)),
                             (f"表{n} " for n in range(1, 9)))))
    plan = GeneratedPlan(name="", data=b"", fmt="", layout="", title=title, province=province, period=period,
                         base_year=base, target_year=target, regions=_regions(rng, province), indicators=[],
                         targets={}, overall={}, quantities=[])
    q = plan.quantities
    blocks: list = [("title", title), ("p", f"为深入贯彻落实国家和{province}关于节能减排的决策部署，确保完成“{period}”"
                                         f"各项目标任务，{_filler(rng, 1, 2)}结合实际，制定本{kind[-2:]}。")]

    def h(level: int, n: int, text: str) -> None:
        label = (f"{CN_NUMS[n]}、", paren.format(CN_NUMS[n]), f"{n + 1}、")[level - 1]
        blocks.append(("h", level, label + text))

    # 一、 the situation
    h(1, 0, rng.choice(("发展基础与形势", "现状与形势", "形势与任务")))
    h(2, 0, "主要成效")
    blocks.append(("p", f"“{PREVIOUS[period]}”期间，{_filler(rng, 3, 5)}"))
    h(2, 1, "面临形势")
    for _ in range(rng.randint(1, 3)):
        blocks.append(("p", _filler(rng, 2, 5)))

    # 二、 targets, with the two tables
    h(1, 1, "总体要求")
    h(2, 0, "指导思想")
    blocks.append(("p", _filler(rng, 3, 5)))
    h(2, 1, "基本原则")
    for principle in rng.sample(PRINCIPLES, 3):
        blocks.append(("p", f"——{principle}。{_filler(rng, 1, 2)}"))
    h(2, 2, "主要目标")
    h(3, 0, "总体目标")
    chosen = rng.sample(INDICATORS, rng.randint(4, 7))
    overall_table, sentences = _overall(rng, plan, chosen, next(boxes))
    blocks.append(("p", f"到{target}年，" + "，".join(sentences) + "。"))
    blocks.append(("table", overall_table))
    h(3, 1, f"各{region_word}目标")
    blocks.append(("p", f"各{region_word}全面完成{province}分解下达的各项目标任务，主要污染物排放量明显下降。"))
    blocks.append(("table", _region_table(rng, plan, region_word, region_header, next(boxes))))

    # 三、 tasks, with the prose quantities
    h(1, 2, "重点任务")
    h(2, 0, "推动产业结构优化升级")
    items = rng.sample(ELIMINATE, rng.randint(2, 4))
    listed = []
    for item, unit, (lo, hi) in items:
        raw = _num(rng, lo, hi)
        listed.append(f"{item}{raw}{unit}")
        q.append(Quantity(item, "淘汰", float(raw), unit))
    blocks.append(("p", f"{_filler(rng, 1, 2)}“{period}”期间淘汰{'、'.join(listed)}。{_filler(rng, 1, 2)}"))
    h(2, 1, "加强污染治理和资源利用")
    clauses = []
    for subject, (lo, hi) in rng.sample(RATES, rng.randint(2, 4)):
        raw = _num(rng, lo, hi)
        clauses.append(f"{subject}达到{raw}%{rng.choice(('', '以上'))}")
        q.append(Quantity(subject, "达到", float(raw), "%"))
    blocks.append(("p", f"{_filler(rng, 1, 2)}到{target}年，{'，'.join(clauses)}。"))
    h(2, 2, "实施重点工程")
    clauses = []
    for obj, unit, (lo, hi) in rng.sample(BUILDS, rng.randint(1, 3)):
        verb, n = rng.choice(BUILD_VERBS), rng.randint(lo, hi)
        clauses.append(f"{verb}{n}{unit}{obj}")
        q.append(Quantity(obj, verb, float(n), unit))
    blocks.append(("p", f"{_filler(rng, 1, 2)}“{period}”期间，{'，'.join(clauses)}。"))

    # 四、 measures
    h(1, 3, "保障措施")
    for n, measure in enumerate(rng.sample(MEASURES, rng.randint(2, 4))):
        h(2, n, measure)
        blocks.append(("p", _filler(rng, 2, 4)))
    return blocks, plan


def _overall(rng: random.Random, plan: GeneratedPlan, chosen, box: str) -> tuple[_Table, list[str]]:
    base, target = plan.base_year, plan.target_year
    change_col = rng.choice(("累计变化", "变化幅度", "下降/增长"))
    with_kind = rng.random() < 0.5
    header = ["指标", f"{base}年", f"{target}年", change_col] + (["属性"] if with_kind else [])
    rows, sentences = [header], []
    for ind in chosen:
        label, unit = ind.row, ind.row_unit
        start = float(_num(rng, *ind.base_range))
        change = round(rng.uniform(*ind.change_range), 1)
        if unit == "%":  # a share or a rate: the change is in percentage points
            end = min(round(start + change, 1), 100.0)
            change_raw = f"+{_fmt(end - start, 1)}"
            sentences.append(f"{label}达到{_fmt(end, 1)}%")
            plan.quantities.append(Quantity(label, "达到", round(end, 1), "%"))
            change_value, change_unit = float(change_raw), "%"
        else:
            digits = 2 if start < 10 else 1
            end = round(start * (1 + change / 100), digits)
            change_raw = f"{_fmt(change, 1)}%"
            change_value, change_unit = change, "%"
            if unit == "万吨":
                sentences.append(f"{label}控制在{_fmt(end, digits)}万吨以内，比{base}年下降{_fmt(-change, 1)}%")
                plan.quantities.append(Quantity(label, "控制在", end, "万吨"))
            else:
                sentences.append(f"{label}比{base}年下降{_fmt(-change, 1)}%")
            plan.quantities.append(Quantity(label, "下降", abs(change), "%"))
        cells = [f"{label}（{unit}）", _fmt(start, 2), _fmt(end, 2), change_raw]
        plan.overall[(label, header[1])] = Value(float(cells[1]), unit, cells[1])
        plan.overall[(label, header[2])] = Value(float(cells[2]), unit, cells[2])
        plan.overall[(label, change_col)] = Value(change_value, change_unit, change_raw)
        if with_kind:
            cells.append(rng.choice(("约束性", "预期性")))
            plan.overall[(label, "属性")] = Value(None, "", cells[-1])
        rows.append(cells)
    # Targets as real plans print them: words ("持续改善"), a bound ("≥80", "80以上"), no change to show ("—").
    if rng.random() < 0.7:
        label = rng.choice(("生态环境质量", "重点行业能效水平", "区域水环境质量"))
        base_word, target_word = rng.choice((("总体良好", "持续改善"), ("达到国家要求", "稳中有升"),
                                             ("基本达标", "全面达标")))
        cells = [label, base_word, target_word, "—"] + ([rng.choice(("约束性", "预期性"))] if with_kind else [])
        for col, raw in zip(header[1:4], cells[1:4]):
            plan.overall[(label, col)] = Value(None, "", raw)
        if with_kind:
            plan.overall[(label, "属性")] = Value(None, "", cells[-1])
        rows.append(cells)
    if rng.random() < 0.7:
        label = rng.choice(("城镇新建建筑中绿色建筑占比", "重点企业清洁生产审核覆盖率", "工业固体废物综合利用率"))
        start = int(rng.uniform(40, 70))
        bound = int(rng.uniform(start + 5, 95))
        raw = rng.choice((f"≥{bound}", f"{bound}以上"))
        cells = [f"{label}（%）", str(start), raw, "—"] + ([rng.choice(("约束性", "预期性"))] if with_kind else [])
        plan.overall[(label, header[1])] = Value(float(start), "%", str(start))
        plan.overall[(label, header[2])] = Value(float(bound), "%", raw)
        plan.overall[(label, change_col)] = Value(None, "", "—")
        if with_kind:
            plan.overall[(label, "属性")] = Value(None, "", cells[-1])
        rows.append(cells)
    plan.overall_table_title = f"{box}“{plan.period}”主要目标"
    return _Table(plan.overall_table_title, "", rows), sentences


def _region_table(rng: random.Random, plan: GeneratedPlan, word: str, header: str, box: str) -> _Table:
    indicators = rng.sample(INDICATORS, rng.randint(3, 6))
    all_pct = all(ind.unit == "%" for ind in indicators)
    # How a column shows "%": in every cell (like the bundled plan), in the header, or in a 单位 line.
    style = rng.choice(("cell", "header", "line") if all_pct else ("cell", "header"))
    head = [header]
    for ind in indicators:
        in_header = ind.unit != "%" or style == "header"
        head.append(f"{ind.column}（{ind.unit}）" if in_header else ind.column)
        plan.indicators.append(ind.column)
        plan.indicator_keys[ind.column] = ind.key
    rows = [head]
    for region in plan.regions:
        row = [region]
        for ind in indicators:
            raw = _num(rng, *ind.region_range)
            cell = raw + "%" if ind.unit == "%" and style == "cell" else raw
            row.append(cell)
            plan.targets[(region, ind.column)] = Value(float(raw), ind.unit, cell)
        rows.append(row)
    plan.region_table_title = f"{box}各{word}“{plan.period}”节能减排目标"
    return _Table(plan.region_table_title, "（单位：%）" if style == "line" else "", rows)


# ---------- renderers ----------
# Each format has layouts seen in real files; generate_plan picks one from the seed unless told which.
LAYOUTS = {
    "txt": ("cells", "tabs", "fullwidth"),  # one cell per line (Word copy) | tab-separated rows | ０-９ digits
    "txt-gb18030": ("cells", "tabs", "fullwidth"),
    "md": ("pipe", "bold-title"),  # title line above the pipe table, plain or **bold**
    "html": ("table", "caption"),  # title in a <p> above the table, or in its <caption>
    "docx": ("table", "title-row"),  # title paragraph above the table, or a merged first row inside it
    # a portal page: one cell per paragraph, with or without a 序号 column; one cell per line with no blank line
    # between; tables as attachments (an 附件 list, then "附表N：" before each caption)
    "md-web": ("cells", "indexed", "lines", "attachments"),
}
FULLWIDTH = str.maketrans("0123456789%.", "０１２３４５６７８９％．")


def _fullwidth(text: str) -> str:
    """Digits, % and decimal points in full width, as in many GB-encoded originals."""
    return text.translate(FULLWIDTH)


def _render_txt(blocks, rng: random.Random, layout: str) -> str:
    indent = rng.choice(("\u3000\u3000", ""))
    wide = _fullwidth if layout == "fullwidth" else str
    out: list[str] = []
    for block in blocks:
        if block[0] in ("title", "p"):
            out += [(indent if block[0] == "p" else "") + wide(block[1]), ""]
        elif block[0] == "h":
            out += [indent + block[2], ""]
        elif layout == "tabs":
            table: _Table = block[1]
            out += [indent + table.title, ""] + ([indent + table.unit_line, ""] if table.unit_line else [])
            out += ["\t".join(row) for row in table.rows] + [""]
        else:
            table = block[1]
            out += [indent + table.title, ""]
            if rng.random() < 0.5:
                out += ["\t" + table.title, ""]  # the box repeats its title, as in the bundled plan
            if table.unit_line:
                out += ["\t" + table.unit_line, ""]
            for r, row in enumerate(table.rows):
                for c, cell in enumerate(row):
                    if r == 0 and len(cell) > 7 and rng.random() < 0.4:
                        cut = rng.randint(3, len(cell) - 3)  # a wrapped header cell: "单位GDP" ⏎ "能耗降低"
                        out += ["\t" + cell[:cut], cell[cut:]]
                    else:
                        out.append("\t" + (wide(cell) if r and c else cell))
                out.append("")
            out.append("")
    return "\n".join(out)


def _render_md(blocks, rng: random.Random, layout: str) -> str:
    deep = rng.random() < 0.5  # "#### 1、…" or a plain "1、…" line
    out: list[str] = []
    for block in blocks:
        if block[0] == "title":
            out += ["# " + block[1], ""]
        elif block[0] == "p":
            out += [block[1], ""]
        elif block[0] == "h":
            level = block[1]
            out += [("#" * (level + 1) + " " if level < 3 or deep else "") + block[2], ""]
        else:
            table: _Table = block[1]
            out += [f"**{table.title}**" if layout == "bold-title" else table.title, ""]
            out += [table.unit_line, ""] if table.unit_line else []
            out.append("| " + " | ".join(table.rows[0]) + " |")
            out.append("|" + rng.choice(("---|", ":---:|", ":--|")) * len(table.rows[0]))
            out += ["| " + " | ".join(row) + " |" for row in table.rows[1:]] + [""]
    return "\n".join(out)


def _render_html(blocks, rng: random.Random, layout: str) -> str:
    esc = html.escape
    out = ["<!DOCTYPE html>", "<html><head><meta charset=\"utf-8\">",
           f"<title>{esc(blocks[0][1])}</title></head><body>"]
    for block in blocks:
        if block[0] == "title":
            out.append(f"<h1>{esc(block[1])}</h1>")
        elif block[0] == "p":
            out.append(f"<p>{esc(block[1])}</p>")
        elif block[0] == "h":
            level = block[1]
            tag = f"h{level + 1}" if level < 3 else "p"
            out.append(f"<{tag}>{esc(block[2])}</{tag}>")
        else:
            table: _Table = block[1]
            if layout != "caption":
                out.append(f"<p>{esc(table.title)}</p>")
            if table.unit_line:
                out.append(f"<p>{esc(table.unit_line)}</p>")
            out.append("<table border=\"1\">")
            if layout == "caption":
                out.append(f"<caption>{esc(table.title)}</caption>")
            for r, row in enumerate(table.rows):
                tag = "th" if r == 0 else "td"
                out.append("<tr>" + "".join(f"<{tag}>{esc(c)}</{tag}>" for c in row) + "</tr>")
            out.append("</table>")
    out.append("</body></html>")
    return "\n".join(out)


def _render_docx(blocks, rng: random.Random, layout: str) -> bytes:
    import docx

    document = docx.Document()
    props = document.core_properties
    props.author, props.title = "policyqa-generator", blocks[0][1]
    props.created = props.modified = props.last_printed = FIXED_DOC_TIME  # no wall-clock in the bytes
    grid_style = document.styles["Table Grid"]
    for block in blocks:
        if block[0] == "title":
            # Style ids set on the XML: python-docx's by-name lookup scans every style per call (~3 ms).
            document.add_paragraph(block[1])._p.style = "Title"
        elif block[0] == "p":
            document.add_paragraph(block[1])
        elif block[0] == "h":
            document.add_paragraph(block[2])._p.style = f"Heading{block[1]}"
        else:
            table: _Table = block[1]
            title_row = layout == "title-row"
            if not title_row:
                document.add_paragraph(table.title)
            if table.unit_line:
                document.add_paragraph(table.unit_line)
            width = len(table.rows[0])
            grid = document.add_table(rows=len(table.rows) + title_row, cols=width)
            grid.style = grid_style
            rows = iter(grid.rows)
            if title_row:
                cells = next(rows).cells
                cells[0].merge(cells[width - 1]).text = table.title
            for row, cells in zip(table.rows, rows):
                for text, cell in zip(row, cells.cells):
                    cell.text = text
    buffer = io.BytesIO()
    document.save(buffer)
    return _fixed_zip(buffer.getvalue())


def _fixed_zip(data: bytes) -> bytes:
    """Rewrite a zip with fixed member timestamps (python-docx stamps the current time)."""
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(data)) as src, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst:
        for info in src.infolist():
            dst.writestr(zipfile.ZipInfo(info.filename, FIXED_ZIP_TIME), src.read(info.filename),
                         compress_type=zipfile.ZIP_DEFLATED)
    return out.getvalue()


def _render_web(blocks, rng: random.Random, layout: str) -> str:
    """A government portal page as a scraper saves it: front matter, the covering notice with its 文号 and
    signature, then the plan; every table cell its own paragraph, a 序号 column in front."""
    title = blocks[0][1]
    number = f"{title[:1]}府办发〔{2020 + rng.randint(0, 6)}〕{rng.randint(1, 60)}号"
    issuer = f"{title.split('“')[0]}人民政府办公厅"
    year, month, day = 2020 + rng.randint(0, 6), rng.randint(1, 12), rng.randint(1, 28)
    out = ["---", f"标题: {issuer}关于印发《{title}》的通知", f"文号: {number}", f"发布单位: {issuer}",
           f"发布日期: {year}-{month:02d}-{day:02d}", "状态: 有效", "---", "",
           "> 本文正文由脚本自官方公开页面提取，仅供检索查阅。", "", f"# {issuer}关于印发《{title}》的通知", "",
           number, "", "各市、县人民政府，省政府各部门：", "", f"《{title}》已经政府同意，现印发给你们，请认真贯彻执行。", "",
           issuer, "", f"{year}年{month}月{day}日", ""]
    numbered = layout == "indexed"
    tables = [b[1] for b in blocks if b[0] not in ("title", "p", "h")]
    if layout == "attachments":
        # "附件：1.…表" ⏎ "2.…表": the list of attachments under the notice
        out += ["附件：" + "".join(f"{k}.{t.title}\n" if k < len(tables) else f"{k}.{t.title}"
                                 for k, t in enumerate(tables, 1)), ""]
    number = 0
    for block in blocks:
        if block[0] == "title":
            out += [block[1], ""]
        elif block[0] == "p":
            out += [block[1], ""]
        elif block[0] == "h":
            out += [block[2], ""]
        else:
            table: _Table = block[1]
            number += 1
            if layout == "attachments":
                out += [f"附表{number}：", ""]
            out += [table.title, ""] + ([table.unit_line, ""] if table.unit_line else [])
            for r, row in enumerate(table.rows):
                cells = ([("序号" if r == 0 else str(r))] if numbered else []) + row
                for cell in cells:
                    out += [cell] if layout == "lines" else [cell, ""]
            if layout == "lines":
                out.append("")
    return "\n".join(out)


RENDERERS = {"txt": _render_txt, "txt-gb18030": _render_txt, "md": _render_md, "html": _render_html,
             "docx": _render_docx, "md-web": _render_web}


def generate_plan(seed: int, fmt: str = "txt", layout: str | None = None) -> GeneratedPlan:
    """One plan-like document in `fmt` (see FORMATS) and its ground truth; a seed always gives the same bytes.

    The content depends on the seed only (all formats of a seed hold the same truth); `layout` (see LAYOUTS)
    defaults to one picked from the seed.
    """
    if fmt not in FORMATS:
        raise ValueError(f"unknown format {fmt!r}; expected one of {', '.join(FORMATS)}")
    rng = random.Random(f"{seed}:{fmt}")  # layout choices: a stream apart from the content's
    layout = layout or rng.choice(LAYOUTS[fmt])
    if layout not in LAYOUTS[fmt]:
        raise ValueError(f"unknown layout {layout!r} for {fmt}; expected one of {', '.join(LAYOUTS[fmt])}")
    blocks, plan = _build(seed)
    rendered = RENDERERS[fmt](blocks, rng, layout)
    if fmt == "md-web":
        lines = rendered.split("\n")
        plan.meta = {"doc_number": lines[2].split(": ", 1)[1], "issuer": lines[3].split(": ", 1)[1],
                     "signed_date": next(x for x in lines if re.fullmatch(r"\d{4}年\d{1,2}月\d{1,2}日", x))}
    if isinstance(rendered, str):
        rendered = rendered.encode("gb18030" if fmt == "txt-gb18030" else "utf-8")
    if layout == "fullwidth":
        plan.targets = {k: replace(v, raw=_fullwidth(v.raw)) for k, v in plan.targets.items()}
        plan.overall = {k: replace(v, raw=_fullwidth(v.raw)) for k, v in plan.overall.items()}
    plan.fmt, plan.layout, plan.data = fmt, layout, rendered
    stem = plan.title.replace("“", "").replace("”", "")
    plan.name = f"{stem}_{seed}{'_gb' if fmt == 'txt-gb18030' else ''}{SUFFIXES[fmt]}"
    return plan


def corpus_seed(seed: int, index: int) -> int:
    """The plan seed of document `index` in the corpus of `seed` (corpora of other seeds do not overlap)."""
    return seed * 1_000_003 + index


def generate_corpus(n: int, seed: int = 0, formats: tuple[str, ...] = ("txt",)) -> list[GeneratedPlan]:
    return [generate_plan(corpus_seed(seed, i), formats[i % len(formats)]) for i in range(n)]


def write_corpus(folder: str | Path, n: int, seed: int = 0,
                 formats: tuple[str, ...] = ("txt",)) -> list[GeneratedPlan]:
    """Write n generated plans into folder (created if needed), formats taken in turn; returns their truth."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    plans = generate_corpus(n, seed, tuple(formats))
    for plan in plans:
        (folder / plan.name).write_bytes(plan.data)
    return plans
