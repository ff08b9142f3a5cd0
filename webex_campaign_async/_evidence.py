"""What a 429 says about the tenant's limit ``R``, from what the throttle measured (pure).

`RateControl` (``_ratecontrol.py``) asks at each 429; the caller passes every time.

- **What got through** (`measured`). The throttle counts the successful answers (anything
  but 429) to requests sent since the last decrease (or since a pause ended): over that
  window the API's bucket went from empty (it had just said 429) to empty again, so
  successes / seconds is a lower bound of ``R``, exact when the client kept asking for more
  than ``R``: when it used its rate (``BUSY`` of its send slots; a client held back by its
  own senders, say most of them waiting out a ``Retry-After``, measures what it sent). The
  window ends at the newest success's send time (at most ``LAG`` back): the answers to later
  requests may be on their way. The throttle also keeps the successes and the 429s of the
  last second (by send time, in 0.1 s buckets).
- **A passing burst** (`passing`): the API accepted all that was sent since the last
  decrease; or, held at a configured rate, all of it over the last second; or, at or below
  the learned limit, all but ``1 - TOLERANCE`` of what was sent over the last second (the
  average since the decrease, the climb back included, is no measure of the limit there).
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
