"""``--dry-run``: every record validated locally, the invalid ones listed, nothing sent."""

from __future__ import annotations

from pathlib import Path

import pytest

from .conftest import Cli, wire, write_csv, write_jsonl


def test_dry_run_lists_invalid_lines_and_estimates_the_duration(cli: Cli, tmp_path: Path) -> None:
    source = tmp_path / "people.csv"
    write_csv(source, ["key", "a", "b"], [[f"k{i}", "x", "y"] for i in range(1, 1001)])
    with open(source, "ab") as f:
        f.write(b"k-short,1\n")  # line 1002
        f.write(b",no,key\n")  # line 1003
        f.write(b"k-latin,caf\xe9,1\n")  # line 1004
    done = cli.run(
        "upsert", str(source), "--profile-name", "p", "--dry-run", "--rate", "50",
        env=cli.env(WEBEX_CAMPAIGN_API_KEY=None),  # a dry run needs no key
    )  # fmt: skip
    assert done.returncode == 1, done.stderr
    lines = done.stdout.splitlines()
    assert lines[:3] == [
        "line 1002: expected 3 fields, got 2",
        "line 1003: key: must not be empty",
        "line 1004: not valid UTF-8: invalid continuation byte at byte 11",
    ]
    assert "1,003 records: 1,000 valid, 3 invalid" in lines
    assert "at 50 requests/s the valid records take about 20.0 s (plus retries)" in lines
    assert cli.emulator.stats()["requests"] == 0
    assert not (tmp_path / "people.csv.journal").exists()


@pytest.mark.parametrize(
    ("rate", "estimate"),
    [
        ("4", "at 4 requests/s the valid records take about 1 min 15 s (plus retries)"),
        (None, "no --rate given: the duration depends on the API's latency and throttle"),
    ],
)
def test_dry_run_all_valid_exits_0(
    cli: Cli, tmp_path: Path, rate: str | None, estimate: str
) -> None:
    write_jsonl(tmp_path / "ok.jsonl", [wire("p", f"k{i}", a="1") for i in range(300)])
    done = cli.run("upsert", "ok.jsonl", "--dry-run", *(["--rate", rate] if rate else []))
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines() == ["300 records: 300 valid, 0 invalid", estimate]
    assert cli.emulator.stats()["requests"] == 0
