"""The bulk engine: a fixed pool of workers over a lazy input, one result per record.

`BulkRun` is the primitive (an async iterator of `RecordResult` in completion order);
``client.bulk_upsert`` is a thin fold over it. Memory does not grow with
the number of records: no task or future per record, a bounded result queue, and a report
that keeps aggregates (plus failures up to a bound).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterable, AsyncIterator, Callable, Iterable, Iterator, Mapping
from types import TracebackType
from typing import TYPE_CHECKING, Any

from ._client import StopSignal, as_profile
from ._convert import encode_profile
from ._jsonlines import LineWriter, Target, failure_line, result_line
from ._models import ProfileUpsert
from ._report import FAILURE_STATUSES, BulkReport, ReportBuilder
from ._results import RecordResult, RecordStatus
from .exceptions import (
    ConfigurationError,
    EndpointError,
    InvalidRecordError,
    PermissionDeniedError,
    TokenExpiredError,
    TokenProviderError,
    WebexCampaignError,
)

if TYPE_CHECKING:
    from ._client import CampaignClient

__all__ = ["BulkRun", "RecordInput"]

logger = logging.getLogger("webex_campaign_async")

#: What a bulk input may yield: a model, its wire JSON object, or an `InvalidRecordError`
#: standing for an input record that could not be read (it is reported INVALID).
RecordInput = ProfileUpsert | Mapping[str, Any] | InvalidRecordError

_CANCELLED = "cancelled"
_STOPPED = "stopped"


def _abort_reason(error: WebexCampaignError) -> str | None:
    """Errors after which no request of the run can succeed."""
    if isinstance(error, PermissionDeniedError):
        return f"permission denied, the key may not call this API ({error})"
    if isinstance(error, EndpointError):
        return f"the API refused the endpoint; check base_url and upsert_path ({error})"
    if isinstance(error, TokenExpiredError):
        return f"the token expired and no fresh one was accepted ({error})"
    if isinstance(error, TokenProviderError):
        return str(error)
    return None


def _key_of(raw: object) -> str | None:
    if isinstance(raw, ProfileUpsert):
        return raw.target
    if isinstance(raw, Mapping):
        key = raw.get("key")
        return key if isinstance(key, str) else None
    return None


def _check_record(index: int, raw: object) -> ProfileUpsert | RecordResult:
    """The validated record, or its INVALID result (whatever went wrong validating it)."""
    if isinstance(raw, InvalidRecordError):  # a reader could not make a record of its input
        return RecordResult(
            index, RecordStatus.INVALID, raw.key, message=str(raw), source=raw.source
        )
    try:
        if not isinstance(raw, (ProfileUpsert, Mapping)):
            raise InvalidRecordError(
                "", f"expected a ProfileUpsert or a mapping, not {type(raw).__name__}"
            )
        return as_profile(raw)
    except InvalidRecordError as exc:
        error = exc.for_record(index, _key_of(raw))
    except Exception as exc:  # a mapping that misbehaves, a number too big for str(): invalid
        error = InvalidRecordError("", f"{type(exc).__name__}: {exc}", index=index)
    return RecordResult(index, RecordStatus.INVALID, error.key, message=str(error), source=raw)


def _unsent(
    index: int,
    raw: object,
    status: RecordStatus,
    message: str,
    record: ProfileUpsert | None = None,
) -> RecordResult:
    """The result of a record the run read but did not (or could not) finish."""
    if record is None and isinstance(raw, ProfileUpsert):
        record = raw
    key = record.target if record is not None else _key_of(raw)
    return RecordResult(index, status, key, message=message, record=record, source=raw)


def _prepare(index: int, raw: object) -> tuple[ProfileUpsert, bytes] | RecordResult:
    """The validated record and its request body, or its INVALID result."""
    # a ProfileUpsert was validated when it was made: only other inputs need checking
    checked = raw if type(raw) is ProfileUpsert else _check_record(index, raw)
    if isinstance(checked, RecordResult):
        return checked
    try:
        return checked, encode_profile(checked)
    except (TypeError, ValueError) as exc:
        return RecordResult(
            index,
            RecordStatus.INVALID,
            checked.target,
            message=f"record {index}: cannot be encoded as JSON: {exc}",
            record=checked,
            source=raw,
        )


def _drained(queue: asyncio.Queue[RecordResult | None]) -> Iterator[RecordResult | None]:
    while not queue.empty():
        yield queue.get_nowait()


class BulkRun:
    """One bulk upsert: iterate it for each record's `RecordResult` as records end.

    ``async with client.stream_upsert(records) as run: async for result in run: ...``, or
    ``report = await run.complete()`` to run it to the end without iterating: each result
    then goes to ``on_result``, ``sink`` and ``failures`` straight from the worker that
    ended it (this is what ``client.bulk_upsert`` does; it saves a hand-off per record).

    Options:

    - ``concurrency``: worker tasks, default the client's ``max_concurrency``.
    - ``deadline``: seconds; once passed nothing more is sent, the in-flight requests end,
      and the records not sent are reported SKIPPED (the rest of the input is read for it).
    - ``on_result``: called with every result, in completion order.
    - ``sink``: a path or open file receiving every result as a JSON line.
    - ``failures``: a path or open file receiving every FAILED, REJECTED, INVALID and
      SKIPPED record as re-runnable wire JSON (annotated with ``_result``); each line is
      flushed at once, so a killed job loses none.
    - ``max_failures``: failed results kept in the report (the ``failures`` file keeps all).

    A 430 (permission), 405 (endpoint) or unrecoverable 498 aborts the run like a deadline.
    `stop` ends it gracefully (nothing more is read; in-flight requests finish). Leaving the
    ``async with`` early or cancelling cancels the requests in flight; their records and
    the results not yet consumed are still folded into ``report()`` and the files, so the
    report's counts always add up to the records read.
    """

    def __init__(
        self,
        client: CampaignClient,
        records: Iterable[RecordInput] | AsyncIterable[RecordInput],
        *,
        concurrency: int | None = None,
        deadline: float | None = None,
        on_result: Callable[[RecordResult], object] | None = None,
        sink: Target | None = None,
        failures: Target | None = None,
        max_failures: int = 1000,
    ) -> None:
        if concurrency is not None and (
            not isinstance(concurrency, int) or isinstance(concurrency, bool) or concurrency < 1
        ):
            raise ConfigurationError(f"concurrency must be an int >= 1, got {concurrency!r}")
        if deadline is not None and not deadline > 0:
            raise ConfigurationError(f"deadline must be > 0 seconds, got {deadline!r}")
        if not isinstance(max_failures, int) or max_failures < 0:
            raise ConfigurationError(f"max_failures must be an int >= 0, got {max_failures!r}")
        self._client = client
        self._sync_input: Iterator[Any] | None = None
        self._async_input: AsyncIterator[Any] | None = None
        if isinstance(records, AsyncIterable):
            self._async_input = aiter(records)
        else:
            self._sync_input = iter(records)
        self._pull_lock = asyncio.Lock()
        self._workers_wanted = concurrency or client.max_concurrency
        self._deadline = deadline
        self._on_result = on_result
        self._targets = (sink, failures)
        self._sink: LineWriter | None = None
        self._failures: LineWriter | None = None
        self._builder = ReportBuilder(max_failures)
        self._stop = StopSignal()
        self._reason: str | None = None  # why the run ended early (abort, stop, cancel)
        self._drain = False  # aborted: read the rest of the input and report it SKIPPED
        self._closing = False
        self._direct = False  # complete(): workers fold their own results, no consumer
        self._iterating = False
        self._queue: asyncio.Queue[RecordResult | None] | None = None
        self._workers: list[asyncio.Task[None]] = []
        self._live = 0
        self._inflight: dict[int, tuple[int, Any] | RecordResult] = {}
        self._next_index = 0
        self._exhausted = False
        self._input_error: BaseException | None = None
        self._deadline_timer: asyncio.TimerHandle | None = None
        self._started_at = 0.0
        self._ended_at: float | None = None
        self._baseline = (0, 0, 0)
        self._final: tuple[int, int, int] | None = None

    def __repr__(self) -> str:
        state = "finished" if self._ended_at is not None else "running"
        return f"<BulkRun {state} read={self._next_index} ended={self._builder.total}>"

    # --- lifecycle -----------------------------------------------------------------------

    async def __aenter__(self) -> BulkRun:
        self._start()
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
        if self._direct:
            raise RuntimeError("this run is already being completed; it cannot be iterated")
        self._iterating = True
        self._start()
        try:
            while (result := await self._next()) is not None:
                yield result
        finally:
            await self.aclose()

    async def complete(self) -> BulkReport:
        """Run to the end without iterating and return the report.

        Every result goes to ``on_result``, ``sink`` and ``failures`` as its record ends. An
        exception raised by ``on_result`` ends the run (like leaving an ``async for`` early)
        and propagates; the report still accounts for every record read.
        """
        if self._iterating:
            raise RuntimeError("this run is being iterated; it cannot also be completed")
        self._direct = True
        self._start()
        try:
            self._fold_queued()  # anything handed off before complete() was called
            await asyncio.gather(*self._workers)
            self._fold_queued()  # from a worker that was waiting for room in the queue
            while await self._next() is not None:  # an aborted run: the rest of the input
                pass
        finally:
            await self.aclose()
        return self.report()

    def _fold_queued(self) -> None:
        assert self._queue is not None
        for item in _drained(self._queue):
            if item is None:
                self._live -= 1
            else:
                self._fold(item)

    def _counters(self) -> tuple[int, int, int]:
        client = self._client
        return (
            client.throttled_answers,
            client.throttle.rate_changes,
            client.token_refreshes,
        )

    def _start(self) -> None:
        if self._queue is not None:
            return
        loop = asyncio.get_running_loop()
        self._started_at = self._client._now()
        self._baseline = self._counters()
        self._queue = asyncio.Queue(maxsize=self._workers_wanted)
        sink, failures = self._targets
        # Paths are written as PATH.partial and renamed at the end, so an input read from
        # the same path (a failures file run again) is not emptied before it is read.
        if sink is not None:
            self._sink = LineWriter(sink, partial=True)
        if failures is not None:
            self._failures = LineWriter(failures, partial=True, flush_each=True)
        if self._deadline is not None:
            self._deadline_timer = loop.call_later(
                self._deadline, self._abort_run, f"deadline of {self._deadline:g} s passed"
            )
        self._workers = [
            loop.create_task(self._work(n), name=f"webex-campaign-worker-{n}")
            for n in range(self._workers_wanted)
        ]
        self._live = len(self._workers)

    def stop(self, reason: str = _STOPPED) -> None:
        """Stop gracefully: read nothing more, let the requests in flight end."""
        self._stop.set(reason)

    @property
    def stop_requested(self) -> bool:
        """True once the run was told to stop, aborted or cancelled."""
        return self._stop.reason is not None

    def _abort_run(self, reason: str) -> None:
        if self._stop.reason is None:
            self._reason = reason
            self._drain = True
            logger.warning("bulk run aborted: %s", reason)
        self._stop.set(reason)

    async def aclose(self) -> None:
        """End the run now: cancel what is in flight and account for every record read.

        The records in flight end SKIPPED (or with the result they already had); the results
        not yet consumed are folded into the report and the files, so the counts add up.
        """
        if self._queue is None or self._ended_at is not None or self._closing:
            return
        self._closing = True
        self._stop.set(_CANCELLED)
        for task in self._workers:
            task.cancel()
        try:
            await asyncio.gather(*self._workers, return_exceptions=True)
        finally:  # also when cancelled again while waiting: account for every record read
            ended = [item for item in _drained(self._queue) if item is not None]
            for entry in self._inflight.values():
                if isinstance(entry, RecordResult):
                    ended.append(entry)
                else:
                    message = "the run was cancelled before this record's request ended"
                    ended.append(_unsent(*entry, RecordStatus.SKIPPED, message))
            self._inflight.clear()
            for result in ended:
                self._fold(result, quiet=True)
            self._finish(self._reason or _CANCELLED)

    # --- input -----------------------------------------------------------------------------

    def _pull_sync(self) -> tuple[int, Any] | None:
        """The next (index, record) of a sync input; None at its end."""
        if self._exhausted:
            return None
        assert self._sync_input is not None
        try:
            raw = next(self._sync_input)
        except StopIteration:
            self._exhausted = True
            return None
        except Exception as exc:
            self._input_failed(exc)
            return None
        return self._indexed(raw)

    async def _pull(self) -> tuple[int, Any] | None:
        """The next (index, record) from the input; None at its end."""
        if self._async_input is None:
            return self._pull_sync()
        async with self._pull_lock:  # an async iterator cannot be shared unguarded
            if self._exhausted or (self._stop.reason is not None and not self._drain):
                return None  # stopped while waiting for the lock: read nothing more
            try:
                raw = await anext(self._async_input)
            except StopAsyncIteration:
                self._exhausted = True
                return None
            except Exception as exc:
                self._input_failed(exc)
                return None
        return self._indexed(raw)

    def _indexed(self, raw: Any) -> tuple[int, Any]:
        index = self._next_index
        self._next_index = index + 1
        return index, raw

    def _input_failed(self, exc: Exception) -> None:
        self._exhausted = True
        self._input_error = exc
        self._abort_run(f"reading the input failed: {exc!r}")

    # --- workers ---------------------------------------------------------------------------

    async def _work(self, worker: int) -> None:
        queue = self._queue
        assert queue is not None
        stop = self._stop
        send = self._client._send
        pull_sync = self._pull_sync if self._sync_input is not None else None
        while stop.reason is None:
            item = pull_sync() if pull_sync is not None else await self._pull()
            if item is None:
                break
            self._inflight[worker] = item
            index, raw = item
            try:
                prepared = _prepare(index, raw)
                if isinstance(prepared, RecordResult):
                    result = prepared
                else:
                    result, error = await send(prepared[0], prepared[1], index, stop)
                    if error is not None and result.status is RecordStatus.FAILED:
                        reason = _abort_reason(error)
                        if reason is not None:
                            self._abort_run(reason)
            except Exception as exc:  # a bug, surely: the record still gets its one result
                result = self._crashed(index, raw, exc)
            if self._direct:
                del self._inflight[worker]
                self._fold(result)  # may raise (on_result): the record is counted by then
            else:
                self._inflight[worker] = result  # ended: if cancelled now, this is what counts
                await queue.put(result)
                del self._inflight[worker]
        if self._direct:
            self._live -= 1
        else:
            await queue.put(None)  # this worker is done (not reached when cancelled)

    def _crashed(self, index: int, raw: Any, exc: Exception) -> RecordResult:
        """An unexpected error: end the record FAILED and stop the run (no repr: no secrets)."""
        text = self._client._credentials.redact(f"{type(exc).__name__}: {exc}")
        logger.error("record %d could not be sent: %s", index, text)
        self._abort_run(f"sending failed unexpectedly: {text}")
        return _unsent(index, raw, RecordStatus.FAILED, text)

    # --- results ---------------------------------------------------------------------------

    async def _next(self) -> RecordResult | None:
        """The next result to end, None once every record read has one."""
        if self._ended_at is not None:
            return None
        queue = self._queue
        assert queue is not None
        while self._live:
            item = await queue.get()
            if item is None:
                self._live -= 1
                continue
            self._fold(item)
            return item
        if self._drain:  # aborted: account for the rest of the input, sending nothing
            pulled = await self._pull()
            if pulled is not None:
                index, raw = pulled
                checked = _check_record(index, raw)
                result = (
                    _unsent(index, raw, RecordStatus.SKIPPED, f"not sent: {self._reason}", checked)
                    if isinstance(checked, ProfileUpsert)
                    else checked
                )
                self._fold(result)
                return result
        self._finish(self._reason or self._stop.reason)
        if self._input_error is not None:
            raise self._input_error
        return None

    def _fold(self, result: RecordResult, *, quiet: bool = False) -> None:
        """Count ``result``, write it to the files, tell ``on_result``.

        ``quiet``: a callback that raises is logged, not raised (while closing the run,
        every record must still be counted).
        """
        self._builder.add(result)
        if self._sink is not None:
            self._sink.write(result_line(result))
        if self._failures is not None and result.status in FAILURE_STATUSES:
            self._failures.write(failure_line(result))
        if self._on_result is not None:
            if not quiet:
                self._on_result(result)
                return
            try:
                self._on_result(result)
            except Exception:
                logger.exception("on_result raised for record %d", result.index)

    def _finish(self, reason: str | None) -> None:
        if self._ended_at is not None:
            return
        self._ended_at = self._client._now()
        self._final = self._counters()
        if self._reason is None:
            self._reason = reason
        if self._deadline_timer is not None:
            self._deadline_timer.cancel()
        for writer in (self._sink, self._failures):
            if writer is not None:
                writer.close()

    # --- report ----------------------------------------------------------------------------

    @property
    def finished(self) -> bool:
        """True once every record read has its result."""
        return self._ended_at is not None

    def report(self) -> BulkReport:
        """The report of what has ended so far (the whole run once `finished`)."""
        end = self._ended_at if self._ended_at is not None else self._client._now()
        final = self._final if self._final is not None else self._counters()
        base = self._baseline
        return self._builder.build(
            elapsed=max(0.0, end - self._started_at) if self._queue is not None else 0.0,
            throttled=final[0] - base[0],
            rate_changes=final[1] - base[1],
            token_refreshes=final[2] - base[2],
            abort_reason=self._reason,
        )
