"""The bulk engine end to end against the emulator, with injected faults.

The invariant everywhere: every record read has exactly one result, and the server holds
what was applied. Most runs go through `EmulatorTransport` on the virtual-time loop (the
same emulator core, no sockets: seeded, deterministic, instant); a few go over real
loopback sockets to check the wiring with real dropped connections.
"""

from __future__ import annotations

import asyncio
import json
import random
from collections import Counter
from typing import Any

import pytest

from webex_campaign_async import (
    BulkReport,
    CampaignClient,
    ProfileUpsert,
    RateLimit,
    RecordResult,
    RecordStatus,
    RetryPolicy,
    UpsertMode,
)
from webex_campaign_async._files import strip_annotations
from webex_campaign_async.emulator import (
    Emulator,
    EmulatorConfig,
    EmulatorCore,
    EmulatorTransport,
    Faults,
    Storm,
)

from .vtime import run_virtual

S = RecordStatus
LIST = "customers"


def workload(n: int) -> tuple[list[Any], dict[str, str]]:
    """``n`` records: most create-or-update, some update-only on keys that do not exist
    (NOT_APPLIED), some invalid (INVALID). Returns (records, expected status by index)."""
    records: list[Any] = []
    expected: dict[int, RecordStatus] = {}
    for i in range(n):
        if i % 97 == 13:
            records.append(
                {"profile-name": LIST, "key": f"bad-{i}", "attributes": [{"attribute-name": "a"}]}
            )
            expected[i] = S.INVALID
        elif i % 89 == 7:
            records.append(
                ProfileUpsert(
                    LIST, key=f"ghost-{i}", attributes={"n": i}, upsert=UpsertMode.UPDATE_ONLY
                )
            )
            expected[i] = S.NOT_APPLIED
        else:
            records.append(ProfileUpsert(LIST, key=f"c-{i}", attributes={"n": i, "name": f"N{i}"}))
            expected[i] = S.APPLIED
    return records, expected  # type: ignore[return-value]


FAULTS = Faults(
    seed=20261126,
    latency=0.005,
    jitter=0.01,
    p500=0.02,
    p499=0.01,
    p1010=0.01,
    p503_html=0.01,
    p_drop_before=0.01,
    p_drop_after=0.01,
    p_slow=0.005,
    slow_seconds=5.0,
    storms=(Storm(0.5, 0.3), Storm(1.5, 0.3, retry_after=1)),
)


def run_against(
    core: EmulatorCore, records: list[Any], **client: Any
) -> tuple[Any, list[RecordResult], CampaignClient]:
    seen: list[RecordResult] = []
    random.seed(1)  # the retry jitter: the same request order, so the same faults, every run
    transport = EmulatorTransport(core)
    client.setdefault("api_key", core.api_key)
    client.setdefault("retry", RetryPolicy(attempts=8, initial=0.05, maximum=1.0))
    cc = CampaignClient("http://127.0.0.1", transport=transport, **client)

    async def main() -> Any:
        async with cc:
            return await cc.bulk_upsert(records, on_result=seen.append)

    return run_virtual(main()), seen, cc


def test_faults_storms_invalid_and_not_applied_all_accounted_for() -> None:
    core = EmulatorCore(EmulatorConfig(profile_lists={LIST}, faults=FAULTS))
    records, expected = workload(2000)
    report, results, _ = run_against(
        core, records, rate=RateLimit(1000, burst=50), max_concurrency=32, timeout=2.0
    )

    # exactly one result per record
    assert report.total == len(results) == 2000
    assert sorted(r.index for r in results) == list(range(2000))
    assert sum(report.counts.values()) == 2000

    by_index = {r.index: r for r in results}
    unprocessed = {key for _, key in core.stats.keys_with_fault("1010")}
    ambiguous = {key for _, key in core.stats.keys_with_fault("drop_after")}
    ambiguous |= {key for _, key in core.stats.keys_with_fault("slow")}
    for index, status in expected.items():
        result = by_index[index]
        key = getattr(records[index], "key", None)
        assert result.status is status, (index, result)  # an injected 1010 was sent again
        if result.status is S.APPLIED:  # the server holds what was applied, as strings
            assert core.store.get(LIST, key) == {"n": str(index), "name": f"N{index}"}
        elif key not in ambiguous:  # nothing else was written, unless a lost answer did
            assert core.store.get(LIST, key) is None
    assert report.counts[S.FAILED] == report.counts[S.SKIPPED] == 0
    assert report.rejected == 0
    assert 1010 not in report.codes
    assert len(unprocessed) > 5  # the transient 1010s happened, and were absorbed
    assert all(
        by_index[i].status is S.APPLIED
        for i, r in enumerate(records)
        if getattr(r, "key", None) in unprocessed and expected[i] is S.APPLIED
    )
    assert report.invalid == sum(1 for s in expected.values() if s is S.INVALID) > 0
    assert report.not_applied == sum(1 for s in expected.values() if s is S.NOT_APPLIED) > 0
    # every record the store holds was applied by some attempt, and nothing else is there
    assert (
        set(core.store.profiles(LIST))
        <= {r.key for r in results if r.status is S.APPLIED} | ambiguous
    )
    # every kind of fault really happened, and retries absorbed the transient ones
    assert {"500", "499", "1010", "503_html", "drop_before", "drop_after", "slow", "storm"} <= set(
        core.stats.faults
    )
    assert report.throttled == core.stats.throttled > 0
    assert report.retries > 0
    assert report.requests == core.stats.requests - core.stats.count(401, "498")


