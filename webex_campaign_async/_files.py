"""The files a run writes: results and re-runnable failures as JSON lines; one writer.

A failures file holds one record per line in the API's wire JSON, re-runnable as input as
it is; keys starting with ``_`` are annotations (``_result``: why it failed) that readers
of record files drop before parsing. These files hold customer data: `open_private`
creates them readable by their owner only.
"""

from __future__ import annotations

import contextlib
import io
import os
import stat
from collections.abc import Iterable, Mapping
from typing import IO, Any

from ._codec import dumps
from ._convert import profile_to_wire
from ._results import RecordResult

__all__ = [
    "FailuresWriter",
    "LineWriter",
    "Target",
    "failure_line",
    "open_private",
    "result_line",
    "strip_annotations",
    "write_failures",
]

ANNOTATION_PREFIX = "_"

#: The mode of a file created here (less the umask): its lines hold customer data.
PRIVATE_MODE = 0o600

_FLAGS = {
    "w": os.O_WRONLY | os.O_CREAT | os.O_TRUNC,
    "a": os.O_WRONLY | os.O_CREAT | os.O_APPEND,
}

#: Where a file of results goes: a path (opened and closed by the library) or an open file.
Target = str | os.PathLike[str] | IO[bytes] | IO[str]


def open_private(
    path: str | os.PathLike[str],
    mode: str = "wb",
    *,
    buffering: int = -1,
    encoding: str | None = None,
    replacing: str | os.PathLike[str] | None = None,
) -> IO[Any]:
    """Open ``path`` to write (``mode``: ``"wb"``, ``"ab"``, ``"w"`` or ``"a"``).

    A file created here gets mode 0600 (less the umask), as it holds customer data; an
    existing file is written in place and keeps its mode. ``replacing``: ``path`` is a
    temporary file that will replace that file (`os.replace`): a leftover ``path`` is
    removed first, and the new one gets the mode of ``replacing`` when that file exists.
    """
    flags = _FLAGS[mode[0]] | getattr(os, "O_BINARY", 0)
    if replacing is not None:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(path)
        flags |= os.O_EXCL
    fd = os.open(path, flags, PRIVATE_MODE)
    try:
        if replacing is not None:
            try:
                kept = stat.S_IMODE(os.stat(replacing).st_mode)
            except FileNotFoundError:
                pass
            else:
                os.chmod(path, kept)
        return open(fd, mode, buffering=buffering, encoding=encoding)
    except BaseException:
        os.close(fd)
        raise


def strip_annotations(obj: Any) -> Any:
    """``obj`` without its ``_``-prefixed keys (a failures-file line becomes a record)."""
    if isinstance(obj, Mapping) and any(
        isinstance(k, str) and k.startswith(ANNOTATION_PREFIX) for k in obj
    ):
        return {
            k: v
            for k, v in obj.items()
            if not (isinstance(k, str) and k.startswith(ANNOTATION_PREFIX))
        }
    return obj


def result_line(result: RecordResult) -> bytes:
    """One result as a JSON line (without the record)."""
    return dumps(result.to_dict()) + b"\n"


def failure_line(result: RecordResult, annotations: Mapping[str, Any] | None = None) -> bytes:
    """The record as re-runnable wire JSON, annotated with ``_result`` (and ``annotations``,
    whose keys must start with ``_``)."""
    annotation = {"_result": result.to_dict(), **(annotations or {})}
    if result.record is not None:
        return dumps({**profile_to_wire(result.record), **annotation}) + b"\n"
    source = result.source
    if isinstance(source, Mapping):
        try:
            return dumps({**strip_annotations(source), **annotation}) + b"\n"
        except (TypeError, ValueError):
            pass
    return dumps({**annotation, "_source": repr(source)[:500]}) + b"\n"


class LineWriter:
    """Appends byte lines to a path (opened and closed here) or to a caller's open file.

    ``flush_each``: hand every line to the OS at once, so a killed process loses none
    (for files that must survive a crash; failures are rare, so it costs little there).
    ``partial``: write a path as ``PATH.partial`` and rename it to ``PATH`` on `close`, so a
    file being read (the input of the same run) is not emptied first; after a crash the
    lines are in ``PATH.partial``. A path is created with mode 0600 (less the umask); an
    existing ``PATH`` keeps its mode, also when it is replaced by ``PATH.partial``.
    """

    def __init__(
        self,
        target: Target,
        *,
        append: bool = False,
        flush_each: bool = False,
        partial: bool = False,
    ) -> None:
        self._owned = isinstance(target, (str, os.PathLike))
        self._rename: tuple[str, str] | None = None
        if isinstance(target, (str, os.PathLike)):
            path = os.fspath(target)
            if partial and not append:
                self._rename = (path + ".partial", path)
                self._file: IO[Any] = open_private(self._rename[0], "wb", replacing=path)
            else:
                self._file = open_private(path, "ab" if append else "wb")
        else:
            self._file = target
        self._text = isinstance(self._file, io.TextIOBase)
        self._flush_each = flush_each
        self.lines = 0

    def write(self, line: bytes) -> None:
        self._file.write(line.decode() if self._text else line)
        self.lines += 1
        if self._flush_each:
            self._file.flush()

    def flush(self) -> None:
        self._file.flush()

    def close(self) -> None:
        if not self._owned:
            self._file.flush()
            return
        if not self._file.closed:
            self._file.close()
            if self._rename is not None:
                os.replace(*self._rename)


class FailuresWriter:
    """Writes FAILED, REJECTED, INVALID and SKIPPED records as re-runnable lines.

    Each line is handed to the OS at once (a killed job loses none); ``annotations`` of a
    record (keys starting with ``_``, such as the CLI's ``_line``) go beside ``_result``.
    """

    def __init__(self, target: Target, *, append: bool = False, partial: bool = False) -> None:
        self._writer = LineWriter(target, append=append, partial=partial, flush_each=True)

    @property
    def lines(self) -> int:
        """Lines written so far."""
        return self._writer.lines

    def write(self, result: RecordResult, annotations: Mapping[str, Any] | None = None) -> None:
        self._writer.write(failure_line(result, annotations))

    def close(self) -> None:
        self._writer.close()


def write_failures(results: Iterable[RecordResult], target: Target) -> int:
    """Write ``results`` (say a report's ``failures``) as re-runnable JSON lines.

    ``target`` is a path or an open file; returns the number of lines written. A run's
    ``failures=`` file has every failure; a report keeps the first ``max_failures``.
    """
    writer = FailuresWriter(target)
    try:
        for result in results:
            writer.write(result)
    finally:
        writer.close()
    return writer.lines
