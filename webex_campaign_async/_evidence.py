"""What a 429 says about the tenant's limit, from what the throttle measured (pure).

`RateControl` (``_ratecontrol.py``) asks at each 429: what did the API accept since the last
decrease (`measured`), and was the 429 a passing burst, a bunch of arrivals that the limit
does not explain (`passing`)? The caller passes every time.
"""

from __future__ import annotations

__all__ = ["BUSY", "LAG", "MIN_COUNT", "MIN_WINDOW", "TOLERANCE", "measured", "passing"]

#: Seconds of successes a measurement of the API's rate needs at least...
MIN_WINDOW = 0.25
#: ...and successes it needs at least.
MIN_COUNT = 5
#: A 429 while the API accepted this share of the enforced rate or more is a passing burst.
TOLERANCE = 0.97
#: A measurement is the API's limit only if the client took this share of its send slots.
BUSY = 0.8
#: Seconds of the newest sends whose answers a measurement does not wait for (see `measured`).
LAG = 0.1


def measured(
    start: float | None, now: float, successes: int, answered: float | None = None
) -> float | None:
    """Successes per second since ``start``, or None (too soon, too few, or no start).

    ``answered``: the send time of the newest success; the window ends there (at most `LAG`
    before ``now``), as the answers to later requests may be on their way.
    """
    if start is None:
        return None
    seconds = now - start
    if seconds < MIN_WINDOW or successes < MIN_COUNT:
        return None
    if answered is not None:
        seconds -= min(max(now - answered, 0.0), LAG)
    return successes / seconds


def passing(
    rate: float,
    ceiling: float | None,
    learned: float | None,
    measured: float,
    recent: float | None,
    rejected: float | None,
) -> bool:
    """True when a 429 at ``rate`` is a passing burst, not a limit below the rate.

    ``measured``: successes per second since the last decrease; ``recent`` and ``rejected``:
    successes and 429s per second over the last second (None: not known).
    """
    if measured >= rate * TOLERANCE:
        return True  # the API accepted what was sent since the last decrease
    if recent is None:
        return False
    if rate == ceiling and recent >= rate * TOLERANCE:
        return True  # held at the ceiling, and the API accepted it lately
    # at or below the learned limit (climbing back to it), and the API accepted what was
    # sent over the last second: the average since the decrease, climb included, is no
    # measure of the limit
    return (
        learned is not None
        and rate <= learned
        and rejected is not None
        and rejected <= (1.0 - TOLERANCE) * (recent + rejected)
    )
