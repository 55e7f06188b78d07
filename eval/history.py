"""Evaluation runs kept for later (one SQLite file in the data folder), question files read with Chinese
messages, and result tables with Chinese headers, for the app's evaluation page.

    runs = RunStore.for_settings(settings)
    run_id = runs.save("questions.jsonl", "assistant", rows)
    compare_runs(runs.rows(a), runs.rows(b))     # per question: passed before / after
"""

from __future__ import annotations

import contextlib
import io
import json
import sqlite3
import time
from dataclasses import dataclass
from pathlib import Path

from pydantic import ValidationError

from eval.cases import Case
from eval.runner import summarize
from kb.errors import StoreError

FILE_NAME = "eval_runs.sqlite3"
SCHEMA = """CREATE TABLE IF NOT EXISTS runs (id INTEGER PRIMARY KEY AUTOINCREMENT, created REAL NOT NULL,
    source TEXT NOT NULL, system TEXT NOT NULL, items INTEGER NOT NULL, passed INTEGER NOT NULL,
    rows TEXT NOT NULL, note TEXT NOT NULL DEFAULT '')"""
SYSTEM_NAMES = {"assistant": "规则问答", "naive-rag": "朴素检索基线", "llm": "大模型"}
CATEGORY_NAMES = {"table": "表格查询", "fact": "正文事实", "compute": "计算", "compare": "比较与排序",
                  "narrative": "政策措施", "multiturn": "多轮追问", "alias": "别名与简称", "out_of_scope": "超出范围",
                  "audit": "数字核查", "other": "其他", "overall": "总计"}
CHECK_NAMES = {"number": "数字", "unit": "单位", "keywords": "关键词", "refuse": "拒答判断", "cited": "引用",
               "grounded": "可溯源"}
FIELD_NAMES = {"id": "编号", "category": "类别", "turns": "问题（turns）", "expect": "期望（expect）",
               "numbers": "期望数字", "unit": "单位", "keywords": "关键词", "refuse": "是否拒答", "evidence": "原文依据"}
ERROR_TYPES = {"missing": "缺少这一项", "list_type": "应为列表", "string_type": "应为文字", "float_parsing": "应为数字",
               "float_type": "应为数字", "bool_parsing": "应为 true 或 false", "bool_type": "应为 true 或 false",
               "extra_forbidden": "不认识这一项", "dict_type": "应为 JSON 对象", "model_type": "应为 JSON 对象",
               "value_error": "至少要有一个问题"}


# ---------- question files ----------

def read_question_file(data: bytes) -> tuple[list[Case], list[str]]:
    """(cases, Chinese messages for the lines that could not be read) of an uploaded question file."""
    for encoding in ("utf-8-sig", "gb18030"):
        try:
            text = data.decode(encoding)
            break
        except UnicodeDecodeError:
            continue
    else:
        return [], ["题目文件不是文本文件（无法按 UTF-8 或 GB18030 读取）。请上传 JSONL：每行一个 JSON 对象。"]
    cases, errors, seen = [], [], set()
    for number, line in enumerate(text.splitlines(), 1):
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        try:
            raw = json.loads(line)
        except json.JSONDecodeError as exc:
            errors.append(f"第 {number} 行不是有效的 JSON（第 {exc.colno} 个字符附近）；每行应是一个完整的 JSON 对象。")
            continue
        if not isinstance(raw, dict):
            errors.append(f"第 {number} 行应为 JSON 对象（{{…}}），不是{type(raw).__name__}。")
            continue
        try:
            case = Case.model_validate(raw)
        except ValidationError as exc:
            problems = []
            for e in exc.errors()[:3]:
                where = "．".join(FIELD_NAMES.get(str(p), str(p)) for p in e["loc"])
                problems.append(f"{where}：{ERROR_TYPES.get(e['type'], '格式不对')}")
            errors.append(f"第 {number} 行格式不符：" + "；".join(problems))
            continue
        if case.id in seen:
            errors.append(f"第 {number} 行：编号“{case.id}”与前面的题目重复，已跳过。")
            continue
        seen.add(case.id)
        cases.append(case)
    if not cases and not errors:
        errors.append("题目文件是空的。")
    return cases, errors


# ---------- tables with Chinese headers ----------

def _pct(value) -> str:
    return "—" if value is None else f"{value * 100:.0f}%"


def summary_rows(rows: list[dict]) -> list[dict]:
    return [{"类别": CATEGORY_NAMES.get(s["category"], s["category"]), "题数": s["items"],
             "通过率": _pct(s["pass_rate"]), "有引用": _pct(s["cited"]), "可溯源": _pct(s["grounded"]),
             "无出处数字": s["unsupported"], "检索召回（前5）": _pct(s["recall_at_5"]),
             "耗时中位数（毫秒）": s["p50_ms"], "耗时95分位（毫秒）": s["p95_ms"]} for s in summarize(rows)]


def _yes(value) -> str:
    return "是" if value else "否"


