"""The shared throttle: every request of one client waits here for a send slot.

`Throttle` is the small interface the client and the bulk engine hold (a Redis-backed one
for several processes could implement it too). `AdaptiveThrottle` is the in-process one:
an aiolimiter token bucket whose rate the pure `RateControl` adapts on 429, plus a shared
pause when the API sends ``Retry-After``.
"""

from __future__ import annotations

import asyncio
import math
import random
from collections.abc import Awaitable, Callable
from typing import Protocol, runtime_checkable

from aiolimiter import AsyncLimiter

from ._ratecontrol import RateControl, RateLimit
from .exceptions import ConfigurationError

__all__ = ["AdaptiveThrottle", "Throttle"]


@runtime_checkable
class Throttle(Protocol):
    """Everything the client and the bulk engine use of a throttle (nothing is probed).

    One throttle may be shared by every client of a tenant (in-process: `AdaptiveThrottle`;
    across processes: a Redis-backed one). Times are the throttle's own clock: the value
    `acquire` returns is what the caller hands back to `succeeded` and `throttled`.
    """

    async def acquire(self) -> float:
        """Wait for a send slot; return the time of the send (the throttle's clock)."""

    def try_acquire(self) -> float | None:
        """The send time of a send that may go now without awaiting, or None (then `acquire`).

        The hot path of an unthrottled client: a throttle that can never answer at once
        returns None.
        """

    def ready(self) -> bool:
        """True when `acquire` would return without waiting now (False when unsure)."""

    def succeeded(self, sent_at: float) -> None:
        """A request sent at ``sent_at`` got an answer that was not a 429."""

    def throttled(self, sent_at: float, retry_after: float | None) -> bool:
        """Report a 429 to a request sent at ``sent_at``, with the API's Retry-After if any.

        Return True when `acquire` will make every sender wait ``retry_after`` out (the
        caller then does not wait on its own as well).
        """

    @property
    def rate(self) -> float | None:
        """The rate currently enforced, requests per second (``None``: unlimited)."""

    @property
    def rate_changes(self) -> int:
        """Times the enforced rate changed so far (adaptation and `set_rate`)."""

    def set_rate(self, rate: float | None) -> None:
        """Change the configured rate at runtime (``None``: unlimited)."""


class AdaptiveThrottle:
    """Token bucket (aiolimiter) with AIMD on 429 and one shared pause per ``Retry-After``.

    ``clock`` and ``sleep`` default to the running loop's ``time()`` and `asyncio.sleep`;
    tests pass a fake pair. The bucket itself always runs on the loop's clock.
    """

    def __init__(
        self,
        limit: RateLimit | None = None,
        *,
        clock: Callable[[], float] | None = None,
        sleep: Callable[[float], Awaitable[object]] | None = None,
        random: Callable[[], float] = random.random,
    ) -> None:
        self._control = RateControl(limit or RateLimit())
        self._clock = clock
        self._sleep = sleep or asyncio.sleep
        self._random = random
        self._limiter: AsyncLimiter | None = None
        self._prefill = False
        self._build(prefill=False)
        self._paused_until = -math.inf
        self._spread = 0.0
        self._window_start = -math.inf
        self._window_count = 0
        self._recent_rate = 0.0
        #: Times all sending paused for a ``Retry-After``.
        self.pauses = 0

    def __repr__(self) -> str:
        return (
            f"<AdaptiveThrottle rate={self.rate!r} ceiling={self._control.ceiling!r} "
            f"throttled={self.throttled_count} changes={self.rate_changes}>"
        )

    @property
    def rate(self) -> float | None:
        return self._control.rate

    @property
    def ceiling(self) -> float | None:
        """The configured (or learned) rate that recovery climbs back to."""
        return self._control.ceiling

    @property
    def throttled_count(self) -> int:
        """429 answers reported so far."""
        return self._control.throttled

    @property
    def rate_changes(self) -> int:
        """Times the enforced rate changed (decreases, recovery steps, `set_rate`)."""
        return self._control.changes

    def set_rate(self, rate: float | None) -> None:
        if rate is not None and not (rate > 0 and math.isfinite(rate)):
            raise ConfigurationError(f"rate must be a positive number or None, got {rate!r}")
        if self._control.set_ceiling(rate):
            self._build(prefill=True)

    def _now(self) -> float:
        return self._clock() if self._clock is not None else asyncio.get_running_loop().time()

    def _build(self, *, prefill: bool) -> None:
        rate = self._control.rate
        if rate is None:
            self._limiter = None
            return
        burst = self._control.limit.burst_for(rate)
        self._limiter = AsyncLimiter(burst, burst / rate)
        # A new bucket starts empty; filling it first means a rate change never lets a burst out.
        self._prefill = prefill

    async def acquire(self) -> float:
        now = self._now()
        if self._paused_until > now:
            await self._wait_pause()
            now = self._now()
        if self._control.adapting and self._control.on_tick(now):
            self._build(prefill=True)
        limiter = self._limiter
        if limiter is not None:
            while True:
                if self._prefill:
                    self._prefill = False
                    await limiter.acquire(limiter.max_rate)
                await limiter.acquire()
                if limiter is self._limiter:
                    break
                limiter = self._limiter  # the rate changed while we queued: queue at the new rate
                if limiter is None:
                    break
            now = self._now()
            if self._paused_until > now:  # a Retry-After arrived while we queued
                await self._wait_pause()
                now = self._now()
        self._count(now)
        return now

    async def _wait_pause(self) -> None:
        waited_for = None
        while (until := self._paused_until) != waited_for and until > (now := self._now()):
            waited_for = until
            await self._sleep(until - now + self._random() * self._spread)

    def _count(self, now: float) -> None:
        elapsed = now - self._window_start
        if elapsed >= 1.0:
            self._recent_rate = self._window_count / elapsed if elapsed < 2.0 else 0.0
            self._window_start = now
            self._window_count = 0
        self._window_count += 1

    def _observed_rate(self, now: float) -> float:
        # what was sent in this window, as a rate over at least a quarter second
        current = self._window_count / max(now - self._window_start, 0.25)
        return max(self._recent_rate, current, 1.0)

    def ready(self) -> bool:
        """True when `acquire` would return without waiting now."""
        if self._paused_until > self._now():
            return False
        limiter = self._limiter
        return limiter is None or (not self._prefill and limiter.has_capacity())

    def try_acquire(self) -> float | None:
        """The time of a send that may go now without waiting, or None (then `acquire`).

        Only an unlimited rate with no pause answers at once: a bucket is always waited on
        through `acquire`, which keeps aiolimiter's order among the waiting senders.
        """
        if self._limiter is not None:  # (no limiter: the rate is None, nothing to adapt)
            return None
        now = self._now()
        if self._paused_until > now:
            return None
        self._count(now)
        return now

    def succeeded(self, sent_at: float) -> None:
        """An answer that was not a 429 (the AIMD law does not use it)."""

    def throttled(self, sent_at: float, retry_after: float | None) -> bool:
        now = self._now()
        if self._control.on_throttled(now, sent_at, self._observed_rate(now), retry_after):
            self._build(prefill=True)
        if retry_after is not None:
            until = now + retry_after
            if until > self._paused_until:
                if now >= self._paused_until:
                    self.pauses += 1
                self._paused_until = until
                # resume spread over up to 10% of the pause (at most 1 s), not all at once
                self._spread = min(1.0, 0.1 * retry_after)
        return retry_after is not None
