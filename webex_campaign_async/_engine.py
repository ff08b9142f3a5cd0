"""The bulk engine: a fixed pool of workers over a lazy input, one result per record.

`BulkRun` sends through a `Sender` (it never sees the client) and folds every result into
its report as the record ends; iterating it also hands each result to the caller. It owns
the run's lifetime (start, stop, deadline, cancellation) and its outputs; what a worker does
with one record is `Workers`' (``_workers.py``). Memory does not grow with the input: no
task per record, a bounded read-ahead, a bounded number of records held back for per-key
order, and a report that keeps aggregates.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterable, AsyncIterator, Callable, Iterable
from types import TracebackType

from ._files import Target
from ._intake import Intake
from ._order import KeyOrder
from ._outputs import Outputs
from ._records import RecordInput
from ._report import BulkReport
from ._results import RecordResult, RecordStatus
from ._sender import SendCounts, Sender
from ._stop import StopSignal
from ._workers import Workers
from .exceptions import ConfigurationError

__all__ = ["HOLD_PER_WORKER", "BulkRun"]

logger = logging.getLogger("webex_campaign_async")

#: Records held back for per-key order, per worker, before the run stops reading input.
HOLD_PER_WORKER = 4

_CANCELLED = "cancelled"
_STOPPED = "stopped"


class BulkRun:
    """One bulk upsert; get one from ``client.stream_upsert`` (see its options there).

    ``async for result in run`` yields each record's `RecordResult` as it ends, or
    ``report = await run.complete()`` runs it to the end; either way every result goes to
    ``on_result``, ``sink`` and ``failures`` as its record ends, and `report` folds them.
    `stop` ends the run gracefully (nothing more is read, in-flight requests end); a 430,
    405 or unrecoverable 498 aborts it the same way. Leaving the ``async with`` (or the
    loop) early, or cancelling, cancels the requests in flight; their records still end
    SKIPPED in the report and the files. The report counts the records read: input never
    read is not part of it.
    """

    def __init__(
        self,
        sender: Sender,
        records: Iterable[RecordInput] | AsyncIterable[RecordInput],
        *,
        concurrency: int,
        deadline: float | None = None,
        ordered: bool = True,
        on_result: Callable[[RecordResult], object] | None = None,
        sink: Target | None = None,
        failures: Target | None = None,
        max_failures: int = 1000,
    ) -> None:
        if not isinstance(concurrency, int) or isinstance(concurrency, bool) or concurrency < 1:
            raise ConfigurationError(f"concurrency must be an int >= 1, got {concurrency!r}")
        if deadline is not None and not deadline > 0:
            raise ConfigurationError(f"deadline must be > 0 seconds, got {deadline!r}")
        if not isinstance(max_failures, int) or max_failures < 0:
            raise ConfigurationError(f"max_failures must be an int >= 0, got {max_failures!r}")
        self._sender = sender
        self._intake = Intake(
            records,
            order=KeyOrder() if ordered else None,
            max_held=HOLD_PER_WORKER * concurrency,
            read_ahead=concurrency,
            on_input_error=self._input_failed,
        )
        self._concurrency = concurrency
        self._deadline = deadline
        self._outputs = Outputs(
            max_failures=max_failures,
            on_result=on_result,
            sink=sink,
            failures=failures,
            ordered=ordered,
        )
        self._builder = self._outputs.report
        self._stop = StopSignal()
        self._workers = Workers(
            sender,
            self._intake,
            self._stop,
            fold=self._fold,
            deliver=self._deliver,
            abort=self._abort_run,
        )
        self._reason: str | None = None  # why the run ended early (abort, stop, cancel)
        self._error: BaseException | None = None  # to raise at the end (input, on_result)
        self._queue: asyncio.Queue[RecordResult | None] | None = None
        self._tasks: list[asyncio.Task[None]] = []
        self._main: asyncio.Future[None] | None = None
        self._deadline_timer: asyncio.TimerHandle | None = None
        self._sampler: asyncio.TimerHandle | None = None
        self._base = self._final = SendCounts()
        self._started_at: float | None = None
        self._ended_at: float | None = None
        self._closing = False

    def __repr__(self) -> str:
        state = "finished" if self._ended_at is not None else "running"
        return f"<BulkRun {state} read={self._intake.read} ended={self._builder.total}>"

    # --- lifecycle -----------------------------------------------------------------------

    async def __aenter__(self) -> BulkRun:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()

    def __aiter__(self) -> AsyncIterator[RecordResult]:
        return self._results()

    async def _results(self) -> AsyncIterator[RecordResult]:
        """Each result as it ends; leaving the loop early closes the run."""
        if self._main is not None:
            raise RuntimeError("this run was already started; iterate it once, or complete() it")
        self._queue = asyncio.Queue(maxsize=self._concurrency)
        self._start()
        try:
            while (result := await self._queue.get()) is not None:
                yield result
            await self._end()
        finally:
            await self.aclose()

    async def complete(self) -> BulkReport:
        """Run to the end without iterating and return the report.

        An exception raised by ``on_result`` ends the run (like leaving an ``async for``
        early) and propagates; the report still accounts for every record read.
        """
        if self._main is not None:
            raise RuntimeError("this run was already started; iterate it once, or complete() it")
        self._start()
        try:
            await self._end()
        finally:
            await self.aclose()
        return self.report()

    async def _end(self) -> None:
        assert self._main is not None
        await self._main
        if self._error is not None:
            raise self._error

    def _start(self) -> None:
        loop = asyncio.get_running_loop()
        self._started_at = self._sender.clock.time()
        self._base = self._sender.counts()
        self._outputs.open()
        if self._deadline is not None:
            message = f"deadline of {self._deadline:g} s passed"
            self._deadline_timer = loop.call_later(self._deadline, self._abort_run, message)
        self._sample()
        hand_off = self._queue is not None
        self._tasks = [
            loop.create_task(
                self._workers.work(n, hand_off=hand_off), name=f"webex-campaign-worker-{n}"
            )
            for n in range(self._concurrency)
        ]
        if self._intake.reads_ahead:
            reader = self._intake.reader()
            self._tasks.append(loop.create_task(reader, name="webex-campaign-reader"))
        self._main = asyncio.ensure_future(self._run())

    async def _run(self) -> None:
        ended = await asyncio.gather(*self._tasks[: self._concurrency], return_exceptions=True)
        for outcome in ended:
            if isinstance(outcome, BaseException) and not isinstance(
                outcome, asyncio.CancelledError
            ):
                logger.error("a worker of the bulk run failed: %r", outcome)
        reason = f"not sent: {self._reason or self._stop.reason}"
        leftovers = self._workers.leftovers(RecordStatus.SKIPPED, reason)
        for result in leftovers:  # in the report first: a caller leaving now loses none
            self._fold(result)
        self._finish()
        if self._queue is not None:
            for result in leftovers:
                await self._queue.put(result)
            await self._queue.put(None)

    def stop(self, reason: str = _STOPPED) -> None:
        """Stop gracefully: read nothing more, let the requests in flight end."""
        if self._reason is None and self._stop.reason is None:
            self._reason = reason
        self._stop.set(reason)
        self._intake.stop()
        if self._intake.reads_ahead and len(self._tasks) > self._concurrency:
            reader = self._tasks[-1]
            if reader is not asyncio.current_task():
                reader.cancel()  # it may wait on an input that hangs

    @property
    def stop_requested(self) -> bool:
        """True once the run was told to stop, aborted or cancelled."""
        return self._stop.reason is not None

    def _abort_run(self, reason: str) -> None:
        if self._stop.reason is None:
            logger.warning("bulk run aborted: %s", reason)
        self.stop(reason)

    async def aclose(self) -> None:
        """End the run now: cancel what is in flight and account for every record read.

        The records in flight end SKIPPED; results not yet consumed are still in the report
        and the files, so the counts add up.
        """
        if self._main is None or self._closing:
            return
        if self._ended_at is not None:  # every record has its result: only hand-offs are left
            if not self._main.done():
                self._main.cancel()
                await asyncio.gather(self._main, return_exceptions=True)
            return
        self._closing = True
        self.stop(_CANCELLED)
        for task in (*self._tasks, self._main):
            task.cancel()
        try:
            await asyncio.gather(*self._tasks, self._main, return_exceptions=True)
        finally:  # also when cancelled again while waiting: account for every record read
            message = "the run was cancelled before this record's request ended"
            for result in self._workers.leftovers(RecordStatus.SKIPPED, message):
                self._outputs.add(result, quiet=True)
            self._finish()

    def _input_failed(self, exc: Exception) -> None:
        if self._error is None:
            self._error = exc
        self._abort_run(f"reading the input failed: {exc!r}")

    # --- results ---------------------------------------------------------------------------

    def _fold(self, result: RecordResult) -> None:
        """Into the report, the files and ``on_result`` (which may raise: the run ends)."""
        try:
            self._outputs.add(result)
        except Exception as exc:
            self._on_result_failed(exc)

    async def _deliver(self, result: RecordResult) -> None:
        """Fold ``result`` in; hand it to the loop iterating the run, if one does."""
        self._fold(result)
        if self._queue is not None:
            await self._queue.put(result)

    def _on_result_failed(self, exc: Exception) -> None:
        """``on_result`` raised: the run ends (like leaving an ``async for`` early: what is
        in flight is cancelled) and the error propagates from it."""
        if self._error is None:
            self._error = exc
        self.stop(f"on_result raised {type(exc).__name__}")
        current = asyncio.current_task()
        for task in self._tasks:
            if task is not current:
                task.cancel()

    def _sample(self) -> None:
        """The throttle's rate, a few times a second, for the report's rate over time."""
        if self._ended_at is None and self._started_at is not None:
            series = self._builder.rates
            series.add(self._sender.clock.time() - self._started_at, self._sender.counts().rate)
            loop = asyncio.get_running_loop()
            self._sampler = loop.call_later(series.interval, self._sample)

    def _finish(self) -> None:
        if self._ended_at is not None:
            return
        self._ended_at = self._sender.clock.time()
        for timer in (self._deadline_timer, self._sampler):
            if timer is not None:
                timer.cancel()
        if self._reason is None:
            self._reason = self._stop.reason
        self._final = self._sender.counts()
        self._outputs.close()

    # --- report ----------------------------------------------------------------------------

    @property
    def finished(self) -> bool:
        """True once every record read has its result."""
        return self._ended_at is not None

    def report(self) -> BulkReport:
        """The report of what has ended so far (the whole run once `finished`)."""
        order = self._intake.order
        held_back = order.held_back if order is not None else 0
        if self._started_at is None:
            return self._outputs.build(0.0, SendCounts(), SendCounts(), held_back, self._reason)
        if self._ended_at is None:
            end, counts = self._sender.clock.time(), self._sender.counts()
        else:
            end, counts = self._ended_at, self._final
        elapsed = max(0.0, end - self._started_at)
        return self._outputs.build(elapsed, self._base, counts, held_back, self._reason)
