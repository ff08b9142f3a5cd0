"""The adaptive rate law (CUBIC-like, measured): pure, the caller passes the time.

Its settings are a `RateLimit` (``_ratelimit.py``); what a 429 says about the limit, `_evidence`.

The law, with ``R`` the tenant's unknown limit and every time on the throttle's clock:

- **Decrease once per congestion event.** A 429 to a request sent after the last decrease
  is a new event (answers to requests sent before it are the same event). What it says is
  `_evidence`'s: a passing burst changes nothing; a measurement (``MIN_WINDOW`` seconds and
  ``MIN_COUNT`` successes) from a client that used its rate teaches a limit: the enforced
  rate, but no more than the successes of the last second and no less than those since the
  last decrease, and the rate drops to ``decrease`` x it; a client held back by its own
  senders only drops its rate, the learned limit stays. Right after a decrease, before a
  measurement is possible, ``STILL_TOO_HIGH`` 429s that are a quarter of the answers or
  more lower the rate again. With no measurement at all (the first instants, or an API
  that accepts nothing) the rate is multiplied by ``decrease``, at most once per
  ``cooldown``, and the learned limit is kept.
- **Climb back CUBIC-like.** After a decrease the rate follows
  ``limit x (1 + (1 - decrease) x ((t - climb) / climb) ** 3)``: fast at first, flat near
  the learned limit (reached ``climb`` seconds after the decrease), then faster and faster
  above it, so a raised limit is found again within a few ``climb`` periods. No climb goes
  beyond ``CAP`` x the rate of successful answers of the last 0.3 s (nor below the learned
  limit): a rate that is not used is not tested, so it is not raised.
- **Start.** With no rate configured the client is unlimited until the first 429 (with a
  burst configured, never: it starts paced, see `start`); if nothing can be measured yet,
  the rate starts from ``decrease`` x what was sent and doubles every ``SLOW_START`` s
  (within that cap) until the next 429, whose rate is then the limit learned. A climb that
  reaches ``UNLIMITED`` x the learned limit without a 429 forgets it (unlimited again, or a
  slow start with a burst). A configured rate is a ceiling: the rate never goes above it,
  and adapts below it the same way.
- **Retry-After.** A 429 with ``Retry-After`` is a congestion event like any other, and the
  request that got it waits ``Retry-After`` on its own; every sender pauses only when the API
  looks closed: such 429s to the requests sent over ``CLOSED`` seconds since the last
  decrease, and no success to any of them. The throttle then resumes paced at the current
  rate, from an empty bucket (see `AdaptiveThrottle`); a longer ``Retry-After`` that comes
  during the pause extends it.
"""

from __future__ import annotations

import math

import attrs

from ._evidence import BUSY, LAG, MIN_COUNT, MIN_WINDOW, TOLERANCE, measured, passing
from ._ratelimit import RateLimit

__all__ = ["LAG", "MIN_COUNT", "MIN_WINDOW", "TOLERANCE", "RateControl", "Reaction"]

#: Seconds per doubling of the rate while nothing could be measured yet.
SLOW_START = 0.05
#: With no rate but a burst configured, the first rate is a burst per this many seconds.
PACED = 0.02
#: 429s to requests sent since the last decrease, a quarter of the answers or more (and some
#: successes), that lower the rate again before a measurement is possible.
STILL_TOO_HIGH = 3
#: Seconds of requests (sent since the last decrease) answered 429 with Retry-After, and no
#: success to any of them, after which every sender pauses: the API looks closed.
CLOSED = 0.25
#: A learned limit is forgotten once the climb reaches this multiple of it with no 429.
UNLIMITED = 16.0
#: Largest rate a slow start climbs to before it is unlimited again.
MAX_RATE = 1e6
#: A climb goes at most this far above the rate of successes lately.
CAP = 2.0


@attrs.frozen
class Reaction:
    """What the throttle does about one 429.

    ``lowered``: the rate was decreased (``RateControl.rate`` is the new one);
    ``paused``: every sender now waits until ``RateControl.paused_until``; ``covered``: the
    pause lasts at least the answer's ``Retry-After``, so the request need not wait on its own.
    """

    lowered: bool = False
    paused: bool = False
    covered: bool = False


_NOTHING = Reaction()


