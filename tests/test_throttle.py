"""The shared throttle on a virtual clock: rates, bursts, order, pauses, runtime changes."""

from __future__ import annotations

import asyncio
import bisect
import itertools
import math
from typing import Any

import pytest

from webex_campaign_async import (
    AdaptiveThrottle,
    CampaignClient,
    ProfileUpsert,
    RateLimit,
    Throttle,
)
from webex_campaign_async._ratecontrol import CLOSED, MIN_WINDOW
from webex_campaign_async._successes import RecentSuccesses
from webex_campaign_async.emulator import EmulatorConfig, EmulatorCore, EmulatorTransport, Faults

from .fakes import FakeClock
from .vtime import run_virtual


def max_in_window(times: list[float], window: float) -> int:
    times = sorted(times)
    return max(
        (bisect.bisect_left(times, t + window - 1e-9) - i for i, t in enumerate(times)), default=0
    )


def gaps(times: list[float]) -> list[float]:
    times = sorted(times)
    return [b - a for a, b in itertools.pairwise(times)]


async def hammer(
    throttle: AdaptiveThrottle, n: int, workers: int = 16, answer: bool = False
) -> list[float]:
    """``workers`` tasks take ``n`` send slots between them; returns the send times.

    ``answer``: each send gets a success 5 ms later."""
    times: list[float] = []
    remaining = iter(range(n))

    async def worker() -> None:
        for _ in remaining:
            times.append(sent := await throttle.acquire())
            if answer:
                await asyncio.sleep(0.005)
                throttle.succeeded(sent)

    await asyncio.gather(*(worker() for _ in range(workers)))
    return times


def test_implements_the_protocol() -> None:
    assert isinstance(AdaptiveThrottle(RateLimit(10)), Throttle)


@pytest.mark.parametrize(("rate", "burst"), [(100, 10), (500, 25), (2000, 100), (5, 1)])
def test_rate_is_held_and_burst_bounded(rate: float, burst: int) -> None:
    async def main() -> list[float]:
        return await hammer(AdaptiveThrottle(RateLimit(rate, burst=burst)), int(rate * 10))

    times = run_virtual(main())
    assert max_in_window(times, 1.0) <= rate + burst
    assert max_in_window(times, 0.1) <= rate / 10 + burst
    # the first `burst` go at once, then one every 1/rate: nothing is lost to the bucket
    assert max(times) - min(times) == pytest.approx((len(times) - burst) / rate, rel=0.01)


def test_no_initial_burst_beyond_the_configured_burst() -> None:
    async def main() -> list[float]:
        return await hammer(AdaptiveThrottle(RateLimit(1000, burst=7)), 100, workers=64)

    times = run_virtual(main())
    start = min(times)
    assert sum(1 for t in times if t - start < 0.5e-3) == 7


def test_with_no_rate_a_configured_burst_holds_from_the_start() -> None:
    """``RateLimit(None, burst=5)``: the first wave is 5 sends, not max_concurrency; then a
    slow start (5 per 20 ms, doubling with the successes), never unlimited, never more than
    5 at once."""

    async def main() -> tuple[list[float], AdaptiveThrottle]:
        throttle = AdaptiveThrottle(RateLimit(None, burst=5))
        return await hammer(throttle, 2000, workers=32, answer=True), throttle

    times, throttle = run_virtual(main())
    start = min(times)
    assert sum(1 for t in times if t - start < 1e-3) == 5
    assert max_in_window(times, 1e-6) <= 5
    assert max(times) - start < 1.0  # it climbs: 2,000 at the first 250/s would take 8 s
    assert throttle.rate is not None
    assert throttle.rate > 1000
    assert throttle.learned_rate is None  # no 429: nothing learned


def test_no_rate_and_a_burst_against_a_bucket_spares_the_first_burst_of_429s() -> None:
    report, stats, _, _ = against_bucket(200, 20, limit_of=RateLimit(None, burst=5), wire=0.001)
    default, default_stats, _, _ = against_bucket(200, 20, wire=0.001)
    assert report.applied == default.applied == 4000
    assert default_stats.throttled >= 22  # the first burst of 32 met the bucket of 10
    assert stats.throttled < 22
    assert report.records_per_second >= 0.9 * 200