def result_rows(rows: list[dict]) -> list[dict]:
    """One flat row per question: what was asked, expected, answered, and each check in Chinese."""
    out = []
    for r in rows:
        expect = r.get("expect", {})
        row = {"编号": r["id"], "类别": CATEGORY_NAMES.get(r["category"], r["category"]),
               "系统": SYSTEM_NAMES.get(r.get("system", ""), r.get("system", "")), "问题": " → ".join(r["turns"]),
               "通过": _yes(r["passed"])}
        row.update({name: ("✓" if r["checks"].get(key) else "✗") for key, name in CHECK_NAMES.items()})
        row.update({"无出处数字": "、".join(str(n) for n in r.get("unsupported_numbers", [])) or "无",
                    "期望数字": "、".join(str(n) for n in expect.get("numbers", [])),
                    "期望单位": expect.get("unit", ""), "期望关键词": "、".join(expect.get("keywords", [])),
                    "应当拒答": _yes(expect.get("refuse")), "实际拒答": _yes(r["answer"].get("refused")),
                    "回答": r["answer"].get("text", ""), "耗时（毫秒）": r.get("latency_ms", 0.0)})
        out.append(row)
    return out


def failed_checks(row: dict) -> str:
    return "、".join(CHECK_NAMES.get(k, k) for k, v in row["checks"].items() if not v) or "—"


def compare_runs(a: list[dict], b: list[dict]) -> list[dict]:
    """Per question id in either run: passed in A, in B, and whether it got better or worse."""
    first, second = {r["id"]: r for r in a}, {r["id"]: r for r in b}
    out = []
    for qid in list(dict.fromkeys([*first, *second])):
        x, y = first.get(qid), second.get(qid)
        px, py = (x["passed"] if x else None), (y["passed"] if y else None)
        change = ("变好" if py and px is False else "变差" if px and py is False else
                  "相同" if px == py else "仅一方有")
        base = x or y
        out.append({"编号": qid, "类别": CATEGORY_NAMES.get(base["category"], base["category"]),
                    "问题": " → ".join(base["turns"]), "A 通过": "—" if px is None else _yes(px),
                    "B 通过": "—" if py is None else _yes(py), "变化": change,
                    "A 回答": (x or {}).get("answer", {}).get("text", ""),
                    "B 回答": (y or {}).get("answer", {}).get("text", "")})
    return out


def jsonl_bytes(rows: list[dict]) -> bytes:
    return "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows).encode("utf-8")


def csv_bytes(rows: list[dict]) -> bytes:
    import pandas as pd

    return pd.DataFrame(result_rows(rows)).to_csv(index=False).encode("utf-8-sig")


def excel_bytes(rows: list[dict]) -> bytes:
    import pandas as pd

    buffer = io.BytesIO()
    with pd.ExcelWriter(buffer, engine="openpyxl") as writer:
        pd.DataFrame(summary_rows(rows)).to_excel(writer, sheet_name="分类结果", index=False)
        pd.DataFrame(result_rows(rows)).to_excel(writer, sheet_name="逐题结果", index=False)
    return buffer.getvalue()


# ---------- stored runs ----------

@dataclass(frozen=True)
class RunInfo:
    id: int
    created: float
    source: str
    system: str
    items: int
    passed: int

    @property
    def label(self) -> str:
        when = time.strftime("%m-%d %H:%M", time.localtime(self.created))
        rate = f"{self.passed / self.items:.0%}" if self.items else "—"
        return f"#{self.id} {when} {self.source} · {SYSTEM_NAMES.get(self.system, self.system)} · 通过 {rate}"


class RunStore:
    def __init__(self, path: Path):
        self.path = Path(path)

    @classmethod
    def for_settings(cls, settings) -> RunStore:
        return cls(Path(settings.data_dir) / FILE_NAME)

    @contextlib.contextmanager
    def _connect(self):
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            conn = sqlite3.connect(self.path, timeout=10)
        except (OSError, sqlite3.Error) as exc:
            raise _error(self.path, exc) from exc
        try:
            conn.execute(SCHEMA)
            with conn:
                yield conn
        except sqlite3.Error as exc:
            raise _error(self.path, exc) from exc
        finally:
            conn.close()

    def save(self, source: str, system: str, rows: list[dict], note: str = "") -> int:
        with self._connect() as conn:
            cur = conn.execute("INSERT INTO runs (created, source, system, items, passed, rows, note) "
                               "VALUES (?, ?, ?, ?, ?, ?, ?)",
                               (time.time(), source, system, len(rows), sum(bool(r["passed"]) for r in rows),
                                json.dumps(rows, ensure_ascii=False), note))
            return int(cur.lastrowid)

    def runs(self, limit: int = 50) -> list[RunInfo]:
        with self._connect() as conn:
            rows = conn.execute("SELECT id, created, source, system, items, passed FROM runs "
                                "ORDER BY id DESC LIMIT ?", (limit,)).fetchall()
        return [RunInfo(*r) for r in rows]

    def rows(self, run_id: int) -> list[dict]:
        with self._connect() as conn:
            row = conn.execute("SELECT rows FROM runs WHERE id = ?", (run_id,)).fetchone()
        return json.loads(row[0]) if row else []

    def delete(self, run_id: int) -> None:
        with self._connect() as conn:
            conn.execute("DELETE FROM runs WHERE id = ?", (run_id,))


def _error(path: Path, exc: Exception) -> StoreError:
    return StoreError(f"eval run store {path}: {exc}", "无法保存评测记录（数据文件夹不可写或磁盘已满）；本次结果仍可下载。")


__all__ = ["RunInfo", "RunStore", "compare_runs", "read_question_file", "result_rows", "summary_rows"]
