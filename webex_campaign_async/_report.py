"""The summary of a bulk run: a fold over its `RecordResult` stream, in bounded memory.

Pure: `ReportBuilder.add` folds one result (counts, codes, attempts, a log-bucketed latency
histogram, failures up to a bound); `ReportBuilder.build` freezes a `BulkReport`. No I/O:
writing files is `_files.py`'s.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Mapping
from typing import Any

import attrs

from ._results import FAILURE_STATUSES, RecordResult, RecordStatus

__all__ = ["BulkReport", "LatencySummary", "RateSeries", "ReportBuilder"]


# Log-spaced latency buckets from 1 us to ~17 min, 2 % apart: quantiles within 1 %.
_BUCKET_BASE = 1e-6
_BUCKET_RATIO = 1.02
_LOG_RATIO = math.log(_BUCKET_RATIO)
_BUCKETS = 1050


class LatencyHistogram:
    """Bounded-memory latency quantiles (relative error <= 1 %) and the exact maximum."""

    __slots__ = ("count", "counts", "maximum")

    def __init__(self) -> None:
        self.counts = [0] * _BUCKETS
        self.count = 0
        self.maximum = 0.0

    def add(self, seconds: float) -> None:
        if seconds <= _BUCKET_BASE:
            bucket = 0
        else:
            bucket = min(_BUCKETS - 1, int(math.log(seconds / _BUCKET_BASE) / _LOG_RATIO) + 1)
        self.counts[bucket] += 1
        self.count += 1
        if seconds > self.maximum:
            self.maximum = seconds

    def quantile(self, q: float) -> float | None:
        """The ``q`` quantile (0..1), ``None`` without samples."""
        if not self.count:
            return None
        rank = max(1, math.ceil(q * self.count))
        seen = 0
        for bucket, n in enumerate(self.counts):
            seen += n
            if seen >= rank:
                if bucket == 0:
                    return min(_BUCKET_BASE, self.maximum)
                # geometric middle of the bucket, never above the true maximum
                middle: float = _BUCKET_BASE * _BUCKET_RATIO ** (bucket - 0.5)
                return min(middle, self.maximum)
        return self.maximum  # pragma: no cover - the loop always reaches the rank


class RateSeries:
    """The throttle's rate over a run: ``(seconds since start, rate)`` a few times a second.

    Bounded: past `MAX_POINTS` points every other one is dropped and the interval doubles.
    """

    MAX_POINTS = 2000

    __slots__ = ("interval", "points")

    def __init__(self, interval: float = 0.25) -> None:
        self.interval = interval
        self.points: list[tuple[float, float | None]] = []

    def add(self, elapsed: float, rate: float | None) -> None:
        self.points.append((elapsed, rate))
        if len(self.points) > self.MAX_POINTS:
            del self.points[1::2]
            self.interval *= 2


@attrs.frozen
class LatencySummary:
    """Seconds per request (the last attempt of each record that was sent)."""

    p50: float | None = None
    p95: float | None = None
    p99: float | None = None
    max: float | None = None


@attrs.frozen
class BulkReport:
    """What a bulk run did. ``counts`` always adds up to ``total``, the records read.

    ``failures`` holds up to the run's ``max_failures`` FAILED/REJECTED/INVALID/SKIPPED
    results (``failures_dropped`` says how many more there were; a failures file keeps all).
    ``requests`` counts HTTP requests sent, ``retries`` those beyond each record's first,
    ``connection_failures`` the connections that failed before a request was sent,
    ``throttled`` the 429 answers seen, ``rate_changes`` the throttle's adaptations,
    ``held_back`` the records that waited for an earlier record of their key, and ``rates``
    the throttle's rate over the run (``None``: unlimited) as ``(seconds, rate)`` points,
    ``learned_rate`` the tenant's limit as the throttle learned it from 429s (if it did).
    ``aborted`` says the run ended before its input did (``abort_reason`` says why); records
    it never read are not in the report.
    """

    total: int
    counts: Mapping[RecordStatus, int]
    codes: Mapping[int, int]
    requests: int
    retries: int
    throttled: int
    rate_changes: int
    token_refreshes: int
    elapsed: float
    latency: LatencySummary
    connection_failures: int = 0
    learned_rate: float | None = None
    held_back: int = 0
    rates: tuple[tuple[float, float | None], ...] = ()
    aborted: bool = False
    abort_reason: str | None = None
    failures: tuple[RecordResult, ...] = ()
    failures_dropped: int = 0

    @property
    def applied(self) -> int:
        """Records APPLIED."""
        return self.counts[RecordStatus.APPLIED]

    @property
    def not_applied(self) -> int:
        """Records NOT_APPLIED (HTTP 200, update-count 0)."""
        return self.counts[RecordStatus.NOT_APPLIED]

    @property
    def rejected(self) -> int:
        """Records REJECTED by a permanent API error."""
        return self.counts[RecordStatus.REJECTED]

    @property
    def invalid(self) -> int:
        """Records INVALID locally, never sent."""
        return self.counts[RecordStatus.INVALID]

    @property
    def failed(self) -> int:
        """Records FAILED after retries (or a run-stopping error)."""
        return self.counts[RecordStatus.FAILED]

    @property
    def skipped(self) -> int:
        """Records SKIPPED because the run stopped."""
        return self.counts[RecordStatus.SKIPPED]

    @property
    def ok(self) -> bool:
        """True when every record was APPLIED and the run was not aborted."""
        return not self.aborted and self.applied == self.total

    @property
    def records_per_second(self) -> float:
        """Records ended per second of the run."""
        return self.total / self.elapsed if self.elapsed > 0 else 0.0

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready figures (failures as result dicts)."""
        return {
            "total": self.total,
            "counts": {status.value: n for status, n in self.counts.items()},
            "codes": {str(code): n for code, n in sorted(self.codes.items())},
            "requests": self.requests,
            "retries": self.retries,
            "throttled": self.throttled,
            "rate_changes": self.rate_changes,
            "token_refreshes": self.token_refreshes,
            "connection_failures": self.connection_failures,
            "learned_rate": self.learned_rate,
            "elapsed": round(self.elapsed, 6),
            "records_per_second": round(self.records_per_second, 3),
            "latency": attrs.asdict(self.latency),
            "held_back": self.held_back,
            "rates": [[round(t, 3), None if r is None else round(r, 3)] for t, r in self.rates],
            "aborted": self.aborted,
            "abort_reason": self.abort_reason,
            "failures": [r.to_dict() for r in self.failures],
            "failures_dropped": self.failures_dropped,
        }

    def __str__(self) -> str:
        state = f"ABORTED: {self.abort_reason}" if self.aborted else "completed"
        lines = [
            f"Bulk upsert: {self.total:,} records in {_seconds(self.elapsed)} "
            f"({self.records_per_second:,.1f} records/s), {state}",
            f"  {'status':<12} {'records':>10}",
        ]
        lines += [f"  {status.value:<12} {n:>10,}" for status, n in self.counts.items()]
        lines.append(
            f"  requests {self.requests:,} ({self.retries:,} retries), 429 answers "
            f"{self.throttled:,}, rate changes {self.rate_changes:,}, token refreshes "
            f"{self.token_refreshes:,}, failed connections {self.connection_failures:,}"
        )
        rate = self.rates[-1][1] if self.rates else None
        if rate is not None or self.learned_rate is not None or self.held_back:
            learned = (
                "" if self.learned_rate is None else f" (limit learned {_rate(self.learned_rate)})"
            )
            lines.append(
                f"  throttle at the end {_rate(rate)}{learned}, records held back for per-key "
                f"order {self.held_back:,}"
            )
        lat = self.latency
        if lat.max is not None:
            lines.append(
                f"  latency p50 {_seconds(lat.p50)}  p95 {_seconds(lat.p95)}  "
                f"p99 {_seconds(lat.p99)}  max {_seconds(lat.max)}"
            )
        if self.codes:
            codes = ", ".join(f"{code} x{n:,}" for code, n in sorted(self.codes.items()))
            lines.append(f"  API codes: {codes}")
        return "\n".join(lines)


