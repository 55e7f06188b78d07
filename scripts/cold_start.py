"""Cold start of the app: seconds from `streamlit run app.py` to the first answer on the page.

    .venv/bin/python scripts/cold_start.py [--data data] [--runs 3]

The knowledge base in --data must exist (`make kb`). Chromium is launched before the clock starts, so the
figure is the app's own: server start, page load, warm-up and the first answer.
"""

from __future__ import annotations

import argparse
import os
import socket
import statistics
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update", "--no-first-run"]


def _port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _healthy(url: str) -> bool:
    try:
        with urllib.request.urlopen(url + "/_stcore/health", timeout=1) as r:
            return r.status == 200
    except OSError:
        return False


def one_run(browser, data: Path, question: str, expect: str) -> dict:
    port = _port()
    url = f"http://127.0.0.1:{port}"
    env = {**os.environ, "POLICYQA_DATA_DIR": str(data)}
    t0 = time.perf_counter()
    proc = subprocess.Popen([sys.executable, "-m", "streamlit", "run", "app.py", "--server.port", str(port),
                             "--server.address", "127.0.0.1", "--server.headless", "true",
                             "--browser.gatherUsageStats", "false"], cwd=ROOT, env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        while not _healthy(url):
            time.sleep(0.05)
        server = time.perf_counter() - t0
        page = browser.new_page()
        page.set_default_timeout(60_000)
        page.goto(url)
        box = page.get_by_placeholder("请输入关于规划的问题", exact=False)
        box.wait_for()
        chat = time.perf_counter() - t0
        box.fill(question)
        box.press("Enter")
        page.locator('[data-testid="stChatMessage"]').nth(1).get_by_text(expect, exact=False).first.wait_for()
        answer = time.perf_counter() - t0
        page.close()
        return {"server_s": round(server, 2), "chat_box_s": round(chat, 2), "first_answer_s": round(answer, 2)}
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def main() -> int:
    parser = argparse.ArgumentParser(description="测量应用冷启动：从 streamlit run 到页面上出现第一个回答的秒数。")
    parser.add_argument("--data", type=Path, default=ROOT / "data")
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path="/usr/bin/chromium", args=ARGS)
        runs = [one_run(browser, args.data.resolve(), "乌海市二氧化硫目标是多少", "8.5%") for _ in range(args.runs)]
        browser.close()
    for r in runs:
        print(r)
    print({k: statistics.median(r[k] for r in runs) for k in runs[0]}, "(median)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
