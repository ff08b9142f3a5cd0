"""The workload every client sends, the settings it runs with, and the tally it hands back.

Imports nothing from the library nor any HTTP client, so a baseline's child process only
loads what that baseline needs.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Iterator
from typing import Any, NamedTuple

#: The profile list every record is upserted into.
PROFILE_LIST = "bench"


class Row(NamedTuple):
    """One source record: what a user has in hand before choosing a client."""

    key: str
    attributes: dict[str, str]


def rows(n: int, attributes: int = 10) -> Iterator[Row]:
    """``n`` distinct rows of ``attributes`` string attributes each, built lazily."""
    names = [f"attr{j}" for j in range(attributes)]
    for i in range(n):
        yield Row(f"c-{i:08d}", {name: f"v{i}-{name}" for name in names})


def wire_body(row: Row) -> dict[str, Any]:
    """The API's JSON object for ``row``: what a baseline sends (the library builds its own)."""
    return {
        "profile-name": PROFILE_LIST,
        "upsert": "1",
        "attributes": [{"attribute-name": k, "val": v} for k, v in row.attributes.items()],
        "key": row.key,
    }


@dataclasses.dataclass(frozen=True)
class Target:
    """Where to send: the emulator's upsert URL and key; ``url`` None means no network."""

    url: str | None
    base_url: str | None = None
    api_key: str = "bench"


@dataclasses.dataclass(frozen=True)
class Settings:
    """How a client runs one scenario; every client gets the same values.

    ``rate`` is the API's known rate (only a client with a rate limiter can use it);
    ``attempts`` bounds the requests per record; ``retry_sleep`` is the baselines' fixed
    wait before a retry; ``deadline`` (a `time.monotonic` value) is when to stop starting
    new records (records already started finish).
    """

    concurrency: int
    rate: float | None = None
    attempts: int = 5
    retry_sleep: float = 1.0
    timeout: float = 30.0
    deadline: float | None = None

    def out_of_time(self) -> bool:
        """True once no new record should be started."""
        return self.deadline is not None and time.monotonic() >= self.deadline


@dataclasses.dataclass
class Tally:
    """What a client did. Every record it started ends applied or not applied.

    ``requests`` and ``throttled`` (429 answers) are as the client counted them;
    ``counts`` holds the library's per-status counts (empty for baselines); ``failures``
    counts the records not applied by their last answer.
    """

    attempted: int = 0
    applied: int = 0
    not_applied: int = 0
    requests: int = 0
    throttled: int = 0
    counts: dict[str, int] = dataclasses.field(default_factory=dict)
    failures: dict[str, int] = dataclasses.field(default_factory=dict)

    def failed(self, reason: str) -> None:
        """Count one record not applied, for ``reason``."""
        self.not_applied += 1
        self.failures[reason] = self.failures.get(reason, 0) + 1
