"""The workers of a bulk run: the per-record work, from taking an item to its one result.

Each worker takes the next item from the `Intake`, validates and encodes it, lets the
per-key order admit it (or hold it), sends it through the `Sender`, tells the order it
ended, and passes the result on. `Workers` also knows which records are in flight, so that
a run cut short can end them. The run's lifetime, its stop and where results go are
`BulkRun`'s (``_engine.py``).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import Any

from ._endings import abort_reason
from ._intake import WAIT, Entry, Intake, Read
from ._records import prepare, unsent
from ._results import RecordResult, RecordStatus
from ._sender import Sender
from ._stop import StopSignal

__all__ = ["Workers"]

logger = logging.getLogger("webex_campaign_async")

#: A worker gives the loop a turn at least once every this many records.
_YIELD_EVERY = 64


class Workers:
    """The per-record work of one run's worker tasks (run `work` once per worker).

    ``fold`` takes a result into the run's outputs; ``deliver`` does that and hands it to
    the caller iterating the run; ``abort`` stops the run for a reason.
    """

    def __init__(
        self,
        sender: Sender,
        intake: Intake,
        stop: StopSignal,
        *,
        fold: Callable[[RecordResult], None],
        deliver: Callable[[RecordResult], Awaitable[None]],
        abort: Callable[[str], None],
    ) -> None:
        self._sender = sender
        self._intake = intake
        self._stop = stop
        self._fold = fold
        self._deliver = deliver
        self._abort = abort
        self._inflight: dict[int, Read | Entry] = {}  # by worker: taken, not ended

    async def work(self, worker: int, *, hand_off: bool) -> None:
        """Take, send and end records until the input is done or the run stops.

        ``hand_off``: the run is iterated, every result goes through ``deliver``; else it is
        folded here, in the worker that ended it.
        """
        stop = self._stop
        send = self._sender.send
        intake = self._intake
        order = intake.order
        inflight = self._inflight
        fold = self._fold
        deliver = self._deliver
        turns = 0
        while stop.reason is None:
            turns += 1
            if turns == _YIELD_EVERY:  # records may end without I/O (invalid, held, a fake
                turns = 0  # transport): let timers, signals and the caller's tasks run
                await asyncio.sleep(0)
                continue  # (the run may have stopped meanwhile)
            item = intake.take()
            if item is None:
                break
            if item is WAIT:
                await intake.wait()
                continue
            inflight[worker] = item
            admitted = order is not None and len(item) == 4  # released by the order
            try:
                if len(item) == 2:  # read from the input: validate, then ask the order
                    index, raw = item
                    prepared = prepare(index, raw)
                    if isinstance(prepared, RecordResult):  # INVALID
                        del inflight[worker]
                        if hand_off:
                            await deliver(prepared)
                        else:
                            fold(prepared)
                        continue
                    record, body = prepared
                    item = (index, raw, record, body)
                    if order is not None:
                        if not order.admit(item, record.profile_name, record.key):
                            del inflight[worker]  # held: the order has it now
                            continue
                        admitted = True
                    inflight[worker] = item
                index, raw, record, body = item
                result, error = await send(record, body, index, stop)
                if error is not None and result.status is RecordStatus.FAILED:
                    reason = abort_reason(error)
                    if reason is not None:
                        self._abort(reason)
            except Exception as exc:  # a bug, surely: the record still gets its one result
                result = self._crashed(item[0], item[1], exc)
            del inflight[worker]
            if admitted:
                assert order is not None
                assert len(item) == 4
                released = order.done(item[2].profile_name, item[2].key)
                if released:  # (nothing released: nobody waiting has a reason to wake)
                    intake.release(released)
            if hand_off:
                await deliver(result)
            else:
                fold(result)
        intake.wake_all()  # the end, or a stop: nobody waits for nothing

    def _crashed(self, index: int, raw: Any, exc: Exception) -> RecordResult:
        """An unexpected error: end the record FAILED and stop the run (no repr: no secrets)."""
        text = self._sender.redact(f"{type(exc).__name__}: {exc}")
        logger.error("record %d could not be sent: %s", index, text)
        self._abort(f"sending failed unexpectedly: {text}")
        return unsent(index, raw, RecordStatus.FAILED, text)

    def leftovers(self, status: RecordStatus, message: str) -> list[RecordResult]:
        """Results for every record read and not ended (in flight, ready, held, read ahead),
        in input order; forgets them."""
        entries = [*self._inflight.values(), *self._intake.leftovers()]
        self._inflight.clear()
        entries.sort(key=lambda entry: entry[0])
        return [
            unsent(entry[0], entry[1], status, message, entry[2] if len(entry) == 4 else None)
            for entry in entries
        ]
