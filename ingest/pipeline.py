"""Ingest files into the knowledge base: parse each, then write one new generation and swap it in."""

from __future__ import annotations

import errno
import json
import logging
import os
import re
import time
from dataclasses import dataclass, field
from pathlib import Path

from ingest.loaders import SUPPORTED_SUFFIXES
from ingest.parse import describe, parse_bytes
from kb.background import start_background_embedding
from kb.errors import IngestError, PolicyQAError, StoreError
from kb.records import Document
from kb.settings import Settings
from kb.store import (
    StoredDocs,
    current_generation,
    dense_mode,
    load_generation,
    write_generation,
    writer_lock,
)

logger = logging.getLogger(__name__)
SKIP_DIRS = {"node_modules", "__pycache__", "site-packages"}
READ_ERRORS = {errno.ENOENT: "文件不存在", errno.EACCES: "没有读取权限", errno.EPERM: "没有读取权限",
               errno.EISDIR: "这是一个文件夹", errno.EIO: "磁盘读取错误"}


@dataclass
class FileResult:
    name: str
    ok: bool
    doc_id: str = ""
    skipped: bool = False
    error: str = ""
    counts: dict = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)
    seconds: float = 0.0


@dataclass
class IngestReport:
    results: list[FileResult]
    generation: str | None
    seconds: float
    totals: dict = field(default_factory=dict)
    # How the new generation's vectors come: "inline" (with it), "background" (a detached process adds them),
    # "deferred" (the caller adds them, e.g. the CLI with progress); "" when no generation was written.
    embedding: str = ""

    @property
    def failed(self) -> list[FileResult]:
        return [r for r in self.results if not r.ok]

    def summary(self) -> str:
        t = self.totals
        lines = [
            f"导入完成：{sum(r.ok and not r.skipped for r in self.results)} 个文件已导入，"
            f"{sum(r.skipped for r in self.results)} 个未变化已跳过，{len(self.failed)} 个失败；用时 {self.seconds:.1f} 秒。",
            f"知识库现有：文档 {t.get('documents', 0)}，章节 {t.get('sections', 0)}，表格 {t.get('tables', 0)}"
            f"（{t.get('rows', 0)} 行），数量事实 {t.get('facts', 0)}，文本块 {t.get('chunks', 0)}。",
        ]
        for r in self.results:
            if not r.ok:
                lines.append(f"  ✗ {r.name}：{r.error}")
            elif not r.skipped and r.counts:
                lines.append(f"  ✓ {r.name}：{file_line(r.counts)}")
            for w in r.warnings:
                lines.append(f"  ! {r.name}：{w}")
        if self.embedding in ("background", "deferred"):
            lines.append("表格、数字和关键词检索已可用；向量索引" + ("正在后台补全。" if self.embedding == "background"
                                                          else "随后补全。"))
        return "\n".join(lines)


def file_line(c: dict) -> str:
    """One line of what ingest understood of a file ("3,120 字；表格 1：“主要指标”25行×7列；数量事实 12；…")."""
    parts = [f"{c.get('chars', 0):,} 字" + (f"，{c['pages']} 页" if c.get("pages") else "")]
    shapes = c.get("table_shapes") or []
    if shapes:
        shown = "；".join(f"“{t['title'][:24]}”{t['rows']}行×{t['columns']}列" for t in shapes[:4])
        more = f" 等{len(shapes)}个" if len(shapes) > 4 else ""
        parts.append(f"表格 {len(shapes)}：{shown}{more}")
    else:
        parts.append("未发现表格")
    parts.append(f"数量事实 {c.get('facts', 0)}")
    if c.get("metadata"):
        parts.append("元数据：" + "、".join(c["metadata"]))
    if not shapes and not c.get("facts"):
        parts.append("未识别出表格或数字目标，只能按段落检索")
    return "；".join(parts)


MAX_NAME_CHARS = 240  # characters of the name kept in the record; the stored original is named by its hash


def sanitize_name(name: str) -> str:
    """A file name safe to store: no directories, no traversal, no control characters."""
    base = Path(str(name).replace("\\", "/")).name
    base = re.sub(r"[\x00-\x1f/:*?\"<>|]", "_", base).strip(" .") or "file"
    if len(base) <= MAX_NAME_CHARS:
        return base
    suffix = Path(base).suffix if len(Path(base).suffix) <= 10 else ""
    return base[: MAX_NAME_CHARS - len(suffix)] + suffix  # shorten the stem: the suffix decides the format


