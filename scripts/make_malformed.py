"""Generate the malformed-input corpus into a folder (nothing large is committed; tests make it in tmp).

    python scripts/make_malformed.py /tmp/malformed            # everything, including the 50 MB text file
    python scripts/make_malformed.py /tmp/malformed --small    # without the files that take long to parse

Every case is seeded, so two runs write the same bytes. ``CASES`` says what each file is and what is
expected of it: ``reject`` (a clear Chinese IngestError message), ``parse`` (a sane Document) or ``either``.
"""

from __future__ import annotations

import argparse
import io
import random
import sys
import time
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SAMPLE_PLAN = ROOT / "data" / "sample" / "内蒙古自治区十二五节能减排规划.txt"
FORMATS = ROOT / "tests" / "data" / "formats"  # files exported by LibreOffice (make_format_fixtures.py)
SEED = 20240611
BOMB_INFLATED_BYTES = 256 * 1024 * 1024  # past ingest.loaders.MAX_UNZIPPED_BYTES (200 MB)
BIG_TEXT_BYTES = 50 * 1024 * 1024
ONE_LINE_BYTES = 1024 * 1024
HEADING_DEPTH = 30
ZIP_TIME = (2020, 1, 1, 0, 0, 0)  # fixed member timestamps, so a corpus is the same bytes every run


@dataclass(frozen=True)
class Case:
    name: str
    expect: str  # reject | parse | either
    what: str
    make: Callable[[random.Random], bytes]
    large: bool = False  # slow to parse: left out of --small (the CI corpus)


def _plan_text() -> str:
    return SAMPLE_PLAN.read_text(encoding="utf-8")


def _plan_paragraphs() -> list[str]:
    # Prose only: the sample's tables are laid out one cell per tab-indented line.
    return [line.strip() for line in _plan_text().splitlines() if len(line.strip()) > 30 and "\t" not in line]


def _docx_bytes(paragraphs: list[str], table: list[list[str]] | None = None) -> bytes:
    import docx

    document = docx.Document()
    document.add_heading("内蒙古自治区“十二五”节能减排规划", level=1)
    for text in paragraphs:
        document.add_paragraph(text)
    if table:
        t = document.add_table(rows=len(table), cols=len(table[0]))
        for r, row in enumerate(table):
            for c, value in enumerate(row):
                t.cell(r, c).text = value
    buf = io.BytesIO()
    document.save(buf)
    return _restamp(buf.getvalue())


def _member(name: str) -> zipfile.ZipInfo:
    info = zipfile.ZipInfo(name, ZIP_TIME)
    info.compress_type = zipfile.ZIP_DEFLATED
    return info


def _restamp(data: bytes) -> bytes:
    """The same zip with fixed member times (python-docx stamps the time of saving)."""
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(data)) as src, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst:
        for info in src.infolist():
            dst.writestr(_member(info.filename), src.read(info))
    return out.getvalue()


def _real_docx(rng: random.Random) -> bytes:
    return _docx_bytes(_plan_paragraphs()[:20], [["地区", "二氧化硫排放量降低"], ["乌海市", "8.5%"], ["包头市", "6.3%"]])


