"""The knowledge-base folder's shared pieces: the CURRENT pointer, locks, atomic writes, the Chroma client,
and the Chinese message for a write the operating system refused. kb.store (generations) and kb.dense (their
vectors) both build on these.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import hashlib
import os
import uuid
from pathlib import Path

from kb.errors import StoreError
from kb.settings import Settings

EMBED_LOCK = ".embed.lock"  # one background embedder per knowledge base
GEN_LOCK = ".dense.lock"  # held while a generation's vectors are written, so pruning waits


def fsync_dir(path: Path) -> None:
    with contextlib.suppress(OSError):
        fd = os.open(path, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def write_atomic(path: Path, data: str) -> None:
    tmp = path.with_name(path.name + f".tmp-{uuid.uuid4().hex[:6]}")
    with open(tmp, "w", encoding="utf-8") as fh:
        fh.write(data)
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, path)
    fsync_dir(path.parent)


def sha_file(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


OS_REASONS = {
    errno.ENOTDIR: "路径中有同名文件，不是文件夹", errno.EEXIST: "路径已被文件占用", errno.EACCES: "没有写权限",
    errno.EPERM: "没有写权限", errno.EROFS: "只读文件系统", errno.ENOSPC: "磁盘空间不足",
    errno.EFBIG: "文件超过大小限制", errno.EDQUOT: "超出磁盘配额", errno.ENOENT: "路径不存在",
}


def unwritable(path: Path, exc: OSError) -> StoreError:
    # numpy's short write on a full disk is an OSError with no errno: it is still a full disk to the user.
    reason = OS_REASONS.get(exc.errno, exc.strerror or "写入未完成，可能是磁盘已满")
    return StoreError(f"cannot write {path}: {exc}",
                      f"无法写入知识库目录 {path}（{reason}），知识库保持原样；请检查路径、磁盘空间和写权限。")


@contextlib.contextmanager
def writer_lock(kb_dir: Path):
    """One writer at a time per knowledge base (readers never wait)."""
    try:
        kb_dir.mkdir(parents=True, exist_ok=True)
        fh = open(kb_dir / ".lock", "w")
    except OSError as exc:
        raise unwritable(kb_dir, exc) from exc
    with fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


@contextlib.contextmanager
def try_lock(path: Path, blocking: bool = False):
    """An exclusive flock on `path`; yields False (holding nothing) when it is taken and not `blocking`,
    or when the file cannot be opened (a folder being removed)."""
    try:
        fh = open(path, "a")
    except OSError:
        yield False
        return
    with fh:
        try:
            fcntl.flock(fh, fcntl.LOCK_EX | (0 if blocking else fcntl.LOCK_NB))
        except OSError:
            yield False
            return
        try:
            yield True
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


def current_generation(kb_dir: Path) -> str | None:
    try:
        name = (kb_dir / "CURRENT").read_text(encoding="utf-8").strip()
    except FileNotFoundError:
        return None
    return name or None


def chroma_client(settings: Settings, gen_dir: Path):
    import chromadb
    from chromadb.config import Settings as ChromaSettings

    chroma_settings = ChromaSettings(anonymized_telemetry=False, allow_reset=False)
    if settings.chroma_host:
        return chromadb.HttpClient(host=settings.chroma_host, port=settings.chroma_port,
                                   settings=chroma_settings)
    return chromadb.PersistentClient(path=str(gen_dir / "chroma"), settings=chroma_settings)


def collection_name(settings: Settings, gen: str) -> str:
    # One collection per generation on a server (so swapping is atomic there too); "chunks" in a folder.
    return f"policyqa_{gen}" if settings.chroma_host else "chunks"