def test_waiters_are_served_in_order() -> None:
    async def main() -> list[int]:
        throttle = AdaptiveThrottle(RateLimit(100, burst=1))
        order: list[int] = []

        async def one(i: int) -> None:
            await throttle.acquire()
            order.append(i)

        tasks = []
        for i in range(20):
            tasks.append(asyncio.ensure_future(one(i)))
            await asyncio.sleep(0)  # each queues behind the one before
        await asyncio.gather(*tasks)
        return order

    assert run_virtual(main()) == list(range(20))


def test_a_cancelled_waiter_does_not_stall_the_queue() -> None:
    async def main() -> list[float]:
        throttle = AdaptiveThrottle(RateLimit(10, burst=1))
        await throttle.acquire()
        first = asyncio.ensure_future(throttle.acquire())  # first in line, sleeping
        await asyncio.sleep(0)
        second = asyncio.ensure_future(throttle.acquire())
        third = asyncio.ensure_future(throttle.acquire())
        await asyncio.sleep(0.01)
        first.cancel()
        second.cancel()
        return [await third, *await hammer(throttle, 5, workers=3)]

    times = run_virtual(main())
    assert times[0] == pytest.approx(0.1, abs=1e-3)
    assert min(gaps(times)) >= 0.1 - 1e-6


def test_a_decrease_empties_the_bucket_and_slows_everyone_down() -> None:
    async def main() -> tuple[list[float], AdaptiveThrottle, float]:
        loop = asyncio.get_running_loop()
        throttle = AdaptiveThrottle(RateLimit(100, burst=5, climb=60))
        first = await hammer(throttle, 300)  # 3 s at 100/s...
        for t in first[::2]:  # ...of which only half got through: the API's limit is 50/s
            throttle.succeeded(t)
        now = loop.time()
        for _ in range(10):  # ten answers of the same event
            throttle.throttled(now - 0.001, None)
        return await hammer(throttle, 100), throttle, now

    times, throttle, now = run_virtual(main())
    assert throttle.decreases == 1
    assert throttle.rate is not None
    assert throttle.rate < 100
    assert throttle.learned_rate == pytest.approx(50, rel=0.1)
    assert min(times) >= now + 1 / 100  # no burst after the decrease: the bucket is empty
    assert max_in_window(times, 1.0) <= 50 * 0.7 * 1.1 + 5


def test_unlimited_until_429_then_learns_from_the_successes() -> None:
    async def main() -> tuple[list[float], AdaptiveThrottle]:
        loop = asyncio.get_running_loop()
        throttle = AdaptiveThrottle(RateLimit(None, climb=60))
        for _ in range(80):  # 40/s for 2 s, paced by the caller, every answer a success
            throttle.succeeded(await throttle.acquire())
            await asyncio.sleep(0.025)
        assert throttle.rate is None
        throttle.throttled(loop.time(), None)
        return await hammer(throttle, 100), throttle

    times, throttle = run_virtual(main())
    assert throttle.learned_rate == pytest.approx(40, rel=0.15)
    assert throttle.rate == pytest.approx(0.7 * 40, rel=0.15)
    assert max_in_window(times, 1.0) <= 0.7 * 40 * 1.2


def test_the_first_429_of_a_burst_starts_slow_and_doubles() -> None:
    async def main() -> tuple[list[float], AdaptiveThrottle]:
        throttle = AdaptiveThrottle(RateLimit(None))
        sent = [await throttle.acquire() for _ in range(32)]  # the first burst: unlimited
        for t in sent:
            throttle.throttled(t, None)  # all one event
        return await hammer(throttle, 200, answer=True), throttle

    times, throttle = run_virtual(main())
    assert throttle.decreases == 1
    assert throttle.learned_rate is None  # nothing measured: slow start
    # from 0.7 x 32 sends / MIN_WINDOW, doubling: the first tenth of a second is slow
    first = 0.7 * 32 / MIN_WINDOW
    assert sum(1 for t in times if t < 0.1) <= first * 0.1 * 2 + 10
    assert max(times) < 1.0


