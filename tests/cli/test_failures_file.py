"""``--failures``: every record that did not end applied, re-runnable as input as it is."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from webex_campaign_async.emulator import EmulatorProcess, Faults

from .conftest import LINKED_LIST, Cli, read_jsonl, summary_counts, wire, write_csv, write_jsonl

VALID = 80


@pytest.fixture(scope="module")
def flaky() -> Iterator[EmulatorProcess]:
    """A quarter of the requests answer 500; the only known list is ``people``."""
    with EmulatorProcess(profile_lists=["people"], faults=Faults(p500=0.25, seed=3)) as server:
        yield server


def test_rerunning_the_failures_file_completes_the_job(
    flaky: EmulatorProcess, cli_for: Callable[[EmulatorProcess], Cli], tmp_path: Path
) -> None:
    flaky.reset()
    cli = cli_for(flaky)
    records: list[object] = [wire("people", f"k{i:03d}", n=str(i)) for i in range(VALID)]
    records.insert(10, "{not json")  # line 11
    records.insert(20, wire("unknown-list", "x", n="1"))  # line 21: code 3005, rejected
    records.insert(30, {"profile-name": "people", "key": "k-bad", "attributes": []})  # line 31
    write_jsonl(tmp_path / "people.jsonl", records)
    expected = {f"k{i:03d}": {"n": str(i)} for i in range(VALID)}

    first = cli.run(
        "upsert", "people.jsonl", "--attempts", "1", "--failures", "failed.jsonl", "--progress",
        "none",
    )  # fmt: skip
    assert first.returncode == 1, first.stderr
    failures = read_jsonl(tmp_path / "failed.jsonl")
    statuses = Counter(line["_result"]["status"] for line in failures)
    assert statuses["invalid"] == 2
    assert statuses["failed"] >= 5  # a quarter of 81 sent, give or take
    assert set(statuses) <= {"invalid", "failed", "rejected"}
    by_line = {line["_line"]: line for line in failures}
    assert {11, 21, 31} <= set(by_line)
    assert by_line[21]["profile-name"] == "unknown-list"
    held = flaky.profiles("people")
    retry = {line["key"] for line in failures if line.get("profile-name") == "people"}
    assert set(held) | retry == set(expected) | {"k-bad"}
    assert not set(held) & retry  # what the server holds is not in the failures file
    assert summary_counts(first.stdout)["applied"] == len(held)

    second = cli.run(
        "upsert", "failed.jsonl", "--attempts", "12", "--failures", "failed-again.jsonl",
        "--progress", "none",
    )  # fmt: skip
    assert second.returncode == 1, second.stderr
    assert flaky.profiles("people") == expected
    again = read_jsonl(tmp_path / "failed-again.jsonl")
    assert sorted(line["_result"]["status"] for line in again) == ["invalid", "invalid", "rejected"]
    rejected = next(line for line in again if line["_result"]["status"] == "rejected")
    assert rejected["_result"]["code"] == 3005
    assert rejected["key"] == "x"


def test_an_invalid_csv_row_is_written_as_a_record_to_fix(cli: Cli, tmp_path: Path) -> None:
    write_csv(
        tmp_path / "people.csv",
        ["key", "first", "age"],
        [["k1", "Ann", "30"], ["", "Bob", "41"], ["k3", "Eve", "27"]],
    )
    first = cli.run(
        "upsert", "people.csv", "--profile-name", LINKED_LIST, "--update-link", "fail",
        "--failures", "failed.jsonl", "--progress", "none",
    )  # fmt: skip
    assert first.returncode == 1
    assert summary_counts(first.stdout) == {
        "applied": 0, "not_applied": 0, "rejected": 2, "invalid": 1, "failed": 0, "skipped": 0
    }  # fmt: skip
    lines = read_jsonl(tmp_path / "failed.jsonl")
    assert [(line["_line"], line["_result"]["status"]) for line in lines if line["key"] == ""] == [
        (3, "invalid")
    ]
    fixed = []
    for line in lines:
        line.pop("update-link")  # the fix: do not insist on the linked profile
        line["key"] = line["key"] or "k2"
        fixed.append(line)
    write_jsonl(tmp_path / "fixed.jsonl", fixed)
    second = cli.run("upsert", "fixed.jsonl", "--progress", "none")
    assert second.returncode == 0, second.stdout + second.stderr
    assert cli.emulator.profiles(LINKED_LIST) == {
        "k1": {"first": "Ann", "age": "30"},
        "k2": {"first": "Bob", "age": "41"},
        "k3": {"first": "Eve", "age": "27"},
    }


def test_a_resumed_run_keeps_the_failures_the_journal_ended(cli: Cli, tmp_path: Path) -> None:
    records: list[object] = [wire("p", f"k{i:02d}", a="1") for i in range(60)]
    records[0] = "{not json"  # line 1: invalid
    records[1] = wire(LINKED_LIST, "r", a="1") | {"update-link": "3"}  # line 2: 1010 each time
    args = ["upsert", "in.jsonl", "--failures", "failed.jsonl", "--progress", "none"]

    # The first run is given the first 5 lines (the file is completed before it is resumed),
    # so what it reads is known whatever the machine's speed. Line 1 is invalid at once; of
    # the 4 workers, two send lines 2 and 3 on the throttle's burst, two take lines 4 and 5
    # and wait in it for a token 10 s away: the deadline ends those waits, never sent.
    # One attempt: the 1010 of line 2 ends FAILED at once (its retries were cut short).
    write_jsonl(tmp_path / "in.jsonl", records[:5])
    first = cli.run(
        *args, "--concurrency", "4", "--rate", "0.1", "--burst", "2", "--deadline", "1",
        "--attempts", "1",
    )  # fmt: skip
    assert first.returncode == 3, first.stdout + first.stderr
    assert "ABORTED: deadline of 1 s passed" in first.stdout
    assert summary_counts(first.stdout) == {
        "applied": 1, "not_applied": 0, "rejected": 0, "invalid": 1, "failed": 1, "skipped": 2
    }  # fmt: skip
    assert cli.emulator.profiles("p") == {"k02": {"a": "1"}}  # line 3
    before = read_jsonl(tmp_path / "failed.jsonl")
    assert sorted((line["_line"], line["_result"]["status"]) for line in before) == [
        (1, "invalid"), (2, "failed"), (4, "skipped"), (5, "skipped")
    ]  # fmt: skip
    write_jsonl(tmp_path / "in.jsonl", records)

    # line 1 ended (kept), line 2 is sent again: 1010 stays through its budget, REJECTED
    second = cli.run(*args, "--resume")
    assert second.returncode == 1, second.stdout + second.stderr  # lines 1 and 2 did not apply
    assert len(cli.emulator.profiles("p")) == 58
    after = read_jsonl(tmp_path / "failed.jsonl")
    assert [(line["_line"], line["_result"]["status"]) for line in after] == [
        (1, "invalid"),
        (2, "rejected"),
    ]
    assert (
        "2 record(s) to re-run written to failed.jsonl (1 of them kept from the run resumed)"
        in second.stdout
    )

    third = cli.run(*args, "--resume")  # nothing left to send: both lines kept
    assert read_jsonl(tmp_path / "failed.jsonl") == after
    assert "(2 of them kept from the run resumed)" in third.stdout