def expand_paths(paths: list[Path], exclude: Path | None = None) -> list[Path]:
    """Files to ingest: given files as they are; folders searched for supported types, skipping hidden
    folders (.git, .venv) and the knowledge base's own folder (its uploads are not new documents)."""
    skip = exclude.resolve() if exclude is not None else None
    out: list[Path] = []
    for p in paths:
        p = Path(p)
        if not p.is_dir():
            out.append(p)
            continue
        for q in sorted(p.rglob("*")):
            rel = q.relative_to(p).parts
            if any(part.startswith(".") or part in SKIP_DIRS for part in rel[:-1]) or rel[-1].startswith("."):
                continue
            if skip is not None and (q.resolve() == skip or skip in q.resolve().parents):
                continue
            if q.is_file() and q.suffix.lower() in SUPPORTED_SUFFIXES:
                out.append(q)
    return out


def _doc_row(doc: Document, seconds: float) -> dict:
    return {
        "doc_id": doc.doc_id, "name": doc.name, "sha256": doc.sha256, "fmt": doc.fmt,
        "encoding": doc.encoding,
        "n_sections": len(doc.sections), "n_tables": len(doc.tables),
        "n_rows": sum(len(t.row_labels) for t in doc.tables), "n_facts": len(doc.facts),
        "n_chunks": len(doc.chunks), "chars": len(doc.text), "ingest_seconds": round(seconds, 3),
        "ingested_at": time.strftime("%Y-%m-%d %H:%M:%S"),
        "warnings": list(doc.warnings), "items": list(doc.items),
        "meta": dict(doc.meta), "aliases": dict(doc.aliases),
    }


def _load_current(settings: Settings) -> StoredDocs:
    gen = current_generation(settings.kb_dir)
    if not gen:
        return StoredDocs()
    try:
        return load_generation(settings.kb_dir / "gens" / gen)
    except StoreError as exc:
        # Starting afresh here would silently drop every document already in; a rebuild re-reads the uploads.
        raise StoreError(f"current generation {gen} unreadable: {exc}",
                         "当前知识库文件已损坏，无法在其上追加或删除；请先重建知识库（python -m ingest --rebuild），"
                         "原始文件仍保存在 uploads 中。") from exc


def _after_swap(settings: Settings, embed: str) -> str:
    """What happens to the new generation's vectors (see IngestReport.embedding)."""
    if dense_mode(settings) == "inline":
        return "inline"
    if embed == "background":
        start_background_embedding(settings)
        return "background"
    return "deferred"


