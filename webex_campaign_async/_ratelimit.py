"""`RateLimit`: the settings of a client's throttle (the rate as a ceiling, burst, floor, and
the rate law's decrease, climb and cooldown), checked when it is made.

The rate law that follows them is `_ratecontrol.RateControl`; `AdaptiveThrottle` and
`redis.RedisThrottle` both take a `RateLimit`.
"""

from __future__ import annotations

import math

import attrs

from .exceptions import ConfigurationError

__all__ = ["MIN_RATE", "RateLimit"]

#: The lowest rate a throttle takes: one request an hour (below it a run only seems to hang).
MIN_RATE = 1 / 3600


@attrs.frozen
class RateLimit:
    """The client-side throttle: a token bucket shared by every request of one client.

    - ``rate``: requests per second never to exceed (your tenant's throttle, if you know
      it): a ceiling, below which the throttle still adapts on 429s. ``None``: find the
      tenant's limit (unlimited until the first 429, then learned from the measured rate of
      successful sends).
    - ``burst``: requests that may start at once after an idle spell (the bucket's size),
      also at start. Default: 20 ms worth of the current rate, between 1 and 10. With no
      rate, a burst given still holds: the first wave is the burst, then a slow start from
      a burst per 20 ms (never unlimited); with neither, the first wave is unlimited.
    - ``floor``: the rate never drops below this on 429s (default ``rate / 20``, or 1/s
      with no rate).
    - ``decrease``: factor applied to the learned limit on a congestion event (default 0.7).
    - ``climb``: seconds to climb back to the learned limit after a decrease (default 3);
      the climb goes on above it, faster and faster, until the next 429.
    - ``cooldown``: seconds between two decreases that no measurement backs (default 0.5):
      an API that accepts nothing for a while is lowered step by step, not at once.
    """

    rate: float | None = None
    burst: int | None = None
    floor: float | None = None
    decrease: float = 0.7
    climb: float = 3.0
    cooldown: float = 0.5

    def __attrs_post_init__(self) -> None:
        if self.rate is not None and not (self.rate >= MIN_RATE and math.isfinite(self.rate)):
            raise ConfigurationError(
                f"rate must be a number of requests per second from {MIN_RATE:.6f} (one an "
                f"hour) up, or None, got {self.rate!r}"
            )
        if self.burst is not None and self.burst < 1:
            raise ConfigurationError(f"burst must be >= 1, got {self.burst!r}")
        if not 0 < self.decrease < 1:
            raise ConfigurationError(f"decrease must be between 0 and 1, got {self.decrease!r}")
        if not (self.climb > 0 and math.isfinite(self.climb)):
            raise ConfigurationError(f"climb must be > 0 seconds, got {self.climb!r}")
        if self.floor is not None and not (self.floor > 0 and math.isfinite(self.floor)):
            raise ConfigurationError(f"floor must be > 0, got {self.floor!r}")
        if not (self.cooldown >= 0 and math.isfinite(self.cooldown)):
            raise ConfigurationError(f"cooldown must be >= 0, got {self.cooldown!r}")

    def burst_for(self, rate: float) -> int:
        """The bucket size used at ``rate``."""
        if self.burst is not None:
            return self.burst
        return max(1, min(10, round(rate / 50)))

    def floor_for(self, ceiling: float | None) -> float:
        """The lowest rate allowed under ``ceiling`` (``None``: no configured rate)."""
        if self.floor is not None:
            return self.floor if ceiling is None else min(self.floor, ceiling)
        return 1.0 if ceiling is None else ceiling / 20
