"""The bulk engine against an in-process fake transport, on a virtual clock."""

from __future__ import annotations

import asyncio
import gc
import io
import json
from collections import Counter
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest

from webex_campaign_async import (
    CampaignClient,
    ProfileUpsert,
    RateLimit,
    RecordResult,
    RecordStatus,
    RetryPolicy,
    TransportError,
    write_failures,
)
from webex_campaign_async._convert import profile_from_wire
from webex_campaign_async._files import strip_annotations

from .fakes import FakeTransport, answer, applied
from .test_throttle import max_in_window
from .vtime import run_virtual

S = RecordStatus
BASE = "https://tenant.webexcampaign.io"


def profiles(n: int, start: int = 0) -> Iterator[ProfileUpsert]:
    for i in range(start, start + n):
        yield ProfileUpsert("contacts", key=f"k{i}", attributes={"n": i})


def client_for(transport: FakeTransport, **kwargs: Any) -> CampaignClient:
    kwargs.setdefault("retry", RetryPolicy(attempts=3, initial=0.1, jitter=False))
    kwargs.setdefault("max_concurrency", 8)
    kwargs.setdefault("api_key", "k")
    return CampaignClient(BASE, transport=transport, **kwargs)


def collect(
    transport: FakeTransport, records: Any, **options: Any
) -> tuple[Any, list[RecordResult]]:
    """Run a bulk upsert on the virtual loop; return (report, results in completion order)."""
    seen: list[RecordResult] = []

    async def main() -> Any:
        async with client_for(transport, **options.pop("client", {})) as client:
            return await client.bulk_upsert(records, on_result=seen.append, **options)

    return run_virtual(main()), seen


def assert_accounts_for(report: Any, results: list[RecordResult], n: int) -> None:
    assert report.total == n == len(results)
    assert sum(report.counts.values()) == n
    assert sorted(r.index for r in results) == list(range(n))  # each record exactly once


def assert_accounts_for_what_was_read(report: Any, results: list[RecordResult]) -> None:
    """An aborted run: every record read has one result; the rest of the input is not read."""
    assert report.aborted
    assert_accounts_for(report, results, report.total)


def test_all_applied() -> None:
    transport = FakeTransport(latency=0.01)
    report, results = collect(transport, profiles(500))
    assert_accounts_for(report, results, 500)
    assert report.applied == 500
    assert report.ok
    assert report.requests == 500
    assert report.retries == 0
    assert sorted(transport.keys_sent()) == sorted(f"k{i}" for i in range(500))
    assert all(
        r.status is S.APPLIED and r.attempts == 1 and r.latency == pytest.approx(0.01, abs=1e-3)
        for r in results
    )
    assert report.latency.p50 == pytest.approx(0.01, rel=0.02)


def test_every_outcome_in_one_run() -> None:
    def scripted(wire: dict[str, Any], attempt: int, headers: Any) -> Any:
        i = int(wire["key"][1:])
        if i % 10 == 1:
            return applied(0)  # NOT_APPLIED
        if i % 10 == 2:
            return answer(200, "1010", "The request was not processed.")  # 3 tries, REJECTED
        if i % 10 == 3:
            return answer(500, "500", "Internal server error")  # FAILED after 3 attempts
        if i % 10 == 4 and attempt == 1:
            return answer(503, None)  # retried once, then applied
        if i % 10 == 5 and attempt == 1:
            return TransportError("connection reset")  # retried once, then applied
        return applied()

    records: list[Any] = list(profiles(100))
    records[6] = {"profile-name": "contacts", "key": "bad", "attributes": [{"attribute-name": "a"}]}
    records[16] = 42
    records[26] = {"profile_name": "contacts"}
    transport = FakeTransport(scripted)
    report, results = collect(transport, records)
    assert_accounts_for(report, results, 100)
    by_index = {r.index: r for r in results}
    assert report.counts == {
        S.APPLIED: 67,
        S.NOT_APPLIED: 10,
        S.REJECTED: 10,
        S.INVALID: 3,
        S.FAILED: 10,
        S.SKIPPED: 0,
    }
    assert by_index[6].status is S.INVALID
    assert "attributes[0].val" in by_index[6].message
    assert by_index[6].key == "bad"
    assert by_index[16].status is S.INVALID
    assert "not int" in by_index[16].message
    assert "profile_name" in by_index[26].message
    assert {"bad", "k16", "k26"}.isdisjoint(transport.keys_sent())  # invalid ones never sent
    assert (by_index[2].code, by_index[2].http_status, by_index[2].attempts) == (1010, 200, 3)
    assert (by_index[3].attempts, by_index[3].code) == (3, 500)
    assert by_index[4].attempts == 2
    assert by_index[4].status is S.APPLIED
    assert by_index[5].attempts == 2
    assert report.codes == {1010: 10, 500: 10}
    assert report.requests == 47 + 20 * 2 + 10 + 10 * 3 + 10 * 3
    assert len(report.failures) == 23
    assert "update-count 0" in by_index[1].message


