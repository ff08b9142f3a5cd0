"""The shared throttle on a virtual clock: exact rates, no bursts, pauses, runtime changes."""

from __future__ import annotations

import asyncio
import bisect

import pytest

from webex_campaign_async import AdaptiveThrottle, RateLimit, Throttle

from .vtime import run_virtual


def max_in_window(times: list[float], window: float) -> int:
    times = sorted(times)
    return max(
        (bisect.bisect_left(times, t + window - 1e-9) - i for i, t in enumerate(times)), default=0
    )


async def hammer(throttle: AdaptiveThrottle, n: int, workers: int = 16) -> list[float]:
    """``workers`` tasks take ``n`` send slots between them; returns the send times."""
    times: list[float] = []
    remaining = iter(range(n))

    async def worker() -> None:
        for _ in remaining:
            times.append(await throttle.acquire())

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
    # the first `burst` go at once, then one every 1/rate: nothing is lost to the limiter
    assert max(times) - min(times) == pytest.approx((len(times) - burst) / rate, rel=0.01)


def test_no_initial_burst_beyond_the_configured_burst() -> None:
    async def main() -> list[float]:
        return await hammer(AdaptiveThrottle(RateLimit(1000, burst=7)), 100, workers=64)

    times = run_virtual(main())
    start = min(times)
    assert sum(1 for t in times if t - start < 0.5e-3) == 7


def test_429_halves_the_rate_once_per_storm() -> None:
    async def main() -> tuple[list[float], AdaptiveThrottle]:
        throttle = AdaptiveThrottle(RateLimit(100, burst=1, quiet=60, decrease=0.5))
        first = await hammer(throttle, 100)
        sent_at = max(first)
        for _ in range(20):  # twenty answers of the same storm
            throttle.throttled(sent_at, None)
        return await hammer(throttle, 100), throttle

    times, throttle = run_virtual(main())
    assert throttle.rate == 50
    assert throttle.throttled_count == 20
    assert throttle.rate_changes == 1
    assert max_in_window(times, 1.0) <= 50 + 1
    # no burst after the change: the new bucket starts full
    assert (
        min(b - a for a, b in zip(sorted(times), sorted(times)[1:], strict=False)) >= 1 / 50 - 1e-3
    )


def test_recovers_toward_the_configured_rate_after_quiet_period() -> None:
    async def main() -> AdaptiveThrottle:
        throttle = AdaptiveThrottle(RateLimit(100, burst=1, quiet=5, recovery=0.1, decrease=0.5))
        await throttle.acquire()
        throttle.throttled(await throttle.acquire(), None)
        assert throttle.rate == 50
        await hammer(throttle, 800)  # ~12 s of sending at the recovering rate
        return throttle

    throttle = run_virtual(main())
    assert throttle.rate == 100
    assert throttle.rate_changes == 6


def test_retry_after_pauses_every_sender_once_with_jittered_resume() -> None:
    async def main() -> tuple[float, list[float], AdaptiveThrottle]:
        loop = asyncio.get_running_loop()
        throttle = AdaptiveThrottle(RateLimit(10_000, burst=100))
        t0 = loop.time()
        for _ in range(10):  # ten in-flight requests answered 429, Retry-After: 2
            throttle.throttled(t0, 2.0)
        times = await hammer(throttle, 50, workers=50)
        return t0, times, throttle

    t0, times, throttle = run_virtual(main())
    assert throttle.pauses == 1
    assert min(times) >= t0 + 2.0
    assert max(times) <= t0 + 2.0 + 0.2 + 1e-3  # spread over 10% of the pause
    assert len({round(t, 6) for t in times}) > 10  # jittered, not all at once


def test_a_longer_retry_after_extends_the_pause() -> None:
    async def main() -> tuple[float, list[float], AdaptiveThrottle]:
        loop = asyncio.get_running_loop()
        throttle = AdaptiveThrottle(RateLimit(None), random=lambda: 0.0)
        t0 = loop.time()
        throttle.throttled(t0, 1.0)
        task = asyncio.ensure_future(hammer(throttle, 5, workers=5))
        await asyncio.sleep(0.5)
        throttle.throttled(t0, 3.0)  # arrives while everyone waits: they wait longer
        return t0, await task, throttle

    t0, times, throttle = run_virtual(main())
    assert min(times) >= t0 + 3.0
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


def test_unlimited_until_429_then_learns_the_rate() -> None:
    async def main() -> tuple[list[float], AdaptiveThrottle]:
        loop = asyncio.get_running_loop()
        throttle = AdaptiveThrottle(RateLimit(None, quiet=60, decrease=0.5))
        for _ in range(40):  # 40/s for 2 s, paced by the caller
            await throttle.acquire()
            await asyncio.sleep(0.05)
        assert throttle.rate is None
        throttle.throttled(loop.time(), None)
        return await hammer(throttle, 100), throttle

    times, throttle = run_virtual(main())
    assert throttle.ceiling == pytest.approx(20, rel=0.1)
    assert throttle.rate == pytest.approx(10, rel=0.1)
    assert max_in_window(times, 1.0) <= 11 + 1


def test_fake_clock_and_sleep_are_used_for_pauses() -> None:
    now = [100.0]
    slept: list[float] = []

    async def sleep(seconds: float) -> None:
        slept.append(seconds)
        now[0] += seconds

    async def main() -> None:
        throttle = AdaptiveThrottle(
            RateLimit(1e6), clock=lambda: now[0], sleep=sleep, random=lambda: 0.5
        )
        throttle.throttled(now[0], 10.0)
        await throttle.acquire()
        await throttle.acquire()

    asyncio.run(main())
    assert slept == [10.5]  # one pause (plus half the 1 s spread), the second send did not wait


@pytest.mark.parametrize("rate", [0, -5, float("nan")])
def test_set_rate_refuses_nonsense(rate: float) -> None:
    with pytest.raises(ValueError, match="rate"):
        AdaptiveThrottle(RateLimit(10)).set_rate(rate)


def test_try_acquire_admits_at_once_only_when_unlimited_and_not_paused() -> None:
    async def main() -> None:
        now = [100.0]
        unlimited = AdaptiveThrottle(RateLimit(None), clock=lambda: now[0])
        assert unlimited.try_acquire() == 100.0
        unlimited.throttled(100.0, 2.0)  # a Retry-After pauses every sender
        assert unlimited.try_acquire() is None
        now[0] = 102.5
        assert unlimited.try_acquire() == 102.5
        limited = AdaptiveThrottle(RateLimit(10))
        assert limited.try_acquire() is None  # a bucket is always waited on in order
        await limited.acquire()

    run_virtual(main())


def test_try_acquire_counts_toward_the_observed_rate() -> None:
    """A rate learned from a 429 starts from what was sent, fast path included."""

    async def main() -> float | None:
        loop = asyncio.get_running_loop()
        throttle = AdaptiveThrottle(RateLimit(None))
        t0 = loop.time()
        for i in range(200):  # 200 sends over two seconds: 100/s
            await asyncio.sleep(max(0.0, t0 + i / 100 - loop.time()))
            assert throttle.try_acquire() is not None
        throttle.throttled(loop.time(), None)
        return throttle.rate

    rate = run_virtual(main())
    assert rate is not None
    assert 50 <= rate <= 100
