"""The resume journal in process: `JournalIndex.load` (torn lines skipped, lines that are
not journal entries refused), `Journal.write` and its syncs on a controlled clock,
`record_hash` stability, and the modes of the files a job writes."""

from __future__ import annotations

import json
import os
import stat
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from webex_campaign_async import (
    InputError,
    InvalidRecordError,
    ProfileUpsert,
    RecordResult,
    RecordStatus,
)
from webex_campaign_async.cli import _journal
from webex_campaign_async.cli._job import keep_ended_failures
from webex_campaign_async.cli._journal import Journal, JournalIndex, record_hash

from ..fakes import FakeClock

posix_only = pytest.mark.skipif(os.name != "posix", reason="POSIX file modes")


def _entry(line: int, status: str = "applied", digest: int = 1, **more: Any) -> dict[str, Any]:
    ended = status in ("applied", "not_applied", "rejected", "invalid")
    return {"line": line, "hash": f"{digest:016x}", "ended": ended, "status": status, **more}


def _journal_file(path: Path, *lines: object) -> Path:
    path.write_bytes(
        b"".join(
            (line if isinstance(line, bytes) else json.dumps(line).encode()) + b"\n"
            for line in lines
        )
    )
    return path


# --- JournalIndex.load -----------------------------------------------------------------------


def test_no_journal_is_an_empty_one(tmp_path: Path) -> None:
    index = JournalIndex.load(tmp_path / "none.journal")
    assert len(index) == 0
    assert index.unreadable == 0
    assert 1 not in index


def test_what_the_journal_ended(tmp_path: Path) -> None:
    path = _journal_file(
        tmp_path / "j",
        _entry(2, "applied", 0xA),
        _entry(3, "rejected", 0xB, code=1010),
        _entry(4, "failed", 0xC),  # not ended: sent again
        _entry(5, "applied", 0xD),
        _entry(5, "skipped", 0xD),  # a later run did not end it after all
        _entry(6, "failed", 0xE),
        _entry(6, "not_applied", 0xE, transaction_id="t"),  # ended by a later run
    )
    index = JournalIndex.load(path)
    assert len(index) == 3
    assert [line in index for line in (2, 3, 4, 5, 6)] == [True, True, False, False, True]
    assert index.ended(2, 0xA)
    assert not index.ended(2, 0xB)  # the line holds another record now: sent again
    assert index.ended(3, 0xB)
    assert not index.ended(4, 0xC)
    assert index.ended(6, 0xE)
    assert [index.applied(line) for line in (2, 3, 4, 6, 99)] == [True, False, False, False, False]
    assert index.unreadable == 0


@pytest.mark.parametrize(
    "torn",
    [
        b'{"line": 7, "hash": "00000000',  # a kill in the middle of a write
        b"\x00\x00\x00\x00",  # a power cut: zeros
        b"",  # an empty line
        b'{"line": 7, "hash": "\xff"}',  # not UTF-8
    ],
)
def test_torn_lines_are_counted_and_skipped(tmp_path: Path, torn: bytes) -> None:
    path = _journal_file(tmp_path / "j", _entry(2), torn, _entry(3))
    index = JournalIndex.load(path)
    assert index.unreadable == 1
    assert 2 in index
    assert 3 in index


@pytest.mark.parametrize(
    ("entry", "message"),
    [
        ([1, 2], "line 2: expected a JSON object"),
        ("a string", "line 2: expected a JSON object"),
        ({"hash": "0" * 16, "ended": True, "status": "applied"}, "line 2: 'line' is missing"),
        (_entry(1) | {"line": "3"}, "'line' must be a line number, not '3'"),
        (_entry(1) | {"line": 3.0}, "'line' must be a line number, not 3.0"),
        (_entry(1) | {"line": True}, "'line' must be a line number, not True"),
        (_entry(1) | {"line": 0}, "'line' must be a line number, not 0"),
        (_entry(1) | {"line": [3]}, "'line' must be a line number, not [3]"),
        (_entry(1) | {"hash": 5}, "'hash' must be 16 hex digits, not 5"),
        (_entry(1) | {"hash": "xyz"}, "'hash' must be 16 hex digits, not 'xyz'"),
        (_entry(1) | {"hash": "0x" + "0" * 14}, "'hash' must be 16 hex digits"),
        (_entry(1) | {"ended": "yes"}, "'ended' must be true or false, not 'yes'"),
        (_entry(1) | {"ended": 1}, "'ended' must be true or false, not 1"),
        (_entry(1) | {"status": ["applied"]}, "'status' must be one of applied, "),
        (_entry(1) | {"status": "done"}, "not 'done'"),
    ],
)
def test_a_line_that_is_not_a_journal_entry_is_refused(
    tmp_path: Path, entry: object, message: str
) -> None:
    path = _journal_file(tmp_path / "in.csv.journal", _entry(1), entry)
    with pytest.raises(InputError) as caught:
        JournalIndex.load(path)
    text = str(caught.value)
    assert text.startswith(f"the journal {str(path)!r}, line 2: ")
    assert message in text
    assert text.endswith(
        "not a journal of this command (move it away, or choose another with --journal)"
    )


