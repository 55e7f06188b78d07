"""Knowledge-base administration for the edges (app, API): documents, tables and facts, add/delete/rebuild.

The edges import this, not ingest/ or kb.store, so the data flow stays one way.
"""

from __future__ import annotations

from dataclasses import asdict

import pandas as pd

from ingest.pipeline import IngestReport, Upload, delete_documents, ingest_files, list_uploads, rebuild
from kb.knowledge import KnowledgeBase, open_kb
from kb.settings import Settings
from kb.store import current_generation, verify_generation


def knowledge_base(settings: Settings) -> KnowledgeBase:
    return open_kb(settings)


def has_knowledge_base(settings: Settings) -> bool:
    return current_generation(settings.kb_dir) is not None


def documents(settings: Settings) -> list[dict]:
    """One dict per document: doc_id, name, fmt, encoding, counts, ingest time, warnings."""
    if not has_knowledge_base(settings):
        return []
    return [dict(d) for d in open_kb(settings).docs]


def add_files(settings: Settings, files: list[tuple[str, bytes]], progress=None) -> IngestReport:
    """Ingest uploaded files; bad files are reported per file and the previous knowledge base stays live."""
    return ingest_files(settings, files, progress)


def remove_documents(settings: Settings, doc_ids: list[str]) -> str | None:
    return delete_documents(settings, doc_ids)


def originals(settings: Settings) -> list[Upload]:
    """The original files kept for rebuilds (stored under their content hash, real names in a manifest)."""
    return list_uploads(settings)


def rebuild_all(settings: Settings, progress=None) -> IngestReport:
    return rebuild(settings, progress)


def integrity_problems(settings: Settings) -> list[str]:
    return verify_generation(settings)


def tables(settings: Settings) -> list[dict]:
    """Table summaries: table_id, doc, title, section_path, unit, columns, rows."""
    kb = open_kb(settings)
    return [{"table_id": t.table_id, "doc_id": t.doc_id, "doc": kb.doc_name(t.doc_id), "title": t.title,
             "section_path": t.section_path, "unit": t.unit, "columns": list(t.columns), "rows": len(t.row_labels)}
            for t in kb.tables]


def table_frame(settings: Settings, table_id: str, wide: bool = False) -> pd.DataFrame:
    """A table's cells (long form: row, column, raw, value, unit, flag, quote) or its wide value grid."""
    kb = open_kb(settings)
    for t in kb.tables:
        if t.table_id == table_id:
            return t.wide_frame() if wide else t.to_frame()
    raise KeyError(table_id)


def facts_frame(settings: Settings) -> pd.DataFrame:
    kb = open_kb(settings)
    df = pd.DataFrame([asdict(f) for f in kb.facts])
    if not df.empty:
        df.insert(1, "doc", df["doc_id"].map(kb.doc_name))
    return df
