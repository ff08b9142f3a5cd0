"""`AdaptiveThrottle`: the in-process `Throttle`, a token bucket whose rate the pure rate law
(`RateControl`) adapts; FIFO waiters; one shared pause when the API looks closed.

The rate of successful answers it measures is kept by `RecentSuccesses` (``_successes.py``).
"""

from __future__ import annotations

import asyncio
import math
import random
from collections import deque
from collections.abc import Awaitable, Callable

from ._ratecontrol import MIN_COUNT, MIN_WINDOW, RateControl
from ._ratelimit import RateLimit
from ._readings import Readings
from ._successes import RecentSuccesses
from .exceptions import ConfigurationError

__all__ = ["AdaptiveThrottle"]

#: Seconds between two steps of the rate along its climb.
TICK = 0.1
#: The shortest wait for a token on a clock that ticks coarsely (uvloop's).
MIN_SLEEP = 0.001
#: Seconds of successes a climb is capped by (see `RateControl.tick`).
_CAP_WINDOW = 0.3
#: A token, give or take the float error of ``elapsed * rate``.
_ONE = 1.0 - 1e-6


class AdaptiveThrottle(Readings):
    """A token bucket whose rate `RateControl` adapts; FIFO waiters; pauses with paced resume.

    - Tokens accrue at the current rate up to the burst (`RateLimit.burst_for`); the bucket
      starts full, so nothing beyond the burst ever goes at once. Waiters are served in
      order; a change of rate applies to those already waiting.
    - A decrease empties the bucket (the API's is empty too: it just said 429).
    - A pause (the API looked closed and sent ``Retry-After``) stops every sender; tokens do
      not accrue during it, and sending resumes paced at the current rate from one token,
      after a random delay of up to 10 % of the pause (at most 1 s) so that clients paused
      together do not resume together.

    ``clock`` and ``sleep`` default to the running loop's ``time()`` and `asyncio.sleep`;
    tests pass a fake pair.
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
        self._waiters: deque[asyncio.Future[float | None]] = deque()
        self._rate: float | None = None
        self._interval = 0.0
        self._burst = 1.0
        self._tokens = 0.0
        self._updated = -math.inf  # the bucket starts full
        self._resume_at = -math.inf
        self._next_tick = -math.inf
        self._ok = 0  # successes to requests sent after self._from
        self._from = -math.inf
        self._answered = -math.inf  # the send time of the newest success counted in self._ok
        self._recent = RecentSuccesses()  # of the last second, by send time
        self._rejected = RecentSuccesses()  # 429s of the last second, by send time
        self._taken = 0  # send slots taken since self._from...
        self._wasted = 0.0  # ...and tokens lost to a full bucket meanwhile
        self._sent = 0  # sends while unlimited
        self._configure(self._control.rate)

    def set_rate(self, rate: float | None) -> None:
        if rate is not None and not (rate > 0 and math.isfinite(rate)):
            raise ConfigurationError(f"rate must be a positive number or None, got {rate!r}")
        now = self._now() if self._control.origin is not None else None
        if self._control.set_ceiling(rate, now):  # (paced from now with a burst and no rate)
            self._apply(self._now(), empty=False)

    # --- the bucket ----------------------------------------------------------------------------

    def _now(self) -> float:
        return self._clock() if self._clock is not None else asyncio.get_running_loop().time()

    def _configure(self, rate: float | None) -> None:
        self._rate = rate
        if rate is not None:
            self._interval = 1.0 / rate
            self._burst = float(self._control.limit.burst_for(rate))

    def _apply(self, now: float, *, empty: bool) -> None:
        """Take the controller's new rate: tokens so far at the old rate, then the new one."""
        rate = self._control.rate
        if self._rate is not None and now >= self._resume_at:
            self._tokens = self._fill(now)
            self._updated = now
        unlimited = self._rate is None
        self._configure(rate)
        if empty:
            self._tokens = 0.0
            self._updated = now  # (from unlimited too: no credit from the unlimited spell)
        elif unlimited and rate is not None:
            self._tokens = self._burst
            self._updated = now
        elif self._tokens > self._burst:
            self._tokens = self._burst
        if now < self._resume_at and rate is not None:
            self._tokens = 0.0
            self._updated = self._resume_at - self._interval

    def _start(self, now: float) -> bool:
        """The first send; True when it is paced (no rate, a burst configured)."""
        if self._control.start(now):
            self._apply(now, empty=False)
        return self._rate is not None

    def _tick(self, now: float) -> None:
        self._next_tick = now + TICK
        control = self._control
        if control.tick(now, self._recent.rate(now, control.origin, _CAP_WINDOW, TICK)):
            self._apply(now, empty=False)

    def _available(self, now: float) -> float:
        """Tokens at ``now`` (not taken)."""
        return min(self._burst, self._tokens + (now - self._updated) * self._rate)  # type: ignore[operator]

    def _fill(self, now: float) -> float:
        """Tokens at ``now``; those beyond the burst are counted as lost (not used)."""
        tokens = self._tokens + (now - self._updated) * self._rate  # type: ignore[operator]
        if tokens > self._burst:
            if tokens < math.inf:  # (the bucket starts full: nothing lost before the start)
                self._wasted += tokens - self._burst
            return self._burst
        return tokens

    def _take(self, now: float) -> bool:
        """Take a send slot at ``now`` if there is one (no waiter may be ahead)."""
        if now < self._resume_at:
            return False
        if now >= self._next_tick:
            self._tick(now)
        if self._rate is None:
            return True
        tokens = self._fill(now)
        self._updated = now
        if tokens >= _ONE:
            self._tokens = max(0.0, tokens - 1.0)
            self._taken += 1
            return True
        self._tokens = tokens
        return False

    def _used(self, now: float) -> float | None:
        """The share of the send slots since the window began that were taken (None: no
        rate, or too few slots to tell)."""
        if self._rate is None:
            return None
        lost = self._wasted
        if now >= self._resume_at and self._updated > -math.inf:
            lost += max(0.0, self._tokens + (now - self._updated) * self._rate - self._burst)
        slots = self._taken + lost
        return self._taken / slots if slots >= MIN_COUNT else None

    def _wait(self, now: float) -> float:
        """Seconds until a send slot is free (0: now)."""
        if now < self._resume_at:
            return self._resume_at - now
        if now >= self._next_tick:
            self._tick(now)
        if self._rate is None:
            return 0.0
        wait = (_ONE - self._available(now)) * self._interval
        return 0.0 if wait < 1e-7 else wait  # (a shorter wait would not move a clock)

    # --- the protocol --------------------------------------------------------------------------

    async def acquire(self) -> float:
        now = self._now()
        if not self._waiters:
            if self._rate is None:
                if now >= self._resume_at:
                    if not self._sent and self._start(now):  # paced from the start
                        return now if self._take(now) else await self._queue()
                    self._sent += 1
                    return now
            else:
                if self._control.origin is None:
                    self._control.start(now)
                if self._take(now):
                    return now
        return await self._queue()

    async def _queue(self) -> float:
        waiters = self._waiters
        future: asyncio.Future[float | None] = asyncio.get_running_loop().create_future()
        waiters.append(future)
        try:
            if waiters[0] is not future:
                granted = await future
                if granted is not None:
                    return granted
                # promoted: we are first in line now
            shortest = 0.0
            while True:
                now = self._now()
                if self._control.origin is None:
                    self._control.start(now)
                if self._take(now):
                    break
                await self._sleep(max(self._wait(now), shortest))
                if self._now() == now:
                    # the clock did not move: it ticks coarsely (uvloop's, in milliseconds),
                    # and a shorter sleep would spin; the tokens of a tick go out together
                    shortest = MIN_SLEEP
            waiters.popleft()
            # hand the tokens left to the next in line, then make the next one wait for more
            while waiters:
                head = waiters[0]
                if head.done():  # its task was cancelled
                    waiters.popleft()
                elif self._take(now):
                    waiters.popleft()
                    head.set_result(now)
                else:
                    head.set_result(None)
                    break
            return now
        except BaseException:
            self._abandon(future)
            raise

    def _abandon(self, future: asyncio.Future[float | None]) -> None:
        waiters = self._waiters
        if future not in waiters:
            return  # a slot was already handed to it: it is lost with the task
        first = waiters[0] is future
        waiters.remove(future)
        if first:
            while waiters:
                head = waiters[0]
                if not head.done():
                    head.set_result(None)
                    break
                waiters.popleft()

    def ready(self) -> bool:
        """True when `acquire` would return without waiting now."""
        if self._waiters:
            return False
        now = self._now()
        if now < self._resume_at:
            return False
        return self._rate is None or self._available(now) >= _ONE

    def try_acquire(self) -> float | None:
        """The time of a send that may go now without waiting, or None (then `acquire`)."""
        if self._rate is None:
            now = self._now()
            if now < self._resume_at:
                return None
            if not self._sent and self._start(now):  # paced from the start
                return now if self._take(now) else None
            self._sent += 1
            return now
        if self._waiters:
            return None
        now = self._now()
        if self._control.origin is None:
            self._control.start(now)
        return now if self._take(now) else None

    def succeeded(self, sent_at: float) -> None:
        """An answer that was not a 429: counted for the measured rate of the API."""
        if sent_at > self._from:
            self._ok += 1
            if sent_at > self._answered:
                self._answered = sent_at
        self._recent.add(sent_at)

    def throttled(self, sent_at: float, retry_after: float | None) -> bool:
        now = self._now()
        control = self._control
        sending = 0.0
        if self._rate is None and control.origin is not None:
            sending = self._sent / max(now - control.origin, MIN_WINDOW)
        self._rejected.add(sent_at)
        origin = control.origin
        reaction = control.on_throttled(
            now,
            sent_at,
            retry_after,
            self._ok,
            self._recent.rate(now, origin),
            sending,
            self._used(now),
            self._rejected.rate(now, origin),
            self._answered if self._ok else None,
        )
        if control.measured_from != self._from:
            self._from = control.measured_from
            self._ok = self._taken = 0
            self._wasted = 0.0
            self._answered = -math.inf
        if reaction.lowered:
            self._apply(now, empty=True)
        if reaction.paused:
            until = control.paused_until
            # resume after a random part of up to 10 % of the pause (at most 1 s)
            self._resume_at = until + self._random() * min(1.0, 0.1 * (until - now))
            if self._rate is not None:
                self._tokens = 0.0
                self._updated = self._resume_at - self._interval
        return reaction.covered
