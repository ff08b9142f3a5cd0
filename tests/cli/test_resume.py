"""Journal and ``--resume``: a job killed halfway ends as if it had never been interrupted."""

from __future__ import annotations

import os
import signal
from pathlib import Path

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

RECORDS = 1000


def _job(tmp_path: Path) -> tuple[Path, dict[int, str], dict[str, dict[str, str]]]:
    """A CSV of RECORDS profiles: the file, its key per line, the profiles it describes."""
    rows = [[f"P-{i:05d}", f"name {i}", str(i % 90)] for i in range(RECORDS)]
    source = write_csv(tmp_path / "people.csv", ["key", "name", "age"], rows)
    keys = {line: row[0] for line, row in enumerate(rows, 2)}
    expected = {row[0]: {"name": row[1], "age": row[2]} for row in rows}
    return source, keys, expected


def test_sigkill_halfway_then_resume(cli: Cli, tmp_path: Path) -> None:
    source, keys, expected = _job(tmp_path)
    journal = tmp_path / "people.csv.journal"
    args = ["upsert", str(source), "--profile-name", "people", "--rate", "500", "--progress",
            "none"]  # fmt: skip

    # The first run reads the same file through a pipe that stops at line 400: it cannot
    # finish whatever the machine's speed, so the kill always lands halfway.
    _kill_halfway(cli, args, source, journal, lines=400, journaled=250)

    entries = read_jsonl(journal)
    ended = {entry["line"] for entry in entries if entry["ended"]}
    assert 250 <= len(ended) < 400  # killed halfway
    assert {entry["status"] for entry in entries} == {"applied"}

    second = cli.run(*args, "--resume")
    assert second.returncode == 0, second.stdout + second.stderr
    assert f"already ended in the journal (not sent again): {len(ended):,}" in second.stdout
    counts = summary_counts(second.stdout)
    assert counts["applied"] == RECORDS - len(ended)

    # (a) the server holds what an uninterrupted run leaves
    assert cli.emulator.profiles("people") == expected
    # (b) no record the first run's journal had ended was sent again
    sent = sends(cli.emulator)
    assert {keys[line]: sent[("people", keys[line])] for line in ended} == {
        keys[line]: 1 for line in ended
    }
    # the rest was sent once more at most (a request in flight when the first run died)
    assert set(sent) == {("people", key) for key in expected}
    assert max(sent.values()) <= 2
    # the journal now ends every record
    assert {e["line"] for e in read_jsonl(journal) if e["ended"]} == set(keys)

    # (c) resuming a finished job sends nothing and exits 0
    third = cli.run(*args, "--resume")
    assert third.returncode == 0, third.stdout + third.stderr
    assert summary_counts(third.stdout)["applied"] == 0
    assert sends(cli.emulator) == sent


def test_resume_skips_changed_lines_not_and_a_new_run_starts_a_new_journal(
    cli: Cli, tmp_path: Path
) -> None:
    source = write_csv(tmp_path / "p.csv", ["key", "a"], [["k1", "1"], ["k2", "2"], ["", "3"]])
    journal = tmp_path / "p.csv.journal"
    args = ["upsert", str(source), "--profile-name", "p", "--progress", "none"]
    assert cli.run(*args).returncode == 1  # line 4 is invalid
    assert [e["status"] for e in read_jsonl(journal)].count("applied") == 2

    write_csv(source, ["key", "a"], [["k1", "1"], ["k2", "changed"], ["", "3"]])
    with open(journal, "ab") as f:
        f.write(b'{"line": 2, "hash": "0123')  # a torn last line, as a crash may leave it
    resumed = cli.run(*args, "--resume")
    assert resumed.returncode == 1  # the invalid line ended as invalid in the journal
    assert "resuming: 1 unreadable journal line(s) ignored" in resumed.stderr
    assert "already ended in the journal (not sent again): 2" in resumed.stdout
    assert cli.emulator.profiles("p") == {"k1": {"a": "1"}, "k2": {"a": "changed"}}
    assert sends(cli.emulator) == {("p", "k1"): 1, ("p", "k2"): 2}
    # the entry after the torn line is readable: a second resume sends nothing
    assert cli.run(*args, "--resume").returncode == 1
    assert sends(cli.emulator) == {("p", "k1"): 1, ("p", "k2"): 2}

    fresh = cli.run(*args)  # no --resume: every record again, and a journal of this run only
    assert fresh.returncode == 1
    assert sends(cli.emulator) == {("p", "k1"): 2, ("p", "k2"): 3}
    assert sorted(e["line"] for e in read_jsonl(journal)) == [2, 3, 4]


