"""Where a bulk run's results go as its records end: the report's fold, the sink and
failures files, and the caller's ``on_result``."""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from typing import Any

from ._files import FailuresWriter, LineWriter, Target, result_line
from ._order import Replay
from ._report import BulkReport, ReportBuilder
from ._results import FAILURE_STATUSES, RecordResult
from ._sender import SendCounts

__all__ = ["REPLAY_NOTE", "Outputs", "to_failures"]

logger = logging.getLogger("webex_campaign_async")

#: Beside a record in a failures file that did not fail: it is there to be re-run after an
#: earlier record of its profile that did (else that one would overwrite it).
REPLAY_NOTE = {"_replay": "re-run after an earlier record of this profile that did not apply"}


class Outputs:
    """Every result of one run, in the order records end (one `add` per record)."""

    def __init__(
        self,
        *,
        max_failures: int,
        on_result: Callable[[RecordResult], object] | None,
        sink: Target | None,
        failures: Target | None,
        ordered: bool = True,
    ) -> None:
        self.report = ReportBuilder(max_failures)
        #: With per-key order: later records of a failed record's profile follow it into
        #: the failures file, so that re-running the file keeps input order.
        self.replay = Replay() if ordered else None
        self._on_result = on_result
        self._targets = (sink, failures)
        self._sink: LineWriter | None = None
        self._failures: FailuresWriter | None = None

    def open(self) -> None:
        """Open the files. Paths are written as PATH.partial and renamed on `close`, so an
        input read from the same path (a failures file run again) is not emptied first."""
        sink, failures = self._targets
        if sink is not None:
            self._sink = LineWriter(sink, partial=True)
        if failures is not None:
            self._failures = FailuresWriter(failures, partial=True)

    def add(self, result: RecordResult, *, quiet: bool = False) -> None:
        """Count ``result``, write it to the files, tell ``on_result``.

        ``quiet``: a callback that raises is logged, not raised (while closing the run,
        every record must still be counted).
        """
        self.report.add(result)
        if self._sink is not None:
            self._sink.write(result_line(result))
        if self._failures is not None:
            to_failures(self._failures, self.replay, result)
        if self._on_result is not None:
            if not quiet:
                self._on_result(result)
                return
            try:
                self._on_result(result)
            except Exception:
                logger.exception("on_result raised for record %d", result.index)

    def build(
        self,
        elapsed: float,
        base: SendCounts,
        counts: SendCounts,
        held_back: int,
        abort_reason: str | None,
    ) -> BulkReport:
        """The report: the fold so far, and what the sender counted since ``base``."""
        return self.report.build(
            elapsed=elapsed,
            throttled=counts.throttled - base.throttled,
            rate_changes=counts.rate_changes - base.rate_changes,
            token_refreshes=counts.token_refreshes - base.token_refreshes,
            connection_failures=counts.connection_failures - base.connection_failures,
            learned_rate=counts.learned_rate,
            held_back=held_back,
            abort_reason=abort_reason,
        )

    def close(self) -> None:
        for writer in (self._sink, self._failures):
            if writer is not None:
                writer.close()


def to_failures(
    failures: FailuresWriter,
    replay: Replay | None,
    result: RecordResult,
    annotations: Mapping[str, Any] | None = None,
) -> bool:
    """Write ``result`` to the failures file if it did not apply, or if it must be re-run
    after one that did not (``replay``: the run keeps per-key order). True if written."""
    record = result.record
    if result.status in FAILURE_STATUSES:
        failures.write(result, annotations)
        if replay is not None and record is not None:
            replay.mark(record.profile_name, record.key)
        return True
    if replay and record is not None and replay.follows(record.profile_name, record.key):
        failures.write(result, {**(annotations or {}), **REPLAY_NOTE})
        return True
    return False
