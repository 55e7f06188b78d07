"""Typed records shared by every layer: documents, tables, facts, chunks and answers."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field

PATH_SEP = " › "


def join_path(parts: tuple[str, ...] | list[str]) -> str:
    return PATH_SEP.join(p for p in parts if p)


@dataclass(frozen=True)
class Section:
    doc_id: str
    path: tuple[str, ...]
    level: int
    start: int  # char offset of the heading line in the normalized text
    end: int  # end of the section's content

    @property
    def title(self) -> str:
        return self.path[-1] if self.path else ""

    @property
    def path_str(self) -> str:
        return join_path(self.path)


@dataclass(frozen=True)
class Cell:
    table_id: str
    row: int
    col: int
    row_label: str
    parent_label: str  # hierarchy: label of the parent row group ("" when none)
    column: str  # column header, wrapped lines joined, unit removed
    column_unit: str
    raw: str  # exact cell text
    value: float | None
    unit: str  # effective unit: "%" from the cell, else the header's or the title's
    flag: str  # "" | "missing_percent" | "not_numeric" | "empty"
    quote: str  # the row as it stands in the normalized text
    kind: str = ""  # number | range | text | empty: what the cell states
    comparator: str = ""  # ≥ > ≤ < (以上/不低于 → ≥, 以下/不超过 → ≤ …): a bound, not an exact figure
    qualifier: str = ""  # 约 / 左右 / 力争 / 累计 …, as printed
    value_hi: float | None = None  # upper end of a range ("3000—4000")
    footnote: str = ""  # footnote marks split off the label ("城市2" → "2")
    role: str = ""  # the column's role: base | target | change | annual | cumulative | milestone | value | text
    year: str = ""  # the year the column refers to, when it names one


@dataclass(frozen=True)
class Table:
    table_id: str
    doc_id: str
    title: str
    section_path: str
    unit: str  # unit given for the whole table (title or a "单位：" line)
    columns: tuple[str, ...]  # header cells, first is the row-label header
    intro: str  # sentence introducing the table
    cells: tuple[Cell, ...]
    start: int
    end: int
    roles: tuple[str, ...] = ()  # per column: label | index | unit | attribute | base | target | change | annual | …
    notes: tuple[str, ...] = ()  # note lines printed with the table ("注：〔 〕内为5年累计数。")
    caption: str = ""  # the caption line as printed, when the title was derived from it

    @property
    def row_labels(self) -> list[str]:
        seen: dict[str, None] = {}
        for cell in self.cells:
            seen.setdefault(cell.row_label, None)
        return list(seen)

    def to_frame(self):
        import pandas as pd

        return pd.DataFrame([asdict(c) for c in self.cells])

    def wide_frame(self):
        """Rows × columns of numeric values (the usual way to look at a table)."""
        df = self.to_frame()
        if df.empty:
            return df
        return df.pivot_table(index="row_label", columns="column", values="value", aggfunc="first", sort=False)


@dataclass(frozen=True)
class Fact:
    fact_id: str
    doc_id: str
    subject: str
    action: str  # 淘汰/新增/建成/达到/控制在/下降/…
    value: float
    unit: str
    raw: str  # "178.1万吨"
    qualifier: str  # 以上/以内/左右/超过/…
    year: str  # "2015" when the sentence names a target year
    period: str  # "十二五" / "五年" …
    base_year: str  # "2005" for "比2005年累计下降42.86%"
    section_path: str
    sentence: str  # the whole sentence (exact substring)
    quote: str  # the clause holding the quantity (exact substring)
    start: int


@dataclass(frozen=True)
class Chunk:
    chunk_id: str
    doc_id: str
    text: str  # exact span of the normalized text
    section_path: str
    start: int
    end: int
    kind: str = "text"  # text | table | box
    page: int | None = None
    context: str = ""  # extra searchable text (table title, unit, intro)

    @property
    def search_text(self) -> str:
        return f"{self.section_path}\n{self.context}\n{self.text}" if self.context else f"{self.section_path}\n{self.text}"


@dataclass
class Document:
    doc_id: str
    name: str
    sha256: str
    text: str  # normalized text: every quote is a substring of this
    fmt: str
    encoding: str = ""
    sections: list[Section] = field(default_factory=list)
    tables: list[Table] = field(default_factory=list)
    facts: list[Fact] = field(default_factory=list)
    chunks: list[Chunk] = field(default_factory=list)
    items: list[str] = field(default_factory=list)  # project-list items (专栏三/四)
    warnings: list[str] = field(default_factory=list)
    page_starts: list[int] = field(default_factory=list)  # PDF: char offset where each page starts
    meta: dict = field(default_factory=dict)  # title, doc_number, issuers, dates, validity, attachments, front_matter
    aliases: dict = field(default_factory=dict)  # short name the document defines → what it stands for

    @property
    def title(self) -> str:
        return self.name


@dataclass(frozen=True)
class Citation:
    doc: str  # document name
    section_path: str
    quote: str  # exact substring of the normalized document
    chunk_id: str = ""
    doc_id: str = ""
    table: str = ""  # table title when the quote is a table row


@dataclass(frozen=True)
class Figure:
    label: str
    value: float
    unit: str
    formula: str = ""
    inputs: tuple["Figure", ...] = ()
    citation: Citation | None = None
    flag: str = ""

    def to_dict(self) -> dict:
        return {
            "label": self.label,
            "value": self.value,
            "unit": self.unit,
            "formula": self.formula,
            "inputs": [i.to_dict() for i in self.inputs],
            "citation": asdict(self.citation) if self.citation else None,
            "flag": self.flag,
        }


@dataclass(frozen=True)
class Answer:
    text: str
    citations: tuple[Citation, ...] = ()
    figures: tuple[Figure, ...] = ()
    refused: bool = False
    trace: tuple[str, ...] = ()
    intent: str = ""
    chart: dict | None = None  # {"indicator", "unit", "values": {region: value}, "highlight": [...]}
    suggestions: tuple[str, ...] = ()
    understood: str = ""  # how the question was read, in one line ("我理解为：乌海市 · 二氧化硫排放量降低 · 规划目标")
    plan: dict | None = None  # the typed query plan behind the answer (for display and correction)

    def to_dict(self) -> dict:
        return {
            "text": self.text,
            "citations": [asdict(c) for c in self.citations],
            "figures": [f.to_dict() for f in self.figures],
            "refused": self.refused,
            "trace": list(self.trace),
            "intent": self.intent,
            "chart": self.chart,
            "suggestions": list(self.suggestions),
            "understood": self.understood,
            "plan": self.plan,
        }