def test_the_client_rate_holds_at_the_emulator() -> None:
    core = EmulatorCore(EmulatorConfig(faults=Faults(seed=3, latency=0.01, jitter=0.02)))
    records = [ProfileUpsert(LIST, key=f"k{i}", attributes={"i": i}) for i in range(3000)]
    report, _, _ = run_against(core, records, rate=RateLimit(800, burst=40), max_concurrency=64)
    assert report.applied == 3000
    assert core.stats.max_per_second <= 800 * 1.05 + 40
    assert core.stats.max_per_100ms <= 80 + 40
    assert report.records_per_second == pytest.approx(800, rel=0.05)


def test_a_server_throttle_below_the_client_rate_adapts_without_losing_records() -> None:
    """The tenant's real limit is 300/s but the client was told 600/s: 429s, then adaptation."""
    core = EmulatorCore(EmulatorConfig(rate=300, burst=30, faults=Faults(seed=5, latency=0.01)))
    records = [ProfileUpsert(LIST, key=f"k{i}", attributes={"i": i}) for i in range(3000)]
    report, _results, _client = run_against(
        core, records, rate=RateLimit(600, burst=30), max_concurrency=32
    )
    assert report.applied == 3000
    assert report.throttled == core.stats.throttled > 0
    assert report.rate_changes > 0
    # the throttle learned: far fewer 429s than records, and the run still moves near 300/s
    assert core.stats.throttled < 3000 * 0.25
    assert report.records_per_second > 300 * 0.7
    assert core.store.count(LIST) == 3000


def test_token_expiry_mid_run_refreshes_once_per_expiry() -> None:
    core = EmulatorCore(EmulatorConfig(faults=Faults(seed=9, latency=0.01)))
    tokens: list[str] = []

    async def provider() -> str:
        await asyncio.sleep(0.02)  # an identity provider takes its time
        tokens.append(core.issue_token(max_requests=400))
        return tokens[-1]

    records = [ProfileUpsert(LIST, key=f"k{i}", attributes={"i": i}) for i in range(2000)]
    report, _results, client = run_against(
        core, records, api_key=None, token_provider=provider, max_concurrency=32
    )
    assert report.applied == 2000
    assert core.store.count(LIST) == 2000
    expired = core.stats.count(401, "498")
    assert expired > 0
    # each token served its 400 requests, then exactly one new token was fetched
    assert len(tokens) == 2000 // 400 + (2000 % 400 > 0)
    assert report.token_refreshes == client.token_refreshes == len(tokens) - 1
    assert not report.aborted


def test_permission_failure_mid_stream_stops_quickly_and_skips_the_rest() -> None:
    core = EmulatorCore(EmulatorConfig(api_keys=("good",), forbidden_keys=("bad",)))
    records = [ProfileUpsert(LIST, key=f"k{i}", attributes={"i": i}) for i in range(1000)]
    report, results, _ = run_against(core, records, api_key="bad", max_concurrency=16)
    assert report.total == len(results) <= 16  # read no further than the workers' first records
    assert sorted(r.index for r in results) == list(range(report.total))
    assert report.aborted
    assert "permission denied" in (report.abort_reason or "")
    assert core.stats.requests <= 16  # only what was already on its way
    counts = Counter(r.status for r in results)
    assert counts[S.FAILED] == core.stats.requests
    assert counts[S.SKIPPED] == report.total - core.stats.requests
    assert core.store.count() == 0


