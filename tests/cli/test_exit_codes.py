"""Exit codes: 0 all applied, 1 some did not apply, 2 usage or input error, 3 aborted."""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from webex_campaign_async.emulator import EmulatorProcess, Faults

from .conftest import (
    FORBIDDEN_KEY,
    LINKED_LIST,
    Cli,
    read_jsonl,
    summary_counts,
    wire,
    write_csv,
    write_jsonl,
)


@pytest.fixture
def files(tmp_path: Path) -> Path:
    write_csv(tmp_path / "ok.csv", ["key", "a"], [["k1", "1"], ["k2", "2"]])
    write_jsonl(tmp_path / "ok.jsonl", [wire("p", "k1", a="1")])
    (tmp_path / "ok.xml").write_text("<profiles/>")
    (tmp_path / "empty.csv").write_bytes(b"")
    (tmp_path / "folder.csv").mkdir()
    write_csv(tmp_path / "dup.csv", ["key", "a", "a"], [["k1", "1", "2"]])
    return tmp_path


@pytest.mark.parametrize(
    ("argv", "env", "message"),
    [
        (["upsert", "ok.jsonl"], {"WEBEX_CAMPAIGN_API_KEY": None},
         "set the API key in $WEBEX_CAMPAIGN_API_KEY"),
        (["upsert", "ok.jsonl", "--api-key-env", "MY_KEY"], {}, "set the API key in $MY_KEY"),
        (["upsert", "ok.jsonl"], {"WEBEX_CAMPAIGN_BASE_URL": None},
         "give --base-url or set $WEBEX_CAMPAIGN_BASE_URL"),
        (["upsert", "ok.jsonl", "--base-url", "http://campaign.example.com"], {},
         "refusing plain http"),
        (["upsert", "ok.csv"], {}, "CSV input needs --profile-name"),
        (["upsert", "ok.xml"], {}, "cannot tell the format of 'ok.xml': pass --format csv|jsonl"),
        (["upsert", "ok.csv", "--format", "xml"], {}, "argument --format: invalid choice"),
        (["upsert", "missing.csv", "--profile-name", "p"], {},
         "cannot read 'missing.csv': no such file"),
        (["upsert", "ok.csv", "--profile-name", "p", "--key-column", "id"], {},
         "'ok.csv' has no key column 'id'; its columns are 'key', 'a'"),
        (["upsert", "ok.csv", "--profile-name", "p", "--columns", "a,b"], {},
         "'ok.csv' has no column(s) 'b'"),
        (["upsert", "ok.csv", "--profile-name", "p", "--rename", "b=c"], {},
         "'ok.csv' has no column(s) 'b'"),
        (["upsert", "empty.csv", "--profile-name", "p"], {},
         "'empty.csv' is empty: expected a header row"),
        (["upsert", "folder.csv", "--profile-name", "p"], {},
         "cannot read 'folder.csv': Is a directory"),
        (["upsert", "ok.csv", "--profile-name", "p", "--resume", "--no-journal"], {},
         "--resume needs a journal"),
        (["upsert", "ok.jsonl", "--failures", "ok.jsonl"], {},
         "--failures 'ok.jsonl' is the input file"),
        (["upsert", "ok.jsonl", "--report", "folder.csv"], {},
         "--report 'folder.csv' is a directory"),
        (["upsert", "ok.jsonl", "--journal", "no/such/dir/j"], {}, "no such directory"),
        (["upsert", "ok.csv", "--profile-name", "p", "--encoding", "nope"], {},
         "--encoding: unknown encoding 'nope'"),
        (["upsert", "ok.csv", "--profile-name", "p", "--delimiter", "ab"], {},
         "--delimiter: must be one character, not 'ab'"),
        (["upsert", "ok.csv", "--profile-name", "p", "--rate", "inf"], {},
         "argument --rate: must be a finite number > 0"),
        (["upsert", "ok.csv", "--profile-name", "p", "--rate", "1e-300"], {},
         "rate must be a number of requests per second from 0.000278 (one an hour) up"),
        (["upsert", "dup.csv", "--profile-name", "p"], {},
         "'dup.csv': column 'a' appears 2 times in the header row"),
    ],
)  # fmt: skip
def test_usage_and_input_errors_exit_2(
    cli: Cli, files: Path, argv: list[str], env: dict[str, str | None], message: str
) -> None:
    done = cli.run(*argv, env=cli.env(**env))
    assert done.returncode == 2, done.stdout + done.stderr
    assert message in done.stderr
    assert done.stderr.startswith(("webex-campaign: error: ", "webex-campaign upsert: error: "))
    assert done.stderr.count("\n") == 1  # one line
    assert "Traceback" not in done.stderr
    assert done.stdout == ""
    assert cli.emulator.stats()["requests"] == 0
    assert not list(files.glob("*.journal"))  # nothing was written


@pytest.mark.parametrize("flag", ["--report", "--journal", "--failures"])
def test_an_output_hard_linked_to_the_input_is_the_input(cli: Cli, files: Path, flag: str) -> None:
    """A hard link has its own real path: the file is known by its device and inode."""
    os.link(files / "ok.jsonl", files / "linked.out")
    before = (files / "ok.jsonl").read_bytes()
    done = cli.run("upsert", "ok.jsonl", flag, "linked.out", "--progress", "none")
    assert done.returncode == 2, done.stdout + done.stderr
    assert f"{flag} 'linked.out' is the input file" in done.stderr
    assert (files / "ok.jsonl").read_bytes() == before
    assert cli.emulator.stats()["requests"] == 0


