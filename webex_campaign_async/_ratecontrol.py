"""Rate settings and the adaptive rate controller (AIMD): pure, the caller passes the time.

On 429 the rate is multiplied by ``decrease``, down to ``floor``, at most once per
``cooldown`` seconds and only for requests sent after the last decrease (a storm of 429s
is one signal, not one per answer); a 429 with ``Retry-After`` is answered by the pause
it asks for, unless 429s come back right after that pause. After ``quiet`` seconds without
429 the rate grows by ``recovery * ceiling`` every second, back to the ceiling.
"""

from __future__ import annotations

import math

import attrs

from .exceptions import ConfigurationError

__all__ = ["RateControl", "RateLimit"]


@attrs.frozen
class RateLimit:
    """The client-side throttle: a token bucket shared by every request of one client.

    - ``rate``: requests per second to stay under (your tenant's throttle). ``None``: no
      limit until the API answers 429; the rate is then learned from what was sent.
    - ``burst``: requests that may start at once after an idle spell (the bucket's size).
      Default: 1/20 s worth of ``rate``, at least 1. Nothing beyond it is sent at start.
    - ``floor``: the rate never drops below this on 429s (default ``rate / 20``).
    - ``decrease``: factor applied to the rate on a 429 storm (default 0.7).
    - ``recovery``: fraction of the ceiling added back per second once ``quiet`` seconds
      passed without a 429 (default 0.2 per second after 1 s: from 0.7 x back to the
      ceiling in under 3 s).
    - ``cooldown``: seconds between two decreases (default 1: an API's throttle window is
      seconds long, so the 429s of one window are one signal).
    """

    rate: float | None = None
    burst: int | None = None
    floor: float | None = None
    decrease: float = 0.7
    recovery: float = 0.2
    quiet: float = 1.0
    cooldown: float = 1.0

    def __attrs_post_init__(self) -> None:
        if self.rate is not None and not (self.rate > 0 and math.isfinite(self.rate)):
            raise ConfigurationError(f"rate must be a positive number or None, got {self.rate!r}")
        if self.burst is not None and self.burst < 1:
            raise ConfigurationError(f"burst must be >= 1, got {self.burst!r}")
        if not 0 < self.decrease < 1:
            raise ConfigurationError(f"decrease must be between 0 and 1, got {self.decrease!r}")
        if not 0 < self.recovery <= 1:
            raise ConfigurationError(f"recovery must be in (0, 1], got {self.recovery!r}")
        if self.floor is not None and not self.floor > 0:
            raise ConfigurationError(f"floor must be > 0, got {self.floor!r}")
        if not self.cooldown >= 0:
            raise ConfigurationError(f"cooldown must be >= 0, got {self.cooldown!r}")

    def burst_for(self, rate: float) -> int:
        """The bucket size used at ``rate``."""
        return self.burst if self.burst is not None else max(1, round(rate / 20))

    def floor_for(self, ceiling: float) -> float:
        """The lowest rate allowed under ``ceiling``."""
        return min(self.floor, ceiling) if self.floor is not None else ceiling / 20


_RECOVERY_INTERVAL = 1.0


@attrs.define
class RateControl:
    """The current rate of one throttle. ``rate is None`` means unlimited."""

    limit: RateLimit
    ceiling: float | None = None
    rate: float | None = None
    changes: int = 0
    throttled: int = 0
    _decreased_at: float = -math.inf
    _throttled_at: float = -math.inf
    _resume_at: float = -math.inf
    _recovered_at: float = -math.inf

    def __attrs_post_init__(self) -> None:
        if self.ceiling is None:
            self.ceiling = self.limit.rate
        if self.rate is None:
            self.rate = self.ceiling

    def on_throttled(
        self, now: float, sent_at: float, observed: float, retry_after: float | None = None
    ) -> bool:
        """A 429 answered a request sent at ``sent_at``; ``observed`` is the recent send rate.

        A 429 with ``retry_after`` says when to come back, and the throttle's shared pause is
        the answer to it: the rate is lowered only when 429s come again for requests sent
        after such a pause, within ``quiet`` seconds of its end (the rate, not a passing
        storm, is then the trouble). Returns True when the rate changed.
        """
        self.throttled += 1
        self._throttled_at = now
        if retry_after is not None:
            resumed_at = self._resume_at
            self._resume_at = max(resumed_at, now + retry_after)
            if not (sent_at >= resumed_at and now - resumed_at < self.limit.quiet):
                return False
        if sent_at <= self._decreased_at or now - self._decreased_at < self.limit.cooldown:
            return False  # the same storm: already answered by the last decrease
        if self.rate is None:  # unlimited: learn the ceiling from what the API refused
            self.ceiling = max(observed, 1.0)
            base = self.ceiling
        else:
            base = self.rate
        assert self.ceiling is not None
        new = max(self.limit.floor_for(self.ceiling), base * self.limit.decrease)
        self._decreased_at = now
        self._recovered_at = now
        return self._set(new)

    @property
    def adapting(self) -> bool:
        """True while `on_tick` may change the rate (below the ceiling, or a learned one)."""
        return self.rate is not None and (
            self.limit.rate is None or self.ceiling is None or self.rate < self.ceiling
        )

    def on_tick(self, now: float) -> bool:
        """Additive recovery toward the ceiling; returns True when the rate changed.

        A ceiling learned from 429s (``rate=None``) lasts until the rate is back at it with
        still no 429 one step later: then the throttle is unlimited again, as configured.
        """
        if self.rate is None or self.ceiling is None:
            return False
        if now - self._throttled_at < self.limit.quiet:
            return False
        if now - self._recovered_at < _RECOVERY_INTERVAL:
            return False
        self._recovered_at = now
        if self.rate >= self.ceiling:
            if self.limit.rate is None:
                self.ceiling = None
                return self._set(None)
            return False
        return self._set(min(self.ceiling, self.rate + self.limit.recovery * self.ceiling))

    def set_ceiling(self, rate: float | None) -> bool:
        """Change the configured rate at runtime (``None``: unlimited)."""
        self.ceiling = rate
        return self._set(rate)

    def _set(self, rate: float | None) -> bool:
        if rate == self.rate:
            return False
        self.rate = rate
        self.changes += 1
        return True
