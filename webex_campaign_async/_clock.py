"""Time, injectable: the `Clock` every wait and timestamp of the library goes through.

The default reads the running event loop's clock and sleeps with `asyncio.sleep`; tests
pass a fake clock whose sleeps return at once and move its time.
"""

from __future__ import annotations

import asyncio
from typing import Protocol, runtime_checkable

__all__ = ["Clock", "LoopClock"]


@runtime_checkable
class Clock(Protocol):
    """A monotonic clock in seconds, and a sleep on it."""

    def time(self) -> float:
        """The current time (any origin; only differences matter)."""

    async def sleep(self, seconds: float) -> None:
        """Wait ``seconds`` (cancellable)."""


class LoopClock:
    """The running event loop's ``time()`` and `asyncio.sleep`: the default clock."""

    __slots__ = ()

    def __repr__(self) -> str:
        return "<LoopClock>"

    def time(self) -> float:
        return asyncio.get_running_loop().time()

    async def sleep(self, seconds: float) -> None:
        await asyncio.sleep(seconds)