def test_a_journal_line_with_a_wrong_typed_field_exits_2(cli: Cli, files: Path) -> None:
    entry = {"line": "2", "hash": "0" * 16, "ended": True, "status": "applied"}
    (files / "ok.csv.journal").write_text(json.dumps(entry) + "\n")
    done = cli.run("upsert", "ok.csv", "--profile-name", "p", "--resume", "--progress", "none")
    assert done.returncode == 2, done.stdout + done.stderr
    assert done.stderr == (
        "webex-campaign: error: the journal 'ok.csv.journal', line 1: 'line' must be a line "
        "number, not '2': not a journal of this command (move it away, or choose another with "
        "--journal)\n"
    )
    assert cli.emulator.stats()["requests"] == 0


@pytest.mark.skipif(os.geteuid() == 0, reason="root reads a file of mode 000")
def test_a_file_without_read_permission_exits_2(cli: Cli, files: Path) -> None:
    (files / "ok.csv").chmod(0)
    done = cli.run("upsert", "ok.csv", "--profile-name", "p", "--progress", "none")
    assert done.returncode == 2
    assert done.stderr == "webex-campaign: error: cannot read 'ok.csv': Permission denied\n"


@pytest.mark.parametrize(
    ("records", "flags", "code", "counts"),
    [
        ([wire("p", "k1", a="1"), wire("p", "k2", a="2")], [], 0, {"applied": 2}),
        ([wire("p", "k1", a="1"), "[]"], [], 1, {"applied": 1, "invalid": 1}),
        ([wire("p", "k1", a="1"), wire(LINKED_LIST, "k2", a="2") | {"update-link": "3"}], [],
         1, {"applied": 1, "rejected": 1}),
        ([wire("p", "k1", a="1")], ["--upsert", "update-only"], 1, {"not_applied": 1}),
    ],
    ids=["all-applied", "invalid-line", "rejected", "not-applied"],
)  # fmt: skip
def test_exit_0_when_all_applied_else_1(
    cli: Cli,
    tmp_path: Path,
    records: list[object],
    flags: list[str],
    code: int,
    counts: dict[str, int],
) -> None:
    write_jsonl(tmp_path / "in.jsonl", records)
    done = cli.run("upsert", "in.jsonl", *flags, "--progress", "none")
    assert done.returncode == code, done.stdout + done.stderr
    assert {k: v for k, v in summary_counts(done.stdout).items() if v} == counts


def test_a_forbidden_key_aborts_with_3(cli: Cli, tmp_path: Path) -> None:
    write_jsonl(tmp_path / "in.jsonl", [wire("p", f"k{i}", a="1") for i in range(200)])
    done = cli.run(
        "upsert", "in.jsonl", "--concurrency", "4", "--report", "r.json", "--progress", "none",
        env=cli.env(WEBEX_CAMPAIGN_API_KEY=FORBIDDEN_KEY),
    )  # fmt: skip
    assert done.returncode == 3, done.stdout + done.stderr
    assert "ABORTED: permission denied" in done.stdout
    report = json.loads((tmp_path / "r.json").read_text())
    assert report["aborted"] is True
    assert report["total"] <= 4  # the records the workers had read: nothing more was read
    assert report["read_up_to_line"] == report["total"]
    assert "input read up to line" in done.stdout
    assert report["counts"]["failed"] <= 4  # the requests in flight when the 430 came back
    assert report["counts"]["skipped"] == report["total"] - report["counts"]["failed"]
    assert cli.emulator.stats()["requests"] <= 4


@pytest.fixture(scope="module")
def unanswering() -> Iterator[EmulatorProcess]:
    """An emulator that takes every request and never answers within a test (an hour's
    latency, then a 500): nothing is applied, and a request sent stays in flight."""
    faults = Faults(p500=1.0, latency=3600.0)
    with EmulatorProcess(faults=faults, shutdown_timeout=0.1) as server:
        yield server


def test_a_deadline_too_short_aborts_with_3(
    unanswering: EmulatorProcess, cli_for: Callable[[EmulatorProcess], Cli], tmp_path: Path
) -> None:
    unanswering.reset()
    cli = cli_for(unanswering)
    write_jsonl(tmp_path / "in.jsonl", [wire("p", f"k{i}", a="1") for i in range(300)])
    # The 4 workers take lines 1-4 as the run starts. The throttle's burst lets 2 of them go,
    # never to be answered; its next token is 10 s away, so the other 2 wait in it. No record
    # can end before the deadline: it ends the 2 waits (SKIPPED: never sent), then the 2
    # requests in flight end at their timeout (FAILED: sent, they may have applied). The
    # timeout is longer than the deadline, so its timers come after the deadline's.
    done = cli.run(
        "upsert", "in.jsonl", "--concurrency", "4", "--rate", "0.1", "--burst", "2",
        "--deadline", "1.5", "--timeout", "2", "--report", "r.json", "--progress", "none",
    )  # fmt: skip
    assert done.returncode == 3, done.stdout + done.stderr
    assert "ABORTED: deadline of 1.5 s passed" in done.stdout
    report = json.loads((tmp_path / "r.json").read_text())
    assert report["aborted"] is True
    assert report["total"] == report["read_up_to_line"] == 4  # nothing read after the deadline
    assert {k: v for k, v in report["counts"].items() if v} == {"failed": 2, "skipped": 2}
    assert summary_counts(done.stdout) == report["counts"]
    journal = read_jsonl(tmp_path / "in.jsonl.journal")
    assert {e["line"]: e["status"] for e in journal} == {
        1: "failed", 2: "failed", 3: "skipped", 4: "skipped"
    }  # fmt: skip
    assert unanswering.stats()["requests"] == 2  # the skipped records were never sent
    assert unanswering.profiles("p") == {}  # as many as applied: none
