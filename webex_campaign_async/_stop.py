"""`StopSignal`: how a bulk run tells its requests to stop, and cuts their waits short."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable
from typing import TypeVar

__all__ = ["StopSignal"]

_T = TypeVar("_T")


class StopSignal:
    """Tells the requests of a run to stop: checked before every send and every retry."""

    __slots__ = ("_event", "reason")

    def __init__(self) -> None:
        self.reason: str | None = None
        self._event: asyncio.Event | None = None

    def __repr__(self) -> str:
        return f"<StopSignal reason={self.reason!r}>"

    def set(self, reason: str) -> None:
        """Stop, for ``reason`` (the first reason given wins)."""
        if self.reason is None:
            self.reason = reason
            if self._event is not None:
                self._event.set()

    async def wait(self) -> None:
        """Return once the signal is set."""
        if self.reason is not None:
            return
        if self._event is None:
            self._event = asyncio.Event()
        await self._event.wait()

    async def until(self, awaitable: Awaitable[_T]) -> _T | None:
        """``await awaitable``, or None as soon as the signal is set (it is then cancelled)."""
        task = asyncio.ensure_future(awaitable)
        if self.reason is not None:
            task.cancel()
            return None
        stopper = asyncio.ensure_future(self.wait())
        try:
            await asyncio.wait((task, stopper), return_when=asyncio.FIRST_COMPLETED)
        finally:
            stopper.cancel()
            if not task.done():
                task.cancel()
        return task.result() if task.done() and not task.cancelled() else None
