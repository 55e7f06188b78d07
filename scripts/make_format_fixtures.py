"""Write a plan in every format an office publishes, for the format tests and the format benchmark.

    python scripts/make_format_fixtures.py /tmp/formats            # both plans, every format that can be made
    python scripts/make_format_fixtures.py --fixtures               # refresh the small committed test files

Two plans: the bundled one (data/sample, rebuilt as a Word document with real tables) and 江北市 (written
here: a units column, a "（单位：吨）" line, cells that wrap, a 30-row table running over pages with its
header repeated). From each .docx: .pdf and .doc by LibreOffice (``soffice``), an image-only PDF by
``pdftoppm`` + Pillow, and the tables as .xlsx / .csv. Formats whose tool is missing are skipped, and said so.
"""

from __future__ import annotations

import argparse
import io
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SAMPLE_PLAN = ROOT / "data" / "sample" / "内蒙古自治区十二五节能减排规划.txt"
FIXTURES = ROOT / "tests" / "data" / "formats"
SCAN_DPI = 150
DISTRICTS = ["江北区", "江南区", "城东区", "城西区", "高新区", "临江县", "青山县", "白石县", "云溪县", "桃源县",
             "凤鸣县", "石门县"]

TITLE = "江北市“十四五”生态环境保护规划"
INDICATORS = [
    ["指标", "单位", "2020年", "2025年", "属性"],
    ["细颗粒物（PM2.5）年均浓度", "微克/立方米", "38", "32", "约束性"],
    ["空气质量优良天数比例", "%", "82.5", "86", "约束性"],
    ["地表水国控断面达到或好于Ⅲ类水体比例", "%", "70", "80", "约束性"],
    ["城市生活污水集中收集率", "%", "65", "75", "预期性"],
    ["单位地区生产总值二氧化碳排放降低", "%", "—", "18", "约束性"],
    ["森林覆盖率", "%", "31.2", "33", "约束性"],
    ["一般工业固体废物综合利用率", "%", "88", "92", "预期性"],
]
# (COD, NH3-N, NOx, VOCs) tonnes of reduction by district over 2021-2025
REDUCTIONS = [(820, 96, 1350, 610), (760, 88, 1120, 540), (540, 61, 980, 720), (495, 58, 870, 655),
              (310, 35, 1460, 930), (410, 52, 640, 280), (365, 47, 590, 240), (298, 39, 720, 205),
              (352, 44, 455, 190), (287, 36, 398, 176), (301, 38, 512, 214), (262, 31, 505, 195)]
PROJECT_KINDS = [("污水处理厂提标改造及配套管网建设工程", 4.6), ("燃煤锅炉超低排放改造工程", 2.3),
                 ("挥发性有机物综合治理工程", 1.8), ("河道综合整治与生态修复工程", 3.1),
                 ("工业固体废物综合利用工程", 2.7)]


