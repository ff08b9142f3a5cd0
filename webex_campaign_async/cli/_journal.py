"""The journal of a batch job: one JSON line per ended record, so a killed job can resume.

Each line holds the input line number, a hash of the record, and its outcome. Lines are
written through to the OS as results arrive (a SIGKILL loses nothing written) and synced
to disk every second. ``--resume`` skips every record whose line and hash the journal
already ended (applied, not applied, rejected, invalid).
"""

from __future__ import annotations

import hashlib
import os
import re
import time
from collections.abc import Callable
from typing import IO, Any

from .. import InputError, ProfileUpsert, RecordResult, RecordStatus
from .._codec import dumps, loads
from .._convert import encode_profile
from .._files import open_private

__all__ = ["Journal", "JournalIndex", "record_hash"]

_SYNC_EVERY = 1.0


def record_hash(item: ProfileUpsert | object) -> int:
    """A stable 64-bit hash of a record (of its wire body; of its text when it is invalid)."""
    if isinstance(item, ProfileUpsert):
        data = encode_profile(item)
    else:
        source = getattr(item, "source", None)
        data = repr(source if source is not None else item).encode()
    return int.from_bytes(hashlib.blake2b(data, digest_size=8).digest(), "big")


class JournalIndex:
    """Which input lines a previous run ended, with the hash of the record it ended."""

    def __init__(self) -> None:
        self._ended: dict[int, tuple[int, bool]] = {}
        #: Lines whose journal entry could not be read (a torn last line after a kill).
        self.unreadable = 0
        #: The last input line the journal has an entry for (0: none).
        self.last = 0

    def __len__(self) -> int:
        return len(self._ended)

    def __contains__(self, line: object) -> bool:
        """True when the journal ended this input line (whatever record it held)."""
        return line in self._ended

    @classmethod
    def load(cls, path: str | os.PathLike[str]) -> JournalIndex:
        """The journal at ``path`` (none there: an empty one).

        A line that is the start of an entry cut short is counted in `unreadable` and
        skipped (a kill can tear the last line of a run). Any other line that is not a
        journal entry (not JSON, or a JSON line with a field missing or of the wrong type)
        raises `InputError` naming the line: the file is not a journal of this command, and
        is not appended to.
        """
        index = cls()
        try:
            f = open(path, "rb")  # noqa: SIM115
        except FileNotFoundError:
            return index
        with f:
            for number, raw in enumerate(f, 1):
                try:
                    try:
                        entry = loads(raw)
                    except ValueError:
                        if not _torn(raw):
                            raise ValueError("not a JSON line") from None
                        index.unreadable += 1
                        continue
                    line, digest, ended, applied = _entry(entry)
                except ValueError as exc:
                    raise InputError(
                        f"the journal {os.fspath(path)!r}, line {number}: {exc}: not a journal "
                        "of this command (move it away, or choose another with --journal)"
                    ) from None
                index.last = max(index.last, line)
                if ended:
                    index._ended[line] = (digest, applied)
                else:
                    index._ended.pop(line, None)
        return index

    def ended(self, line: int, digest: int) -> bool:
        """True when the journal ended this very record (same line, same content)."""
        entry = self._ended.get(line)
        return entry is not None and entry[0] == digest

    def applied(self, line: int) -> bool:
        """True when the journal's last word on this line is APPLIED."""
        entry = self._ended.get(line)
        return entry is not None and entry[1]


class Journal:
    """Appends one line per result: to the end of the file when ``append`` (a resumed run
    extends it), otherwise to a new file (a new run starts a new journal). ``clock`` times
    the syncs (monotonic seconds; tests pass a fake one)."""

    def __init__(
        self,
        path: str | os.PathLike[str],
        *,
        append: bool = True,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.path = os.fspath(path)
        self._file: IO[bytes] = open_private(self.path, "ab" if append else "wb", buffering=0)
        if self._file.tell() and not _ends_with_newline(self.path):
            self._file.write(b"\n")  # after a torn last line: the next entry on a line of its own
        self._clock = clock
        self._synced = clock()

    def write(self, line: int, digest: int, result: RecordResult) -> None:
        entry: dict[str, Any] = {
            "line": line,
            "hash": f"{digest:016x}",
            "ended": result.status.ended,
            "status": result.status.value,
        }
        if result.code is not None:
            entry["code"] = result.code
        if result.transaction_id is not None:
            entry["transaction_id"] = result.transaction_id
        self._file.write(dumps(entry) + b"\n")  # unbuffered: in the OS at once
        now = self._clock()
        if now - self._synced >= _SYNC_EVERY:
            self.sync()
            self._synced = now

    def sync(self) -> None:
        os.fsync(self._file.fileno())

    def close(self) -> None:
        if not self._file.closed:
            self.sync()
            self._file.close()


_HASH = re.compile(r"[0-9a-f]{16}")
_STATUSES = frozenset(status.value for status in RecordStatus)


def _entry(entry: object) -> tuple[int, int, bool, bool]:
    """``(line, hash, ended, applied)`` of a journal entry, or `ValueError` saying why not."""
    if not isinstance(entry, dict):
        raise ValueError("expected a JSON object")
    for name in ("line", "hash", "ended", "status"):
        if name not in entry:
            raise ValueError(f"{name!r} is missing")
    line, digest, ended, status = entry["line"], entry["hash"], entry["ended"], entry["status"]
    if type(line) is not int or line < 1:
        raise ValueError(f"'line' must be a line number, not {line!r}")
    if not isinstance(digest, str) or not _HASH.fullmatch(digest):
        raise ValueError(f"'hash' must be 16 hex digits, not {digest!r}")
    if type(ended) is not bool:
        raise ValueError(f"'ended' must be true or false, not {ended!r}")
    if not isinstance(status, str) or status not in _STATUSES:
        raise ValueError(f"'status' must be one of {', '.join(sorted(_STATUSES))}, not {status!r}")
    if not isinstance(entry.get("transaction_id", ""), str):
        raise ValueError(f"'transaction_id' must be a string, not {entry['transaction_id']!r}")
    if type(entry.get("code", 0)) is not int:
        raise ValueError(f"'code' must be a number, not {entry['code']!r}")
    return line, int(digest, 16), ended, status == RecordStatus.APPLIED.value


_START = b'{"line":'


def _torn(raw: bytes) -> bool:
    """True for the start of an entry that a kill cut short (every entry starts the same), or
    the zeros a power cut can leave; not for a line of some other file."""
    text = raw.rstrip(b"\r\n")
    return text.startswith(_START) or _START.startswith(text) or not text.strip(b"\x00")


def _ends_with_newline(path: str) -> bool:
    with open(path, "rb") as f:
        f.seek(-1, os.SEEK_END)
        return f.read(1) == b"\n"
