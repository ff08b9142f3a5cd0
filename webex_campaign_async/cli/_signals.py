"""SIGINT/SIGTERM during a job: stop reading, give in-flight requests a grace period, then
cancel; a second signal cancels at once."""

from __future__ import annotations

import asyncio
import contextlib
import signal
from collections.abc import Iterator
from typing import IO

from .. import BulkRun

__all__ = ["graceful_signals"]


@contextlib.contextmanager
def graceful_signals(
    run: BulkRun, consumer: asyncio.Future[None], grace: float, err: IO[str]
) -> Iterator[None]:
    """While inside: the first signal stops ``run`` (``consumer`` is cancelled after
    ``grace`` seconds), a second one cancels ``consumer`` at once."""
    loop = asyncio.get_running_loop()
    installed = []

    def interrupted(signum: int) -> None:
        name = signal.Signals(signum).name
        if run.stop_requested:
            print(f"\n{name} again: cancelling the requests in flight", file=err)
            consumer.cancel()
            return
        print(f"\n{name}: finishing the requests in flight (up to {grace:g} s)...", file=err)
        run.stop(f"interrupted by {name}")
        loop.call_later(grace, consumer.cancel)

    for sig in (signal.SIGINT, signal.SIGTERM):
        try:
            loop.add_signal_handler(sig, interrupted, sig)
            installed.append(sig)
        except (NotImplementedError, RuntimeError, ValueError):  # not the main thread, Windows
            pass
    try:
        yield
    finally:
        for sig in installed:
            loop.remove_signal_handler(sig)
