"""The one result every input record ends in: `RecordStatus` and `RecordResult`."""

from __future__ import annotations

import enum
from typing import Any

import attrs

from ._models import ProfileUpsert

__all__ = ["FAILURE_STATUSES", "RecordResult", "RecordStatus"]


class RecordStatus(str, enum.Enum):
    """The final state of one record. Exactly one per input record."""

    APPLIED = "applied"
    """HTTP 200 with update-count >= 1."""
    NOT_APPLIED = "not_applied"
    """HTTP 200 with update-count 0: nothing matched or nothing was created."""
    REJECTED = "rejected"
    """A permanent API error for this record (the code says which); retrying cannot help."""
    INVALID = "invalid"
    """Failed local validation; never sent."""
    FAILED = "failed"
    """Transient errors until the retry policy gave up, or a run-stopping error (430, 405)."""
    SKIPPED = "skipped"
    """Never sent (or not finished) because the run stopped: cancelled, aborted, deadline."""

    def __str__(self) -> str:
        return self.value

    @property
    def ended(self) -> bool:
        """True when sending the record again would not change its outcome by itself.

        APPLIED, NOT_APPLIED, REJECTED and INVALID records ended; FAILED and SKIPPED ones
        are worth sending again (a resumed run sends them).
        """
        return self in _ENDED


_ENDED = frozenset(
    {RecordStatus.APPLIED, RecordStatus.NOT_APPLIED, RecordStatus.REJECTED, RecordStatus.INVALID}
)

#: Statuses worth a look and a re-run: what a failures file holds.
FAILURE_STATUSES = frozenset(
    {RecordStatus.FAILED, RecordStatus.REJECTED, RecordStatus.INVALID, RecordStatus.SKIPPED}
)


@attrs.frozen
class RecordResult:
    """What happened to one input record.

    ``index`` is the record's 0-based position in the input, ``key`` its profile key (or a
    short description of its filter), ``attempts`` the requests sent for it, ``latency``
    the seconds the last request took. ``record`` is the validated input (``None`` when it
    failed validation; ``source`` then holds what was given), ready to be sent again.
    """

    index: int
    status: RecordStatus
    key: str | None = None
    update_count: int | None = None
    transaction_id: str | None = None
    code: int | None = None
    http_status: int | None = None
    message: str = ""
    attempts: int = 0
    latency: float | None = None
    record: ProfileUpsert | None = attrs.field(default=None, repr=False, eq=False)
    source: Any = attrs.field(default=None, repr=False, eq=False)

    @property
    def ok(self) -> bool:
        """True for APPLIED."""
        return self.status is RecordStatus.APPLIED

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict of the outcome (without the record itself)."""
        out: dict[str, Any] = {"index": self.index, "status": self.status.value}
        for name in (
            "key",
            "update_count",
            "transaction_id",
            "code",
            "http_status",
            "message",
            "attempts",
            "latency",
        ):
            value = getattr(self, name)
            if value is not None and value != "":
                out[name] = value
        return out