def test_a_single_429_with_retry_after_leaves_the_others_sending() -> None:
    async def main() -> tuple[bool, list[float], AdaptiveThrottle, float]:
        loop = asyncio.get_running_loop()
        throttle = AdaptiveThrottle(RateLimit(200))
        for t in await hammer(throttle, 400):
            throttle.succeeded(t)
        now = loop.time()
        covered = throttle.throttled(now - 0.005, 1.0)
        return covered, await hammer(throttle, 20), throttle, now

    covered, times, throttle, now = run_virtual(main())
    assert not covered  # the request waits its Retry-After on its own
    assert throttle.pauses == 0
    assert max(times) < now + 0.5  # nobody else waited the second out


def test_retry_after_pauses_everyone_once_when_the_api_is_closed() -> None:
    async def main() -> tuple[float, list[bool], list[float], AdaptiveThrottle]:
        loop = asyncio.get_running_loop()
        throttle = AdaptiveThrottle(RateLimit(1000))
        sent = await hammer(throttle, 1000)
        for t in sent:
            throttle.succeeded(t)
        covered = []
        # a storm: every answer is a 429 with Retry-After: 2
        while not throttle.pauses:
            t = await throttle.acquire()
            covered.append(throttle.throttled(t, 2.0))
        paused_at = loop.time()
        times = await hammer(throttle, 50, workers=50)
        return paused_at, covered, times, throttle

    paused_at, covered, times, throttle = run_virtual(main())
    assert throttle.pauses == 1
    assert covered[-1]
    assert not any(covered[:-1])
    assert min(times) >= paused_at + 2.0  # everyone waited
    assert max(times) <= paused_at + 2.0 + 0.2 + 50 / 700  # resumed within the spread...
    assert min(gaps(times)) >= 1 / 1000 - 1e-6  # ...paced: tokens did not accrue meanwhile
    assert throttle.rate is not None
    assert throttle.rate < 1000  # the first 429 of the storm lowered it, once
    assert throttle.decreases == 1


def test_the_pause_waits_for_closed_seconds_of_429s() -> None:
    async def main() -> tuple[int, int]:
        throttle = AdaptiveThrottle(RateLimit(100, burst=1))
        for t in await hammer(throttle, 200):
            throttle.succeeded(t)
        storm = 0
        while not throttle.pauses:
            throttle.throttled(await throttle.acquire(), 1.0)
            storm += 1
        return storm, throttle.decreases

    storm, decreases = run_virtual(main())
    assert decreases <= 1
    assert CLOSED * 100 * 0.7 <= storm <= CLOSED * 100 + 3


def test_a_longer_retry_after_extends_the_pause() -> None:
    async def main() -> tuple[float, AdaptiveThrottle]:
        loop = asyncio.get_running_loop()
        throttle = AdaptiveThrottle(RateLimit(100, burst=1), random=lambda: 0.0)
        while not throttle.pauses:
            throttle.throttled(await throttle.acquire(), 1.0)
        t0 = loop.time()
        task = asyncio.ensure_future(hammer(throttle, 5, workers=5))
        await asyncio.sleep(0.5)
        assert throttle.throttled(t0 - 0.001, 3.0)  # arrives while everyone waits
        times = await task
        assert min(times) >= t0 + 3.0 - 1e-6
        return t0, throttle

    _, throttle = run_virtual(main())
    assert throttle.pauses == 1


def test_set_rate_at_runtime_applies_to_queued_senders() -> None:
    async def main() -> tuple[list[float], float]:
        loop = asyncio.get_running_loop()
        throttle = AdaptiveThrottle(RateLimit(100, burst=1))
        task = asyncio.ensure_future(hammer(throttle, 400, workers=32))
        await asyncio.sleep(1.0)
        changed_at = loop.time()
        throttle.set_rate(20)
        return await task, changed_at

    times, changed_at = run_virtual(main())
    after = [t for t in times if t > changed_at + 1e-3]
    assert max_in_window(after, 1.0) <= 20 + 1
    assert len(after) > 250


