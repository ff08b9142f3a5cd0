"""Where a bulk run's results go as its records end: the report's fold, the sink and
failures files, and the caller's ``on_result``."""

from __future__ import annotations

import logging
from collections.abc import Callable

from ._files import FailuresWriter, LineWriter, Target, result_line
from ._report import BulkReport, ReportBuilder
from ._results import FAILURE_STATUSES, RecordResult
from ._sender import SendCounts

__all__ = ["Outputs"]

logger = logging.getLogger("webex_campaign_async")


class Outputs:
    """Every result of one run, in the order records end (one `add` per record)."""

    def __init__(
        self,
        *,
        max_failures: int,
        on_result: Callable[[RecordResult], object] | None,
        sink: Target | None,
        failures: Target | None,
    ) -> None:
        self.report = ReportBuilder(max_failures)
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
        if self._failures is not None and result.status in FAILURE_STATUSES:
            self._failures.write(result)
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
            connection_failures=counts.connect_failures - base.connect_failures,
            learned_rate=counts.learned,
            held_back=held_back,
            abort_reason=abort_reason,
        )

    def close(self) -> None:
        for writer in (self._sink, self._failures):
            if writer is not None:
                writer.close()