def ingest_files(settings: Settings, files: list[tuple[str, bytes]], progress=None, keep_uploads: bool = True,
                 replace_all: bool = False, ingested_at: dict[str, str] | None = None,
                 embed: str = "background") -> IngestReport:
    """Parse and add files given as (name, bytes). Bad files are reported; the rest still go in.

    A file whose name is already in the knowledge base replaces that document; identical content is skipped.
    With ``replace_all`` the new generation holds only these files (a rebuild); ``ingested_at`` (name → time)
    keeps each document's first import time through a rebuild. The documents answer as soon as this returns;
    with a model embedder their vectors follow: ``embed="background"`` starts kb.background in a detached
    process, ``"defer"`` leaves them to the caller (kb.background.complete_embeddings).
    """
    started = time.perf_counter()
    results: list[FileResult] = []
    parsed: list[tuple[Document, bytes]] = []
    with writer_lock(settings.kb_dir):
        stored = StoredDocs() if replace_all else _load_current(settings)
        known = {d["sha256"]: d for d in stored.docs}
        for n, (name, data) in enumerate(files, 1):
            name = sanitize_name(name)
            if progress:
                progress("parse", n, len(files), name)
            t0 = time.perf_counter()
            try:
                if len(data) > settings.max_upload_bytes * 4:
                    raise IngestError("too large", f"文件过大（{len(data) // 1024 // 1024} MB），超过上限。")
                doc = parse_bytes(name, data)
            except PolicyQAError as exc:
                results.append(FileResult(name, False, error=exc.user_message,
                                          seconds=time.perf_counter() - t0))
                continue
            except Exception as exc:  # a parser bug must not sink the batch
                logger.exception("unexpected error parsing %s", name)
                results.append(FileResult(name, False, error=f"解析时出现内部错误：{type(exc).__name__}",
                                          seconds=time.perf_counter() - t0))
                continue
            if doc.sha256 in known:
                results.append(FileResult(name, True, known[doc.sha256]["doc_id"], skipped=True))
                continue
            if any(d.name == doc.name for d, _ in parsed):
                # The same name twice in one batch: the later file wins, as it would in two batches.
                parsed = [(d, b) for d, b in parsed if d.name != doc.name]
                results = [r for r in results if r.name != doc.name or not r.ok or r.skipped]
            seconds = time.perf_counter() - t0
            counts = describe(doc)
            results.append(FileResult(name, True, doc.doc_id, counts=counts, warnings=list(doc.warnings),
                                      seconds=seconds))
            parsed.append((doc, data))
        generation = current_generation(settings.kb_dir)
        embedding = ""
        replaced: set[str] = set()
        if parsed or (replace_all and not files):
            new_names = {doc.name for doc, _ in parsed}
            replaced = {d["doc_id"] for d in stored.docs if d["name"] in new_names}
            stored.remove(replaced)
            for doc, data in parsed:
                row = _doc_row(doc, next(r.seconds for r in results if r.doc_id == doc.doc_id))
                if ingested_at and ingested_at.get(doc.name):
                    row["ingested_at"] = ingested_at[doc.name]
                stored.docs.append(row)
                stored.texts[doc.doc_id] = doc.text
                stored.chunks.extend(doc.chunks)
                stored.tables.extend(doc.tables)
                stored.facts.extend(doc.facts)
            generation = write_generation(settings, stored, progress)
            if keep_uploads:
                try:
                    _drop_uploads(settings, replaced - {doc.doc_id for doc, _ in parsed})
                    first_seen = {d["doc_id"]: d.get("ingested_at", "") for d in stored.docs}
                    _keep_uploads(settings, parsed, first_seen)
                except OSError as exc:  # the knowledge base is already live; only a later rebuild misses them
                    logger.warning("could not keep uploaded originals: %s", exc)
                    for r in results:
                        if r.ok and not r.skipped:
                            r.warnings.append("原文件未能保存到 uploads（重建知识库时将缺少此文件）")
            embedding = _after_swap(settings, embed)
    return IngestReport(results, generation, time.perf_counter() - started, _totals(stored), embedding)


UPLOADS_MANIFEST = "manifest.json"


@dataclass(frozen=True)
class Upload:
    """An original file kept for rebuilds: stored under its content hash, its real name in the manifest."""
    path: Path
    name: str
    doc_id: str
    sha256: str
    ingested_at: str = ""


def stored_upload_name(sha256: str, name: str) -> str:
    # A real document's name is its title, often past the 255 bytes a file name may have: the hash is safe.
    suffix = Path(name).suffix.lower()
    suffix = suffix if re.fullmatch(r"\.[a-z0-9]{1,8}", suffix) else ""
    return sha256[:32] + suffix


def list_uploads(settings: Settings) -> list[Upload]:
    """The originals in uploads/: the manifest's entries, plus files an older version stored as
    ``<doc_id>__<name>``."""
    folder = settings.kb_dir / "uploads"
    if not folder.exists():
        return []
    manifest = _read_uploads_manifest(folder)
    out = []
    for stored, entry in manifest.items():
        path = folder / stored
        if path.is_file():
            out.append(Upload(path, entry.get("name", stored), entry.get("doc_id", ""),
                              entry.get("sha256", ""),
                              entry.get("ingested_at", "")))
    for path in sorted(folder.glob("*__*")):
        if path.is_file() and path.name not in manifest:
            doc_id, name = path.name.split("__", 1)
            out.append(Upload(path, name, doc_id, ""))
    return sorted(out, key=lambda u: (u.ingested_at, u.name))


def _read_uploads_manifest(folder: Path) -> dict:
    try:
        data = json.loads((folder / UPLOADS_MANIFEST).read_text(encoding="utf-8"))
        return data if isinstance(data, dict) else {}
    except FileNotFoundError:
        return {}
    except ValueError:
        logger.warning("uploads manifest unreadable; falling back to the files themselves")
        return {}


