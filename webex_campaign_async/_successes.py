"""Successful answers of the last second, counted by send time in 0.1 s buckets (pure).

`AdaptiveThrottle` learns the tenant's limit from this rate at a 429 and caps its climb
with it; the caller passes every time.
"""

from __future__ import annotations

import math

from ._ratecontrol import MIN_WINDOW

__all__ = ["BUCKET", "BUCKETS", "RecentSuccesses"]

#: Buckets of this many seconds of send times...
BUCKET = 0.1
#: ...and how many are kept.
BUCKETS = 10


class RecentSuccesses:
    """Successes by the time their request was sent; `add` is O(1), once per answer."""

    __slots__ = ("_bucket", "_count", "_counts", "_edge")

    def __init__(self) -> None:
        self._counts = [0] * BUCKETS
        self._bucket = 0  # the current bucket: floor(send time / BUCKET)...
        self._edge = -math.inf  # ...which ends here
        self._count = 0  # successes in it

    def add(self, sent_at: float) -> None:
        """A success to a request sent at ``sent_at``."""
        if sent_at < self._edge:
            self._count += 1
        else:
            self._roll(sent_at)

    def _roll(self, sent_at: float) -> None:
        index = math.floor(sent_at / BUCKET)
        counts = self._counts
        counts[self._bucket % BUCKETS] = self._count
        for skipped in range(self._bucket + 1, min(index, self._bucket + BUCKETS + 1)):
            counts[skipped % BUCKETS] = 0
        self._bucket = index
        self._edge = (index + 1) * BUCKET
        self._count = 1

    def rate(
        self, now: float, origin: float | None, seconds: float = 1.0, at_least: float = MIN_WINDOW
    ) -> float | None:
        """Successful answers per second to the requests sent in the last ``seconds`` or so
        (None before ``at_least`` seconds of sending since ``origin``, the first send)."""
        if origin is None or now - origin < at_least:
            return None
        current = math.floor(now / BUCKET)
        if current - self._bucket >= BUCKETS:
            return 0.0
        counts = self._counts
        counts[self._bucket % BUCKETS] = self._count
        back = min(BUCKETS, math.ceil(seconds / BUCKET))
        first = max(current - back + 1, math.floor(origin / BUCKET))
        total = sum(counts[i % BUCKETS] for i in range(first, self._bucket + 1))
        return total / (now - max(first * BUCKET, origin))
