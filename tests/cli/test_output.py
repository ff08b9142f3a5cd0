"""What a job shows and writes: the summary, progress on stderr, the report; never the key."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from .conftest import FORBIDDEN_KEY, LINKED_LIST, Cli, summary_counts, wire, write_jsonl

PROGRESS = re.compile(
    r"^\d\d:\d\d:\d\d  (\d+)/300 \(\d+%\)  [\d,.]+ records/s  (applied \d+"
    r"(?:  (?:not applied|rejected|invalid|failed|skipped) \d+)*)  throttle [\d,]+/s"
    r"(  eta [\d,]+ s)?$"
)


def _job(tmp_path: Path) -> None:
    records: list[object] = [wire("p", f"k{i}", a=str(i)) for i in range(296)]
    records += ["{oops", wire("p", "", a="x")]  # lines 297, 298: invalid
    records += [wire(LINKED_LIST, "r1", a="1") | {"update-link": "3"}]  # 299: rejected
    records += [wire("p", "k0", a="0") | {"upsert": "0"}]  # 300: create-only, exists: not applied
    write_jsonl(tmp_path / "in.jsonl", records)


def test_summary_progress_lines_and_report(cli: Cli, tmp_path: Path) -> None:
    _job(tmp_path)
    done = cli.run(
        "upsert", "in.jsonl", "--rate", "400", "--concurrency", "1", "--report", "report.json",
        "--failures", "failed.jsonl", "--progress", "lines", "--progress-interval", "0.2",
    )  # fmt: skip
    assert done.returncode == 1, done.stdout + done.stderr

    # the summary table, on stdout
    assert re.match(r"Bulk upsert: 300 records in [\d.]+ m?s \([\d,.]+ records/s\), completed\n",
                    done.stdout)  # fmt: skip
    counts = {"applied": 296, "not_applied": 1, "rejected": 1, "invalid": 2, "failed": 0,
              "skipped": 0}  # fmt: skip
    assert summary_counts(done.stdout) == counts
    assert "  API codes: 1010 x1\n" in done.stdout
    assert "    line 297: invalid: not valid JSON: " in done.stdout
    assert "    line 299: rejected: " in done.stdout
    assert "  3 record(s) to re-run written to failed.jsonl\n" in done.stdout
    assert "  journal: in.jsonl.journal (re-run with --resume to continue)\n" in done.stdout

    # progress lines, on stderr only: every 0.2 s, then one at the end
    progress = [PROGRESS.match(line) for line in done.stderr.splitlines()]
    assert all(progress), done.stderr
    assert len(progress) >= 2
    last = progress[-1]
    assert last is not None
    # the report's words, each with its one meaning: "not applied" is the update-count 0
    assert last.groups()[:2] == ("300", "applied 296  not applied 1  rejected 1  invalid 2")
    assert not any(PROGRESS.match(line) for line in done.stdout.splitlines())

    # the report
    report = json.loads((tmp_path / "report.json").read_text())
    assert report["total"] == 300
    assert report["counts"] == counts
    assert report["aborted"] is False
    assert report["abort_reason"] is None
    assert report["input"] == "in.jsonl"
    assert report["resumed"] == 0
    # 296 + 1 sent once, the 1010 three times (RetryPolicy.unprocessed_attempts)
    assert report["requests"] == 300
    assert report["codes"] == {"1010": 1}
    assert {f["status"] for f in report["failures"]} == {"invalid", "rejected"}


def test_progress_bar_on_request(cli: Cli, tmp_path: Path) -> None:
    pytest.importorskip("tqdm", reason="the bar comes with the cli extra")
    write_jsonl(tmp_path / "in.jsonl", [wire("p", f"k{i}", a="1") for i in range(50)])
    done = cli.run("upsert", "in.jsonl", "--progress", "bar")
    assert done.returncode == 0, done.stdout + done.stderr
    assert "50/50" in done.stderr
    assert "applied 50  throttle" in done.stderr


def test_the_api_key_is_never_shown_or_written(cli: Cli, tmp_path: Path) -> None:
    _job(tmp_path)
    outputs = ""
    for key in (cli.emulator.api_key, FORBIDDEN_KEY):
        done = cli.run(
            "upsert", "in.jsonl", "--report", "report.json", "--failures", "failed.jsonl",
            "--progress", "lines", "--progress-interval", "0.01", "--verbose",
            env=cli.env(WEBEX_CAMPAIGN_API_KEY=key),
        )  # fmt: skip
        assert done.returncode == (1 if key == cli.emulator.api_key else 3)
        written = [(tmp_path / name).read_text() for name in ("report.json", "failed.jsonl")]
        everything = "\n".join([done.stdout, done.stderr, *written])
        everything += (tmp_path / "in.jsonl.journal").read_text()
        assert key not in everything
        outputs += everything
    assert "ABORTED: permission denied" in outputs  # the forbidden key did run


def test_the_last_progress_line_counts_records_not_lines(cli: Cli, tmp_path: Path) -> None:
    (tmp_path / "in.csv").write_bytes(b'key,a\nk1,1\n\nk2,"x\ny"\nk3,3')  # 6 lines, 3 records
    done = cli.run("upsert", "in.csv", "--profile-name", "p", "--progress", "lines")
    assert done.returncode == 0, done.stdout + done.stderr
    assert "  3/3 (100%)  " in done.stderr.splitlines()[-1]
    assert cli.emulator.profiles("p") == {"k1": {"a": "1"}, "k2": {"a": "x\ny"}, "k3": {"a": "3"}}
