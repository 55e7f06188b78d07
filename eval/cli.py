"""`python -m eval QUESTIONS.jsonl [--kb DIR] [--docs PATH] --out results.jsonl`: score answers to a question set."""

from __future__ import annotations

import argparse
import json
import logging
import sys
import tempfile
from pathlib import Path

from eval.cases import Case, load_cases
from eval.report import compare, markdown_report, summary_table, side_by_side
from eval.runner import RunContext, run_cases, score, summarize
from eval.systems import SYSTEMS
from kb.errors import PolicyQAError
from kb.settings import load_settings


def _texts(kb) -> dict[str, str]:
    out = {}
    for d in kb.docs:
        text = kb.text_of(d["doc_id"])
        out[d["doc_id"]] = text
        out[d["name"]] = text
    return out


def _write_jsonl(path: Path, rows: list[dict]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w", encoding="utf-8") as fh:
        for r in rows:
            fh.write(json.dumps(r, ensure_ascii=False) + "\n")


def _read_jsonl(path: Path) -> list[dict]:
    return [json.loads(line) for line in Path(path).read_text(encoding="utf-8").splitlines() if line.strip()]


def rescore(rows: list[dict], texts_by_doc: dict[str, str]) -> list[dict]:
    """Score stored answers again (same checks, no system run)."""
    out = []
    for r in rows:
        case = Case.model_validate({"id": r["id"], "category": r["category"], "turns": r["turns"],
                                    "expect": r.get("expect", {}), "evidence": r.get("evidence", [])})
        new = dict(r)
        new.update(score(case, r["answer"], texts_by_doc or _quotes_as_texts(r)))
        out.append(new)
    return out


def _quotes_as_texts(row: dict) -> dict[str, str]:
    # Without a knowledge base, trust the recorded grounded flag by treating each quote as its own source.
    return {} if row.get("checks", {}).get("grounded") is False else {
        c.get("doc_id") or c.get("doc", ""): "\n".join(x.get("quote", "") for x in row["answer"]["citations"])
        for c in row["answer"].get("citations", [])}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m eval", description="按评分规则评测问答系统的回答。")
    parser.add_argument("questions", nargs="?", type=Path, help="题目文件（JSONL）")
    parser.add_argument("--kb", type=Path, help="数据目录（默认 $POLICYQA_DATA_DIR 或 ./data）")
    parser.add_argument("--docs", type=Path, nargs="+", help="先用这些规划文件建立一个临时知识库再评测")
    parser.add_argument("--out", type=Path, default=Path("results/eval-results.jsonl"), help="结果文件（JSONL）")
    parser.add_argument("--report", type=Path, help="Markdown 报告路径（默认与结果文件同名 .md）")
    parser.add_argument("--system", default="assistant", help="assistant、naive-rag、llm，逗号分隔可并列对比")
    parser.add_argument("--min-pass", type=float, default=None, help="总通过率低于此值时退出码为 1")
    parser.add_argument("--compare", type=Path, help="与之前的结果文件对比")
    parser.add_argument("--rescore", type=Path, help="只对已有结果文件重新评分")
    parser.add_argument("--embedder", help="向量模型设置（use、hash、st:路径）")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.ERROR)
    overrides = {}
    if args.embedder:
        overrides["embedder"] = args.embedder
    if args.kb:
        overrides["data_dir"] = args.kb
    if args.docs and not args.kb:
        overrides["data_dir"] = Path(tempfile.mkdtemp(prefix="policyqa_eval_"))
    settings = load_settings(**overrides)

    try:
        kb = None
        if args.docs:
            from ingest.pipeline import ingest_paths

            report = ingest_paths(settings, list(args.docs))
            if report.failed:
                print(report.summary(), file=sys.stderr)
        if args.rescore:
            rows = _read_jsonl(args.rescore)
            texts = {}
            try:
                from kb.knowledge import KnowledgeBase

                texts = _texts(KnowledgeBase.open(settings))
            except PolicyQAError:
                pass
            rows = rescore(rows, texts)
            print(summary_table(rows))
            _write_jsonl(args.out, rows)
            return 0
        if args.questions is None:
            parser.error("请给出题目文件")
        cases, errors = load_cases(args.questions)
        for e in errors:
            print(f"警告：{e}", file=sys.stderr)
        from kb.knowledge import KnowledgeBase

        kb = KnowledgeBase.open(settings)
        texts = _texts(kb)
        ctx_search = lambda q: [h.chunk.text for h in kb.search(q, k=5)]  # noqa: E731
        by_system: dict[str, list[dict]] = {}
        for name in [s.strip() for s in args.system.split(",") if s.strip()]:
            if name not in SYSTEMS:
                print(f"错误：未知系统 {name}（可选：{', '.join(SYSTEMS)}）", file=sys.stderr)
                return 2
            try:
                ask = SYSTEMS[name](settings, kb)
            except PolicyQAError as exc:
                print(f"跳过 {name}：{exc.user_message}", file=sys.stderr)
                continue
            by_system[name] = run_cases(cases, RunContext(ask, texts, ctx_search if name == "assistant" else None), name)
    except PolicyQAError as exc:
        print(f"错误：{exc.user_message}", file=sys.stderr)
        return 1
    if not by_system:
        return 1
    all_rows = [r for rows in by_system.values() for r in rows]
    _write_jsonl(args.out, all_rows)
    report_path = args.report or args.out.with_suffix(".md")
    report_path.write_text(markdown_report(by_system, f"评测报告：{args.questions.name}", errors), encoding="utf-8")
    for name, rows in by_system.items():
        print(f"\n## {name}\n" + summary_table(rows))
        failed = [r for r in rows if not r["passed"]]
        for r in failed[:20]:
            bad = [k for k, v in r["checks"].items() if not v]
            print(f"  ✗ {r['id']} {' / '.join(r['turns'])} — 未通过 {bad}；期望 {r['expect']['numbers']} "
                  f"{r['expect']['keywords']}；实际：{r['answer']['text'][:80]!r}")
    if len(by_system) > 1:
        print("\n" + side_by_side(by_system))
    if args.compare:
        print("\n" + compare(_read_jsonl(args.compare), by_system.get("assistant") or all_rows))
    print(f"\n结果：{args.out}  报告：{report_path}")
    overall = summarize(by_system.get("assistant") or all_rows)[-1]["pass_rate"] or 0.0
    if args.min_pass is not None and overall < args.min_pass:
        print(f"通过率 {overall:.2%} 低于要求 {args.min_pass:.2%}", file=sys.stderr)
        return 1
    return 0