def test_input_is_pulled_lazily_and_memory_stays_bounded() -> None:
    pulled = 0
    most_ahead = 0
    ended = 0

    def source() -> Iterator[ProfileUpsert]:
        nonlocal pulled, most_ahead
        for record in profiles(2000):
            pulled += 1
            most_ahead = max(most_ahead, pulled - ended)
            yield record

    def count(_: RecordResult) -> None:
        nonlocal ended
        ended += 1

    async def main() -> int:
        async with client_for(FakeTransport(latency=0.001), max_concurrency=16) as client:
            tasks_seen = 0
            async with client.stream_upsert(source(), on_result=count) as run:
                async for _ in run:
                    tasks_seen = max(tasks_seen, len(asyncio.all_tasks()))
            return tasks_seen

    tasks = run_virtual(main())
    assert ended == 2000
    assert most_ahead <= 16 * 2 + 1  # workers in flight + queued results, never the input
    assert tasks <= 16 + 2  # a fixed pool and the run's own task: no task per record


def test_async_iterable_input() -> None:
    async def source() -> AsyncIterator[Any]:
        for record in profiles(300):
            await asyncio.sleep(0)
            yield record

    report, results = collect(FakeTransport(), source())
    assert_accounts_for(report, results, 300)
    assert report.applied == 300


def test_wire_mappings_are_accepted() -> None:
    records = [
        {
            "profile-name": "contacts",
            "key": f"m{i}",
            "attributes": [{"attribute-name": "a", "val": i}],
        }
        for i in range(50)
    ]
    report, results = collect(FakeTransport(), records)
    assert report.applied == 50
    assert all(r.record is not None and r.record.key == r.key for r in results)


def test_permission_failure_stops_quickly_and_skips_the_rest() -> None:
    transport = FakeTransport(
        lambda wire, attempt, headers: (
            answer(401, "430", "Authorization failed.") if wire["key"] == "k40" else applied()
        ),
        latency=0.01,
    )
    report, results = collect(transport, profiles(1000))
    assert_accounts_for_what_was_read(report, results)
    assert "permission denied" in (report.abort_reason or "")
    assert len(transport.sent) <= 40 + 32  # only what was in flight went out after k40
    assert report.total <= 40 + 32  # and the input was read no further
    statuses = Counter(r.status for r in results)
    assert statuses[S.FAILED] == 1
    assert statuses[S.SKIPPED] == report.total - statuses[S.APPLIED] - 1


def test_method_not_allowed_aborts_too() -> None:
    transport = FakeTransport(lambda w, a, h: answer(405, "405", "Method not supported"))
    report, _ = collect(transport, profiles(100))
    assert report.aborted
    assert "endpoint" in (report.abort_reason or "")
    assert report.failed >= 1
    assert report.total == report.failed + report.skipped <= 32


def test_token_expiry_mid_run_refreshes_once_and_loses_nothing() -> None:
    tokens = iter(f"t{i}" for i in range(1, 10))
    asked = 0

    async def provider() -> str:
        nonlocal asked
        asked += 1
        await asyncio.sleep(0.05)  # a slow identity provider: everyone waits for one answer
        return next(tokens)

    sent_with: Counter[str] = Counter()

    def expiring(wire: dict[str, Any], attempt: int, headers: Any) -> Any:
        token = headers["Authorization"].removeprefix("Bearer ")
        sent_with[token] += 1
        if token == "t1" and sent_with[token] > 100:
            return answer(401, "498", "Invalid token or Access token expired")
        return applied()

    transport = FakeTransport(expiring, latency=0.002)
    report, results = collect(
        transport,
        profiles(1000),
        client={"api_key": None, "token_provider": provider, "max_concurrency": 16},
    )
    assert_accounts_for(report, results, 1000)
    assert report.applied == 1000
    assert asked == 2  # the first token, then exactly one refresh
    assert report.token_refreshes == 1
    assert not report.aborted


def test_unrefreshable_token_aborts() -> None:
    transport = FakeTransport(lambda w, a, h: answer(401, "498", "expired"))
    report, _ = collect(transport, profiles(50))
    assert report.aborted
    assert "token expired" in (report.abort_reason or "")


