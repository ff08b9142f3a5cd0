"""The file writers of `_files.py`, in process: `LineWriter` (partial rename, append,
flush_each, text and binary targets), `FailuresWriter`, `write_failures`, and the mode of
every file they create (customer data: 0600 less the umask; an existing file's mode kept)."""

from __future__ import annotations

import io
import json
import os
import stat
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from webex_campaign_async import ProfileUpsert, RecordResult, RecordStatus, write_failures
from webex_campaign_async._files import (
    FailuresWriter,
    LineWriter,
    failure_line,
    open_private,
    result_line,
    strip_annotations,
)

posix_only = pytest.mark.skipif(os.name != "posix", reason="POSIX file modes")


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@pytest.fixture
def umask() -> Iterator[int]:
    """A known umask (022, the usual one) for the test, restored after it."""
    old = os.umask(0o022)
    try:
        yield 0o022
    finally:
        os.umask(old)


def _profile(key: str = "k1") -> ProfileUpsert:
    return ProfileUpsert("p", key=key, attributes={"a": "1"})


def _result(status: RecordStatus, index: int = 0, **kwargs: Any) -> RecordResult:
    return RecordResult(index, status, "k1", message="why", **kwargs)


# --- modes -----------------------------------------------------------------------------------


@posix_only
@pytest.mark.parametrize("mode", ["wb", "ab", "w", "a"])
def test_a_new_file_is_private(tmp_path: Path, umask: int, mode: str) -> None:
    path = tmp_path / "out"
    with open_private(path, mode) as f:
        f.write(b"x" if "b" in mode else "x")
    assert _mode(path) == 0o600
    assert path.read_bytes() == b"x"


@posix_only
def test_the_umask_still_applies(tmp_path: Path) -> None:
    old = os.umask(0o077)
    try:
        open_private(tmp_path / "out").close()
    finally:
        os.umask(old)
    assert _mode(tmp_path / "out") == 0o600
    old = os.umask(0o277)  # stricter than private: the owner may not even write
    try:
        open_private(tmp_path / "ro").close()
    finally:
        os.umask(old)
    assert _mode(tmp_path / "ro") == 0o400


@posix_only
@pytest.mark.parametrize(("mode", "content"), [("wb", b"new"), ("ab", b"oldnew")])
def test_an_existing_file_keeps_its_mode(
    tmp_path: Path, umask: int, mode: str, content: bytes
) -> None:
    path = tmp_path / "out"
    path.write_bytes(b"old")
    path.chmod(0o640)
    with open_private(path, mode) as f:
        f.write(b"new")
    assert _mode(path) == 0o640
    assert path.read_bytes() == content


@posix_only
@pytest.mark.parametrize("existing", [0o600, 0o644, 0o640])
def test_a_replacement_takes_the_mode_of_the_file_it_replaces(
    tmp_path: Path, umask: int, existing: int
) -> None:
    path = tmp_path / "out"
    path.write_bytes(b"old")
    path.chmod(existing)
    tmp = tmp_path / "out.tmp"
    tmp.write_bytes(b"leftover of a crash")
    tmp.chmod(0o666)
    with open_private(tmp, "wb", replacing=path) as f:
        f.write(b"new")
    assert _mode(tmp) == existing
    os.replace(tmp, path)
    assert _mode(path) == existing
    assert path.read_bytes() == b"new"


@posix_only
def test_a_replacement_of_nothing_is_private(tmp_path: Path, umask: int) -> None:
    with open_private(tmp_path / "out.tmp", "wb", replacing=tmp_path / "out") as f:
        f.write(b"new")
    assert _mode(tmp_path / "out.tmp") == 0o600


@posix_only
def test_a_replacement_does_not_write_through_a_planted_link(tmp_path: Path, umask: int) -> None:
    victim = tmp_path / "victim"
    victim.write_bytes(b"keep")
    (tmp_path / "out.partial").symlink_to(victim)
    open_private(tmp_path / "out.partial", "wb", replacing=tmp_path / "out").close()
    assert victim.read_bytes() == b"keep"
    assert not (tmp_path / "out.partial").is_symlink()


@posix_only
@pytest.mark.parametrize(
    ("kwargs", "written"),
    [
        ({}, "out.jsonl"),
        ({"append": True}, "out.jsonl"),
        ({"partial": True}, "out.jsonl.partial"),
    ],
)
def test_line_writer_files_are_private(
    tmp_path: Path, umask: int, kwargs: dict[str, bool], written: str
) -> None:
    writer = LineWriter(tmp_path / "out.jsonl", **kwargs)
    writer.write(b"{}\n")
    writer.flush()
    assert _mode(tmp_path / written) == 0o600
    writer.close()
    assert _mode(tmp_path / "out.jsonl") == 0o600