def jiangbei_blocks() -> list[tuple]:
    """The 江北 plan as ("h", level, text) / ("p", text) / ("table", title, unit_line, rows, repeat_header)."""
    reductions = [["区县", "化学需氧量", "氨氮", "氮氧化物", "挥发性有机物"]]
    reductions += [[d, *map(str, r)] for d, r in zip(DISTRICTS, REDUCTIONS)]
    totals = [sum(r[k] for r in REDUCTIONS) for k in range(4)]
    reductions.append(["全市合计", *map(str, totals)])
    projects = [["序号", "项目名称", "所在区县", "总投资（亿元）", "建设期限"]]
    for k in range(30):
        district = DISTRICTS[k % len(DISTRICTS)]
        kind, base = PROJECT_KINDS[k % len(PROJECT_KINDS)]
        projects.append([str(k + 1), f"{district}{kind}", district, f"{base + (k % 7) * 0.35:.2f}",
                         f"{2021 + k % 3}—{2024 + k % 2}年"])
    filler = ("坚持精准治污、科学治污、依法治污，以改善生态环境质量为核心，统筹污染治理、生态保护、应对气候变化，"
              "深入打好污染防治攻坚战，推动经济社会发展全面绿色转型。")
    return [
        ("h", 0, TITLE),
        ("p", "为深入推进生态文明建设，持续改善全市生态环境质量，根据《江北市国民经济和社会发展第十四个五年规划和"
              "二〇三五年远景目标纲要》，制定本规划。"),
        ("h", 1, "一、发展基础"),
        ("p", "“十三五”期间，全市生态环境质量明显改善。2020年，全市细颗粒物（PM2.5）年均浓度为38微克/立方米，"
              "比2015年下降29.6%；空气质量优良天数比例达到82.5%；地表水国控断面达到或好于Ⅲ类水体比例为70%。"
              "全市化学需氧量、氨氮、二氧化硫、氮氧化物排放总量分别比2015年下降12.4%、13.1%、21.5%和18.7%，"
              "超额完成省下达的减排任务。"),
        ("p", filler * 3),
        ("h", 1, "二、总体要求"),
        ("h", 2, "（一）指导思想"),
        ("p", filler * 2),
        ("h", 2, "（二）主要目标"),
        ("p", "到2025年，全市细颗粒物（PM2.5）年均浓度降至32微克/立方米，空气质量优良天数比例达到86%，"
              "地表水国控断面达到或好于Ⅲ类水体比例达到80%，森林覆盖率达到33%，"
              "单位地区生产总值二氧化碳排放比2020年降低18%。"),
        ("table", "表1 江北市“十四五”生态环境保护主要指标", "", INDICATORS, False),
        ("h", 1, "三、重点任务"),
        ("h", 2, "（一）深入打好蓝天保卫战"),
        ("p", "实施燃煤锅炉超低排放改造，到2025年，全市35蒸吨/小时以下燃煤锅炉全部淘汰，"
              "完成钢铁、水泥行业超低排放改造企业12家。推进挥发性有机物综合治理，"
              "“十四五”期间全市挥发性有机物重点工程减排量达到4955吨。"),
        ("p", filler * 2),
        ("h", 2, "（二）深入打好碧水保卫战"),
        ("p", "新建和改造城镇污水管网650公里，新增污水处理能力18万吨/日，到2025年，"
              "城市生活污水集中收集率达到75%，县城污水处理率达到95%以上。"),
        ("p", "各区县要按照下表分解落实主要污染物重点工程减排目标，确保按期完成。"),
        ("table", "表2 各区县“十四五”主要污染物重点工程减排目标", "（单位：吨）", reductions, False),
        ("h", 2, "（三）实施重点工程"),
        ("p", "“十四五”期间，全市共安排生态环境保护重点工程30项，总投资约100亿元，项目清单见表3。"),
        ("table", "表3 江北市“十四五”生态环境保护重点工程项目", "", projects, True),
        ("h", 1, "四、保障措施"),
        ("h", 2, "（一）加强组织领导"),
        ("p", "各区县政府是规划实施的责任主体，要把规划目标任务纳入本地区国民经济和社会发展年度计划，"
              "每年向市政府报告规划实施情况。"),
        ("h", 2, "（二）强化资金保障"),
        ("p", "市财政每年安排生态环境保护专项资金不少于3亿元，重点支持污水处理、大气污染治理和生态修复项目。"),
    ]


def jiangbei_docx() -> bytes:
    import docx
    from docx.oxml import OxmlElement
    from docx.oxml.ns import qn

    document = docx.Document()
    for block in jiangbei_blocks():
        if block[0] == "h":
            document.add_heading(block[2], level=block[1]) if block[1] else document.add_paragraph(
                block[2], style="Title")
        elif block[0] == "p":
            document.add_paragraph(block[1])
        else:
            _, title, unit, rows, repeat = block
            document.add_paragraph(title)
            if unit:
                document.add_paragraph(unit)
            table = document.add_table(rows=len(rows), cols=len(rows[0]))
            table.style = "Table Grid"
            for r, row in enumerate(rows):
                for c, value in enumerate(row):
                    table.cell(r, c).text = value
            if repeat:  # the header row repeats on every page the table runs onto
                tr_pr = table.rows[0]._tr.get_or_add_trPr()
                mark = OxmlElement("w:tblHeader")
                mark.set(qn("w:val"), "true")
                tr_pr.append(mark)
    buffer = io.BytesIO()
    document.save(buffer)
    return buffer.getvalue()


def sample_docx() -> bytes:
    sys.path.insert(0, str(ROOT / "tests"))
    from test_formats import to_docx  # the bundled plan with Word headings and real tables

    return to_docx(SAMPLE_PLAN.read_text(encoding="utf-8"))


def sample_blocks() -> list[tuple]:
    """The bundled plan's 专栏 tables, in the block form tables_xlsx takes."""
    sys.path.insert(0, str(ROOT / "tests"))
    from test_formats import plan_blocks

    return [("table", b[1], "", [[cell.replace("\n", "") for cell in row] for row in b[2]], False)
            for b in plan_blocks(SAMPLE_PLAN.read_text(encoding="utf-8")) if b[0] == "table"]


def tables_xlsx(blocks: list[tuple]) -> bytes:
    """The plan's tables as a workbook: one sheet each, title in a merged first row, numbers as numbers."""
    import openpyxl

    book = openpyxl.Workbook()
    book.remove(book.active)
    for k, block in enumerate(b for b in blocks if b[0] == "table"):
        _, title, unit, rows, _ = block
        ws = book.create_sheet(f"表{k + 1}")
        ws.append([title])
        ws.merge_cells(start_row=1, start_column=1, end_row=1, end_column=len(rows[0]))
        if unit:
            ws.append([unit])
        for row in rows:
            ws.append([_number(v) for v in row])
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def _number(value: str):
    try:
        return int(value) if value.isdigit() else float(value)
    except ValueError:
        return value


