""".doc, .wps, .rtf, .odt → .docx with LibreOffice headless (in a temporary folder, with a timeout), then read
as Word. The original bytes stay the source of record; the converted file is thrown away."""

from __future__ import annotations

import io
import logging
import os
import shutil
import signal
import subprocess
import tempfile
from pathlib import Path

from kb.errors import IngestError, UnsupportedFile

logger = logging.getLogger(__name__)

CONVERT_TIMEOUT_S = 120
OFFICE_NAMES = {"doc": "Word 97-2003 文档（.doc）", "wps": "WPS 文字文档（.wps）", "rtf": "RTF 文档（.rtf）",
                "odt": "OpenDocument 文档（.odt）"}
INSTALL_HINT = ("需要安装 LibreOffice 才能读取{kind}：Debian/Ubuntu 上运行 "
                "sudo apt-get install libreoffice-writer-nogui（或在 Word/WPS 中另存为 .docx 后再导入）。")


def soffice_path() -> str | None:
    """The LibreOffice program, if installed."""
    for candidate in ("soffice", "libreoffice", "/usr/lib/libreoffice/program/soffice"):
        found = shutil.which(candidate)
        if found:
            return found
    return None


def ole_kind(data: bytes) -> str:
    """What an OLE compound file holds: doc, xls, ppt, encrypted, or '' when it cannot be read."""
    import olefile

    try:
        with olefile.OleFileIO(io.BytesIO(data)) as ole:
            streams = {"/".join(s) for s in ole.listdir()}
    except Exception:  # noqa: BLE001 (olefile raises OSError and others for damaged files)
        return ""
    if "WordDocument" in streams:
        return "doc"
    if "Workbook" in streams or "Book" in streams:
        return "xls"
    if "PowerPoint Document" in streams:
        return "ppt"
    if "EncryptedPackage" in streams or "EncryptionInfo" in streams:
        return "encrypted"
    return "other"


def office_to_docx(data: bytes, kind: str) -> bytes:
    """Convert with LibreOffice; raises IngestError with a Chinese message (what to install, what failed)."""
    name = OFFICE_NAMES.get(kind, kind)
    soffice = soffice_path()
    if soffice is None:
        raise IngestError("LibreOffice (soffice) not installed", INSTALL_HINT.format(kind=name))
    # A Kingsoft .wps is a Word binary document inside: LibreOffice reads it under the .doc name.
    suffix = ".doc" if kind == "wps" and data.startswith(b"\xd0\xcf\x11\xe0") else f".{kind}"
    with tempfile.TemporaryDirectory(prefix="policyqa_office_") as tmp:
        folder = Path(tmp)
        src = folder / f"input{suffix}"
        src.write_bytes(data)
        out = folder / "out"
        cmd = [soffice, "--headless", "--norestore", "--nologo", "--nodefault", "--nolockcheck",
               f"-env:UserInstallation={(folder / 'profile').as_uri()}",
               "--convert-to", "docx:MS Word 2007 XML", "--outdir", str(out), str(src)]
        env = {k: v for k, v in os.environ.items() if not k.startswith("PYTHON")}
        env["HOME"] = tmp  # LibreOffice writes into HOME; keep it inside the temporary folder
        try:
            proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env,
                                    start_new_session=True)
            try:
                _, err = proc.communicate(timeout=CONVERT_TIMEOUT_S)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.communicate()
                raise UnsupportedFile(f"soffice timed out after {CONVERT_TIMEOUT_S}s",
                                      f"{name}转换超时（超过 {CONVERT_TIMEOUT_S} 秒），文件可能已损坏或过大。")
        except OSError as exc:
            raise IngestError(f"soffice failed to start: {exc}", f"无法启动 LibreOffice：{exc}") from exc
        converted = out / "input.docx"
        if not converted.exists() or converted.stat().st_size == 0:
            logger.warning("soffice could not convert a %s file: %s", kind,
                           err.decode(errors="replace")[-300:])
            raise UnsupportedFile(f"soffice produced no docx for {kind}",
                                  f"{name}已损坏或无法识别，LibreOffice 未能转换。")
        return converted.read_bytes()


def office_to_text(data: bytes, kind: str) -> str:
    from ingest.loaders import docx_to_text

    return docx_to_text(office_to_docx(data, kind))
