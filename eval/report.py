"""Tables for people: per-category summary, failures, and a comparison with an earlier results file."""

from __future__ import annotations

from eval.runner import summarize

HEADERS = ("类别", "题数", "通过率", "有引用", "可溯源", "无出处数字", "召回@5", "p50 ms", "p95 ms")


def _fmt(value) -> str:
    if value is None:
        return "—"
    if isinstance(value, float) and value <= 1.0:
        return f"{value * 100:.0f}%"
    return str(value)


def summary_table(rows: list[dict]) -> str:
    lines = ["| " + " | ".join(HEADERS) + " |", "|" + "---|" * len(HEADERS)]
    for s in summarize(rows):
        cells = [s["category"], s["items"], _fmt(s["pass_rate"]), _fmt(s["cited"]), _fmt(s["grounded"]),
                 s["unsupported"], _fmt(s["recall_at_5"]), s["p50_ms"], s["p95_ms"]]
        lines.append("| " + " | ".join(str(c) for c in cells) + " |")
    return "\n".join(lines)


def side_by_side(by_system: dict[str, list[dict]]) -> str:
    systems = list(by_system)
    lines = ["| 系统 | 通过率 | 有引用 | 可溯源 | 无出处数字 | p50 ms | p95 ms |", "|---|---|---|---|---|---|---|"]
    for name in systems:
        s = summarize(by_system[name])[-1]
        lines.append(f"| {name} | {_fmt(s['pass_rate'])} | {_fmt(s['cited'])} | {_fmt(s['grounded'])} | "
                     f"{s['unsupported']} | {s['p50_ms']} | {s['p95_ms']} |")
    return "\n".join(lines)


def failures(rows: list[dict], limit: int = 50) -> str:
    out = []
    for r in rows:
        if r["passed"] and not r["unsupported_numbers"]:
            continue
        failed = [k for k, v in r["checks"].items() if not v]
        out.append(f"- **{r['id']}** ({r['category']}) {' ⟶ '.join(r['turns'])}\n"
                   f"  - 未通过：{', '.join(failed) or '—'}；无出处数字：{r['unsupported_numbers'] or '无'}\n"
                   f"  - 期望：数字 {r['expect']['numbers']} 单位 {r['expect']['unit'] or '—'} 关键词 {r['expect']['keywords']} "
                   f"拒答 {r['expect']['refuse']}\n"
                   f"  - 实际：{r['answer']['text'][:200].replace(chr(10), ' ')}（拒答 {bool(r['answer'].get('refused'))}）")
        if len(out) >= limit:
            break
    return "\n".join(out) if out else "（无）"


def compare(old: list[dict], new: list[dict]) -> str:
    before = {r["id"]: r["passed"] for r in old}
    better = [r["id"] for r in new if r["id"] in before and r["passed"] and not before[r["id"]]]
    worse = [r["id"] for r in new if r["id"] in before and not r["passed"] and before[r["id"]]]
    s_old, s_new = summarize(old)[-1], summarize(new)[-1]
    return (f"通过率：{_fmt(s_old['pass_rate'])} → {_fmt(s_new['pass_rate'])}\n"
            f"变好（{len(better)}）：{', '.join(better) or '无'}\n变差（{len(worse)}）：{', '.join(worse) or '无'}")


def markdown_report(by_system: dict[str, list[dict]], title: str, errors: list[str]) -> str:
    parts = [f"# {title}", ""]
    if len(by_system) > 1:
        parts += ["## 系统对比", "", side_by_side(by_system), ""]
    for name, rows in by_system.items():
        parts += [f"## {name}", "", summary_table(rows), "", "### 未通过的题目", "", failures(rows), ""]
    if errors:
        parts += ["## 题目文件中的错误", ""] + [f"- {e}" for e in errors]
    return "\n".join(parts) + "\n"
