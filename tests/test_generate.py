"""The plan generator: deterministic by seed; every format and layout it writes parses back to its truth."""

from __future__ import annotations

import re
import unicodedata

import pytest

from eval.generate import FORMATS, LAYOUTS, GeneratedPlan, generate_plan, write_corpus
from ingest.parse import parse_bytes

SEEDS = (0, 1, 2)
FORMAT_LAYOUTS = [(fmt, layout) for fmt in FORMATS for layout in LAYOUTS[fmt]]


def _same_text(raw: str) -> str:
    # The parser's text is normalized (full-width digits → ASCII); the truth keeps the cell as printed.
    return unicodedata.normalize("NFKC", raw)


def _table(doc, title: str):
    found = [t for t in doc.tables if t.title == title]
    assert found, f"no table titled {title!r}; parsed titles: {[t.title for t in doc.tables]}"
    return found[0]


def _truth(plan: GeneratedPlan) -> tuple:
    norm = lambda values: {k: (v.value, v.unit, _same_text(v.raw)) for k, v in values.items()}  # noqa: E731
    return plan.title, plan.regions, plan.indicators, norm(plan.targets), norm(plan.overall), plan.quantities


@pytest.mark.parametrize("fmt", FORMATS)
def test_same_seed_gives_same_bytes(fmt):
    first, again = generate_plan(5, fmt), generate_plan(5, fmt)
    assert first.data == again.data and first.name == again.name
    assert _truth(first) == _truth(again)
    assert generate_plan(6, fmt).data != first.data


def test_every_format_of_a_seed_holds_the_same_truth():
    reference = _truth(generate_plan(11, "txt"))
    for fmt in FORMATS:
        for layout in LAYOUTS[fmt]:
            assert _truth(generate_plan(11, fmt, layout)) == reference, (fmt, layout)


def test_unknown_format_or_layout_is_refused():
    with pytest.raises(ValueError, match="format"):
        generate_plan(1, "pdf")
    with pytest.raises(ValueError, match="layout"):
        generate_plan(1, "md", "tabs")


@pytest.mark.parametrize(("fmt", "layout"), FORMAT_LAYOUTS)
@pytest.mark.parametrize("seed", SEEDS)
def test_parsed_tables_hold_the_generated_values(fmt, layout, seed):
    plan = generate_plan(seed, fmt, layout)
    doc = parse_bytes(plan.name, plan.data)

    regional = _table(doc, plan.region_table_title)
    assert regional.row_labels == plan.regions
    assert [c for c, role in zip(regional.columns, regional.roles) if role not in ("index", "label")] == plan.indicators
    cells = {(c.row_label, c.column): c for c in regional.cells}
    for key, truth in plan.targets.items():
        cell = cells[key]
        assert cell.value == pytest.approx(truth.value), key
        assert (cell.unit, cell.raw) == (truth.unit, _same_text(truth.raw)), key

    overall = _table(doc, plan.overall_table_title)
    cells = {(c.row_label, c.column): c for c in overall.cells}
    for key, truth in plan.overall.items():
        cell = cells[key]
        assert cell.raw == _same_text(truth.raw), key
        assert cell.unit == truth.unit, key
        assert cell.value == (None if truth.value is None else pytest.approx(truth.value)), key


def _bare(subject: str) -> str:
    return re.sub(r"[（(][^（）()]*[）)]", "", subject)  # the fact extractor drops parenthesised qualifiers


@pytest.mark.parametrize("fmt", ["txt", "md", "docx"])
@pytest.mark.parametrize("seed", SEEDS)
def test_parsed_facts_hold_the_generated_quantities(fmt, seed):
    plan = generate_plan(seed, fmt)
    facts = parse_bytes(plan.name, plan.data).facts
    for q in plan.quantities:
        valued = [f for f in facts if f.value == pytest.approx(q.value)]
        same = [f for f in valued if (f.action, f.unit) == (q.action, q.unit)]
        subject = _bare(q.subject)
        found = any(f.subject and (subject in _bare(f.subject) or _bare(f.subject) in subject) for f in same)
        assert found, (q, [(f.subject, f.action, f.value, f.unit) for f in valued])


def test_write_corpus_writes_each_plan_once(tmp_path):
    plans = write_corpus(tmp_path / "corpus", 12, seed=3, formats=FORMATS)
    files = sorted(p.name for p in (tmp_path / "corpus").iterdir())
    assert files == sorted(p.name for p in plans) and len(set(files)) == 12
    assert [p.fmt for p in plans[:len(FORMATS)]] == list(FORMATS)
    for plan in plans:
        assert (tmp_path / "corpus" / plan.name).read_bytes() == plan.data
    again = write_corpus(tmp_path / "again", 12, seed=3, formats=FORMATS)
    assert [p.data for p in again] == [p.data for p in plans]
    assert {p.name for p in write_corpus(tmp_path / "other", 12, seed=4)}.isdisjoint(files)


def test_portal_pages_carry_their_metadata_and_kinds_of_values():
    plan = generate_plan(4, "md-web")
    doc = parse_bytes(plan.name, plan.data)
    assert doc.meta["doc_number"] == plan.meta["doc_number"]
    assert doc.meta["issuers"] == [plan.meta["issuer"]]
    words = [v for v in plan.overall.values() if v.value is None and v.raw not in ("—", "约束性", "预期性")]
    bounds = [v for v in plan.overall.values() if v.raw.startswith("≥") or v.raw.endswith("以上")]
    assert words or bounds  # the truth holds targets in words or bounds for the parser to keep
