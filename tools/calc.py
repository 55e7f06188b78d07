"""Pure arithmetic over cited figures: every result keeps its inputs and its formula."""

from __future__ import annotations

import math

from kb.errors import ToolError
from kb.records import Figure
from tools.base import fmt_num


def _check_years(years: float) -> None:
    if not isinstance(years, (int, float)) or years <= 0 or years > 100:
        raise ToolError(f"bad years {years}", "年数必须是 1 到 100 之间的正数。")


def change(base: Figure, target: Figure) -> tuple[Figure, Figure]:
    """Absolute and percent change from base to target."""
    if base.value == 0:
        raise ToolError("zero base", "基数为 0，无法计算变化百分比。")
    diff = target.value - base.value
    pct = diff / base.value * 100
    absolute = Figure(f"{target.label} − {base.label}", diff, base.unit,
                      f"{fmt_num(target.value, 4)} − {fmt_num(base.value, 4)} = {fmt_num(diff, 4)}", (base, target))
    percent = Figure("变化幅度", pct, "%",
                     f"({fmt_num(target.value, 4)} − {fmt_num(base.value, 4)}) ÷ {fmt_num(base.value, 4)} × 100% = {fmt_num(pct, 2)}%",
                     (base, target))
    return absolute, percent


def annual_rate(total: Figure, years: float) -> Figure:
    """Compound yearly rate of a total percent change over `years`: a fall r gives 1-(1-r)^(1/n)."""
    _check_years(years)
    r = total.value / 100
    if r <= -1:
        raise ToolError("change below -100%", "降幅不能超过 100%。")
    yearly = ((1 + r) ** (1 / years) - 1) * 100
    n = fmt_num(years)
    if r < 0:
        formula = f"1 − (1 − {fmt_num(-r * 100, 4)}%)^(1/{n}) = {fmt_num(-yearly, 2)}%（年均下降）"
    else:
        formula = f"(1 + {fmt_num(r * 100, 4)}%)^(1/{n}) − 1 = {fmt_num(yearly, 2)}%（年均增长）"
    return Figure("年均变化率（复合）", yearly, "%", formula, (total,))


def project(value: Figure, rate_pct: float, years: float) -> Figure:
    """value × (1 + rate)^years."""
    _check_years(years)
    result = value.value * (1 + rate_pct / 100) ** years
    return Figure("推算值", result, value.unit,
                  f"{fmt_num(value.value, 4)} × (1 + {fmt_num(rate_pct, 4)}%)^{fmt_num(years)} = {fmt_num(result, 2)}", (value,))


def backcast(value: Figure, change_pct: Figure) -> Figure:
    """The base a value was reached from: value ÷ (1 + change)."""
    factor = 1 + change_pct.value / 100
    if factor <= 0:
        raise ToolError("bad change", "变化幅度无效，无法反推基数。")
    result = value.value / factor
    return Figure("反推基数", result, value.unit,
                  f"{fmt_num(value.value, 4)} ÷ (1 + ({fmt_num(change_pct.value, 4)}%)) = {fmt_num(result, 2)}",
                  (value, change_pct))


def per_year(total: Figure, years: float) -> Figure:
    _check_years(years)
    result = total.value / years
    return Figure("年均值", result, total.unit, f"{fmt_num(total.value, 4)} ÷ {fmt_num(years)} = {fmt_num(result, 2)}", (total,))


def aggregate(values: list[Figure], op: str) -> Figure:
    """mean | sum | count | max | min over cited figures."""
    if not values:
        raise ToolError("no values", "没有可计算的数值。")
    nums = [v.value for v in values]
    terms = "+".join(fmt_num(v, 4) for v in nums)
    if op == "mean":
        result = sum(nums) / len(nums)
        formula = f"({terms}) ÷ {len(nums)} = {fmt_num(sum(nums), 4)} ÷ {len(nums)} = {fmt_num(result, 4)}"
        label = "平均值"
    elif op == "sum":
        result = sum(nums)
        formula, label = f"{terms} = {fmt_num(result, 4)}", "合计"
    elif op == "count":
        result = float(len(nums))
        formula, label = f"共 {len(nums)} 项", "个数"
    elif op in ("max", "min"):
        result = max(nums) if op == "max" else min(nums)
        formula, label = f"{op}({', '.join(fmt_num(v, 4) for v in nums)}) = {fmt_num(result, 4)}", "最大值" if op == "max" else "最小值"
    else:
        raise ToolError(f"unknown op {op}", f"不支持的汇总方式：{op}（可用：平均、合计、个数、最大、最小）")
    if math.isnan(result):
        raise ToolError("nan", "计算结果无效。")
    unit = values[0].unit if op != "count" else "个"
    return Figure(label, result, unit, formula, tuple(values))