def test_deadline_stops_sending_and_skips_the_rest() -> None:
    transport = FakeTransport(latency=0.1)
    report, results = collect(transport, profiles(1000), deadline=1.0)
    assert_accounts_for_what_was_read(report, results)
    assert "deadline" in (report.abort_reason or "")
    assert max(t for t, _ in transport.sent) <= 1.0
    assert report.applied == len(transport.sent)  # in flight at the deadline: they end
    assert report.skipped == report.total - report.applied


def test_cancel_halfway_accounts_for_every_record_read() -> None:
    seen: list[RecordResult] = []
    pulled = 0

    def source() -> Iterator[ProfileUpsert]:
        nonlocal pulled
        for record in profiles(10_000):
            pulled += 1
            yield record

    transport = FakeTransport(latency=0.01)
    sent_before_cancel = 0

    async def main() -> None:
        nonlocal sent_before_cancel
        async with client_for(transport) as client:
            task = asyncio.ensure_future(client.bulk_upsert(source(), on_result=seen.append))
            await asyncio.sleep(0.5)
            task.cancel()
            sent_before_cancel = len(transport.sent)
            with pytest.raises(asyncio.CancelledError):
                await task
            await asyncio.sleep(1.0)  # nothing more goes out afterwards

    run_virtual(main())
    assert 100 < len(seen) < 10_000
    assert len(seen) == pulled  # every record read has exactly one result
    assert sorted(r.index for r in seen) == list(range(pulled))
    assert len(transport.sent) == sent_before_cancel
    assert Counter(r.status for r in seen)[S.SKIPPED] >= 1  # those in flight


def test_complete_runs_to_the_end_without_iterating() -> None:
    seen: list[RecordResult] = []

    async def main() -> Any:
        async with client_for(FakeTransport(latency=0.01)) as client:
            run = client.stream_upsert(profiles(300), on_result=seen.append)
            async with run:
                await asyncio.sleep(0.05)  # the workers fill the hand-off queue and wait
                report = await run.complete()  # what they handed off is folded too
            assert run.finished
            return report

    report = run_virtual(main())
    assert_accounts_for(report, seen, 300)
    assert report.applied == 300


def test_complete_and_iteration_exclude_each_other() -> None:
    async def main() -> None:
        async with client_for(FakeTransport(latency=0.01)) as client:
            run = client.stream_upsert(profiles(50))
            async with run:
                async for _ in run:
                    with pytest.raises(RuntimeError, match="already started"):
                        await run.complete()
                    break
            other = client.stream_upsert(profiles(50))
            completing = asyncio.ensure_future(other.complete())
            await asyncio.sleep(0)
            with pytest.raises(RuntimeError, match="already started"):
                async for _ in other:
                    pass
            assert (await completing).applied == 50

    run_virtual(main())


def test_report_of_a_cancelled_stream_adds_up() -> None:
    async def main() -> Any:
        async with client_for(FakeTransport(latency=0.01)) as client:
            run = client.stream_upsert(profiles(1000))
            async with run:
                async for result in run:
                    if result.index >= 100:
                        break
            return run.report()

    report = run_virtual(main())
    assert report.aborted
    assert report.abort_reason == "cancelled"
    assert 100 <= report.total < 1000
    assert sum(report.counts.values()) == report.total


def test_graceful_stop_reads_nothing_more() -> None:
    async def main() -> tuple[Any, int]:
        async with client_for(FakeTransport(latency=0.01)) as client:
            run = client.stream_upsert(profiles(1000))
            n = 0
            async with run:
                async for _ in run:
                    n += 1
                    if n == 50:
                        run.stop()
            return run.report(), n

    report, n = run_virtual(main())
    assert report.total == n
    assert 50 <= n <= 50 + 8 + 8
    assert report.applied == n
    assert report.abort_reason == "stopped"


def test_input_errors_end_the_run_after_accounting() -> None:
    def source() -> Iterator[ProfileUpsert]:
        yield from profiles(30)
        raise OSError("disk gone")

    seen: list[RecordResult] = []

    async def main() -> None:
        async with client_for(FakeTransport()) as client:
            await client.bulk_upsert(source(), on_result=seen.append)

    with pytest.raises(OSError, match="disk gone"):
        run_virtual(main())
    assert len(seen) == 30


def test_rate_is_respected_across_a_bulk_run() -> None:
    transport = FakeTransport(latency=0.02)
    report, _ = collect(
        transport, profiles(2000), client={"rate": RateLimit(200, burst=10), "max_concurrency": 32}
    )
    times = [t for t, _ in transport.sent]
    assert max_in_window(times, 1.0) <= 200 + 10
    assert report.records_per_second == pytest.approx(200, rel=0.05)