def soffice_convert(src: Path, target: str, out_dir: Path) -> Path | None:
    soffice = shutil.which("soffice") or shutil.which("libreoffice")
    if soffice is None:
        return None
    with tempfile.TemporaryDirectory() as profile:
        subprocess.run([soffice, "--headless", f"-env:UserInstallation={Path(profile).as_uri()}",
                        "--convert-to", target, "--outdir", str(out_dir), str(src)],
                       check=True, capture_output=True, timeout=300)
    out = out_dir / (src.stem + "." + target.split(":")[0])
    return out if out.exists() else None


def scan_pdf(pdf: Path, out: Path, dpi: int = SCAN_DPI, pages: str = "",
             bilevel: bool = False) -> Path | None:
    """An image-only copy of a PDF: pages rendered by pdftoppm (grey, or black and white like a fax-mode
    scanner: a small file), put back together by Pillow."""
    if shutil.which("pdftoppm") is None:
        return None
    from PIL import Image

    with tempfile.TemporaryDirectory() as tmp:
        args = ["pdftoppm", "-r", str(dpi), "-gray", "-png"]
        if pages:
            first, last = pages.split("-")
            args += ["-f", first, "-l", last]
        subprocess.run([*args, str(pdf), f"{tmp}/page"], check=True, timeout=600)
        images = [Image.open(p).convert("L") for p in sorted(Path(tmp).glob("page*.png"))]
        if bilevel:
            images = [im.point(lambda v: 255 if v > 170 else 0).convert("1") for im in images]
        images[0].save(out, save_all=True, append_images=images[1:], resolution=dpi)
    return out


def make_plan_formats(name: str, docx_bytes: bytes, blocks: list[tuple] | None, out_dir: Path) -> list[Path]:
    out_dir.mkdir(parents=True, exist_ok=True)
    docx_path = out_dir / f"{name}.docx"
    docx_path.write_bytes(docx_bytes)
    made = [docx_path]
    pdf = soffice_convert(docx_path, "pdf", out_dir)
    doc = soffice_convert(docx_path, "doc", out_dir)
    if pdf is None:
        print("soffice 未安装：跳过 .pdf/.doc/扫描件", file=sys.stderr)
    else:
        made += [pdf] + ([doc] if doc else [])
        scan = scan_pdf(pdf, out_dir / f"{name}_扫描件.pdf")
        if scan is None:
            print("pdftoppm 未安装：跳过扫描件", file=sys.stderr)
        else:
            made.append(scan)
    if blocks is not None:
        xlsx = out_dir / f"{name}_附表.xlsx"
        xlsx.write_bytes(tables_xlsx(blocks))
        made.append(xlsx)
    return made


def make_all(out_dir: Path) -> list[Path]:
    out_dir = Path(out_dir)
    made = make_plan_formats("内蒙古节能减排规划", sample_docx(), sample_blocks(), out_dir)
    made += make_plan_formats("江北市生态环境保护规划", jiangbei_docx(), jiangbei_blocks(), out_dir)
    return made


def refresh_fixtures(folder: Path = FIXTURES) -> list[Path]:
    """The small committed files: the 江北 plan as .docx, .pdf, .doc, .xlsx, .csv, a two-page scan."""
    folder.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        made = make_plan_formats("jiangbei", jiangbei_docx(), jiangbei_blocks(), Path(tmp))
        for path in made:
            if path.name.endswith("_扫描件.pdf"):
                continue
            target = folder / path.name.replace("_附表", "_tables")
            shutil.copyfile(path, target)
        pdf = Path(tmp) / "jiangbei.pdf"
        if pdf.exists():
            scan_pdf(pdf, folder / "jiangbei_scan_p3-4.pdf", pages="3-4", bilevel=True)
    csv_rows = next(b[3] for b in jiangbei_blocks() if b[0] == "table" and b[1].startswith("表2"))
    (folder / "jiangbei_districts.csv").write_text(
        "\n".join(",".join(row) for row in csv_rows) + "\n", encoding="utf-8-sig")
    return sorted(folder.iterdir())


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="把规划导出为各种格式（docx、pdf、doc、扫描件、xlsx），用于格式测试和评测。")
    parser.add_argument("out", type=Path, nargs="?", help="输出文件夹")
    parser.add_argument("--fixtures", action="store_true", help="重新生成 tests/data/formats 下的小样本")
    args = parser.parse_args(argv)
    if not args.out and not args.fixtures:
        parser.error("请给出输出文件夹，或使用 --fixtures")
    made = refresh_fixtures() if args.fixtures else make_all(args.out)
    for path in made:
        print(f"{path.stat().st_size:>10,}  {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