@posix_only
@pytest.mark.parametrize("partial", [False, True])
def test_line_writer_keeps_the_mode_the_user_set(tmp_path: Path, umask: int, partial: bool) -> None:
    path = tmp_path / "out.jsonl"
    path.write_bytes(b"old\n")
    path.chmod(0o600)
    os.umask(0o000)  # the user's own choice of 0600 holds even with an open umask
    writer = LineWriter(path, partial=partial)
    writer.write(b"new\n")
    writer.close()
    assert _mode(path) == 0o600
    assert path.read_bytes() == b"new\n"


@posix_only
def test_failures_writer_and_write_failures_are_private(tmp_path: Path, umask: int) -> None:
    FailuresWriter(tmp_path / "a.jsonl").close()
    FailuresWriter(tmp_path / "b.jsonl", partial=True).close()
    write_failures([_result(RecordStatus.FAILED)], tmp_path / "c.jsonl")
    assert [_mode(tmp_path / n) for n in ("a.jsonl", "b.jsonl", "c.jsonl")] == [0o600] * 3


# --- LineWriter ------------------------------------------------------------------------------


def test_partial_is_renamed_on_close(tmp_path: Path) -> None:
    path = tmp_path / "out.jsonl"
    path.write_bytes(b"the input of the same run\n")
    writer = LineWriter(path, partial=True)
    writer.write(b"1\n")
    writer.flush()
    assert path.read_bytes() == b"the input of the same run\n"  # not emptied while running
    assert (tmp_path / "out.jsonl.partial").read_bytes() == b"1\n"
    writer.close()
    assert path.read_bytes() == b"1\n"
    assert not (tmp_path / "out.jsonl.partial").exists()
    writer.close()  # a second close does nothing
    assert path.read_bytes() == b"1\n"


def test_after_a_crash_the_lines_are_in_the_partial_file(tmp_path: Path) -> None:
    writer = LineWriter(tmp_path / "out.jsonl", partial=True, flush_each=True)
    writer.write(b"1\n")  # and the process dies here: no close
    assert (tmp_path / "out.jsonl.partial").read_bytes() == b"1\n"
    assert not (tmp_path / "out.jsonl").exists()
    writer._file.close()


def test_append_extends_and_ignores_partial(tmp_path: Path) -> None:
    path = tmp_path / "out.jsonl"
    path.write_bytes(b"0\n")
    writer = LineWriter(path, append=True, partial=True)
    writer.write(b"1\n")
    writer.close()
    assert path.read_bytes() == b"0\n1\n"
    assert not (tmp_path / "out.jsonl.partial").exists()


def test_without_append_the_file_starts_anew(tmp_path: Path) -> None:
    path = tmp_path / "out.jsonl"
    path.write_bytes(b"0\n")
    writer = LineWriter(str(path))
    writer.write(b"1\n")
    writer.close()
    assert path.read_bytes() == b"1\n"


@pytest.mark.parametrize("flush_each", [False, True])
def test_flush_each_hands_every_line_to_the_os(tmp_path: Path, flush_each: bool) -> None:
    path = tmp_path / "out.jsonl"
    writer = LineWriter(path, flush_each=flush_each)
    writer.write(b"1\n")
    assert path.read_bytes() == (b"1\n" if flush_each else b"")  # buffered otherwise
    writer.flush()
    assert path.read_bytes() == b"1\n"
    writer.close()


class _Recorder(io.BytesIO):
    def __init__(self) -> None:
        super().__init__()
        self.flushes = 0

    def flush(self) -> None:
        self.flushes += 1
        super().flush()


def test_a_binary_target_is_flushed_not_closed() -> None:
    target = _Recorder()
    writer = LineWriter(target, flush_each=True)
    writer.write(b"1\n")
    writer.write(b"2\n")
    assert target.flushes == 2
    writer.close()
    assert not target.closed
    assert target.getvalue() == b"1\n2\n"
    assert writer.lines == 2


def test_a_text_target_gets_text() -> None:
    target = io.StringIO()
    writer = LineWriter(target)
    writer.write('{"a": "é"}\n'.encode())
    writer.close()
    assert not target.closed
    assert target.getvalue() == '{"a": "é"}\n'


def test_a_text_file_target(tmp_path: Path) -> None:
    with open(tmp_path / "out.jsonl", "w", encoding="utf-8") as f:
        writer = LineWriter(f)
        writer.write("ü\n".encode())
        writer.close()
        assert not f.closed
    assert (tmp_path / "out.jsonl").read_text(encoding="utf-8") == "ü\n"


