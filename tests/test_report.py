"""The report fold in process: `ReportBuilder.add` / `build`, `LatencyHistogram` quantiles
within 1 %, `RateSeries` bounded, `BulkReport.to_dict` and its table."""

from __future__ import annotations

import json
import math
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from webex_campaign_async import BulkReport, RecordResult, RecordStatus
from webex_campaign_async._report import (
    LatencyHistogram,
    LatencySummary,
    RateSeries,
    ReportBuilder,
)

APPLIED, NOT_APPLIED, REJECTED, INVALID, FAILED, SKIPPED = RecordStatus


def _result(status: RecordStatus, index: int = 0, **more: Any) -> RecordResult:
    return RecordResult(index, status, f"k{index}", **more)


# --- ReportBuilder ---------------------------------------------------------------------------


def test_an_empty_run() -> None:
    report = ReportBuilder().build(elapsed=0.0)
    assert report.total == 0
    assert dict(report.counts) == dict.fromkeys(RecordStatus, 0)
    assert report.latency == LatencySummary(None, None, None, None)
    assert (report.requests, report.retries, report.records_per_second) == (0, 0, 0.0)
    assert report.ok
    assert not report.aborted


def test_counts_codes_requests_and_retries() -> None:
    builder = ReportBuilder()
    for result in [
        _result(APPLIED, 0, attempts=1, latency=0.010, update_count=1),
        _result(APPLIED, 1, attempts=3, latency=0.020, update_count=2),  # 2 retries
        _result(NOT_APPLIED, 2, attempts=1, latency=0.030, update_count=0),
        _result(REJECTED, 3, attempts=1, latency=0.040, code=1010),
        _result(REJECTED, 4, attempts=2, latency=0.050, code=1010),
        _result(FAILED, 5, attempts=5, latency=0.060, code=None, http_status=503),
        _result(INVALID, 6),  # never sent: no request, no latency
        _result(SKIPPED, 7),
    ]:
        builder.add(result)
    report = builder.build(elapsed=2.0, throttled=4, rate_changes=2, token_refreshes=1, held_back=3)
    assert report.total == 8
    assert dict(report.counts) == {
        APPLIED: 2, NOT_APPLIED: 1, REJECTED: 2, INVALID: 1, FAILED: 1, SKIPPED: 1
    }  # fmt: skip
    assert sum(report.counts.values()) == report.total
    assert (report.applied, report.not_applied, report.rejected) == (2, 1, 2)
    assert (report.invalid, report.failed, report.skipped) == (1, 1, 1)
    assert dict(report.codes) == {1010: 2}
    assert report.requests == 13
    assert report.retries == 13 - 6  # requests beyond each sent record's first
    assert (report.throttled, report.rate_changes, report.token_refreshes) == (4, 2, 1)
    assert report.held_back == 3
    assert report.records_per_second == 4.0
    assert report.latency.max == 0.060
    assert report.latency.p50 == pytest.approx(0.030, rel=0.01)
    assert not report.ok
    assert [r.index for r in report.failures] == [3, 4, 5, 6, 7]  # failure statuses, in order


@pytest.mark.parametrize(
    ("max_failures", "kept", "dropped"), [(0, 0, 5), (2, 2, 3), (5, 5, 0), (1000, 5, 0)]
)
def test_failures_are_bounded(max_failures: int, kept: int, dropped: int) -> None:
    builder = ReportBuilder(max_failures)
    for i in range(5):
        builder.add(_result(FAILED, i))
        builder.add(_result(APPLIED, 100 + i))  # not a failure: never kept
    report = builder.build(elapsed=1.0)
    assert [r.index for r in report.failures] == list(range(kept))
    assert report.failures_dropped == dropped
    assert report.failed == 5


def test_an_aborted_run() -> None:
    builder = ReportBuilder()
    builder.add(_result(APPLIED, attempts=1))
    builder.add(_result(SKIPPED, 1))
    report = builder.build(elapsed=1.0, abort_reason="permission denied")
    assert report.aborted
    assert report.abort_reason == "permission denied"
    assert not report.ok


def test_all_applied_is_ok() -> None:
    builder = ReportBuilder()
    builder.add(_result(APPLIED, attempts=1))
    assert builder.build(elapsed=1.0).ok


# --- LatencyHistogram ------------------------------------------------------------------------


def _exact(samples: list[float], q: float) -> float:
    ordered = sorted(samples)
    return ordered[max(1, math.ceil(q * len(ordered))) - 1]


@given(
    samples=st.lists(
        st.floats(min_value=2e-6, max_value=900.0, allow_nan=False), min_size=1, max_size=300
    ),
    q=st.sampled_from([0.0, 0.01, 0.25, 0.5, 0.9, 0.95, 0.99, 1.0]),
)
@settings(max_examples=300, deadline=None)
def test_quantiles_within_one_percent(samples: list[float], q: float) -> None:
    histogram = LatencyHistogram()
    for sample in samples:
        histogram.add(sample)
    got = histogram.quantile(q)
    assert got is not None
    assert got == pytest.approx(_exact(samples, q), rel=0.01)
    assert got <= max(samples)
    assert histogram.maximum == max(samples)
    assert histogram.count == len(samples)


