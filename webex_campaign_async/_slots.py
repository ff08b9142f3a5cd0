"""The concurrency bound of one client: a counting semaphore with a synchronous fast path.

`asyncio.Semaphore` costs several coroutine calls per request even when a slot is free;
on the bulk engine's hot path that is a measurable part of the library's own work. Here a
free slot is taken by a plain call, and only a full pool awaits (first come, first served:
a released slot is handed to the oldest waiter).
"""

from __future__ import annotations

import asyncio
from collections import deque

__all__ = ["Slots"]


class Slots:
    """At most ``size`` holders at a time."""

    __slots__ = ("_free", "_waiters")

    def __init__(self, size: int) -> None:
        self._free = size
        self._waiters: deque[asyncio.Future[None]] = deque()

    def __repr__(self) -> str:
        return f"<Slots free={self._free} waiting={len(self._waiters)}>"

    @property
    def free(self) -> int:
        """Slots not held."""
        return self._free

    def try_take(self) -> bool:
        """Take a slot if one is free and nobody waits for one; no waiting."""
        if self._free > 0 and not self._waiters:
            self._free -= 1
            return True
        return False

    async def take(self) -> None:
        """Take a slot, waiting in line for one if none is free."""
        if self.try_take():
            return
        waiter = asyncio.get_running_loop().create_future()
        self._waiters.append(waiter)
        try:
            await waiter
        except asyncio.CancelledError:
            if waiter.done() and not waiter.cancelled():
                self.give()  # handed a slot, then cancelled before using it: pass it on
            elif waiter in self._waiters:
                self._waiters.remove(waiter)  # a stale waiter would block the fast path
            raise

    def give(self) -> None:
        """Give a taken slot back: to the oldest waiter, or to the pool."""
        waiters = self._waiters
        while waiters:
            waiter = waiters.popleft()
            if not waiter.done():
                waiter.set_result(None)
                return
        self._free += 1