def _zip_bomb(rng: random.Random) -> bytes:
    """A small zip (≈250 KB) that claims and holds >200 MB: word/document.xml of zeros."""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as zf:
        zf.writestr(_member("[Content_Types].xml"), '<?xml version="1.0"?><Types/>')
        with zf.open(_member("word/document.xml"), "w", force_zip64=True) as member:
            block = b"\0" * (1024 * 1024)
            for _ in range(BOMB_INFLATED_BYTES // len(block)):
                member.write(block)
    return buf.getvalue()


def _zip_bomb_lying(rng: random.Random) -> bytes:
    """The bomb with its sizes forged small in the headers, so a size check that trusts them is fooled."""
    data = bytearray(_small_bomb())
    # Patch every uncompressed-size field (local header offset 22, central directory offset 24) to 1000 bytes.
    pos = 0
    while (pos := data.find(b"PK\x03\x04", pos)) >= 0:
        data[pos + 22: pos + 26] = (1000).to_bytes(4, "little")
        pos += 4
    pos = 0
    while (pos := data.find(b"PK\x01\x02", pos)) >= 0:
        data[pos + 24: pos + 28] = (1000).to_bytes(4, "little")
        pos += 4
    return bytes(data)


def _small_bomb() -> bytes:
    # 100 MB inflated, no zip64 extras, so the size fields patched above are the only ones.
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as zf:
        zf.writestr(_member("[Content_Types].xml"), '<?xml version="1.0"?><Types/>')
        zf.writestr(_member("word/document.xml"), b"<" + b"\0" * (100 * 1024 * 1024))
    return buf.getvalue()


def _big_text(rng: random.Random) -> bytes:
    plan = _plan_text().encode("utf-8")
    data = (plan * (BIG_TEXT_BYTES // len(plan) + 1))[:BIG_TEXT_BYTES]
    return data.decode("utf-8", "ignore").encode("utf-8")  # no half character at the cut


def _one_line(rng: random.Random) -> bytes:
    prose = "".join(_plan_paragraphs()).replace("\n", "")
    text = (prose * (ONE_LINE_BYTES // len(prose.encode()) + 1))
    return text.encode("utf-8")[:ONE_LINE_BYTES].decode("utf-8", "ignore").encode("utf-8")


def _one_line_no_punct(rng: random.Random) -> bytes:
    # No sentence ends at all: the chunker has to cut a 1 MB "sentence" by itself.
    hanzi = "节能减排规划目标单位能耗降低二氧化硫氮氧化物排放量化学需氧量氨氮"
    return "".join(rng.choice(hanzi) for _ in range(ONE_LINE_BYTES // 3)).encode("utf-8")


def _deep_headings_txt(rng: random.Random) -> bytes:
    # The plans' numbering styles (第X章, 一、, （一）, 1、, （1）), then dotted numbers 1.1.1…, 30 levels deep.
    styles = [lambda i: "第一章 ", lambda i: "一、", lambda i: "（一）", lambda i: "1、", lambda i: "（1）"]
    lines = ["内蒙古自治区“十二五”节能减排规划（层级测试）", ""]
    for depth in range(HEADING_DEPTH):
        marker = styles[depth](depth) if depth < len(styles) else ".".join(["1"] * (depth - 3)) + " "
        lines += [f"{marker}第{depth + 1}层标题", "", f"到2015年，第{depth + 1}层的某项指标下降{depth + 1}.5%。", ""]
    return "\n".join(lines).encode("utf-8")


def _circled_items(rng: random.Random) -> bytes:
    # ①②③ start list items (and sixth-level headings) in many plans.
    return ("一、主要任务\n\n（一）淘汰落后产能\n\n①钢铁行业\n\n淘汰炼铁产能100万吨。\n\n"
            "②水泥行业\n\n淘汰水泥产能200万吨。\n").encode("utf-8")


def _deep_headings_md(rng: random.Random) -> bytes:
    lines = []
    for depth in range(1, HEADING_DEPTH + 1):
        lines += ["#" * depth + f" 第{depth}层", "", f"第{depth}层：二氧化硫排放量降低{depth}%。", ""]
    return "\n".join(lines).encode("utf-8")


def _deep_html(rng: random.Random) -> bytes:
    # 5,000 nested blocks: a parser that recurses per element runs out of stack.
    depth = 5000
    return ("<html><body>" + "<div>" * depth + "<p>二氧化硫排放量降低8.5%。</p>" + "</div>" * depth
            + "</body></html>").encode("utf-8")


def _ragged_md(rng: random.Random) -> bytes:
    rows = ["| 地区 | 单位GDP能耗降低 | 二氧化硫排放量降低 | 氨氮排放量降低 |", "|---|---|---|---|"]
    for region in ("呼和浩特市", "包头市", "乌海市", "赤峰市", "通辽市", "鄂尔多斯市"):
        n = rng.randint(0, 7)
        values = [f"{rng.randint(1, 20)}.{rng.randint(0, 9)}%" for _ in range(n)]
        rows.append("| " + " | ".join([region] + values) + " |")
    rows += ["| | |", "|", "||||||||||", "| 只有一格"]
    return ("# 专栏表格（行长短不一）\n\n专栏一 各盟市目标\n\n" + "\n".join(rows) + "\n\n正文在表后继续。\n").encode("utf-8")


def _ragged_cells_txt(rng: random.Random) -> bytes:
    # The sample plan's own layout (one cell per tab-indented line), rows of random length.
    out = ["专栏二：各盟市“十二五”期间节能减排目标", "", "\t地区", "\t单位GDP能耗降低", "\t二氧化硫排放量降低", ""]
    for region in ("呼和浩特市", "包头市", "乌海市", "赤峰市"):
        out += [f"\t{region}"] + [f"\t{rng.randint(1, 20)}%" for _ in range(rng.randint(0, 5))] + [""]
    return "\n".join(out).encode("utf-8")


def _wide_table(rng: random.Random) -> bytes:
    width = 2000
    header = "| 指标 | " + " | ".join(f"{2000 + i}年" for i in range(width)) + " |"
    sep = "|" + "---|" * (width + 1)
    row = "| 二氧化硫排放量（万吨） | " + " | ".join(f"{rng.random() * 100:.1f}" for _ in range(width)) + " |"
    return ("# 超宽表\n\n表1 指标\n\n" + "\n".join([header, sep, row, row]) + "\n").encode("utf-8")


def _no_tables(rng: random.Random) -> bytes:
    return "\n\n".join(["内蒙古自治区“十二五”节能减排规划（无表格版）"] + _plan_paragraphs()).encode("utf-8")


def _mixed_encoding(rng: random.Random) -> bytes:
    paras = _plan_paragraphs()
    return "\n".join(paras[:10]).encode("utf-8") + b"\n" + "\n".join(paras[10:20]).encode("gb18030")


def _latin1_mojibake(rng: random.Random) -> bytes:
    # UTF-8 text that was once decoded as Latin-1 and saved again: readable bytes, nonsense characters.
    return "\n".join(_plan_paragraphs()[:10]).encode("utf-8").decode("latin-1").encode("utf-8")


def _fixture(name: str) -> bytes:
    return (FORMATS / name).read_bytes()


def _noise_image(rng: random.Random, width: int = 1275, height: int = 1650):
    """A page-sized black-and-white image of random speckle (a scanner fed a blank, dirty sheet)."""
    from PIL import Image

    data = bytes(0 if rng.random() < 0.06 else 255 for _ in range(width * height))
    return Image.frombytes("L", (width, height), data).convert("1")


def _noise_scan_pdf(rng: random.Random) -> bytes:
    pages = [_noise_image(rng) for _ in range(2)]
    buf = io.BytesIO()
    stamp = time.gmtime(1577836800)  # 2020-01-01: Pillow stamps the clock into a PDF otherwise
    pages[0].save(buf, "PDF", save_all=True, append_images=pages[1:], resolution=150, creationDate=stamp,
                  modDate=stamp)
    return buf.getvalue()


def _noise_png(rng: random.Random) -> bytes:
    buf = io.BytesIO()
    _noise_image(rng, 900, 700).save(buf, "PNG")
    return buf.getvalue()


def _xlsx_bomb(rng: random.Random) -> bytes:
    """The zip bomb dressed as a workbook: xl/workbook.xml of zeros."""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as zf:
        zf.writestr(_member("[Content_Types].xml"), '<?xml version="1.0"?><Types/>')
        with zf.open(_member("xl/workbook.xml"), "w", force_zip64=True) as member:
            block = b"\0" * (1024 * 1024)
            for _ in range(BOMB_INFLATED_BYTES // len(block)):
                member.write(block)
    return buf.getvalue()


def _half(data: bytes) -> bytes:
    return data[: len(data) // 2]


def _random_bytes(n: int) -> Callable[[random.Random], bytes]:
    return lambda rng: rng.randbytes(n)


def _control_chars(rng: random.Random) -> bytes:
    text = "\n".join(_plan_paragraphs()[:5])
    marks = [0x07, 0x1b, 0x7f, 0x200b, 0x202e, 0xfeff]
    noisy = "".join(ch + (chr(rng.choice(marks)) if rng.random() < 0.2 else "") for ch in text)
    return noisy.encode("utf-8")


CASES: tuple[Case, ...] = (
    Case("empty.txt", "reject", "0 bytes", lambda rng: b""),
    Case("empty.docx", "reject", "0 bytes named .docx", lambda rng: b""),
    Case("whitespace.md", "reject", "spaces, tabs, newlines, full-width spaces",
         lambda rng: " \t\n\r\n　\n".encode()),
    Case("random.docx", "reject", "64 KB random bytes named .docx", _random_bytes(64 * 1024)),
    Case("random.pdf", "reject", "64 KB random bytes named .pdf", _random_bytes(64 * 1024)),
    Case("random.txt", "either", "64 KB random bytes named .txt", _random_bytes(64 * 1024)),
    Case("pdf_header_garbage.pdf", "reject", "%PDF- header, then random bytes",
         lambda rng: b"%PDF-1.7\n" + rng.randbytes(32 * 1024)),
    Case("truncated.docx", "reject", "a real .docx cut in half", lambda rng: _half(_real_docx(rng))),
    Case("zip_not_word.docx", "reject", "a valid zip without word/document.xml",
         lambda rng: _zip_of({"readme.txt": "不是Word文档".encode()})),
    Case("zip_bomb.docx", "reject", f"≈250 KB zip inflating to {BOMB_INFLATED_BYTES >> 20} MB", _zip_bomb),
    Case("zip_bomb_lying.docx", "reject", "100 MB bomb whose headers claim 1,000 bytes", _zip_bomb_lying),
    Case("docx_named.txt", "parse", "a real .docx named .txt (type by content)", _real_docx),
    Case("big_50mb.txt", "either", "50 MB of plan text", _big_text, large=True),
    Case("one_line_1mb.txt", "parse", "1 MB on one line", _one_line),
    Case("one_line_no_punct.txt", "parse", "1 MB of hanzi without any punctuation or newline",
         _one_line_no_punct, large=True),
    Case("gb18030.txt", "parse", "the plan in GB18030", lambda rng: _plan_text().encode("gb18030")),
    Case("utf16_nobom.txt", "parse", "the plan in UTF-16-LE without a BOM",
         lambda rng: _plan_text().encode("utf-16-le")),
    Case("mixed_utf8_gb18030.txt", "either", "first half UTF-8, second half GB18030", _mixed_encoding),
    Case("mojibake.txt", "either", "UTF-8 read as Latin-1 and saved again", _latin1_mojibake),
    Case("control_chars.txt", "parse", "plan prose with BEL, ESC, DEL, zero-width and RTL marks",
         _control_chars),
    Case("nul_bytes.txt", "reject", "ASCII text with NUL bytes every other byte (odd length)",
         lambda rng: b"\0".join(bytes([c]) for c in b"abc" * 1000) + b"\0x"),
    Case("deep_headings.txt", "parse", f"headings nested {HEADING_DEPTH} levels", _deep_headings_txt),
    Case("circled_items.txt", "parse", "list items numbered ①②", _circled_items),
    Case("deep_headings.md", "parse", f"markdown headings # to {'#' * 6} and past ({HEADING_DEPTH} levels)",
         _deep_headings_md),
    Case("deep_nesting.html", "either", "5,000 nested <div>s", _deep_html),
    Case("ragged_table.md", "parse", "a pipe table whose rows have 1 to 8 cells", _ragged_md),
    Case("ragged_cells.txt", "parse", "a one-cell-per-line 专栏 with rows of 1 to 6 cells", _ragged_cells_txt),
    Case("wide_table.md", "parse", "a pipe table 2,001 columns wide", _wide_table),
    Case("no_tables.txt", "parse", "the plan's prose without any table", _no_tables),
    Case("truncated.pdf", "reject", "a real PDF (exported by LibreOffice) cut at 60%",
         lambda rng: _fixture("jiangbei.pdf")[: len(_fixture("jiangbei.pdf")) * 3 // 5]),
    Case("truncated_scan.pdf", "reject", "a two-page scanned PDF cut in half",
         lambda rng: _half(_fixture("jiangbei_scan_p3-4.pdf"))),
    Case("noise_scan.pdf", "reject", "two image-only pages of random speckle", _noise_scan_pdf),
    Case("noise.png", "reject", "a PNG of random speckle", _noise_png),
    Case("corrupt.doc", "reject", "an OLE header, then random bytes, named .doc",
         lambda rng: b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + rng.randbytes(16 * 1024)),
    Case("truncated.doc", "reject", "a real .doc (saved by LibreOffice) cut in half",
         lambda rng: _half(_fixture("jiangbei.doc"))),
    Case("zip_bomb.xlsx", "reject", f"≈250 KB workbook inflating to {BOMB_INFLATED_BYTES >> 20} MB",
         _xlsx_bomb),
    Case("truncated.xlsx", "reject", "a real .xlsx cut in half",
         lambda rng: _half(_fixture("jiangbei_tables.xlsx"))),
)


def _zip_of(members: dict[str, bytes]) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, data in members.items():
            zf.writestr(_member(name), data)
    return buf.getvalue()


def make_corpus(out_dir: Path, small: bool = False, seed: int = SEED,
                only: set[str] | None = None) -> list[Path]:
    """Write every case (without the large ones when ``small``; just ``only`` when given) into out_dir."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    paths = []
    for i, case in enumerate(CASES):
        if (small and case.large) or (only is not None and case.name not in only):
            continue
        path = out_dir / case.name
        path.write_bytes(case.make(random.Random(seed + i)))
        paths.append(path)
    return paths


def case_for(name: str) -> Case:
    return next(c for c in CASES if c.name == name)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="生成畸形输入样本（空文件、随机字节、压缩炸弹、超大文本等），用于可靠性测试。")
    parser.add_argument("out", type=Path, help="输出文件夹")
    parser.add_argument("--small", action="store_true", help="不生成解析耗时长的大文件（CI 用）")
    parser.add_argument("--seed", type=int, default=SEED)
    args = parser.parse_args(argv)
    for path in make_corpus(args.out, args.small, args.seed):
        print(f"{path.stat().st_size:>12,}  {path.name}  {case_for(path.name).what}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
