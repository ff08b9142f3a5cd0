"""``webex-campaign demo`` and ``webex-campaign emulator`` through the console script."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import urllib.request
from pathlib import Path

from .conftest import console_script, read_jsonl, summary_counts


def test_demo_runs_end_to_end(tmp_path: Path) -> None:
    done = subprocess.run(  # noqa: S603 - our own console script
        [*console_script(), "demo", "--records", "300", "--rate", "1000", "--progress", "none",
         "--dir", str(tmp_path)],
        capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert done.returncode == 1, done.stdout + done.stderr  # the sample's invalid lines
    assert "demo: 300 customer profiles (5 deliberately invalid)" in done.stderr
    counts = summary_counts(done.stdout)
    assert counts["invalid"] == 5
    assert counts["rejected"] == counts["failed"] == 0  # its injected faults are all transient
    assert sum(counts.values()) == 300
    assert "the emulator holds" in done.stdout
    report = json.loads((tmp_path / "report.json").read_text())
    assert report["total"] == 300
    assert report["counts"] == counts
    failures = read_jsonl(tmp_path / "failures.jsonl")
    assert sum(line["_result"]["status"] == "invalid" for line in failures) == 5
    assert (tmp_path / "customers.csv").exists()


def test_emulator_is_served_by_the_console_script() -> None:
    server = subprocess.Popen(  # noqa: S603 - our own console script
        [*console_script(), "emulator", "--port", "0", "--quiet", "--rate", "50"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert server.stdout is not None
        info = json.loads(server.stdout.readline())
        assert info["base_url"].startswith("http://127.0.0.1:")
        assert info["api_key"]
        opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
        with opener.open(info["base_url"] + "/_emulator/stats", timeout=10) as response:
            assert json.loads(response.read())["requests"] == 0
    finally:
        server.send_signal(signal.SIGINT)
        server.communicate(timeout=10)
    assert server.returncode == 0


def test_python_dash_m_runs_the_same_command(tmp_path: Path) -> None:
    (tmp_path / "in.jsonl").write_text('{"profile-name": "p", "key": "k"}\n')
    done = subprocess.run(
        [sys.executable, "-m", "webex_campaign_async", "upsert", "in.jsonl", "--dry-run"],
        cwd=tmp_path, capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert done.returncode == 1
    assert done.stdout.splitlines()[0] == "line 1: attributes: is required"
