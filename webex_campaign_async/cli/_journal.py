"""The journal of a batch job: one JSON line per ended record, so a killed job can resume.

Each line holds the input line number, a hash of the record, and its outcome. Lines are
written through to the OS as results arrive (a SIGKILL loses nothing written) and synced
to disk every second. ``--resume`` skips every record whose line and hash the journal
already ended (applied, not applied, rejected, invalid).
"""

from __future__ import annotations

import hashlib
import os
import time
from typing import IO, Any

from .. import ProfileUpsert, RecordResult
from .._convert import dumps, encode_profile, loads
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

    def __len__(self) -> int:
        return len(self._ended)

    def __contains__(self, line: object) -> bool:
        """True when the journal ended this input line (whatever record it held)."""
        return line in self._ended

    @classmethod
    def load(cls, path: str | os.PathLike[str]) -> JournalIndex:
        index = cls()
        try:
            f = open(path, "rb")  # noqa: SIM115
        except FileNotFoundError:
            return index
        with f:
            for raw in f:
                try:
                    entry = loads(raw)
                    line, digest, ended = entry["line"], int(entry["hash"], 16), entry["ended"]
                    applied = entry["status"] == "applied"
                except (ValueError, KeyError, TypeError):
                    index.unreadable += 1
                    continue
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
    extends it), otherwise to a new file (a new run starts a new journal)."""

    def __init__(self, path: str | os.PathLike[str], *, append: bool = True) -> None:
        self.path = os.fspath(path)
        self._file: IO[bytes] = open_private(self.path, "ab" if append else "wb", buffering=0)
        if self._file.tell() and not _ends_with_newline(self.path):
            self._file.write(b"\n")  # after a torn last line: the next entry on a line of its own
        self._synced = time.monotonic()

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
        now = time.monotonic()
        if now - self._synced >= _SYNC_EVERY:
            self.sync()
            self._synced = now

    def sync(self) -> None:
        os.fsync(self._file.fileno())

    def close(self) -> None:
        if not self._file.closed:
            self.sync()
            self._file.close()


def _ends_with_newline(path: str) -> bool:
    with open(path, "rb") as f:
        f.seek(-1, os.SEEK_END)
        return f.read(1) == b"\n"
