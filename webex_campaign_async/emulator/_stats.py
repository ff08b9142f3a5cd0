"""Request statistics of an emulator: counts, peaks in sliding windows, a log of faults.

Every request that reaches the handler counts (404s, 401s and 429s too). An answer is
counted under (HTTP status, API code); a dropped connection under status 0 with the fault
name as its code. Peaks are the most requests that arrived in any sliding 1 s and 100 ms.
"""

from __future__ import annotations

from collections import Counter, deque
from typing import Any

import attrs

__all__ = ["FaultEvent", "Stats"]


@attrs.frozen
class FaultEvent:
    """One injected fault: the request's number (from 1), time, kind and target."""

    seq: int
    at: float
    kind: str
    profile_name: str | None
    key: str | None

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return {
            "seq": self.seq,
            "at": self.at,
            "kind": self.kind,
            "profile-name": self.profile_name,
            "key": self.key,
        }


def _label(status: int, code: str | None) -> str:
    return str(status) if code is None else f"{status}/{code}"


@attrs.define
class Stats:
    """Live counters; `to_dict` is what ``GET /_emulator/stats`` answers.

    - ``requests``: every request that reached the handler.
    - ``by_status``: answers by (HTTP status, API code or None); drops under (0, kind).
    - ``throttled``: 429 answers (token bucket and storms); ``applied``: requests that created
      or updated at least one profile; ``profiles_written``: the sum of their update-counts.
    - ``faults``: injected faults by kind (`Fault` values); ``fault_log``: the latest ones.
    - ``requests_per_key``: authenticated upsert requests per (profile-name, key), the
      ones answered 429 included (they count before the token bucket is asked).
    - ``max_per_second``/``max_per_100ms``: the most requests in any sliding window.
    - ``first_at``/``last_at``: when the first and the latest request arrived (the
      emulator's clock; None before any): ``(requests - 1) / (last_at - first_at)`` is the
      rate the tenant saw.
    """

    track_keys: bool = True
    fault_log_size: int = 10_000
    requests: int = 0
    throttled: int = 0
    applied: int = 0
    profiles_written: int = 0
    max_per_second: int = 0
    max_per_100ms: int = 0
    first_at: float | None = None
    last_at: float | None = None
    by_status: Counter[tuple[int, str | None]] = attrs.field(factory=Counter)
    faults: Counter[str] = attrs.field(factory=Counter)
    requests_per_key: Counter[tuple[str, str]] = attrs.field(factory=Counter)
    fault_log: deque[FaultEvent] = attrs.field(init=False)
    _second: deque[float] = attrs.field(factory=deque, init=False, repr=False)
    _tenth: deque[float] = attrs.field(factory=deque, init=False, repr=False)

    def __attrs_post_init__(self) -> None:
        self.fault_log = deque(maxlen=self.fault_log_size)

    def reset(self) -> None:
        """Back to zero."""
        self.requests = self.throttled = self.applied = self.profiles_written = 0
        self.max_per_second = self.max_per_100ms = 0
        self.first_at = self.last_at = None
        self.by_status.clear()
        self.faults.clear()
        self.requests_per_key.clear()
        self.fault_log.clear()
        self._second.clear()
        self._tenth.clear()

    # --- recording (one call per step of a request) ------------------------------------------

    def arrived(self, now: float) -> int:
        """Count one request arriving at ``now``; return its number (from 1)."""
        self.requests += 1
        if self.first_at is None:
            self.first_at = now
        self.last_at = now
        second = self._second
        second.append(now)
        edge = now - 1.0
        while second[0] <= edge:
            second.popleft()
        if len(second) > self.max_per_second:
            self.max_per_second = len(second)
        tenth = self._tenth
        tenth.append(now)
        edge = now - 0.1
        while tenth[0] <= edge:
            tenth.popleft()
        if len(tenth) > self.max_per_100ms:
            self.max_per_100ms = len(tenth)
        return self.requests

    def answered(self, status: int, code: str | None) -> None:
        """Count one answer."""
        self.by_status[status, code] += 1
        if status == 429:
            self.throttled += 1

    def fault(
        self, kind: str, seq: int, now: float, profile_name: str | None, key: str | None
    ) -> None:
        """Record one injected fault."""
        self.faults[kind] += 1
        if self.fault_log_size:
            self.fault_log.append(FaultEvent(seq, now, kind, profile_name, key))

    # --- reading ---------------------------------------------------------------------------

    def count(self, status: int, code: str | None = None) -> int:
        """Answers with this HTTP status and API code (None: answers without a code)."""
        return self.by_status.get((status, code), 0)

    def keys_with_fault(self, kind: str) -> set[tuple[str | None, str | None]]:
        """(profile-name, key) of every logged fault of ``kind``."""
        kind = str(kind)
        return {(e.profile_name, e.key) for e in self.fault_log if e.kind == kind}

    def to_dict(self, *, keys: bool = False, log: bool = False) -> dict[str, Any]:
        """JSON-ready form; ``keys`` adds requests per key, ``log`` adds the fault log."""
        per_key = self.requests_per_key
        out: dict[str, Any] = {
            "requests": self.requests,
            "by_status": {
                _label(status, code): n
                for (status, code), n in sorted(
                    self.by_status.items(), key=lambda item: (item[0][0], item[0][1] or "")
                )
            },
            "throttled": self.throttled,
            "applied": self.applied,
            "profiles_written": self.profiles_written,
            "faults": dict(sorted(self.faults.items())),
            "max_per_second": self.max_per_second,
            "max_per_100ms": self.max_per_100ms,
            "first_at": self.first_at,
            "last_at": self.last_at,
            "keys_seen": len(per_key),
            "keys_sent_more_than_once": sum(1 for n in per_key.values() if n > 1),
            "max_requests_per_key": max(per_key.values(), default=0),
        }
        if keys:
            out["requests_per_key"] = [
                {"profile-name": name, "key": key, "requests": n}
                for (name, key), n in per_key.items()
            ]
        if log:
            out["fault_log"] = [event.to_dict() for event in self.fault_log]
        return out