def test_a_big_line_number_reads_the_same_with_and_without_orjson(tmp_path: Path) -> None:
    path = _journal_file(tmp_path / "j", b'{"line": 123456789012345678901234567890, "hash": '
                         b'"0000000000000001", "ended": true, "status": "applied"}')  # fmt: skip
    assert 123456789012345678901234567890 in JournalIndex.load(path)


# --- Journal ---------------------------------------------------------------------------------


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(100.0)


@pytest.fixture
def syncs(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    calls: list[int] = []
    real = os.fsync

    def fsync(fd: int) -> None:
        calls.append(fd)
        real(fd)

    monkeypatch.setattr(_journal.os, "fsync", fsync)
    return calls


def _result(status: RecordStatus, **more: Any) -> RecordResult:
    return RecordResult(0, status, "k1", **more)


def test_each_write_is_one_line_in_the_os_at_once(
    tmp_path: Path, clock: FakeClock, syncs: list[int]
) -> None:
    path = tmp_path / "j"
    journal = Journal(path, append=False, clock=clock)
    journal.write(2, 0xAB, _result(RecordStatus.APPLIED, transaction_id="t1"))
    journal.write(3, 0xCD, _result(RecordStatus.REJECTED, code=1010))
    journal.write(4, 0xEF, _result(RecordStatus.FAILED))
    assert [json.loads(raw) for raw in path.read_bytes().splitlines()] == [
        {"line": 2, "hash": "00000000000000ab", "ended": True, "status": "applied",
         "transaction_id": "t1"},
        {"line": 3, "hash": "00000000000000cd", "ended": True, "status": "rejected",
         "code": 1010},
        {"line": 4, "hash": "00000000000000ef", "ended": False, "status": "failed"},
    ]  # fmt: skip
    journal.close()
    index = JournalIndex.load(path)
    assert index.ended(2, 0xAB)
    assert index.ended(3, 0xCD)
    assert 4 not in index


def test_synced_once_a_second_and_on_close(
    tmp_path: Path, clock: FakeClock, syncs: list[int]
) -> None:
    journal = Journal(tmp_path / "j", clock=clock)
    for _ in range(5):
        journal.write(1, 1, _result(RecordStatus.APPLIED))
        clock.advance(0.3)
    assert len(syncs) == 1  # at 100.9 + 0.3: a second after the start
    clock.advance(1.0)
    journal.write(1, 1, _result(RecordStatus.APPLIED))
    assert len(syncs) == 2
    journal.close()
    assert len(syncs) == 3
    journal.close()  # a second close does nothing
    assert len(syncs) == 3


def test_append_extends_and_a_new_run_starts_anew(tmp_path: Path, clock: FakeClock) -> None:
    path = _journal_file(tmp_path / "j", _entry(1))
    journal = Journal(path, append=True, clock=clock)
    journal.write(2, 1, _result(RecordStatus.APPLIED))
    journal.close()
    assert len(JournalIndex.load(path)) == 2
    journal = Journal(path, append=False, clock=clock)
    journal.write(3, 1, _result(RecordStatus.APPLIED))
    journal.close()
    index = JournalIndex.load(path)
    assert len(index) == 1
    assert 3 in index


def test_after_a_torn_last_line_the_next_entry_starts_a_line(
    tmp_path: Path, clock: FakeClock
) -> None:
    path = tmp_path / "j"
    path.write_bytes(json.dumps(_entry(1)).encode() + b'\n{"line": 2, "ha')
    journal = Journal(path, clock=clock)
    journal.write(3, 1, _result(RecordStatus.APPLIED))
    journal.close()
    index = JournalIndex.load(path)
    assert (1 in index, 2 in index, 3 in index, index.unreadable) == (True, False, True, 1)


# --- record_hash -----------------------------------------------------------------------------


def test_record_hash_is_stable_across_runs_and_versions() -> None:
    """Pinned: a change here makes every journal written before it useless for --resume."""
    record = ProfileUpsert("customers", key="k1", attributes={"first": "Ann", "city": "Zürich"})
    assert record_hash(record) == 0x69565C7BC348D14A
    invalid = InvalidRecordError("line 3", "bad", source={"key": "k3"})
    assert record_hash(invalid) == 0x7A2A8ECD1A71D23E


@pytest.mark.parametrize(
    ("a", "b", "same"),
    [
        (ProfileUpsert("p", key="k", attributes={"a": "1"}),
         ProfileUpsert("p", key="k", attributes={"a": "1"}), True),
        (ProfileUpsert("p", key="k", attributes={"a": "1"}),
         ProfileUpsert("p", key="k", attributes={"a": "2"}), False),
        (ProfileUpsert("p", key="k", attributes={"a": "1"}),
         ProfileUpsert("q", key="k", attributes={"a": "1"}), False),
        (InvalidRecordError("", "x", source="k1,Ann"),
         InvalidRecordError("", "y", source="k1,Ann"), True),  # the input, not the reason
        (InvalidRecordError("", "x", source="k1,Ann"),
         InvalidRecordError("", "x", source="k1,Bob"), False),
    ],
)  # fmt: skip
def test_record_hash_follows_the_content(a: object, b: object, same: bool) -> None:
    assert (record_hash(a) == record_hash(b)) is same
    assert 0 <= record_hash(a) < 2**64


# --- the modes of a job's files --------------------------------------------------------------


@pytest.fixture
def umask() -> Iterator[None]:
    old = os.umask(0o022)
    try:
        yield
    finally:
        os.umask(old)


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@posix_only
def test_a_new_journal_is_private_and_an_old_one_keeps_its_mode(
    tmp_path: Path, umask: None
) -> None:
    Journal(tmp_path / "new").close()
    assert _mode(tmp_path / "new") == 0o600
    _journal_file(tmp_path / "old", _entry(1)).chmod(0o640)
    Journal(tmp_path / "old", append=False).close()
    assert _mode(tmp_path / "old") == 0o640


@posix_only
@pytest.mark.parametrize("existing", [0o600, 0o644])
def test_keep_ended_failures_keeps_the_mode(tmp_path: Path, umask: None, existing: int) -> None:
    failures = tmp_path / "failed.jsonl"
    failures.write_bytes(b'{"_line": 1}\n{"_line": 2}\n')
    failures.chmod(existing)
    index = JournalIndex.load(_journal_file(tmp_path / "j", _entry(1, "rejected")))
    assert keep_ended_failures(str(failures), index) == 1
    assert failures.read_bytes() == b'{"_line": 1}\n'
    assert _mode(failures) == existing
    assert not (tmp_path / "failed.jsonl.tmp").exists()


@posix_only
def test_the_report_file_is_private_and_keeps_a_mode_set(tmp_path: Path, umask: None) -> None:
    from webex_campaign_async._report import ReportBuilder
    from webex_campaign_async.cli._options import JobOptions
    from webex_campaign_async.cli._summary import Tally, write_report

    report = ReportBuilder().build(elapsed=1.0)
    options = JobOptions(input="in.csv", format="csv")
    write_report(str(tmp_path / "report.json"), report, Tally(), options)
    assert _mode(tmp_path / "report.json") == 0o600
    assert json.loads((tmp_path / "report.json").read_text())["input"] == "in.csv"
    (tmp_path / "report.json").chmod(0o644)
    write_report(str(tmp_path / "report.json"), report, Tally(), options)
    assert _mode(tmp_path / "report.json") == 0o644


@pytest.mark.parametrize(
    "first",
    [b"key,name", b"not json at all", b"\x89PNG\r\n", b'{"line": 1, "hash": "0000000000000000"'],
)
def test_a_file_that_is_not_a_journal_is_refused_not_appended_to(
    tmp_path: Path, first: bytes
) -> None:
    """A CSV (or anything) given as the journal: refused, naming the line, before it grows."""
    path = tmp_path / "j"
    lines = [first, b"k1,Ann", b"k2,Bob"] if not first.startswith(b"{") else [first, b"k1,Ann"]
    path.write_bytes(b"\n".join(lines) + b"\n")
    before = path.read_bytes()
    with pytest.raises(InputError, match="not a journal of this command"):
        JournalIndex.load(path)
    assert path.read_bytes() == before


def test_a_wrong_typed_transaction_id_or_code_is_refused(tmp_path: Path) -> None:
    for field, value in (("transaction_id", 5), ("code", "1010")):
        entry = {"line": 1, "hash": "0" * 16, "ended": True, "status": "rejected", field: value}
        path = tmp_path / "j"
        path.write_text(json.dumps(entry) + "\n")
        with pytest.raises(InputError, match=f"'{field}' must be"):
            JournalIndex.load(path)
