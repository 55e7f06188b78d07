"""Saved conversations: one SQLite file in the data folder, answers stored as JSON (nothing pickled).

    store = ConversationStore.for_settings(settings)
    cid = store.create()
    store.add_turn(cid, "乌海市二氧化硫目标是多少", answer)
    [t.question for t in store.turns(cid)]

The app and the HTTP API share it. Follow-up context is not stored: it is rebuilt by asking the stored
questions again (answers are deterministic and take milliseconds), while the stored answers are shown.
"""

from __future__ import annotations

import contextlib
import json
import logging
import sqlite3
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

from kb.errors import StoreError
from kb.records import Answer, Citation, Figure

logger = logging.getLogger(__name__)
FILE_NAME = "conversations.sqlite3"
TITLE_CHARS = 30
SCHEMA = """
CREATE TABLE IF NOT EXISTS conversations (
    id TEXT PRIMARY KEY, title TEXT NOT NULL DEFAULT '', origin TEXT NOT NULL DEFAULT 'app',
    doc_ids TEXT NOT NULL DEFAULT '[]', created REAL NOT NULL, updated REAL NOT NULL);
CREATE TABLE IF NOT EXISTS turns (
    conversation_id TEXT NOT NULL REFERENCES conversations(id) ON DELETE CASCADE, position INTEGER NOT NULL,
    question TEXT NOT NULL, answer TEXT NOT NULL, mode TEXT NOT NULL DEFAULT '', created REAL NOT NULL,
    PRIMARY KEY (conversation_id, position));
"""


@dataclass(frozen=True)
class StoredTurn:
    position: int
    question: str
    answer: Answer
    mode: str = ""
    created: float = 0.0


@dataclass(frozen=True)
class ConversationInfo:
    id: str
    title: str
    origin: str
    doc_ids: tuple[str, ...]
    created: float
    updated: float
    turns: int

    def to_dict(self) -> dict:
        return {"id": self.id, "title": self.title, "origin": self.origin, "doc_ids": list(self.doc_ids),
                "created": _iso(self.created), "updated": _iso(self.updated), "turns": self.turns}


def _iso(t: float) -> str:
    return time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(t))


# ---------- answers as JSON ----------

def citation_from_dict(d: dict) -> Citation:
    return Citation(str(d.get("doc", "")), str(d.get("section_path", "")), str(d.get("quote", "")),
                    str(d.get("chunk_id", "")), str(d.get("doc_id", "")), str(d.get("table", "")))


def figure_from_dict(d: dict) -> Figure:
    cite = d.get("citation")
    return Figure(str(d.get("label", "")), float(d.get("value") or 0.0), str(d.get("unit", "")),
                  str(d.get("formula", "")), tuple(figure_from_dict(i) for i in d.get("inputs") or ()),
                  citation_from_dict(cite) if isinstance(cite, dict) else None, str(d.get("flag", "")))


def answer_from_dict(d: dict) -> Answer:
    """The inverse of Answer.to_dict(); unknown keys are ignored and missing ones take their defaults, so
    answers stored by an older or newer version still load."""
    plan = d.get("plan")
    return Answer(
        text=str(d.get("text", "")),
        citations=tuple(citation_from_dict(c) for c in d.get("citations") or () if isinstance(c, dict)),
        figures=tuple(figure_from_dict(f) for f in d.get("figures") or () if isinstance(f, dict)),
        refused=bool(d.get("refused", False)),
        trace=tuple(str(t) for t in d.get("trace") or ()),
        intent=str(d.get("intent", "")),
        chart=d.get("chart") if isinstance(d.get("chart"), dict) else None,
        suggestions=tuple(str(s) for s in d.get("suggestions") or ()),
        understood=str(d.get("understood", "") or ""),
        plan=plan if isinstance(plan, dict) else None,
    )


def title_for(question: str) -> str:
    text = " ".join(str(question).split())
    return text if len(text) <= TITLE_CHARS else text[:TITLE_CHARS] + "…"


# ---------- the store ----------

