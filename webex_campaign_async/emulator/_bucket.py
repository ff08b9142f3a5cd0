"""The server's throttle: one token bucket per tenant, pure, with an explicit ``now``.

The bucket starts full (``burst`` tokens), refills at ``rate`` tokens per second up to
``burst``, and a request takes one token or is answered 429 (a 429 takes none).
"""

from __future__ import annotations

import math

import attrs

__all__ = ["TokenBucket"]

_EPSILON = 1e-9


@attrs.define
class TokenBucket:
    """``rate`` tokens per second, at most ``burst`` held; starts full at ``now``."""

    rate: float
    burst: float
    tokens: float
    updated: float

    @classmethod
    def full(cls, rate: float, burst: float, now: float) -> TokenBucket:
        """A bucket holding ``burst`` tokens at ``now``."""
        return cls(rate, burst, burst, now)

    def _refill(self, now: float) -> None:
        elapsed = now - self.updated
        if elapsed > 0:
            self.tokens = min(self.burst, self.tokens + elapsed * self.rate)
            self.updated = now

    def take(self, now: float) -> bool:
        """Take one token if there is one."""
        self._refill(now)
        if self.tokens >= 1 - _EPSILON:
            self.tokens = max(0.0, self.tokens - 1)
            return True
        return False

    def wait(self, now: float) -> float:
        """Seconds from ``now`` until a token is free (0 when one is)."""
        self._refill(now)
        missing = 1 - self.tokens
        return 0.0 if missing <= _EPSILON else missing / self.rate

    def retry_after(self, now: float) -> int:
        """`wait` rounded up to whole seconds, at least 1 (a ``Retry-After`` value)."""
        return max(1, math.ceil(self.wait(now) - _EPSILON))
