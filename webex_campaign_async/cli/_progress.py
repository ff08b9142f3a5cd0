"""Progress of a batch job: a live bar on a terminal (tqdm), plain periodic lines elsewhere.

tqdm was chosen for the bar: it has no dependencies, is widely used and maintained, and
gives rate, ETA and a counts postfix out of the box. It is the optional ``cli`` extra;
without it, or when stderr is not a terminal (cron, CI, a pipe), lines are printed instead.
"""

from __future__ import annotations

import io
import os
import sys
import time
from collections.abc import Callable, Mapping
from typing import IO, Protocol

import attrs

from .. import RecordStatus

__all__ = ["Progress", "Snapshot", "make_progress"]


@attrs.frozen
class Snapshot:
    """What a progress display shows: the records ended so far by status (with the words of
    the report: "not applied" is a processed request that changed nothing, update-count 0 or
    none; "failed" is retries given up), of those
    read so far or of the ``total`` estimated."""

    done: int
    total: int | None
    counts: Mapping[RecordStatus, int]
    rate: float | None  # the throttle's current rate (requests/s), None: unlimited
    learned_rate: float | None = None  # the tenant's limit as the throttle learned it
    connection_failures: int = 0  # connections that could not be made (nothing was sent)

    @property
    def applied(self) -> int:
        return self.counts.get(RecordStatus.APPLIED, 0)

    def endings(self) -> str:
        """``applied 45  not applied 1  rejected 2``: applied, then each other status seen."""
        parts = [f"applied {self.applied:,}"]
        parts += [
            f"{status.value.replace('_', ' ')} {self.counts[status]:,}"
            for status in RecordStatus
            if status is not RecordStatus.APPLIED and self.counts.get(status)
        ]
        if self.connection_failures:  # an API that cannot be reached shows, not just stalls
            parts.append(f"failed connections {self.connection_failures:,}")
        return "  ".join(parts)


class Progress(Protocol):
    def show(self, snapshot: Snapshot) -> None: ...

    def close(self, snapshot: Snapshot) -> None: ...


def _rate(rate: float | None) -> str:
    return "unlimited" if rate is None else f"{rate:,.0f}/s"


def _throttle(snapshot: Snapshot) -> str:
    """The throttle's rate, and the tenant's limit once learned: ``180/s (limit 200/s)``."""
    if snapshot.learned_rate is None:
        return _rate(snapshot.rate)
    return f"{_rate(snapshot.rate)} (limit {_rate(snapshot.learned_rate)})"


class LineProgress:
    """One line every ``interval`` seconds (and one at the end)."""

    def __init__(
        self,
        stream: IO[str],
        interval: float = 5.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._stream = stream
        self._interval = interval
        self._clock = clock
        self._start = clock()
        self._last = self._start

    def show(self, snapshot: Snapshot) -> None:
        now = self._clock()
        if now - self._last >= self._interval:
            self._last = now
            self._print(snapshot, now)

    def close(self, snapshot: Snapshot) -> None:
        self._print(snapshot, self._clock())

    def _print(self, s: Snapshot, now: float) -> None:
        elapsed = max(now - self._start, 1e-9)
        speed = s.done / elapsed
        done = f"{s.done:,}" if s.total is None else f"{s.done:,}/{s.total:,}"
        parts = [
            time.strftime("%H:%M:%S"),
            done + (f" ({100 * s.done / s.total:.0f}%)" if s.total else ""),
            f"{speed:,.1f} records/s",
            s.endings(),
            f"throttle {_throttle(s)}",
        ]
        if s.total and speed > 0 and s.done < s.total:
            parts.append(f"eta {(s.total - s.done) / speed:,.0f} s")
        print("  ".join(parts), file=self._stream, flush=True)


class BarProgress:
    """A tqdm bar with the counts and the throttle's rate as its postfix."""

    def __init__(self, stream: IO[str], total: int | None) -> None:
        from tqdm import tqdm

        sized = _columns(stream) > 0  # a pseudo-terminal may say 0 columns: tqdm then prints none
        self._bar = tqdm(
            total=total,
            unit="rec",
            file=stream,
            dynamic_ncols=sized,
            ncols=None if sized else 100,
            nrows=None if sized else 24,  # tqdm hides a bar below a 0-line screen
            smoothing=0.1,
            mininterval=0.2,
        )
        self._done = 0

    def show(self, snapshot: Snapshot) -> None:
        if snapshot.total is not None and snapshot.total != self._bar.total:
            self._bar.total = snapshot.total
        self._bar.set_postfix_str(
            f"{snapshot.endings()}  throttle {_throttle(snapshot)}", refresh=False
        )
        self._bar.update(snapshot.done - self._done)
        self._done = snapshot.done

    def close(self, snapshot: Snapshot) -> None:
        self.show(snapshot)
        self._bar.close()


def _columns(stream: IO[str]) -> int:
    try:
        return os.get_terminal_size(stream.fileno()).columns
    except (OSError, ValueError, io.UnsupportedOperation):
        return 0


def make_progress(
    mode: str, total: int | None, stream: IO[str] = sys.stderr, interval: float = 5.0
) -> Progress | None:
    """``mode``: ``auto`` (bar on a terminal, lines elsewhere), ``bar``, ``lines``, ``none``."""
    if mode == "none":
        return None
    if mode in ("auto", "bar") and (mode == "bar" or stream.isatty()):
        try:
            return BarProgress(stream, total)
        except ImportError:
            pass  # the cli extra is not installed: fall back to lines
    return LineProgress(stream, interval)
