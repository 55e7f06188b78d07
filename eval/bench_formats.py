"""`python -m eval.bench_formats`: ingest time per format and OCR time per page, and the development
questions answered from each format beside the same plan's .docx.

Both plans (the bundled one rebuilt as Word with real tables, and the 江北 plan of
scripts/make_format_fixtures.py) are written as txt / md (bundled plan only), docx, pdf, an image-only
scanned pdf, doc and xlsx (their tables); formats whose tool (LibreOffice, pdftoppm) is missing are skipped.

    python -m eval.bench_formats                       # times with the default embedder, then the scores
    python -m eval.bench_formats --no-score            # times only
    python -m eval.bench_formats --embedder hash --out results/bench

Results: ``<out>/formats.json`` and ``<out>/formats.md``.
"""

from __future__ import annotations

import argparse
import contextlib
import importlib.util
import io
import json
import os
import platform
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
BUNDLED_TXT = ROOT / "data" / "sample" / "内蒙古自治区十二五节能减排规划.txt"
QUESTIONS = {"bundled": next(p for p in (ROOT.parent / "shared" / "eval" / "dev.jsonl",
                                         ROOT / "eval" / "questions" / "dev.jsonl") if p.exists()),
             "jiangbei": ROOT / "tests" / "data" / "formats" / "jiangbei_questions.jsonl"}
PLAN_FILES = {"bundled": "内蒙古节能减排规划", "jiangbei": "江北市生态环境保护规划"}
FORMAT_ORDER = ("txt", "md", "docx", "pdf", "scanned pdf", "doc", "xlsx")
DEFAULT_OUT = Path("results/bench")


def load_fixture_maker():
    """scripts/make_format_fixtures.py as a module (scripts/ is not a package)."""
    if "make_format_fixtures" not in sys.modules:
        spec = importlib.util.spec_from_file_location("make_format_fixtures",
                                                      ROOT / "scripts" / "make_format_fixtures.py")
        module = importlib.util.module_from_spec(spec)
        sys.modules["make_format_fixtures"] = module
        spec.loader.exec_module(module)
    return sys.modules["make_format_fixtures"]


def plan_files(folder: Path) -> dict[str, dict[str, Path]]:
    """plan → format → file, for every format that could be made here."""
    maker = load_fixture_maker()
    with contextlib.redirect_stdout(io.StringIO()):
        maker.make_all(folder)
    out: dict[str, dict[str, Path]] = {}
    for plan, stem in PLAN_FILES.items():
        files = {"docx": folder / f"{stem}.docx", "pdf": folder / f"{stem}.pdf",
                 "scanned pdf": folder / f"{stem}_扫描件.pdf", "doc": folder / f"{stem}.doc",
                 "xlsx": folder / f"{stem}_附表.xlsx"}
        out[plan] = {k: v for k, v in files.items() if v.exists()}
    md = folder / "内蒙古节能减排规划.md"
    sys.path.insert(0, str(ROOT / "tests"))
    from test_formats import to_markdown

    md.write_text(to_markdown(BUNDLED_TXT.read_text(encoding="utf-8"), "bold"), encoding="utf-8")
    out["bundled"] = {"txt": BUNDLED_TXT, "md": md, **out["bundled"]}
    return out


def time_ingest(path: Path, embedder: str | None) -> dict:
    """Seconds to ingest one file into a fresh knowledge base (parse, embed, write)."""
    from ingest.pipeline import ingest_files
    from kb.settings import load_settings

    overrides = {"data_dir": Path(tempfile.mkdtemp(prefix="policyqa_fmt_"))}
    if embedder:
        overrides["embedder"] = embedder
    settings = load_settings(**overrides)
    data = path.read_bytes()
    started = time.perf_counter()
    report = ingest_files(settings, [(path.name, data)], keep_uploads=False)
    seconds = time.perf_counter() - started
    (result,) = report.results
    counts = result.counts or {}
    return {"seconds": round(seconds, 2), "parse_seconds": round(result.seconds, 2), "ok": result.ok,
            "error": result.error, "pages": counts.get("pages", 0), "tables": counts.get("tables", 0),
            "chunks": counts.get("chunks", 0), "bytes": len(data)}


def time_ocr(path: Path) -> dict:
    """Seconds per page to read a scanned PDF (render, OCR, layout), the OCR engine already loaded."""
    from ingest.fmt_ocr import engine
    from ingest.loaders import load_bytes

    engine()
    data = path.read_bytes()
    started = time.perf_counter()
    loaded = load_bytes(path.name, data)
    seconds = time.perf_counter() - started
    return {"pages": loaded.pages, "seconds": round(seconds, 2),
            "seconds_per_page": round(seconds / max(loaded.pages, 1), 2)}


def score(questions: Path, path: Path) -> dict:
    """Pass rate of the question set answered from this one file (``python -m eval … --docs FILE``)."""
    from eval.cli import main as eval_main

    out = Path(tempfile.mkdtemp(prefix="policyqa_fmt_eval_")) / "results.jsonl"
    with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
        eval_main([str(questions), "--docs", str(path), "--embedder", "hash", "--out", str(out)])
    rows = [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines() if line.strip()]
    passed = sum(r["passed"] for r in rows)
    return {"questions": len(rows), "passed": passed, "pass_rate": round(100 * passed / max(len(rows), 1), 1),
            "failed": [r["id"] for r in rows if not r["passed"]]}


