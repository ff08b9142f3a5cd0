"""`Readings`: what a throttle reports of its `RateControl` (the rate, the ceiling, the limit
learned, its counts and a JSON-ready snapshot), shared by `AdaptiveThrottle`."""

from __future__ import annotations

from typing import Any

from ._ratecontrol import RateControl

__all__ = ["Readings"]


class Readings:
    """Read-only views of ``self._control`` (the throttle sets it)."""

    _control: RateControl

    def __repr__(self) -> str:
        c = self._control
        return (
            f"<{type(self).__name__} rate={c.rate!r} ceiling={c.ceiling!r} "
            f"learned_rate={c.learned_rate!r} throttled={c.throttled} changes={c.changes}>"
        )

    # --- what it reports ---------------------------------------------------------------------

    @property
    def rate(self) -> float | None:
        return self._control.rate

    @property
    def ceiling(self) -> float | None:
        """The configured rate (``None``: none, the limit is found)."""
        return self._control.ceiling

    @property
    def learned_rate(self) -> float | None:
        """The tenant's limit as last measured at a 429 (``None``: not known yet)."""
        return self._control.learned_rate

    @property
    def rate_changes(self) -> int:
        """Times the enforced rate changed (decreases, steps of the climb, `set_rate`)."""
        return self._control.changes

    @property
    def decreases(self) -> int:
        """Congestion events that lowered the rate."""
        return self._control.decreases

    @property
    def pauses(self) -> int:
        """Times every sender paused for a ``Retry-After``."""
        return self._control.pauses

    def snapshot(self) -> dict[str, Any]:
        """The throttle's state as JSON-ready values (for reports and progress lines)."""
        c = self._control
        return {
            "rate": c.rate,
            "ceiling": c.ceiling,
            "learned_rate": c.learned_rate,
            "throttled": c.throttled,
            "decreases": c.decreases,
            "pauses": c.pauses,
            "rate_changes": c.changes,
        }
