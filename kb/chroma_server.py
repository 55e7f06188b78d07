"""A local Chroma server (`chroma run`) on a free port, for the benchmarks and tests that compare the embedded
folder with a server: started in its own session, waited for until its heartbeat answers, always stopped.

    with chroma_server(Path("/tmp/chroma")) as server:
        settings = load_settings(chroma_host=server.host, chroma_port=server.port)
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path

SERVER_START_TIMEOUT_S = 90


@dataclass
class ChromaServer:
    host: str
    port: int
    pid: int
    log: Path

    def memory_mb(self) -> dict:
        """Current and peak resident memory of the server process (the peak covers its whole life)."""
        try:
            status = Path(f"/proc/{self.pid}/status").read_text()
        except OSError:
            return {}
        values = dict(line.split(":", 1) for line in status.splitlines() if ":" in line)
        names = {"server_rss_mb": "VmRSS", "server_peak_rss_mb": "VmHWM"}
        return {key: round(int(values[name].split()[0]) / 1024, 1)
                for key, name in names.items() if name in values}


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _chroma_command() -> str:
    local = Path(sys.executable).parent / "chroma"
    found = str(local) if local.exists() else shutil.which("chroma")
    if not found:
        raise SystemExit("找不到 chroma 命令：请在虚拟环境中安装 chromadb（pip install chromadb）。")
    return found


@contextlib.contextmanager
def chroma_server(folder: Path):
    """Start `chroma run` on a free port in `folder`, wait for its heartbeat; always stop it afterwards."""
    port = _free_port()
    log = folder / "chroma-server.log"
    folder.mkdir(parents=True, exist_ok=True)
    env = dict(os.environ, ANONYMIZED_TELEMETRY="False")
    command = [_chroma_command(), "run", "--path", str(folder / "data"), "--port", str(port)]
    with open(log, "wb") as log_fh:
        proc = subprocess.Popen(command, stdout=log_fh, stderr=subprocess.STDOUT, env=env,
                                start_new_session=True)
    try:
        _wait_for_heartbeat(proc, port, log)
        yield ChromaServer("127.0.0.1", port, proc.pid, log)
    finally:
        _stop(proc)


def _wait_for_heartbeat(proc: subprocess.Popen, port: int, log: Path) -> None:
    url = f"http://127.0.0.1:{port}/api/v2/heartbeat"
    deadline = time.monotonic() + SERVER_START_TIMEOUT_S
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            tail = log.read_text(errors="replace")[-500:]
            raise RuntimeError(f"chroma server exited ({proc.returncode}): {tail}")
        with contextlib.suppress(OSError):
            with urllib.request.urlopen(url, timeout=2) as resp:
                if resp.status == 200:
                    return
        time.sleep(0.3)
    raise RuntimeError(f"chroma server gave no heartbeat on port {port} within {SERVER_START_TIMEOUT_S}s")


def _stop(proc: subprocess.Popen) -> None:
    if proc.poll() is not None:
        return
    # Its own session (start_new_session): the group holds only what this server started.
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, signal.SIGTERM)
    try:
        proc.wait(timeout=15)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=15)