@attrs.define
class RateControl:
    """The state of one throttle's rate, a few plain numbers; methods take the time.

    ``rate`` is enforced now (``None``: unlimited), ``ceiling`` is the configured rate,
    ``learned_rate`` the tenant's limit as last measured (``None``: unknown). ``epoch`` is the
    origin of the current climb, ``decreased_at`` the time of the last decrease,
    ``measured_from`` the start of the window the throttle counts successes over, and
    ``paused_until`` the end of the current pause.
    """

    limit: RateLimit
    ceiling: float | None = None
    rate: float | None = None
    learned_rate: float | None = None
    epoch: float = -math.inf
    start_rate: float = 0.0
    decreased_at: float = -math.inf
    measured_from: float = -math.inf
    paused_until: float = -math.inf
    origin: float | None = None
    changes: int = 0
    throttled: int = 0
    decreases: int = 0
    pauses: int = 0
    closed_since: float = math.inf
    throttled_since: int = 0
    _closed_mark: int = -1

    def __attrs_post_init__(self) -> None:
        if self.ceiling is None:
            self.ceiling = self.limit.rate
        if self.rate is None:
            self.rate = self.ceiling

    # --- reading ---------------------------------------------------------------------------

    @property
    def floor(self) -> float:
        """The lowest rate the law goes to."""
        return self.limit.floor_for(self.ceiling)

    def measured(self, now: float, successes: int, answered: float | None = None) -> float | None:
        """The API's rate from ``successes`` since `measured_from`, or None (too few); see
        `_evidence.measured`."""
        start = self.measured_from if self.measured_from > -math.inf else self.origin
        return measured(start, now, successes, answered)

    def target(self, now: float) -> float | None:
        """The rate the law asks for at ``now`` (``None``: unlimited), the ceiling applied."""
        if self.rate is None:
            return None
        ceiling = self.ceiling
        learned = self.learned_rate
        if learned is None:
            if ceiling is not None:
                return ceiling
            # slow start: double every SLOW_START seconds from start_rate
            rate: float = self.start_rate * 2.0 ** min(64.0, (now - self.epoch) / SLOW_START)
            if rate > MAX_RATE:  # unlimited, unless a burst is configured (see `start`)
                return None if self.limit.burst is None else MAX_RATE
            return max(rate, self.floor)
        climb = self.limit.climb
        x = (now - self.epoch - climb) / climb
        rate = learned * (1.0 + (1.0 - self.limit.decrease) * x * x * x)
        if ceiling is not None:
            return max(min(rate, ceiling), self.floor)
        if rate >= UNLIMITED * learned:
            return None
        return max(rate, self.floor)

    # --- events ----------------------------------------------------------------------------

    def start(self, now: float) -> bool:
        """The first send: the origin of the first measurement. With no rate but a burst,
        the first wave is the burst, then a slow start from ``burst`` per ``PACED`` seconds
        (True: the rate changed)."""
        if self.origin is not None:
            return False
        self.origin = now
        return self._paced(now)

    def _paced(self, now: float) -> bool:
        burst = self.limit.burst
        if burst is None or self.rate is not None or self.ceiling is not None:
            return False
        self.learned_rate = None
        self._anchor(now, max(burst / PACED, self.floor))
        return self._set(self.start_rate)

    def tick(self, now: float, recent: float | None = None) -> bool:
        """Move the rate along the climb; True when it changed.

        ``recent``: successful answers per second lately (None: not known yet). The climb
        never goes beyond twice that (nor below the learned limit, or where a slow start
        began): a rate the client does not use is not tested, so it is not raised (as while
        every sender waits out a Retry-After).
        """
        if self.rate is None:
            return False
        target = self.target(now)
        if target is None:  # climbed far beyond what was learned: unlimited again...
            self.learned_rate = None
            if self.limit.burst is None:
                return self._set(None)
            self._anchor(now, self.rate)  # ...or, with a burst configured, a slow start on
            target = self.rate
        if self.learned_rate is not None or self.ceiling is None:
            used = 0.0 if recent is None else CAP * recent
            cap = max(used, self.start_rate if self.learned_rate is None else self.learned_rate)
            if target > cap:
                target = cap
                self._anchor(now, cap)
        return self._set(target)

    def on_throttled(
        self,
        now: float,
        sent_at: float,
        retry_after: float | None,
        successes: int,
        recent: float | None = None,
        sending: float = 0.0,
        used: float | None = None,
        rejected: float | None = None,
        answered: float | None = None,
    ) -> Reaction:
        """A 429 to a request sent at ``sent_at``, with what the throttle measured (None:
        not known): ``successes`` to requests sent since `measured_from`; successes and 429s
        (this one included) per second over the last second, ``recent`` and ``rejected``;
        ``sending``, the send rate while unlimited; ``used``, the share of its send slots the
        client took since `measured_from` (None: as all); ``answered``, the send time of the
        newest success (see `measured`)."""
        self.throttled += 1
        since_decrease = sent_at > self.decreased_at
        if since_decrease:
            self.throttled_since += 1
        lowered = since_decrease and self._decrease(
            now, successes, recent, sending, used, rejected, answered
        )
        if retry_after is None:
            return Reaction(lowered=lowered) if lowered else _NOTHING
        paused = False
        if now < self.paused_until:  # the API is still closed: the longest wait wins
            paused = self._pause(now, retry_after)
        elif lowered:
            self.closed_since = math.inf
            self._closed_mark = -1
        elif since_decrease:
            if successes != self._closed_mark:  # a success came since: not closed
                self._closed_mark = successes
                self.closed_since = sent_at
            elif sent_at - self.closed_since >= CLOSED:
                paused = self._pause(now, retry_after)
        covered = self.paused_until >= now + retry_after
        return Reaction(lowered=lowered, paused=paused, covered=covered)

    def set_ceiling(self, rate: float | None, now: float | None = None) -> bool:
        """Change the configured rate at runtime (``None``: find the limit, unlimited first,
        or paced from ``now`` with a burst configured, as at `start`); what was learned is
        forgotten: the rate is the new ceiling (or unlimited) at once."""
        self.ceiling = rate
        self.learned_rate = None
        changed = self._set(rate)
        if now is not None and self._paced(now):
            return True
        return changed

    # --- the law ---------------------------------------------------------------------------

    def _decrease(
        self,
        now: float,
        successes: int,
        recent: float | None,
        sending: float,
        used: float | None,
        rejected: float | None,
        answered: float | None,
    ) -> bool:
        rate = self.rate
        accepted = self.measured(now, successes)
        decrease = self.limit.decrease
        if accepted is not None:
            if rate is not None and passing(
                rate, self.ceiling, self.learned_rate, accepted, recent, rejected
            ):
                return False
            if rate is None:  # unlimited until now: the limit is what the API accepted lately
                learned = recent if recent is not None else accepted
            elif used is not None and used < BUSY:
                # the client's own senders held it back: what got through is what it sent,
                # not the API's limit; lower the rate, keep what was learned
                kept = self.learned_rate if self.learned_rate is not None else self.ceiling
                self._lower(now, kept, rate * decrease)
                return True
            elif self.learned_rate is None and self.ceiling is None:
                learned = rate  # the end of a slow start: the rate that was too much
            else:
                # at most the rate, at least what got through since the last decrease (up
                # to the newest answer: answers to later requests may be on their way)
                accepted = self.measured(now, successes, answered) or accepted
                learned = min(rate, max(accepted, rate if recent is None else recent))
            self._lower(now, learned, learned * decrease)
            return True
        throttled = self.throttled_since
        if rate is not None and throttled >= STILL_TOO_HIGH and 0 < successes <= 3 * throttled:
            # right after a decrease, a quarter of the answers or more are 429: still too high
            self._lower(now, rate, rate * decrease)
            return True
        if self.decreased_at > -math.inf and now - self.decreased_at < self.limit.cooldown:
            return False
        if rate is None:  # unlimited, and too early to measure: slow start from what was sent
            self._lower(now, None, max(sending, self.floor) * decrease)
            return True
        if self.learned_rate is None and self.ceiling is not None:
            self.learned_rate = self.ceiling  # the first event under a ceiling: climb back to it
        self._lower(now, self.learned_rate, rate * decrease)
        return True

    def _lower(self, now: float, learned: float | None, rate: float) -> None:
        """Lower the rate to ``rate`` and climb from there toward ``learned``."""
        floor = self.floor
        rate = max(rate, floor)
        if self.ceiling is not None:
            rate = min(rate, self.ceiling)
        self.learned_rate = learned if learned is None else max(learned, floor)
        self.decreased_at = self.measured_from = now
        self.throttled_since = 0
        self.decreases += 1
        self._anchor(now, rate)
        self._set(rate)

    def _anchor(self, now: float, rate: float) -> None:
        """Climb on from ``rate`` at ``now``."""
        self.start_rate = rate
        self.epoch = now
        learned = self.learned_rate
        if learned is not None:
            # the point of the climb at this rate: rate = learned (1 + (1 - decrease) x^3)
            x = _cbrt((rate / learned - 1.0) / (1.0 - self.limit.decrease))
            self.epoch = now - self.limit.climb * (1.0 + x)

    def _pause(self, now: float, retry_after: float) -> bool:
        until = now + retry_after
        if until <= self.paused_until:
            return False
        if now >= self.paused_until:
            self.pauses += 1
        self.paused_until = until
        self.measured_from = until
        self.closed_since = math.inf
        return True

    def _set(self, rate: float | None) -> bool:
        if rate == self.rate:
            return False
        self.rate = rate
        self.changes += 1
        return True


def _cbrt(value: float) -> float:
    return math.copysign(abs(value) ** (1.0 / 3.0), value)
