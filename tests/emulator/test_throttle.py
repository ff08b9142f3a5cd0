"""Throttle: the per-tenant token bucket, Retry-After (off, fixed, auto), 429 storms."""

from __future__ import annotations

import aiohttp
import pytest

from webex_campaign_async.emulator import Emulator, Faults, Storm
from webex_campaign_async.emulator._bucket import TokenBucket

from .conftest import FakeClock, post, upsert_body


def test_bucket_starts_full_and_refills_at_the_rate() -> None:
    bucket = TokenBucket.full(rate=10, burst=3, now=0.0)
    assert [bucket.take(0.0) for _ in range(4)] == [True, True, True, False]
    assert bucket.wait(0.0) == pytest.approx(0.1)
    assert bucket.retry_after(0.0) == 1
    assert not bucket.take(0.05)
    assert bucket.take(0.1)
    # never more than burst, however long it rested
    assert sum(bucket.take(100.0) for _ in range(10)) == 3


@pytest.mark.parametrize(("rate", "expected"), [(0.5, 2), (0.25, 4), (3, 1), (1000, 1)])
def test_bucket_retry_after_rounds_up_to_whole_seconds(rate: float, expected: int) -> None:
    bucket = TokenBucket.full(rate=rate, burst=1, now=0.0)
    assert bucket.take(0.0)
    assert bucket.retry_after(0.0) == expected


async def _send_at(
    session: aiohttp.ClientSession, emulator: Emulator, clock: FakeClock, per_second: float, n: int
) -> list[int]:
    statuses = []
    for i in range(n):
        statuses.append((await post(session, emulator, upsert_body(f"K-{i}"))).status)
        clock.advance(1 / per_second)
    return statuses


@pytest.mark.parametrize(
    ("per_second", "throttled"),
    [(5, 0), (9.5, 0), (20, 30), (40, 45)],
)
async def test_429_above_the_rate_and_not_below(
    session: aiohttp.ClientSession, per_second: float, throttled: int
) -> None:
    clock = FakeClock()
    async with Emulator(rate=10, burst=1, clock=clock) as emulator:
        statuses = await _send_at(session, emulator, clock, per_second, 60)
        assert statuses.count(429) == pytest.approx(throttled, abs=1)
        assert statuses.count(200) + statuses.count(429) == 60
        assert emulator.stats.throttled == statuses.count(429)
        assert emulator.stats.count(429, "429") == statuses.count(429)
        # a throttled request is not applied
        assert emulator.store.count() == statuses.count(200)


async def test_burst_defaults_to_one_second_of_rate(session: aiohttp.ClientSession) -> None:
    clock = FakeClock()
    async with Emulator(rate=5, clock=clock) as emulator:
        statuses = [(await post(session, emulator, upsert_body())).status for _ in range(7)]
        assert statuses == [200] * 5 + [429] * 2


async def test_throttle_is_per_tenant(session: aiohttp.ClientSession) -> None:
    clock = FakeClock()
    async with Emulator(
        rate=1, burst=1, api_keys=["a1", "a2", "b1"], tenants={"b1": "tenant-b"}, clock=clock
    ) as emulator:
        assert (await post(session, emulator, upsert_body(), key="a1")).status == 200
        assert (await post(session, emulator, upsert_body(), key="a2")).status == 429  # same tenant
        assert (await post(session, emulator, upsert_body(), key="b1")).status == 200
        token = emulator.issue_token(tenant="tenant-b")
        assert (await post(session, emulator, upsert_body(), key=token)).status == 429


@pytest.mark.parametrize(
    ("retry_after", "rate", "header"),
    [
        (None, 0.5, None),  # the vendor documents no Retry-After
        (3, 0.5, "3"),
        (1.5, 0.5, "1.5"),
        ("auto", 0.5, "2"),  # one token every 2 s
        ("auto", 4, "1"),  # 0.25 s, rounded up to at least 1
    ],
)
async def test_retry_after_header(
    session: aiohttp.ClientSession, retry_after: float | str | None, rate: float, header: str | None
) -> None:
    clock = FakeClock()
    async with Emulator(rate=rate, burst=1, retry_after=retry_after, clock=clock) as emulator:
        assert (await post(session, emulator, upsert_body())).status == 200
        answer = await post(session, emulator, upsert_body())
        assert answer.status == 429
        assert answer.headers.get("Retry-After") == header


async def test_retry_after_auto_counts_down(session: aiohttp.ClientSession) -> None:
    clock = FakeClock()
    async with Emulator(rate=0.2, burst=1, retry_after="auto", clock=clock) as emulator:
        await post(session, emulator, upsert_body())
        assert (await post(session, emulator, upsert_body())).headers["Retry-After"] == "5"
        clock.advance(2.5)
        assert (await post(session, emulator, upsert_body())).headers["Retry-After"] == "3"
        clock.advance(2.5)
        assert (await post(session, emulator, upsert_body())).status == 200


@pytest.mark.parametrize(
    ("storm", "header_at_1s"),
    [
        (Storm(1.0, 2.0), None),
        (Storm(1.0, 2.0, retry_after=7), "7"),
        (Storm(1.0, 2.0, retry_after="auto"), "2"),
    ],
)
async def test_storm_answers_429_inside_its_window_only(
    session: aiohttp.ClientSession, storm: Storm, header_at_1s: str | None
) -> None:
    clock = FakeClock()
    async with Emulator(faults=Faults(storms=(storm,)), clock=clock) as emulator:
        seen = []
        for step in range(8):  # t = 0, 0.5, ... 3.5 s after the start
            answer = await post(session, emulator, upsert_body(f"K-{step}"))
            seen.append(answer.status)
            if step == 2:
                assert answer.headers.get("Retry-After") == header_at_1s
                assert answer.json["code"] == "429"
            clock.advance(0.5)
        assert seen == [200, 200, 429, 429, 429, 429, 200, 200]
        assert emulator.stats.faults["storm"] == 4
        assert emulator.stats.keys_with_fault("storm") == {
            ("contacts", f"K-{i}") for i in (2, 3, 4, 5)
        }
        assert emulator.store.count() == 4


async def test_storm_comes_after_auth(session: aiohttp.ClientSession) -> None:
    clock = FakeClock()
    async with Emulator(faults=Faults(storms=[Storm(0, 10)]), clock=clock) as emulator:
        assert (await post(session, emulator, upsert_body(), key="bad")).status == 401
        assert (await post(session, emulator, upsert_body())).status == 429