def test_cancel_halfway_adds_up_and_nothing_is_sent_after() -> None:
    core = EmulatorCore(EmulatorConfig(faults=Faults(seed=1, latency=0.05)))
    records = (ProfileUpsert(LIST, key=f"k{i}", attributes={"i": i}) for i in range(5000))
    seen: list[RecordResult] = []

    async def main() -> tuple[int, int]:
        transport = EmulatorTransport(core)
        async with CampaignClient(
            "http://127.0.0.1", api_key=core.api_key, transport=transport, max_concurrency=32
        ) as client:
            task = asyncio.ensure_future(client.bulk_upsert(records, on_result=seen.append))
            await asyncio.sleep(1.0)
            task.cancel()
            with pytest.raises(asyncio.CancelledError):
                await task
            at_cancel = core.stats.requests
            await asyncio.sleep(5.0)
            return at_cancel, core.stats.requests

    at_cancel, later = run_virtual(main())
    assert later == at_cancel
    assert 0 < len(seen) < 5000
    assert sorted(r.index for r in seen) == list(range(len(seen)))
    applied = [r for r in seen if r.status is S.APPLIED]
    assert all(core.store.get(LIST, r.key or "") == {"i": str(r.index)} for r in applied)


# --- over real sockets ------------------------------------------------------------------


async def test_real_sockets_with_drops_and_errors() -> None:
    faults = Faults(seed=11, p500=0.05, p_drop_before=0.05, p_drop_after=0.05, p503_html=0.05)
    records = [ProfileUpsert(LIST, key=f"k{i}", attributes={"i": i}) for i in range(300)]
    async with Emulator(faults=faults) as emulator:
        async with CampaignClient(
            emulator.base_url,
            api_key=emulator.api_key,
            max_concurrency=16,
            retry=RetryPolicy(attempts=10, initial=0.001, maximum=0.01),
        ) as client:
            report = await client.bulk_upsert(records)
        assert report.applied == 300
        assert report.retries > 0
        assert {"drop_before", "drop_after", "500", "503_html"} <= set(emulator.stats.faults)
        assert emulator.store.count(LIST) == 300
        assert all(emulator.store.get(LIST, f"k{i}") == {"i": str(i)} for i in range(300))


async def test_real_sockets_permission_failure() -> None:
    records = [ProfileUpsert(LIST, key=f"k{i}", attributes={"i": i}) for i in range(200)]
    async with Emulator(api_keys=("good",), forbidden_keys=("bad",)) as emulator:
        async with CampaignClient(emulator.base_url, api_key="bad", max_concurrency=8) as client:
            report = await client.bulk_upsert(records)
        assert report.aborted
        assert report.total <= 8
        assert emulator.stats.requests <= 8
        assert report.skipped == report.total - emulator.stats.requests


def test_single_upserts_and_a_bulk_run_share_one_throttle() -> None:
    """200 coroutines awaiting upsert() while a bulk run goes on: one rate for all of them."""
    core = EmulatorCore(EmulatorConfig(faults=Faults(seed=2, latency=0.005)))

    async def main() -> tuple[Any, list[Any]]:
        transport = EmulatorTransport(core)
        async with CampaignClient(
            "http://127.0.0.1",
            api_key=core.api_key,
            transport=transport,
            rate=RateLimit(200, burst=10),
            max_concurrency=32,
        ) as client:
            singles = [
                client.upsert(ProfileUpsert(LIST, key=f"s{i}", attributes={"i": i}))
                for i in range(200)
            ]
            bulk = client.bulk_upsert(
                ProfileUpsert(LIST, key=f"b{i}", attributes={"i": i}) for i in range(400)
            )
            *results, report = await asyncio.gather(*singles, bulk)
            return report, results

    report, results = run_virtual(main())
    assert report.applied == 400
    assert all(r.ok for r in results)
    assert core.store.count(LIST) == 600
    assert core.stats.max_per_second <= 200 + 10
    assert core.stats.max_per_100ms <= 20 + 10


