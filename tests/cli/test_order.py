"""A CSV that repeats keys, sent through a flaky API: each key ends with its last row."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from webex_campaign_async.emulator import EmulatorProcess, Faults

from .conftest import Cli, summary_counts, write_csv

KEYS, VERSIONS = 60, 4


@pytest.fixture(scope="module")
def flaky() -> Iterator[EmulatorProcess]:
    faults = Faults(seed=11, p500=0.1, p_drop_after=0.05, latency=0.002, jitter=0.02)
    with EmulatorProcess(faults=faults) as server:
        yield server


def test_a_csv_repeating_keys_under_faults_ends_with_each_keys_last_row(
    flaky: EmulatorProcess, cli_for: Callable[[EmulatorProcess], Cli], tmp_path: Path
) -> None:
    cli = cli_for(flaky)
    # each key's versions a dozen lines apart, as in an export with repeated rows
    rows = [
        [f"k{block + (k * 5 + v) % 12}", f"v{v}"]
        for block in range(0, KEYS, 12)
        for v in range(VERSIONS)
        for k in range(12)
    ]
    source = write_csv(tmp_path / "changes.csv", ["key", "version"], rows)
    done = cli.run(
        "upsert", str(source), "--profile-name", "p", "--concurrency", "16", "--attempts", "10",
        "--progress", "none", "--no-journal",
    )  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr
    assert summary_counts(done.stdout)["applied"] == KEYS * VERSIONS
    assert "held back for per-key order" in done.stdout
    assert flaky.profiles("p") == {f"k{k}": {"version": f"v{VERSIONS - 1}"} for k in range(KEYS)}


def _rows() -> list[list[str]]:
    return [
        [f"k{block + (k * 5 + v) % 12}", f"v{v}"]
        for block in range(0, KEYS, 12)
        for v in range(VERSIONS)
        for k in range(12)
    ]


@pytest.mark.parametrize("again", ["resume", "failures"])
def test_records_that_failed_go_again_in_input_order(
    again: str, flaky: EmulatorProcess, cli_for: Callable[[EmulatorProcess], Cli], tmp_path: Path
) -> None:
    """One attempt per record: some fail after an earlier version of their key applied, or
    before a later one did. Going on with ``--resume``, or running the failures file, sends
    each failed row again, and the later rows of its key after it: every key ends with its
    last row (the failed row alone would overwrite a newer one)."""
    cli = cli_for(flaky)
    name = f"order-{again}"
    source = write_csv(tmp_path / "changes.csv", ["key", "version"], _rows())
    common = ["--profile-name", name, "--concurrency", "16", "--progress", "none"]
    first = cli.run("upsert", str(source), *common, "--attempts", "1", "--failures", "failed.jsonl")
    assert first.returncode == 1, first.stdout + first.stderr
    assert summary_counts(first.stdout)["failed"] > 5
    assert "applied record(s) also written there" in first.stdout
    if again == "resume":
        done = cli.run("upsert", str(source), *common, "--attempts", "10", "--resume")
        assert "sent again after an earlier record of their profile" in done.stdout
    else:
        done = cli.run("upsert", "failed.jsonl", "--attempts", "10", "--progress", "none")
    assert done.returncode == 0, done.stdout + done.stderr
    assert flaky.profiles(name) == {f"k{k}": {"version": f"v{VERSIONS - 1}"} for k in range(KEYS)}