def test_fake_clock_and_sleep_are_used_for_pauses() -> None:
    clock = FakeClock(100.0)

    async def main() -> None:
        throttle = AdaptiveThrottle(
            RateLimit(1e6), clock=clock, sleep=clock.sleep, random=lambda: 0.5
        )
        await throttle.acquire()
        for t in (100.0, 100.1, 100.2, 100.3, 100.4):  # 429s, Retry-After 10 s, no success
            clock.now = t + 0.001
            throttle.throttled(t, 10.0)
        assert throttle.pauses == 1
        await throttle.acquire()
        await throttle.acquire()

    asyncio.run(main())
    assert clock.sleeps[0] == pytest.approx(10.5)  # the pause, plus half of its 1 s spread
    assert sum(clock.sleeps[1:]) < 1e-5  # then paced at the rate, no second pause


@pytest.mark.parametrize("rate", [0, -5, float("nan")])
def test_set_rate_refuses_nonsense(rate: float) -> None:
    with pytest.raises(ValueError, match="rate"):
        AdaptiveThrottle(RateLimit(10)).set_rate(rate)


def test_try_acquire_admits_at_once_when_a_token_is_there() -> None:
    async def main() -> None:
        clock = FakeClock(100.0)
        unlimited = AdaptiveThrottle(RateLimit(None), clock=clock)
        assert unlimited.try_acquire() == 100.0
        assert unlimited.ready()
        limited = AdaptiveThrottle(RateLimit(10, burst=2), clock=clock)
        assert limited.try_acquire() == 100.0
        assert limited.try_acquire() == 100.0
        assert not limited.ready()
        assert limited.try_acquire() is None  # the bucket is empty: wait through acquire
        clock.now = 100.1
        assert limited.ready()
        assert limited.try_acquire() == 100.1

    run_virtual(main())


def test_snapshot_reports_the_learned_limit() -> None:
    async def main() -> dict[str, object]:
        loop = asyncio.get_running_loop()
        throttle = AdaptiveThrottle(RateLimit(None))
        for _ in range(100):
            throttle.succeeded(await throttle.acquire())
            await asyncio.sleep(0.01)
        throttle.throttled(loop.time(), None)
        return throttle.snapshot()

    snapshot = run_virtual(main())
    assert snapshot["learned_rate"] == pytest.approx(100, rel=0.1)
    assert snapshot["ceiling"] is None
    assert snapshot["decreases"] == 1
    assert snapshot["throttled"] == 1


# --- end to end: the client against the emulator's token bucket, in virtual time -----------


class Wire:
    """A transport whose requests take ``delay`` seconds to reach the one it wraps."""

    def __init__(self, inner: EmulatorTransport, delay: float) -> None:
        self.inner, self.delay = inner, delay

    async def send(self, url: str, headers: Any, body: bytes, timeout: float | None) -> Any:
        if self.delay:
            await asyncio.sleep(self.delay)
        return await self.inner.send(url, headers, body, timeout)

    async def aclose(self) -> None:
        await self.inner.aclose()


