"""An input that may block (a pipe, a FIFO, a terminal), read in a thread of its own.

A read from a regular file returns at once; a read from a pipe waits for the writer, and a
wait in the event loop's thread would hold up everything else: a signal, a deadline, the
progress line, the requests in flight. `in_thread` moves the reading to a daemon thread
and hands the records to the loop through a bounded queue, so the run's reader task waits
on the loop, where a stop or a deadline can cancel it.
"""

from __future__ import annotations

import asyncio
import os
import stat
import threading
from collections.abc import AsyncIterator, Iterator
from typing import TypeVar

__all__ = ["in_thread", "may_block"]

T = TypeVar("T")

_END = object()


class _Raised:
    """An exception ``items`` raised (an item may be an exception object: records that are
    invalid are handed on as their errors)."""

    def __init__(self, exc: BaseException) -> None:
        self.exc = exc


def may_block(path: str) -> bool:
    """True for a pipe, a FIFO, a socket or a terminal: a read of it may wait for a writer."""
    try:
        mode = os.stat(path).st_mode
    except OSError:
        return False  # opening it will say what is wrong
    return stat.S_ISFIFO(mode) or stat.S_ISCHR(mode) or stat.S_ISSOCK(mode)


async def in_thread(items: Iterator[T], *, ahead: int = 256) -> AsyncIterator[T]:
    """``items``, iterated in a daemon thread at most ``ahead`` items before the consumer.

    Leaving early stops the thread after its current read (a read that never returns
    holds only that thread, which does not keep the process alive). An exception raised by
    ``items`` is raised here, in order.
    """
    loop = asyncio.get_running_loop()
    queue: asyncio.Queue[object] = asyncio.Queue()
    room = threading.Semaphore(ahead)
    left = threading.Event()

    def hand(item: object) -> bool:
        try:
            loop.call_soon_threadsafe(queue.put_nowait, item)
        except RuntimeError:  # the loop is closed: nobody is reading any more
            return False
        return True

    def pump() -> None:
        try:
            for item in items:
                room.acquire()
                if left.is_set() or not hand(item):
                    return
            hand(_END)
        except BaseException as exc:  # handed to the consumer, raised there
            hand(_Raised(exc))

    threading.Thread(target=pump, name="webex-campaign-input", daemon=True).start()
    try:
        while (item := await queue.get()) is not _END:
            if isinstance(item, _Raised):
                raise item.exc
            room.release()
            yield item  # type: ignore[misc]
    finally:
        left.set()
        room.release()  # a pump waiting for room sees that nobody reads any more
