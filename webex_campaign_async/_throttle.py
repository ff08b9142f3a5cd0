"""The `Throttle` protocol: every request of a client waits in one for a send slot.

Implemented in process by `AdaptiveThrottle` (``_adaptive.py``) and across processes by
`webex_campaign_async.redis.RedisThrottle`; the sender and the engine know only this.
"""

from __future__ import annotations

from typing import Protocol, runtime_checkable

__all__ = ["Throttle"]


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

    @property
    def learned_rate(self) -> float | None:
        """The tenant's limit as last learned from its 429s (``None``: not known)."""

    def set_rate(self, rate: float | None) -> None:
        """Change the configured rate at runtime (``None``: unlimited)."""
