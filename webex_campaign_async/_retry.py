"""Retry policy: capped exponential backoff with full jitter, ``Retry-After`` first.

Pure: the caller passes the attempt number, the time elapsed and a random number, and
does the sleeping (so tests decide what time is).
"""

from __future__ import annotations

import attrs

from .exceptions import ConfigurationError

__all__ = ["RetryPolicy"]


def _positive(_: object, attribute: attrs.Attribute[float], value: float) -> None:
    if not value > 0:
        raise ConfigurationError(f"{attribute.name} must be > 0, got {value!r}")


@attrs.frozen
class RetryPolicy:
    """When to send a failed request again, and when to give up.

    Only transient failures are retried: 429, 499, 5xx, timeouts and dropped connections
    (and 498 once, after a token refresh), and a few times 1010 "The request was not
    processed". Permanent errors and update-count 0 never are.

    - ``attempts``: requests per record at most, the first one included (1 = no retries);
      429 answers do not use it up.
    - ``throttled_attempts``: 429 answers a record may get before it fails. A 429 says "come
      back later", and the throttle slows the whole client down meanwhile, so a storm of them
      is waited out (within the ``deadline``) rather than failing records.
    - ``outage``: seconds from a record's first attempt during which gateway answers (502,
      503, 504) and lost connections do not use up ``attempts``: a gateway restarting or a
      network blip is waited out instead of failing the records caught in it. Later, they
      count like any failure. ``0`` turns this off.
    - ``unprocessed_attempts``: requests per record that may be answered 1010 "The request
      was not processed." (the first included; they also count in ``attempts``). Nothing was
      done and an upsert is idempotent, so it is sent again with the usual backoff; when the
      answer stays 1010 (the same cause every time, such as a missing linked profile with
      update-link "3") the record ends REJECTED with code 1010 (FAILED when ``attempts`` ran
      out first).
    - ``initial``, ``multiplier``, ``maximum``: the n-th retry waits up to
      ``min(maximum, initial * multiplier ** (n - 1))`` seconds...
    - ``jitter``: ...times a uniform random factor in [0, 1) ("full jitter"), so that
      many clients that failed together do not retry together.
    - ``deadline``: seconds from the first attempt after which no retry starts (``None``:
      no deadline). A wait that would end past the deadline gives up at once instead.
    - A ``Retry-After`` sent by the API replaces the computed backoff (honoured up to
      ``maximum``: a server asking for a day does not freeze the client for a day).
    - ``deadline`` is per record; a bulk run's own ``deadline=`` bounds the whole run.
    """

    attempts: int = attrs.field(default=5)
    throttled_attempts: int = attrs.field(default=20)
    outage: float = attrs.field(default=60.0)
    unprocessed_attempts: int = attrs.field(default=3)
    initial: float = attrs.field(default=0.5, validator=_positive)
    maximum: float = attrs.field(default=30.0, validator=_positive)
    multiplier: float = attrs.field(default=2.0)
    jitter: bool = True
    deadline: float | None = 300.0

    @attempts.validator
    @throttled_attempts.validator
    @unprocessed_attempts.validator
    def _check_attempts(self, attribute: attrs.Attribute[int], value: int) -> None:
        if not isinstance(value, int) or isinstance(value, bool) or value < 1:
            raise ConfigurationError(f"{attribute.name} must be an int >= 1, got {value!r}")

    @outage.validator
    def _check_outage(self, _: attrs.Attribute[float], value: float) -> None:
        if not value >= 0:
            raise ConfigurationError(f"outage must be >= 0 seconds, got {value!r}")

    @multiplier.validator
    def _check_multiplier(self, _: attrs.Attribute[float], value: float) -> None:
        if not value >= 1:
            raise ConfigurationError(f"multiplier must be >= 1, got {value!r}")

    @classmethod
    def never(cls) -> RetryPolicy:
        """One attempt, no retries."""
        return cls(attempts=1, throttled_attempts=1, unprocessed_attempts=1, outage=0)

    def backoff(self, retry: int, random: float) -> float:
        """The wait before the ``retry``-th retry (1-based), before any ``Retry-After``."""
        cap = min(self.maximum, self.initial * self.multiplier ** min(retry - 1, 64))
        return cap * random if self.jitter else cap

    def delay(
        self,
        attempts: int,
        *,
        elapsed: float,
        retry_after: float | None,
        random: float,
        throttled: int = 0,
        unavailable: int = 0,
        unprocessed: int = 0,
    ) -> float | None:
        """Seconds to wait after ``attempts`` failed attempts, or ``None`` to give up.

        Of the attempts (the last one included), ``throttled`` were answered 429,
        ``unavailable`` were gateway answers or lost connections, ``unprocessed`` were 1010;
        ``elapsed`` is the time since the first attempt started, ``random`` a number in
        [0, 1) for the jitter, ``retry_after`` the API's ``Retry-After`` if it sent one.
        """
        counted = attempts - throttled
        if elapsed < self.outage:
            counted -= unavailable
        if (
            counted >= self.attempts
            or throttled >= self.throttled_attempts
            or unprocessed >= self.unprocessed_attempts
        ):
            return None
        wait = retry_after if retry_after is not None else self.backoff(attempts, random)
        if self.deadline is not None and elapsed + wait > self.deadline:
            return None
        return wait