def test_resume_without_a_journal_yet_runs_the_whole_job(cli: Cli, tmp_path: Path) -> None:
    source = write_csv(tmp_path / "p.csv", ["key", "a"], [[f"k{i}", "x"] for i in range(50)])
    done = cli.run("upsert", str(source), "--profile-name", "p", "--progress", "none", "--resume")
    assert done.returncode == 0, done.stdout + done.stderr
    assert "already ended" not in done.stdout
    assert len(cli.emulator.profiles("p")) == 50


def test_sigkill_then_resume_keeps_the_failures_of_the_first_run(cli: Cli, tmp_path: Path) -> None:
    records: list[object] = [wire("p", f"k{i:03d}", a="1") for i in range(600)]
    records[2] = "{oops"  # line 3
    records[5] = wire("p", "", a="1")  # line 6
    source = write_jsonl(tmp_path / "in.jsonl", records)
    journal = tmp_path / "in.jsonl.journal"
    args = ["upsert", "in.jsonl", "--failures", "failed.jsonl", "--progress", "none"]

    # As in the first test: the first run reads the file through a pipe that stops at line
    # 300, so the kill lands halfway, after the invalid lines 3 and 6 ended.
    _kill_halfway(cli, args, source, journal, lines=300, journaled=100)

    ended = {entry["line"]: entry["status"] for entry in read_jsonl(journal) if entry["ended"]}
    assert 100 <= len(ended) < 300  # killed halfway
    assert ended[3] == ended[6] == "invalid"
    written = read_jsonl(tmp_path / "failed.jsonl")  # by the killed run
    assert sorted((line["_line"], line["_result"]["status"]) for line in written) == [
        (3, "invalid"),
        (6, "invalid"),
    ]

    second = cli.run(*args, "--resume")
    assert second.returncode == 1, second.stdout + second.stderr
    assert f"already ended in the journal (not sent again): {len(ended):,}" in second.stdout
    assert len(cli.emulator.profiles("p")) == 598
    failed = read_jsonl(tmp_path / "failed.jsonl")
    assert [(line["_line"], line["_result"]["status"]) for line in failed] == [
        (3, "invalid"),
        (6, "invalid"),
    ]


def _kill_halfway(
    cli: Cli, args: list[str], source: Path, journal: Path, *, lines: int, journaled: int
) -> None:
    """Run ``args`` on ``source`` given through a pipe that stops after ``lines`` lines, and
    SIGKILL it once the journal has ``journaled`` lines: the kill lands halfway by
    construction, whatever the machine's speed. ``source`` is left whole for a resume."""
    content = source.read_bytes()
    source.unlink()
    os.mkfifo(source)
    first = cli.start(*args)
    with source.open("wb") as pipe:
        pipe.write(b"".join(content.splitlines(keepends=True)[:lines]))
        pipe.flush()
        wait_for(lambda: journal_size(journal) >= journaled, what=f"{journaled} journal lines")
        first.send_signal(signal.SIGKILL)
        first.communicate(timeout=10)
    assert first.returncode == -signal.SIGKILL
    source.unlink()
    source.write_bytes(content)  # the same file, whole, for the resumed run