def against_bucket(
    limit: float,
    seconds: float,
    *,
    rate: float | None = None,
    retry_after: float | None = None,
    change: tuple[float, float] | None = None,
    latency: float = 0.002,
    jitter: float = 0.010,
    limit_of: RateLimit | None = None,
    wire: float = 0.0,
) -> tuple[Any, Any, AdaptiveThrottle, list[tuple[float, float | None, float | None, int]]]:
    """``limit x seconds`` records through a client with 32 in flight against an in-process
    emulator (bucket 10, ``latency`` + 0-``jitter`` s, 2-12 ms by default); ``change``:
    (seconds, new limit) mid-run; ``limit_of``: the client's `RateLimit` (default: ``rate``);
    ``wire``: seconds a request takes to reach the API (so a burst is sent before any answer
    comes back, as over a network)."""
    core = EmulatorCore(
        EmulatorConfig(
            rate=limit,
            burst=10,
            retry_after=retry_after,
            track_keys=False,
            faults=Faults(seed=4, latency=latency, jitter=jitter),
        )
    )
    throttle = AdaptiveThrottle(limit_of or RateLimit(rate))
    rates: list[tuple[float, float | None, float | None, int]] = []

    async def main() -> Any:
        loop = asyncio.get_running_loop()
        start = loop.time()

        async def watch() -> None:
            while True:
                await asyncio.sleep(0.25)
                t = loop.time() - start
                if change is not None and change[0] <= t < change[0] + 0.25:
                    core.set_rate(change[1], loop.time())
                rates.append((t, throttle.rate, throttle.learned_rate, core.stats.applied))

        watcher = asyncio.ensure_future(watch())
        async with CampaignClient(
            "http://127.0.0.1",
            api_key=core.api_key,
            transport=Wire(EmulatorTransport(core), wire),
            throttle=throttle,
            max_concurrency=32,
        ) as client:
            records = (
                ProfileUpsert("l", key=f"k{i}", attributes={"i": i})
                for i in range(int(limit * seconds))
            )
            report = await client.bulk_upsert(records)
        watcher.cancel()
        return report

    return run_virtual(main()), core.stats, throttle, rates


@pytest.mark.parametrize("retry_after", [None, 1.0])
def test_with_no_rate_the_client_finds_the_limit_with_few_429s(retry_after: float | None) -> None:
    report, stats, throttle, _ = against_bucket(200, 20, retry_after=retry_after)
    assert report.applied == 4000
    assert report.records_per_second >= 0.9 * 200
    assert stats.throttled <= 0.02 * stats.requests
    assert throttle.learned_rate == pytest.approx(200, rel=0.1)
    assert throttle.pauses == 0  # a Retry-After from a token bucket is not a closed API


def test_a_retry_after_wave_does_not_teach_a_lower_limit() -> None:
    """The first burst of 32 meets the API's bucket of 10: 22 429s with Retry-After: 1. The 10
    senders left cannot send 200/s (80 ms a request), so what gets through meanwhile is what
    they send, not the limit; the 22 come back together, get 429s, and once taught a limit of
    0.8 R that the climb then stayed near for seconds."""
    report, stats, _, rates = against_bucket(
        200, 20, retry_after=1.0, latency=0.07, jitter=0.01, wire=0.001
    )
    assert report.applied == 4000
    assert stats.throttled >= 22  # the first burst's
    learned = [(t, limit) for t, _, limit, _ in rates if limit is not None]
    assert learned
    assert min(limit for _, limit in learned) >= 0.9 * 200, learned
    assert report.records_per_second >= 0.9 * 200


def test_a_configured_rate_below_the_limit_provokes_no_429() -> None:
    report, stats, throttle, _ = against_bucket(200, 10, rate=190)
    assert report.applied == 2000
    assert stats.throttled == 0
    assert report.records_per_second == pytest.approx(190, rel=0.02)
    assert throttle.rate == 190


def test_a_halved_limit_is_followed_within_seconds() -> None:
    report, stats, _, rates = against_bucket(200, 15, change=(5.0, 100.0))
    assert report.applied == 3000
    settled = next(t for t, rate, *_ in rates if t >= 5.0 and rate is not None and rate <= 100)
    assert settled - 5.0 <= 3.0
    assert stats.throttled <= 0.02 * stats.requests


def test_a_doubled_limit_is_found_within_10_seconds() -> None:
    """200/s doubling to 400/s at 8 s: the client applies 0.9 x 400 over a second within
    10 s of the change (the climb is flat near the old limit, then ever faster)."""
    report, stats, _, rates = against_bucket(200, 30, change=(8.0, 400.0))
    assert report.applied == 6000
    applied = [(t, done) for t, *_, done in rates]
    reached = None
    for t, done in applied:  # records applied over the last second, at each sample
        t0, done0 = next((u, d) for u, d in applied if u >= t - 1.0 - 1e-9)
        if t >= 8.0 and t > t0 and (done - done0) / (t - t0) >= 0.9 * 400:
            reached = t
            break
    assert reached is not None, applied
    assert reached - 8.0 <= 10.0
    assert stats.throttled <= 0.02 * stats.requests


