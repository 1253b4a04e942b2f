#!/usr/bin/env python3
"""Edit-to-visible latency of `build.py serve`, measured in a real browser.

Starts the preview on a free port, opens a claim page in Debian's chromium
(through Playwright), then repeatedly appends a unique sentence to that
claim's file and times how long until the open page shows it, with no
reload triggered by this script. Usage:

    python bench/preview_latency.py [--config site_config.yaml] [--runs 7]
    python bench/preview_latency.py --config bench/corpus/10000/site_config.yaml
"""

from __future__ import annotations

import argparse
import json
import socket
import statistics
import subprocess
import sys
import time
from pathlib import Path

from playwright.sync_api import sync_playwright

ROOT = Path(__file__).resolve().parent.parent
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_preview(config: Path, port: int) -> subprocess.Popen:
    proc = subprocess.Popen([sys.executable, str(ROOT / "build.py"), "serve", "--config", str(config),
                             "--port", str(port)], cwd=ROOT, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True)
    deadline = time.time() + 600
    assert proc.stdout is not None
    while time.time() < deadline:
        line = proc.stdout.readline()
        if not line:
            raise SystemExit(f"preview exited: {proc.wait()}")
        if line.startswith("Serving"):
            return proc
    raise SystemExit("preview did not start")


def measure(config: Path, runs: int) -> dict:
    claims = sorted((config.parent / "content" / "claims").glob("*.md"))
    claim = claims[len(claims) // 2]
    original = claim.read_bytes()
    port = free_port()
    started = time.perf_counter()
    proc = start_preview(config, port)
    startup = time.perf_counter() - started
    latencies = []
    try:
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS)
            page = browser.new_page()
            page.goto(f"http://127.0.0.1:{port}/claims/{claim.stem}/")
            page.wait_for_timeout(300)  # let the event stream connect
            for i in range(runs):
                marker = f"Latency marker {i} {time.time_ns()}"
                text = original.decode() + f"\n\n{marker}\n"
                t0 = time.perf_counter()
                claim.write_text(text, encoding="utf-8")
                page.wait_for_function("m => document.body && document.body.innerText.includes(m)",
                                       arg=marker, polling="raf", timeout=30000)
                latencies.append(time.perf_counter() - t0)
                page.wait_for_timeout(150)
            browser.close()
    finally:
        claim.write_bytes(original)
        proc.terminate()
        proc.wait(timeout=10)
    return {"config": str(config), "claims": len(claims), "runs": runs, "startup_s": round(startup, 2),
            "latency_ms": [round(1000 * x) for x in latencies],
            "median_ms": round(1000 * statistics.median(latencies))}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--config", type=Path, default=ROOT / "site_config.yaml")
    parser.add_argument("--runs", type=int, default=7)
    args = parser.parse_args()
    result = measure(args.config.resolve(), args.runs)
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