def _rate(rate: float | None) -> str:
    return "unlimited" if rate is None else f"{rate:,.1f}/s"


def _seconds(value: float | None) -> str:
    if value is None:
        return "-"
    return f"{value * 1000:.1f} ms" if value < 1 else f"{value:.2f} s"


@attrs.define
class ReportBuilder:
    """Folds results into counts; keeps at most ``max_failures`` failed results."""

    max_failures: int = 1000
    total: int = 0
    counts: Counter[RecordStatus] = attrs.field(factory=Counter)
    codes: Counter[int] = attrs.field(factory=Counter)
    requests: int = 0
    sent: int = 0
    latency: LatencyHistogram = attrs.field(factory=LatencyHistogram)
    failures: list[RecordResult] = attrs.field(factory=list)
    failures_dropped: int = 0
    rates: RateSeries = attrs.field(factory=RateSeries)

    def add(self, result: RecordResult) -> None:
        self.total += 1
        status = result.status
        self.counts[status] += 1
        if result.code is not None:
            self.codes[result.code] += 1
        if result.attempts:
            self.requests += result.attempts
            self.sent += 1
        if result.latency is not None:
            self.latency.add(result.latency)
        if status in FAILURE_STATUSES:
            if len(self.failures) < self.max_failures:
                self.failures.append(result)
            else:
                self.failures_dropped += 1

    def build(
        self,
        *,
        elapsed: float,
        throttled: int = 0,
        rate_changes: int = 0,
        token_refreshes: int = 0,
        connection_failures: int = 0,
        learned_rate: float | None = None,
        held_back: int = 0,
        abort_reason: str | None = None,
    ) -> BulkReport:
        latency = self.latency
        return BulkReport(
            total=self.total,
            counts={status: self.counts[status] for status in RecordStatus},
            codes=dict(self.codes),
            requests=self.requests,
            retries=self.requests - self.sent,
            throttled=throttled,
            rate_changes=rate_changes,
            token_refreshes=token_refreshes,
            elapsed=elapsed,
            latency=LatencySummary(
                latency.quantile(0.50),
                latency.quantile(0.95),
                latency.quantile(0.99),
                latency.maximum if latency.count else None,
            ),
            connection_failures=connection_failures,
            learned_rate=learned_rate,
            held_back=held_back,
            rates=tuple(self.rates.points),
            aborted=abort_reason is not None,
            abort_reason=abort_reason,
            failures=tuple(self.failures),
            failures_dropped=self.failures_dropped,
        )
