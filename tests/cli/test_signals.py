"""SIGINT / SIGTERM: stop reading, finish what is in flight, flush journal and report, exit 3."""

from __future__ import annotations

import json
import os
import signal
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import IO

import pytest

from webex_campaign_async.emulator import EmulatorProcess, Faults

from .conftest import (
    Cli,
    journal_size,
    read_jsonl,
    sends,
    summary_counts,
    wait_for,
    wire,
    write_csv,
    write_jsonl,
)

RECORDS = 800
#: Rows the first run is given before the signal, and after it.
BEFORE, AFTER = 150, 200
#: Only a guard against a hang: the requests in flight end in 50 ms.
GRACE = 60.0


class Lines:
    """Reads a child's pipe in a thread, so a test can wait for a line while it runs."""

    def __init__(self, stream: IO[str] | None) -> None:
        assert stream is not None
        self._lines: list[str] = []
        self._thread = threading.Thread(target=self._read, args=(stream,), daemon=True)
        self._thread.start()

    def _read(self, stream: IO[str]) -> None:
        for line in stream:
            self._lines.append(line)

    def text(self, *, wait: bool = False) -> str:
        if wait:
            self._thread.join(10)
        return "".join(self._lines)


@pytest.fixture(scope="module")
def slow() -> Iterator[EmulatorProcess]:
    """An emulator answering in 50 ms: requests are in flight when a signal lands, and a
    graceful stop waits for them."""
    with EmulatorProcess(faults=Faults(latency=0.05)) as server:
        yield server


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM], ids=["SIGINT", "SIGTERM"])
def test_a_signal_stops_the_job_gracefully_and_resume_completes_it(
    slow: EmulatorProcess,
    cli_for: Callable[[EmulatorProcess], Cli],
    tmp_path: Path,
    signum: signal.Signals,
) -> None:
    slow.reset()
    cli = cli_for(slow)
    rows = [[f"S-{i:04d}", str(i)] for i in range(RECORDS)]
    source = write_csv(tmp_path / "s.csv", ["key", "n"], rows)
    keys = {line: row[0] for line, row in enumerate(rows, 2)}
    journal = tmp_path / "s.csv.journal"
    args = [
        "upsert", str(source), "--profile-name", "s", "--concurrency", "4", "--report",
        "report.json", "--failures", "failed.jsonl", "--progress", "lines",
        "--progress-interval", "0.2", "--grace", str(GRACE),
    ]  # fmt: skip

    # The first run reads the file through a pipe held open until it exits: it cannot end on
    # its own, only by the signal. It is given 150 rows before the signal and 200 after it
    # (a worker may be waiting in a read of the pipe: the signal is handled once the read
    # returns), never the last 450.
    content = source.read_bytes()
    lines = content.splitlines(keepends=True)  # the header, then a row per line
    source.unlink()
    os.mkfifo(source)
    # (opened read-write: the open waits for no reader, a write after the job ended is kept)
    pipe = os.open(source, os.O_RDWR)
    try:
        os.write(pipe, b"".join(lines[: 1 + BEFORE]))
        job = cli.start(*args)
        wait_for(lambda: journal_size(journal) >= 100, what="100 journal lines")
        job.send_signal(signum)
        os.write(pipe, b"".join(lines[1 + BEFORE : 1 + BEFORE + AFTER]))
        out, err = job.communicate(timeout=60)  # a guard against a hang, not a measurement
    finally:
        os.close(pipe)
    source.unlink()
    source.write_bytes(content)  # the same file, whole, for the resumed run
    assert job.returncode == 3, out + err
    assert f"{signum.name}: finishing the requests in flight" in err
    assert f"ABORTED: interrupted by {signum.name}" in out
    counts = summary_counts(out)
    assert 100 <= counts["applied"] <= sum(counts.values()) <= BEFORE + AFTER < RECORDS

    report = json.loads((tmp_path / "report.json").read_text())
    assert report["aborted"] is True
    assert report["abort_reason"] == f"interrupted by {signum.name}"
    assert report["counts"] == counts
    assert report["total"] == sum(counts.values())

    entries = read_jsonl(journal)
    assert len(entries) == report["total"]  # every record read has its journal line
    applied = {keys[e["line"]] for e in entries if e["status"] == "applied"}
    assert set(cli.emulator.profiles("s")) == applied  # flushed: the journal matches the server
    assert len(read_jsonl(tmp_path / "failed.jsonl")) == report["total"] - counts["applied"]

    resumed = cli.run(*args, "--resume", "--concurrency", "64")
    assert resumed.returncode == 0, resumed.stdout + resumed.stderr
    assert cli.emulator.profiles("s") == {row[0]: {"n": row[1]} for row in rows}
    sent = sends(cli.emulator)
    assert all(sent[("s", key)] == 1 for key in applied)
    assert (tmp_path / "failed.jsonl").read_text() == ""  # nothing left to re-run


@pytest.fixture(scope="module")
def stuck() -> Iterator[EmulatorProcess]:
    """An emulator that answers after an hour: a request sent stays in flight."""
    with EmulatorProcess(faults=Faults(latency=3600.0), shutdown_timeout=0.1) as server:
        yield server


@pytest.mark.parametrize(
    ("grace", "signals"), [(0.5, 1), (3600.0, 2)], ids=["grace-expires", "second-signal"]
)
def test_requests_still_in_flight_are_cancelled(
    stuck: EmulatorProcess,
    cli_for: Callable[[EmulatorProcess], Cli],
    tmp_path: Path,
    grace: float,
    signals: int,
) -> None:
    stuck.reset()
    cli = cli_for(stuck)
    write_jsonl(tmp_path / "s.jsonl", [wire("s", f"k{i}", a="1") for i in range(20)])
    job = cli.start(
        "upsert", "s.jsonl", "--concurrency", "4", "--grace", str(grace), "--report", "r.json",
        "--progress", "none",
    )  # fmt: skip
    wait_for(lambda: stuck.stats()["requests"] >= 4, what="4 requests in flight")
    stderr = Lines(job.stderr)
    job.send_signal(signal.SIGINT)
    if signals == 2:  # the second signal once the first was handled (signals do not queue)
        wait_for(lambda: "finishing the requests in flight" in stderr.text(), what="the 1st")
        job.send_signal(signal.SIGINT)
    # No answer comes, and with 2 signals the grace does not run out either: the job can end
    # only by what is tested, cancelling its requests (their records end SKIPPED)
    job.wait(timeout=60)  # a guard against a hang, not a measurement
    assert job.stdout is not None
    out, err = job.stdout.read(), stderr.text(wait=True)
    assert job.returncode == 3, out + err
    if signals == 2:
        assert "SIGINT again: cancelling the requests in flight" in err
    report = json.loads((tmp_path / "r.json").read_text())
    assert report["aborted"] is True
    assert report["counts"]["skipped"] == report["total"] == 4  # nothing more was read
    assert {e["status"] for e in read_jsonl(tmp_path / "s.jsonl.journal")} == {"skipped"}