class ConversationStore:
    """Conversations and their turns; every call opens its own connection, so threads never share one."""

    def __init__(self, path: Path):
        self.path = Path(path)
        self._ready = False

    @classmethod
    def for_settings(cls, settings) -> ConversationStore:
        return cls(Path(settings.data_dir) / FILE_NAME)

    @contextlib.contextmanager
    def _connect(self):
        try:
            if not self._ready:
                self.path.parent.mkdir(parents=True, exist_ok=True)
            conn = sqlite3.connect(self.path, timeout=10)
        except (OSError, sqlite3.Error) as exc:
            raise _store_error(self.path, exc) from exc
        try:
            conn.execute("PRAGMA foreign_keys = ON")
            if not self._ready:
                conn.execute("PRAGMA journal_mode = WAL")
                conn.executescript(SCHEMA)
                self._ready = True
            with conn:  # one transaction: committed on success, rolled back on error
                yield conn
        except sqlite3.Error as exc:
            raise _store_error(self.path, exc) from exc
        finally:
            conn.close()

    def create(self, title: str = "", origin: str = "app", doc_ids=(), cid: str | None = None) -> str:
        cid = cid or uuid.uuid4().hex[:16]
        now = time.time()
        with self._connect() as conn:
            conn.execute("INSERT INTO conversations (id, title, origin, doc_ids, created, updated) "
                         "VALUES (?, ?, ?, ?, ?, ?)",
                         (cid, title, origin, json.dumps(sorted(doc_ids)), now, now))
        return cid

    def ensure(self, cid: str, origin: str = "api") -> None:
        """Create the conversation unless it exists (API clients choose their own ids)."""
        now = time.time()
        with self._connect() as conn:
            conn.execute("INSERT OR IGNORE INTO conversations (id, origin, created, updated) "
                         "VALUES (?, ?, ?, ?)", (cid, origin, now, now))

    def add_turn(self, cid: str, question: str, answer: Answer, mode: str = "") -> int:
        """Append a turn (creating the conversation if needed); the first question becomes the title."""
        now = time.time()
        payload = json.dumps(answer.to_dict(), ensure_ascii=False)
        with self._connect() as conn:
            conn.execute("INSERT OR IGNORE INTO conversations (id, created, updated) VALUES (?, ?, ?)",
                         (cid, now, now))
            position = conn.execute("SELECT COALESCE(MAX(position) + 1, 0) FROM turns "
                                    "WHERE conversation_id = ?", (cid,)).fetchone()[0]
            conn.execute("INSERT INTO turns VALUES (?, ?, ?, ?, ?, ?)",
                         (cid, position, question, payload, mode, now))
            conn.execute("UPDATE conversations SET updated = ?, "
                         "title = CASE WHEN title = '' THEN ? ELSE title END WHERE id = ?",
                         (now, title_for(question), cid))
        return position

    def turns(self, cid: str) -> list[StoredTurn]:
        with self._connect() as conn:
            rows = conn.execute("SELECT position, question, answer, mode, created FROM turns "
                                "WHERE conversation_id = ? ORDER BY position", (cid,)).fetchall()
        out = []
        for position, question, payload, mode, created in rows:
            try:
                answer = answer_from_dict(json.loads(payload))
            except (ValueError, TypeError) as exc:  # one damaged row must not hide the whole conversation
                logger.warning("conversation %s turn %s unreadable: %s", cid, position, exc)
                answer = Answer("（这条回答的记录已损坏，无法显示。）", refused=True, intent="error")
            out.append(StoredTurn(position, question, answer, mode, created))
        return out

    def conversations(self, limit: int = 200, origin: str | None = None) -> list[ConversationInfo]:
        """Newest first, with their number of turns."""
        where, args = ("WHERE c.origin = ?", (origin,)) if origin else ("", ())
        with self._connect() as conn:
            rows = conn.execute(
                "SELECT c.id, c.title, c.origin, c.doc_ids, c.created, c.updated, COUNT(t.position) "
                f"FROM conversations c LEFT JOIN turns t ON t.conversation_id = c.id {where} "
                "GROUP BY c.id ORDER BY c.updated DESC LIMIT ?", (*args, limit)).fetchall()
        return [_info(r) for r in rows]

    def get(self, cid: str) -> ConversationInfo | None:
        with self._connect() as conn:
            row = conn.execute(
                "SELECT c.id, c.title, c.origin, c.doc_ids, c.created, c.updated, COUNT(t.position) "
                "FROM conversations c LEFT JOIN turns t ON t.conversation_id = c.id "
                "WHERE c.id = ? GROUP BY c.id", (cid,)).fetchone()
        return _info(row) if row else None

    def rename(self, cid: str, title: str) -> None:
        with self._connect() as conn:
            conn.execute("UPDATE conversations SET title = ? WHERE id = ?", (title.strip()[:100], cid))

    def set_scope(self, cid: str, doc_ids) -> None:
        with self._connect() as conn:
            conn.execute("UPDATE conversations SET doc_ids = ? WHERE id = ?",
                         (json.dumps(sorted(doc_ids)), cid))

    def clear(self, cid: str) -> None:
        """Drop a conversation's turns, keeping the conversation."""
        with self._connect() as conn:
            conn.execute("DELETE FROM turns WHERE conversation_id = ?", (cid,))

    def delete(self, cid: str) -> bool:
        with self._connect() as conn:
            conn.execute("DELETE FROM turns WHERE conversation_id = ?", (cid,))
            return conn.execute("DELETE FROM conversations WHERE id = ?", (cid,)).rowcount > 0


def _info(row) -> ConversationInfo:
    cid, title, origin, doc_ids, created, updated, n = row
    try:
        scope = tuple(json.loads(doc_ids or "[]"))
    except ValueError:
        scope = ()
    return ConversationInfo(cid, title or "未命名对话", origin, scope, created, updated, n)


def _store_error(path: Path, exc: Exception) -> StoreError:
    return StoreError(f"conversation store {path}: {exc}",
                      "无法读写对话记录（数据文件夹不可写、磁盘已满或记录文件已损坏）；问答照常进行，但对话不会被保存。")


__all__ = ["ConversationInfo", "ConversationStore", "StoredTurn", "answer_from_dict", "title_for"]