def test_quantile_edges() -> None:
    histogram = LatencyHistogram()
    assert histogram.quantile(0.5) is None
    histogram.add(0.0)  # at or below 1 us: the first bucket
    histogram.add(1e-7)
    assert histogram.quantile(1.0) == 1e-7  # the true maximum, not the bucket's bound
    histogram.add(5000.0)  # beyond the last bucket (~17 min): counted there
    assert histogram.quantile(1.0) is not None
    assert histogram.quantile(1.0) <= 5000.0  # type: ignore[operator]
    assert histogram.maximum == 5000.0
    assert sum(histogram.counts) == 3


def test_memory_does_not_grow_with_samples() -> None:
    histogram = LatencyHistogram()
    buckets = len(histogram.counts)
    for i in range(100_000):
        histogram.add((i % 977) / 1000 + 1e-6)
    assert len(histogram.counts) == buckets
    assert histogram.count == 100_000


# --- RateSeries ------------------------------------------------------------------------------


def test_rate_series_keeps_every_point_while_small() -> None:
    series = RateSeries(interval=0.25)
    for i in range(10):
        series.add(i * 0.25, None if i == 3 else 100.0 + i)
    assert len(series.points) == 10
    assert series.points[3] == (0.75, None)
    assert series.interval == 0.25


def test_rate_series_is_bounded() -> None:
    series = RateSeries(interval=0.25)
    for i in range(10 * RateSeries.MAX_POINTS):
        series.add(i * 0.25, float(i))
        assert len(series.points) <= RateSeries.MAX_POINTS
    assert series.points[0] == (0.0, 0.0)  # the start is kept
    times = [t for t, _ in series.points]
    assert times == sorted(times)
    assert len(series.points) > RateSeries.MAX_POINTS // 4  # thinned, not emptied
    assert series.interval > 0.25  # the interval grew as the points were thinned
    assert series.interval == 0.25 * 2 ** round(math.log2(series.interval / 0.25))


# --- BulkReport ------------------------------------------------------------------------------


def _report() -> BulkReport:
    builder = ReportBuilder()
    builder.add(_result(APPLIED, 0, attempts=2, latency=0.0123))
    builder.add(_result(REJECTED, 1, attempts=1, latency=1.5, code=1010, message="no"))
    builder.rates.add(0.0, None)
    builder.rates.add(0.25, 123.45678)
    return builder.build(elapsed=0.5, throttled=1, rate_changes=1, held_back=2)


def test_to_dict_is_json_ready() -> None:
    data = _report().to_dict()
    assert json.loads(json.dumps(data)) == data
    assert data["total"] == 2
    assert data["counts"] == {
        "applied": 1, "not_applied": 0, "rejected": 1, "invalid": 0, "failed": 0, "skipped": 0
    }  # fmt: skip
    assert data["codes"] == {"1010": 1}
    assert (data["requests"], data["retries"], data["throttled"]) == (3, 1, 1)
    assert data["records_per_second"] == 4.0
    assert data["rates"] == [[0.0, None], [0.25, 123.457]]
    assert data["latency"]["max"] == 1.5
    assert data["aborted"] is False
    assert data["abort_reason"] is None
    assert [f["index"] for f in data["failures"]] == [1]
    assert data["failures"][0]["message"] == "no"
    assert data["failures_dropped"] == 0
    assert data["held_back"] == 2


def test_the_table() -> None:
    text = str(_report())
    lines = text.splitlines()
    assert lines[0] == "Bulk upsert: 2 records in 500.0 ms (4.0 records/s), completed"
    assert lines[1].split() == ["status", "records"]
    assert [line.split() for line in lines[2:8]] == [
        ["applied", "1"], ["not_applied", "0"], ["rejected", "1"], ["invalid", "0"],
        ["failed", "0"], ["skipped", "0"],
    ]  # fmt: skip
    assert "requests 3 (1 retries), 429 answers 1, rate changes 1, token refreshes 0" in text
    assert "throttle at the end 123.5/s, records held back for per-key order 2" in text
    assert "latency p50 12.3 ms" in text
    assert "max 1.50 s" in text
    assert text.endswith("API codes: 1010 x1")


def test_the_table_of_an_aborted_run_without_requests() -> None:
    builder = ReportBuilder()
    builder.add(_result(SKIPPED))
    text = str(builder.build(elapsed=3.0, abort_reason="deadline"))
    assert text.startswith("Bulk upsert: 1 records in 3.00 s (0.3 records/s), ABORTED: deadline")
    assert "latency" not in text
    assert "API codes" not in text
    assert "throttle at the end" not in text


def test_the_report_shows_the_learned_limit_and_the_rate_over_time() -> None:
    builder = ReportBuilder()
    builder.rates.add(0.0, None)
    builder.rates.add(0.25, 180.0)
    report = builder.build(elapsed=1.0, learned_rate=200.0, held_back=3)
    assert report.to_dict()["learned_rate"] == 200.0
    assert report.to_dict()["rates"] == [[0.0, None], [0.25, 180.0]]
    assert "throttle at the end 180.0/s (limit learned 200.0/s)" in str(report)
    assert "held back for per-key order 3" in str(report)