def formats_section(ctx):
    """eval.bench section: ingest time per format of the bundled plan with the bench's embedder, and OCR time
    per page (the pass rates per format are `python -m eval.bench_formats`'s, which takes longer)."""
    from eval.bench import SectionResult

    result = SectionResult("formats", [("format", "format"), ("kb", "size KB"), ("chunks", "chunks"),
                                       ("seconds", "ingest s"), ("ocr", "OCR s/page")])
    work = Path(tempfile.mkdtemp(prefix="policyqa_formats_"))
    files = plan_files(work)["bundled"]
    for fmt in FORMAT_ORDER:
        if fmt not in files:
            result.notes.append(f"{fmt}: skipped (its tool is not installed here)")
            continue
        row = time_ingest(files[fmt], ctx.embedder)
        ocr = time_ocr(files[fmt])["seconds_per_page"] if fmt == "scanned pdf" else None
        result.rows.append({"format": fmt, "kb": round(files[fmt].stat().st_size / 1024, 1),
                            "chunks": row.get("chunks"), "seconds": row.get("seconds"), "ocr": ocr})
    result.notes.append(f"bundled plan written as each format (scripts/make_format_fixtures.py), embedder "
                        f"{ctx.embedder}; pass rates per format: python -m eval.bench_formats")
    return result


def markdown(result: dict) -> str:
    lines = [f"# 各格式导入耗时与评测（{result['machine']}，向量模型 {result['embedder']}）", "",
             "| 规划 | 格式 | 大小 KB | 页/表 | 文本块 | 导入 s | 其中解析 s |", "|---|---|---|---|---|---|---|"]
    for row in result["ingest"]:
        unit = "个工作表" if row["format"] == "xlsx" else "页"
        shape = f"{row['pages']} {unit}" if row["pages"] else "—"
        size = f"{row['bytes'] / 1024:.0f}"
        lines.append(f"| {row['plan']} | {row['format']} | {size} | {shape}，{row['tables']} 表 "
                     f"| {row['chunks']} | {row['seconds']} | {row['parse_seconds']} |")
    for row in result["ocr"]:
        lines += ["", f"OCR（{row['plan']}，扫描件 {row['pages']} 页）：{row['seconds']} s，"
                      f"**{row['seconds_per_page']} s/页**"]
    if result["scores"]:
        lines += ["", "| 规划 | 格式 | 题数 | 通过 | 通过率 | 与 docx 相差（百分点） | 未通过 |", "|---|---|---|---|---|---|---|"]
        for row in result["scores"]:
            lines.append(f"| {row['plan']} | {row['format']} | {row['questions']} | {row['passed']} | "
                         f"{row['pass_rate']}% | {row['vs_docx']:+.1f} | {', '.join(row['failed']) or '—'} |")
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m eval.bench_formats",
                                     description="测量各种文件格式的导入耗时、每页文字识别耗时，并对比各格式与 docx 的评测通过率。")
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help="结果文件夹（formats.json、formats.md）")
    parser.add_argument("--embedder", help="导入计时所用的向量模型（默认按设置，即 use）")
    parser.add_argument("--no-score", action="store_true", help="只计时，不跑评测题")
    parser.add_argument("--no-times", action="store_true", help="只跑评测题，不计时")
    parser.add_argument("--plans", default="bundled,jiangbei", help="bundled、jiangbei，逗号分隔")
    args = parser.parse_args(argv)
    plans = [p.strip() for p in args.plans.split(",") if p.strip() in PLAN_FILES]
    from kb.settings import load_settings

    embedder = args.embedder or load_settings().embedder
    work = Path(tempfile.mkdtemp(prefix="policyqa_formats_"))
    files = plan_files(work)
    result = {"machine": f"{platform.machine()}，{os.cpu_count()} 核", "embedder": embedder,
              "ingest": [], "ocr": [], "scores": []}
    for plan in plans if not args.no_times else ():
        for fmt in FORMAT_ORDER:
            if fmt in files[plan]:
                row = {"plan": plan, "format": fmt, **time_ingest(files[plan][fmt], args.embedder)}
                result["ingest"].append(row)
                print(f"导入 {plan:9s} {fmt:12s} {row['seconds']:8.2f} s  {row['chunks']} 块", flush=True)
        if "scanned pdf" in files[plan]:
            result["ocr"].append({"plan": plan, **time_ocr(files[plan]["scanned pdf"])})
            print(f"OCR  {plan:9s} {result['ocr'][-1]['seconds_per_page']} s/页", flush=True)
    if not args.no_score:
        for plan in plans:
            base = None
            for fmt in ("docx", *[f for f in FORMAT_ORDER if f != "docx"]):
                if fmt not in files[plan] or fmt == "xlsx":
                    continue  # a workbook holds the tables only: the prose questions are not its to answer
                row = {"plan": plan, "format": fmt, **score(QUESTIONS[plan], files[plan][fmt])}
                base = row["pass_rate"] if base is None else base
                row["vs_docx"] = row["pass_rate"] - base
                result["scores"].append(row)
                print(f"评测 {plan:9s} {fmt:12s} {row['pass_rate']}%", flush=True)
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "formats.json").write_text(json.dumps(result, ensure_ascii=False, indent=1), encoding="utf-8")
    (args.out / "formats.md").write_text(markdown(result), encoding="utf-8")
    print(markdown(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
