"""What the workers of a bulk run send next: released records first, then the input.

The input is read lazily: a sync iterable by the worker that needs a record, an async one
ahead by one reader task into a small buffer (so a stop is never stuck behind an input
that hangs). Records held back for per-key order are bounded: at the bound, no more input
is read until some of them went.
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import (
    AsyncIterable,
    AsyncIterator,
    Callable,
    Iterable,
    Iterator,
    Sequence,
)
from typing import Any

from ._order import KeyOrder

__all__ = ["WAIT", "Entry", "Intake", "Read"]

#: (index, raw): an item read from the input.
Read = tuple[int, Any]
#: (index, raw, record, body): a record validated, encoded and admitted by the order.
Entry = tuple[int, Any, Any, bytes]
#: Nothing to take now: wait (`Intake.wait`) for a record to end or the input to move.
WAIT: Read = (-1, None)


class Intake:
    """The next item for a worker: `take` it, or `wait` when it says `WAIT`."""

    def __init__(
        self,
        records: Iterable[Any] | AsyncIterable[Any],
        *,
        order: KeyOrder[Entry] | None,
        max_held: int,
        read_ahead: int,
        on_input_error: Callable[[Exception], None],
    ) -> None:
        self._sync: Iterator[Any] | None = None
        self._async: AsyncIterator[Any] | None = None
        if isinstance(records, AsyncIterable):
            self._async = aiter(records)
        else:
            self._sync = iter(records)
        self.order = order
        self._max_held = max_held
        self._read_ahead = read_ahead
        self._on_input_error = on_input_error
        self.ready: deque[Entry] = deque()  # released by the order: sent before new input
        self.buffer: deque[Read] = deque()  # read ahead from an async input
        self._idle: deque[asyncio.Future[None]] = deque()
        self._room: asyncio.Future[None] | None = None  # the reader waits for buffer room
        self.read = 0  # items read from the input
        self.exhausted = False
        self.stopped = False

    @property
    def reads_ahead(self) -> bool:
        """True for an async input (then `reader` must run)."""
        return self._async is not None

    def take(self) -> Read | Entry | None:
        """A released record, else the next input item; `WAIT`; None when all was taken."""
        if self.ready:
            return self.ready.popleft()
        order = self.order
        if order is not None and order.held >= self._max_held:
            return WAIT  # the order holds enough: read on once some of it went
        if self.buffer:
            room = self._room
            if room is not None and not room.done():
                room.set_result(None)
            return self.buffer.popleft()
        if not self.exhausted:
            if self._sync is None:
                return WAIT  # the reader wakes us
            try:
                raw = next(self._sync)
            except StopIteration:
                self.exhausted = True
            except Exception as exc:
                self.exhausted = True
                self._on_input_error(exc)
            else:
                index = self.read
                self.read = index + 1
                return index, raw
        return WAIT if order is not None and order.held else None

    def release(self, entries: Sequence[Entry]) -> None:
        """Records the order let go: they are taken next; wake a worker for each (and one
        more, which may read on now that fewer are held)."""
        self.ready.extend(entries)
        if self._idle:
            self.wake(len(entries) + 1)

    async def reader(self) -> None:
        """Read an async input ahead, at most ``read_ahead`` items."""
        assert self._async is not None
        loop = asyncio.get_running_loop()
        try:
            while not self.stopped:
                if len(self.buffer) >= self._read_ahead:
                    self._room = loop.create_future()
                    await self._room
                    continue
                try:
                    raw = await anext(self._async)
                except StopAsyncIteration:
                    break
                except Exception as exc:
                    self._on_input_error(exc)
                    break
                self.buffer.append((self.read, raw))
                self.read += 1
                self.wake(1)
        finally:
            self.exhausted = True
            self.wake_all()

    def wake(self, n: int) -> None:
        idle = self._idle
        while n > 0 and idle:
            waiter = idle.popleft()
            if not waiter.done():
                waiter.set_result(None)
                n -= 1

    def wake_all(self) -> None:
        self.wake(len(self._idle))

    async def wait(self) -> None:
        """Wait until something may have changed (a record ended, input came, a stop)."""
        waiter = asyncio.get_running_loop().create_future()
        self._idle.append(waiter)
        try:
            await waiter
        except asyncio.CancelledError:
            if waiter in self._idle:
                self._idle.remove(waiter)
            raise

    def stop(self) -> None:
        """Take nothing more; wake every waiting worker."""
        self.stopped = True
        self.wake_all()

    def leftovers(self) -> list[Read | Entry]:
        """Every item read and not taken (ready, held, read ahead); forgets them."""
        items: list[Read | Entry] = [*self.ready, *self.buffer]
        if self.order is not None:
            items += self.order.drain()
        self.ready.clear()
        self.buffer.clear()
        return items