def test_stream_without_async_with_and_empty_input() -> None:
    core = EmulatorCore(EmulatorConfig())

    async def main() -> tuple[list[RecordResult], Any, Any]:
        transport = EmulatorTransport(core)
        async with CampaignClient(
            "http://127.0.0.1", api_key=core.api_key, transport=transport
        ) as client:
            run = client.stream_upsert(
                ProfileUpsert(LIST, key=f"k{i}", attributes={"i": i}) for i in range(50)
            )
            seen = [result async for result in run]
            empty = await client.bulk_upsert([])
            return seen, run.report(), empty

    seen, report, empty = run_virtual(main())
    assert len(seen) == report.total == report.applied == 50
    assert not report.aborted
    assert (empty.total, empty.ok, empty.aborted) == (0, True, False)


def _versions(keys: int, per_key: int) -> list[ProfileUpsert]:
    """``per_key`` versions of each key, a key's versions a few dozen records apart."""
    block = 25
    return [
        ProfileUpsert(LIST, key=f"k{start + (k * 7 + v) % block}", attributes={"version": str(v)})
        for start in range(0, keys, block)
        for v in range(per_key)
        for k in range(block)
    ]


def _stale_keys(ordered: bool) -> tuple[Any, int]:
    core = EmulatorCore(
        EmulatorConfig(
            faults=Faults(seed=5, p500=0.05, p_drop_after=0.02, latency=0.005, jitter=0.04)
        )
    )
    records = _versions(keys=500, per_key=4)
    random.seed(1)
    client = CampaignClient(
        "http://127.0.0.1",
        api_key=core.api_key,
        transport=EmulatorTransport(core),
        max_concurrency=64,
        retry=RetryPolicy(attempts=8, initial=0.01, maximum=0.2),
    )

    async def main() -> Any:
        async with client:
            return await client.bulk_upsert(records, ordered=ordered)

    report = run_virtual(main())
    assert report.applied == report.total == 2000
    stale = sum(core.store.get(LIST, f"k{k}") != {"version": "3"} for k in range(500))
    return report, stale


def test_repeated_keys_under_faults_end_with_each_keys_last_record() -> None:
    report, stale = _stale_keys(ordered=True)
    assert stale == 0
    assert report.held_back > 0


def test_without_order_the_same_faults_leave_stale_keys() -> None:
    """The contrast: what per-key order prevents (same seed, same faults)."""
    _, stale = _stale_keys(ordered=False)
    assert stale > 0


def _rerun_failures(tmp_path: Any, keep_replays: bool) -> tuple[int, int]:
    """One run with one attempt per record under faults, then its failures file run again
    (less the records only there for order, unless ``keep_replays``): (replays, stale keys)."""
    core = EmulatorCore(EmulatorConfig(faults=Faults(seed=7, p500=0.3, latency=0.005)))
    failures = tmp_path / "failed.jsonl"

    async def main(records: Any, attempts: int, **options: Any) -> BulkReport:
        client = CampaignClient(
            "http://127.0.0.1",
            api_key=core.api_key,
            transport=EmulatorTransport(core),
            max_concurrency=32,
            retry=RetryPolicy(attempts=attempts, initial=0.01, maximum=0.05),
        )
        async with client:
            return await client.bulk_upsert(records, **options)

    first = run_virtual(main(_versions(keys=200, per_key=4), 1, failures=failures))
    assert first.failed > 50
    lines = [json.loads(line) for line in failures.read_text().splitlines()]
    replays = sum("_replay" in line for line in lines)
    again = [strip_annotations(line) for line in lines if keep_replays or "_replay" not in line]
    second = run_virtual(main(again, 20))
    assert second.applied == second.total == len(again)
    stale = sum(core.store.get(LIST, f"k{k}") != {"version": "3"} for k in range(200))
    return replays, stale


def test_running_the_failures_file_again_ends_each_key_with_its_last_record(
    tmp_path: Any,
) -> None:
    """A failed record re-run alone would overwrite what a later record of its key applied:
    the later records follow it into the failures file, marked, and go again after it."""
    replays, stale = _rerun_failures(tmp_path, keep_replays=True)
    assert replays > 0
    assert stale == 0


def test_without_the_records_kept_for_order_a_rerun_leaves_stale_keys(tmp_path: Any) -> None:
    """The contrast: the failed records alone, re-run, overwrite newer values."""
    _, stale = _rerun_failures(tmp_path, keep_replays=False)
    assert stale > 0
