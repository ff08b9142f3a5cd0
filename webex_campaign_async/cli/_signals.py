"""SIGINT/SIGTERM during a job: stop reading, give in-flight requests a grace period, then
cancel; a second signal cancels at once. Installed when the job starts, before its run
exists: a signal that comes while the job is still getting ready (loading a journal,
connecting to Redis) stops the run as soon as it starts."""

from __future__ import annotations

import asyncio
import contextlib
import signal
from collections.abc import Iterator
from typing import IO, Any

from .. import BulkRun

__all__ = ["Interrupts", "graceful_signals"]


class Interrupts:
    """What the job's signals do: `attach` the run when it exists."""

    def __init__(self, grace: float, err: IO[str]) -> None:
        self.grace = grace
        self.err = err
        self.received: str | None = None  # the first signal's name
        self._run: BulkRun | None = None
        self._consumer: asyncio.Future[Any] | None = None

    def attach(self, run: BulkRun, consumer: asyncio.Future[Any]) -> None:
        """The job's run (and the task running it): a signal already received stops it."""
        self._run, self._consumer = run, consumer
        if self.received is not None:
            run.stop(f"interrupted by {self.received}")

    def __call__(self, signum: int) -> None:
        name = signal.Signals(signum).name
        run, consumer, err = self._run, self._consumer, self.err
        if self.received is not None:
            print(f"\n{name} again: cancelling the requests in flight", file=err)
            if consumer is not None:
                consumer.cancel()
            return
        self.received = name
        if run is None or consumer is None:
            print(f"\n{name}: stopping before the job sends anything", file=err)
            return
        print(f"\n{name}: finishing the requests in flight (up to {self.grace:g} s)...", file=err)
        run.stop(f"interrupted by {name}")
        asyncio.get_running_loop().call_later(self.grace, consumer.cancel)


@contextlib.contextmanager
def graceful_signals(grace: float, err: IO[str]) -> Iterator[Interrupts]:
    """While inside: SIGINT and SIGTERM go to the `Interrupts` yielded (on the running loop)."""
    loop = asyncio.get_running_loop()
    interrupts = Interrupts(grace, err)
    installed = []
    for sig in (signal.SIGINT, signal.SIGTERM):
        try:
            loop.add_signal_handler(sig, interrupts, sig)
            installed.append(sig)
        except (NotImplementedError, RuntimeError, ValueError):  # not the main thread, Windows
            pass
    try:
        yield interrupts
    finally:
        for sig in installed:
            loop.remove_signal_handler(sig)
