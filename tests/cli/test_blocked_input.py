"""A pipe whose writer sends nothing yet: a signal or a deadline still ends the job at once.

The pipe is read in a thread of its own; before, a read that waited for the writer held
the event loop, and with it the signal handlers, the deadline and the progress line.
"""

from __future__ import annotations

import json
import os
import signal
from pathlib import Path

import pytest

from .conftest import Cli, summary_counts, wait_for, wire

#: Only a guard against a hang: a job that ignored the signal or deadline would wait for
#: the writer, who never writes.
HANG_GUARD = 30.0


def _fifo(tmp_path: Path) -> Path:
    path = tmp_path / "feed.jsonl"
    os.mkfifo(path)
    return path


@pytest.mark.parametrize("lines", [0, 3], ids=["nothing-yet", "three-then-nothing"])
def test_a_signal_ends_a_job_waiting_on_a_silent_pipe(cli: Cli, tmp_path: Path, lines: int) -> None:
    feed = _fifo(tmp_path)
    job = cli.start("upsert", str(feed), "--progress", "none", "--no-journal")
    with feed.open("w") as writer:  # returns once the job opened the pipe: it is running
        for i in range(lines):
            writer.write(json.dumps(wire("pipe", f"k{i}", a="1")) + "\n")
        writer.flush()
        wait_for(lambda: cli.emulator.stats()["applied"] == lines, what=f"{lines} applied")
        job.send_signal(signal.SIGINT)
        out, err = job.communicate(timeout=HANG_GUARD)  # the writer still holds the pipe open
    assert job.returncode == 3, out + err
    assert "interrupted by SIGINT" in out
    assert summary_counts(out)["applied"] == lines


def test_a_deadline_ends_a_job_waiting_on_a_silent_pipe(cli: Cli, tmp_path: Path) -> None:
    feed = _fifo(tmp_path)
    job = cli.start("upsert", str(feed), "--progress", "none", "--no-journal", "--deadline", "0.5")
    with feed.open("w") as writer:
        writer.write(json.dumps(wire("pipe", "k0", a="1")) + "\n")
        writer.flush()
        out, err = job.communicate(timeout=HANG_GUARD)
    assert job.returncode == 3, out + err
    assert "deadline of 0.5 s passed" in out
    counts = summary_counts(out)
    assert counts["applied"] + counts["failed"] + counts["skipped"] == 1  # read, and ended