@pytest.mark.parametrize(
    ("storm_seconds", "retry_after", "decreases"),
    [
        (1.0, None, True),  # no Retry-After: the rate comes down
        (1.0, "1", False),  # Retry-After outlasts the storm: the shared pause is the answer
        (3.0, "1", True),  # 429s again right after the pause: the rate comes down too
    ],
)
def test_429_storm_adapts_and_still_applies_everything(
    storm_seconds: float, retry_after: str | None, decreases: bool
) -> None:
    headers = {"Retry-After": retry_after} if retry_after else {}

    def storm(wire: dict[str, Any], attempt: int, _: Any) -> Any:
        now = asyncio.get_running_loop().time()
        if 1.0 <= now < 1.0 + storm_seconds:
            return answer(429, "429", "Too many requests.", **headers)
        return applied()

    transport = FakeTransport(storm, latency=0.01)
    report, results = collect(
        transport,
        profiles(1500),
        client={"rate": 500, "retry": RetryPolicy(attempts=5, jitter=False)},
    )
    assert_accounts_for(report, results, 1500)
    assert report.applied == 1500
    assert report.throttled >= 1
    assert (report.rate_changes > 0) is decreases
    assert report.retries == report.throttled


def test_sink_and_failures_files(tmp_path: Path) -> None:
    def scripted(wire: dict[str, Any], attempt: int, headers: Any) -> Any:
        return answer(200, "3005", "Invalid Profile ID") if wire["key"].endswith("7") else applied()

    records: list[Any] = list(profiles(40))
    records[5] = {"profile-name": "contacts", "key": "broken", "attributes": []}
    sink = tmp_path / "results.jsonl"
    failures = io.StringIO()
    report, _ = collect(FakeTransport(scripted), records, sink=sink, failures=failures)
    lines = [json.loads(line) for line in sink.read_text().splitlines()]
    assert len(lines) == 40
    assert sorted(line["index"] for line in lines) == list(range(40))
    failed = [json.loads(line) for line in failures.getvalue().splitlines()]
    assert len(failed) == report.rejected + report.invalid == 5
    rerun = [strip_annotations(line) for line in failed if line["_result"]["status"] == "rejected"]
    assert {profile_from_wire(obj).key for obj in rerun} == {"k7", "k17", "k27", "k37"}
    invalid = next(line for line in failed if line["_result"]["status"] == "invalid")
    assert invalid["key"] == "broken"
    assert "attributes" in invalid["_result"]["message"]


def test_report_writes_its_failures_as_rerunnable_input(tmp_path: Path) -> None:
    transport = FakeTransport(
        lambda w, a, h: answer(200, "7031", "no match") if w["key"] in ("k3", "k8") else applied()
    )
    records: list[Any] = list(profiles(10))
    records[5] = {"profile-name": "contacts", "key": "k5", "attributes": "oops"}
    report, _ = collect(transport, records)
    path = tmp_path / "failed.jsonl"
    assert write_failures(report.failures, path) == 3
    lines = [json.loads(line) for line in path.read_text().splitlines()]
    assert [line["_result"]["status"] for line in lines].count("rejected") == 2
    rerun = [
        profile_from_wire(strip_annotations(line))
        for line in lines[:3]
        if "attributes" in line and isinstance(line["attributes"], list)
    ]
    assert {p.key for p in rerun} == {"k3", "k8"}
    assert any(line["_result"]["status"] == "invalid" and line["key"] == "k5" for line in lines)


def test_report_rendering_and_json() -> None:
    transport = FakeTransport(
        lambda w, a, h: answer(200, "1010", "not processed") if w["key"] == "k3" else applied(),
        latency=0.005,
    )
    report, _ = collect(transport, profiles(20), max_failures=0)
    text = str(report)
    assert "20 records" in text
    assert "applied" in text
    assert "1010 x1" in text
    assert report.failures == ()
    assert report.failures_dropped == 1
    data = json.loads(json.dumps(report.to_dict()))
    assert data["counts"]["applied"] == 19
    assert data["codes"] == {"1010": 1}


def test_results_do_not_keep_records_alive() -> None:
    """APPLIED results are dropped once consumed: the report keeps only aggregates."""

    async def main() -> int:
        async with client_for(FakeTransport()) as client:
            await client.bulk_upsert(profiles(5000))
        gc.collect()
        return sum(1 for o in gc.get_objects() if isinstance(o, ProfileUpsert))

    assert run_virtual(main()) < 50