def _write_uploads_manifest(folder: Path, manifest: dict) -> None:
    tmp = folder / f".{UPLOADS_MANIFEST}.tmp"
    tmp.write_text(json.dumps(manifest, ensure_ascii=False, indent=1), encoding="utf-8")
    os.replace(tmp, folder / UPLOADS_MANIFEST)


def _keep_uploads(settings: Settings, parsed, ingested_at: dict[str, str]) -> None:
    folder = settings.kb_dir / "uploads"
    folder.mkdir(parents=True, exist_ok=True)
    manifest = _read_uploads_manifest(folder)
    for doc, data in parsed:
        stored = stored_upload_name(doc.sha256, doc.name)
        (folder / stored).write_bytes(data)
        manifest[stored] = {"name": doc.name, "doc_id": doc.doc_id, "sha256": doc.sha256,
                            "ingested_at": ingested_at.get(doc.doc_id, "")}
    _write_uploads_manifest(folder, manifest)


def _drop_uploads(settings: Settings, doc_ids: set[str]) -> None:
    folder = settings.kb_dir / "uploads"
    if not doc_ids or not folder.exists():
        return
    manifest = _read_uploads_manifest(folder)
    for stored, entry in list(manifest.items()):
        if entry.get("doc_id") in doc_ids:
            (folder / stored).unlink(missing_ok=True)
            del manifest[stored]
    _write_uploads_manifest(folder, manifest)
    for doc_id in doc_ids:
        for f in folder.glob(f"{doc_id}__*"):
            f.unlink(missing_ok=True)


def _totals(stored: StoredDocs) -> dict:
    return {
        "documents": len(stored.docs), "sections": sum(d.get("n_sections", 0) for d in stored.docs),
        "tables": len(stored.tables), "rows": sum(d.get("n_rows", 0) for d in stored.docs),
        "facts": len(stored.facts), "chunks": len(stored.chunks),
    }


def ingest_paths(settings: Settings, paths: list[Path], progress=None,
                 embed: str = "background") -> IngestReport:
    """Ingest files and folders (recursively, supported types only); unreadable paths are reported."""
    files, unreadable = [], []
    for p in paths:
        if Path(p).is_dir() and not expand_paths([p], settings.kb_dir):
            unreadable.append(FileResult(Path(p).name, False, error="文件夹中没有可导入的文件（txt、md、docx、pdf、html）"))
    for p in expand_paths(paths, settings.kb_dir):
        try:
            files.append((p.name, p.read_bytes()))
        except OSError as exc:
            reason = READ_ERRORS.get(exc.errno, exc.strerror or exc)
            unreadable.append(FileResult(p.name, False, error=f"无法读取文件：{reason}"))
    report = ingest_files(settings, files, progress, embed=embed)
    report.results[:0] = unreadable
    return report


def delete_documents(settings: Settings, doc_ids: list[str], embed: str = "background") -> str | None:
    """Remove documents (chunks, tables, facts, embeddings, uploads) and swap in the new generation (its
    vectors are the old ones minus the removed: the background embedder only re-indexes them)."""
    with writer_lock(settings.kb_dir):
        stored = _load_current(settings)
        known = {d["doc_id"] for d in stored.docs}
        missing = [d for d in doc_ids if d not in known]
        if missing:
            raise IngestError(f"unknown documents {missing}", f"知识库中没有这些文档：{'、'.join(missing)}")
        stored.remove(set(doc_ids))
        gen = write_generation(settings, stored)
        _drop_uploads(settings, set(doc_ids))
        _after_swap(settings, embed)
        return gen


def rebuild(settings: Settings, progress=None, embed: str = "background") -> IngestReport:
    """Re-parse every stored upload from scratch (after a parser upgrade, or to repair).

    The new generation is written whole before it replaces the live one, and the uploads stay, so a crash
    or a file the new parser rejects never loses the knowledge base.
    """
    uploads = list_uploads(settings)
    files = [(u.name, u.path.read_bytes()) for u in uploads]
    first_seen = {u.name: u.ingested_at for u in uploads if u.ingested_at}
    return ingest_files(settings, files, progress, replace_all=True, ingested_at=first_seen, embed=embed)
