"""Seeded fault decisions: which fault (if any) and how much latency one request gets.

Per request that passes auth and throttle, exactly two numbers are drawn, in this order,
from one ``random.Random(seed)``: the first picks at most one fault by stacking the
probabilities in `PROBABILITY_FIELDS` order, the second picks the jitter. Storm windows
depend on time alone. `FaultPlan.reset` re-seeds, so a run can be replayed.
"""

from __future__ import annotations

import enum
import random

import attrs

from ._config import PROBABILITY_FIELDS, Faults, Storm

__all__ = ["Fault", "FaultPlan"]


class Fault(str, enum.Enum):
    """A kind of injected fault (its value names it in statistics)."""

    ERROR_500 = "500"  #: HTTP 500, code 500 "Internal server error"
    ERROR_499 = "499"  #: HTTP 499, code 499
    #: HTTP 200, code 1010 "The request was not processed."; nothing applied. A transient
    #: refusal: the library sends such a record again (`RetryPolicy.unprocessed_attempts`).
    UNPROCESSED_1010 = "1010"
    HTML_503 = "503_html"  #: HTTP 503 with an nginx HTML page
    DROP_BEFORE = "drop_before"  #: connection closed without an answer; not applied
    DROP_AFTER = "drop_after"  #: applied, then connection closed without an answer
    SLOW = "slow"  #: applied, answered ``slow_seconds`` late
    STORM = "storm"  #: 429 inside a storm window

    def __str__(self) -> str:
        return self.value


_BY_FIELD = dict(
    zip(
        PROBABILITY_FIELDS,
        (
            Fault.ERROR_500,
            Fault.ERROR_499,
            Fault.UNPROCESSED_1010,
            Fault.HTML_503,
            Fault.DROP_BEFORE,
            Fault.DROP_AFTER,
            Fault.SLOW,
        ),
        strict=True,
    )
)


def _thresholds(faults: Faults) -> tuple[tuple[float, Fault], ...]:
    stacked: list[tuple[float, Fault]] = []
    total = 0.0
    for name in PROBABILITY_FIELDS:
        p = getattr(faults, name)
        if p > 0:
            total += p
            stacked.append((total, _BY_FIELD[name]))
    return tuple(stacked)


@attrs.define
class FaultPlan:
    """Draws the faults of `Faults` from its seed."""

    faults: Faults
    enabled: bool = attrs.field(init=False)
    _rng: random.Random = attrs.field(init=False, repr=False)
    _thresholds: tuple[tuple[float, Fault], ...] = attrs.field(init=False, repr=False)

    def __attrs_post_init__(self) -> None:
        self.enabled = self.faults.random_faults
        self._rng = random.Random(self.faults.seed)  # noqa: S311 - reproducible, not secret
        self._thresholds = _thresholds(self.faults)

    def reset(self) -> None:
        """Start the random sequence again from the seed."""
        self._rng.seed(self.faults.seed)

    def draw(self) -> tuple[Fault | None, float]:
        """(the fault of the next request or None, its latency in seconds)."""
        u = self._rng.random()
        j = self._rng.random()
        faults = self.faults
        latency = faults.latency + faults.jitter * j
        for bound, fault in self._thresholds:
            if u < bound:
                return fault, latency
        return None, latency

    def storm(self, elapsed: float) -> Storm | None:
        """The storm in force ``elapsed`` seconds after the start, if any."""
        for storm in self.faults.storms:
            if storm.start <= elapsed < storm.end:
                return storm
        return None