def test_a_clock_that_ticks_in_milliseconds_neither_spins_nor_overshoots() -> None:
    """uvloop's clock ticks in milliseconds: five tokens of a 5,000/s bucket in one tick add
    up to 0.99999999... of a token. Waiters once went without one (20 x the rate), and a
    sleep shorter than a tick returned at once (a spin)."""

    async def main() -> tuple[list[float], int]:
        loop = asyncio.get_running_loop()
        sleeps = 0

        def clock() -> float:
            return math.floor(loop.time() * 1000) / 1000

        async def sleep(seconds: float) -> None:
            nonlocal sleeps
            sleeps += 1
            await asyncio.sleep(seconds)

        throttle = AdaptiveThrottle(RateLimit(5000), clock=clock, sleep=sleep)
        times: list[float] = []

        async def worker() -> None:
            while len(times) < 5000:
                times.append(await throttle.acquire())

        await asyncio.gather(*(worker() for _ in range(32)))
        return times, sleeps

    times, sleeps = run_virtual(main())
    span = times[-1] - times[0]
    assert span >= (5000 - 10) / 5000 - 0.002  # the rate holds (a burst of 10 at most)
    assert sleeps < 3000  # about one sleep per millisecond, not a spin


def test_no_send_goes_without_a_token_when_the_clock_moves_in_whole_milliseconds() -> None:
    """The float error of a millisecond clock (one seen under uvloop): a waiter once went
    with 0.9999999964 of a token, and every waiter after it too."""
    clock = FakeClock(6820.984)

    async def sleep(seconds: float) -> None:
        await asyncio.sleep(0)
        clock.now = round(clock.now + max(seconds, 0.001), 3)  # a millisecond clock

    async def main() -> list[float]:
        throttle = AdaptiveThrottle(RateLimit(5000, burst=10), clock=clock, sleep=sleep)
        times: list[float] = []

        async def worker() -> None:
            while len(times) < 2000:
                times.append(await throttle.acquire())

        await asyncio.gather(*(worker() for _ in range(32)))
        return times

    times = sorted(asyncio.run(main()))
    for window in (0.001, 0.01, 0.1):
        most = max(bisect.bisect_right(times, t + window - 1e-9) - i for i, t in enumerate(times))
        assert most <= 10 + window * 5000 + 1e-6, window


def test_the_first_decrease_from_unlimited_empties_the_bucket() -> None:
    """Unlimited, then a 429: the new rate starts from an empty bucket (the API's is empty:
    it just said 429), not from a burst of credit."""

    async def main() -> list[float]:
        loop = asyncio.get_running_loop()
        throttle = AdaptiveThrottle(RateLimit(burst=8))
        sent = [await throttle.acquire() for _ in range(40)]
        for at in sent:
            throttle.succeeded(at)
        await asyncio.sleep(0.3)
        throttle.throttled(loop.time(), None)
        assert throttle.rate is not None
        return [await throttle.acquire() for _ in range(3)]

    after = run_virtual(main())
    assert after[1] > after[0]  # paced from the first send on: no burst right after the 429


def test_recent_successes_are_counted_by_send_time_over_the_last_second() -> None:
    recent = RecentSuccesses()
    assert recent.rate(100.0, None) is None  # nothing sent yet
    for i in range(100):  # 100/s for one second
        recent.add(100.0 + i / 100)
    assert recent.rate(100.1, 100.0) is None  # too early to tell
    assert recent.rate(101.0, 100.0) == pytest.approx(100.0, rel=0.05)
    assert recent.rate(101.0, 100.0, seconds=0.3) == pytest.approx(100.0, rel=0.05)
    assert recent.rate(103.0, 100.0) == 0.0  # nothing for over a second