# --- the lines -------------------------------------------------------------------------------


def test_result_line_has_no_record() -> None:
    result = _result(RecordStatus.APPLIED, update_count=1, record=_profile())
    assert json.loads(result_line(result)) == {
        "index": 0, "status": "applied", "key": "k1", "update_count": 1, "message": "why",
        "attempts": 0,
    }  # fmt: skip
    assert result_line(result).endswith(b"\n")


def test_failure_line_of_a_record_is_re_runnable_wire_json() -> None:
    result = _result(RecordStatus.FAILED, record=_profile())
    line = json.loads(failure_line(result, {"_line": 7}))
    assert line == {
        "profile-name": "p",
        "upsert": "1",
        "attributes": [{"attribute-name": "a", "val": "1"}],
        "key": "k1",
        "_result": {"index": 0, "status": "failed", "key": "k1", "message": "why", "attempts": 0},
        "_line": 7,
    }
    assert strip_annotations(line) == {
        "profile-name": "p",
        "upsert": "1",
        "attributes": [{"attribute-name": "a", "val": "1"}],
        "key": "k1",
    }


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        ({"key": "k", "_result": "old", "x": 1}, {"key": "k", "x": 1}),  # the old annotation goes
        ({"key": object()}, {"_source": "{'key': <object"}),  # not JSON: its repr
        ("a line that is not JSON", {"_source": "'a line that is not JSON'"}),
        (None, {"_source": "None"}),
    ],
)
def test_failure_line_of_an_invalid_source(source: object, expected: dict[str, Any]) -> None:
    result = _result(RecordStatus.INVALID, source=source)
    line = json.loads(failure_line(result))
    assert line.pop("_result") == {
        "index": 0, "status": "invalid", "key": "k1", "message": "why", "attempts": 0
    }  # fmt: skip
    if "_source" in expected:
        assert line["_source"].startswith(expected["_source"])
        assert len(line["_source"]) <= 500
    else:
        assert line == expected


def test_strip_annotations_leaves_other_values_alone() -> None:
    same = {"key": "k"}
    assert strip_annotations(same) is same
    assert strip_annotations([{"_x": 1}]) == [{"_x": 1}]
    assert strip_annotations({1: "a", "_x": 2}) == {1: "a"}


# --- FailuresWriter and write_failures -------------------------------------------------------


def test_failures_writer_writes_each_line_through(tmp_path: Path) -> None:
    path = tmp_path / "failed.jsonl"
    writer = FailuresWriter(path)
    writer.write(_result(RecordStatus.FAILED, record=_profile()), {"_line": 2})
    assert path.read_bytes().count(b"\n") == 1  # in the OS before close
    writer.write(_result(RecordStatus.REJECTED, index=1, record=_profile("k2")))
    assert writer.lines == 2
    writer.close()
    lines = [json.loads(raw) for raw in path.read_bytes().splitlines()]
    assert [(x["key"], x["_result"]["status"], x.get("_line")) for x in lines] == [
        ("k1", "failed", 2),
        ("k2", "rejected", None),
    ]


def test_failures_writer_append(tmp_path: Path) -> None:
    path = tmp_path / "failed.jsonl"
    path.write_bytes(b'{"kept": 1}\n')
    writer = FailuresWriter(path, append=True)
    writer.write(_result(RecordStatus.SKIPPED, record=_profile()))
    writer.close()
    assert path.read_bytes().count(b"\n") == 2
    assert path.read_bytes().startswith(b'{"kept": 1}\n')


def test_write_failures_to_a_path_and_to_an_open_file(tmp_path: Path) -> None:
    results = [_result(RecordStatus.FAILED, index=i, record=_profile(f"k{i}")) for i in range(3)]
    assert write_failures(results, tmp_path / "f.jsonl") == 3
    assert write_failures([], tmp_path / "empty.jsonl") == 0
    assert (tmp_path / "empty.jsonl").read_bytes() == b""
    buffer = io.BytesIO()
    assert write_failures(results, buffer) == 3
    assert not buffer.closed
    assert buffer.getvalue() == (tmp_path / "f.jsonl").read_bytes()


def test_write_failures_closes_its_file_when_a_result_breaks(tmp_path: Path) -> None:
    def results() -> Iterator[RecordResult]:
        yield _result(RecordStatus.FAILED, record=_profile())
        raise RuntimeError("boom")

    with pytest.raises(RuntimeError, match="boom"):
        write_failures(results(), tmp_path / "f.jsonl")
    assert (tmp_path / "f.jsonl").read_bytes().count(b"\n") == 1
