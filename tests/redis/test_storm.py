"""A 429 storm through RedisThrottle: the shared throttle pauses as soon as a local one.

Several throttles on one name stand for several processes. Times are Redis's (the send
times the throttles hand out) and the state is read from Redis: nothing here depends on
how fast the machine runs the test.
"""

from __future__ import annotations

import asyncio

import redis.asyncio as aioredis

from webex_campaign_async import AdaptiveThrottle, RateLimit
from webex_campaign_async.redis import RedisThrottle
from webex_campaign_async.redis._throttle import EARLY

from ..fakes import FakeClock
from .server import RedisServer

#: 20/s, one slot at a time; no decrease but the first one (no measurement is possible
#: here: without a long cooldown, an API that accepts nothing is lowered every 0.5 s).
LIMIT = RateLimit(20, burst=1, cooldown=60)


async def settle(*throttles: RedisThrottle) -> None:
    for throttle in throttles:
        await asyncio.gather(*throttle._tasks)


async def test_a_pause_voids_the_slots_other_processes_booked_ahead(
    redis_server: RedisServer, redis_client: aioredis.Redis
) -> None:
    """b keeps two sends booked ahead (up to half a second) while a meets 429s with
    Retry-After until the law pauses: none of b's sends may fall inside the pause, as none
    of a local throttle's waiters would."""
    a = RedisThrottle(redis_server.url, name="storm-booked", rate=LIMIT)
    b = RedisThrottle(redis_server.url, name="storm-booked", rate=LIMIT)
    b_sent: list[float] = []
    paused = asyncio.Event()

    async def b_sends() -> None:
        while not paused.is_set():
            b_sent.append(await b.acquire())

    async with a, b:
        senders = [asyncio.ensure_future(b_sends()) for _ in range(2)]
        for _ in range(60):
            at = await a.acquire()
            a.throttled(at, 1.0)
            await settle(a)
            if a._control.paused_until > at:
                break
        paused.set()
        until = a._control.paused_until
        assert until > at, "the law never paused"
        await asyncio.gather(*senders)
        cut = float(await redis_client.hget("webex-campaign:{storm-booked}", "cut") or until - 1)
    assert until - 1.0 <= cut < until  # the pause was written at its start (its cut)
    assert [t for t in b_sent if t >= cut][:1], "b booked nothing after the pause began"
    # a slot is checked again at most EARLY before its time: one later than that is void
    inside = [t for t in b_sent if cut + EARLY <= t < until]
    assert not inside, f"{len(inside)} of b's sends went out during the pause"


async def test_the_pause_comes_after_as_many_429s_as_with_a_local_throttle(
    redis_server: RedisServer,
) -> None:
    """Three processes: after the storm's first 429 (a's), b's first request succeeds and its
    second gets a 429; then only c's get 429s. Every process must count b's success the
    same: replayed on an AdaptiveThrottle (same send times, same order), the pause comes
    at the same 429."""
    a, b, c = (RedisThrottle(redis_server.url, name="storm-count", rate=LIMIT) for _ in "abc")
    events: list[tuple[str, float]] = []  # ("ok" | "429", send time), in report order
    shared_at = None
    async with a, b, c:
        t0 = await a.acquire()
        a.throttled(t0, 1.0)  # the storm's first 429: the one decrease
        events.append(("429", t0))
        await settle(a)
        b0, b1 = await b.acquire(), await b.acquire()
        await settle(b)  # b has read the state the decrease wrote
        b.succeeded(b0)
        events.append(("ok", b0))
        b.throttled(b1, 1.0)
        events.append(("429", b1))
        await settle(b)
        await asyncio.sleep(0.3)  # c's sends come more than CLOSED after b1
        for _ in range(40):
            at = await c.acquire()
            c.throttled(at, 1.0)
            events.append(("429", at))
            await settle(c)
            if c._control.paused_until > at:
                shared_at = len(events)
                break
    assert shared_at is not None, "the shared throttle never paused"

    clock = FakeClock(0.0)
    local = AdaptiveThrottle(LIMIT, clock=clock, sleep=clock.sleep, random=lambda: 0.0)
    local_at = None
    for n, (what, at) in enumerate(events, 1):
        clock.now = at - t0 + 0.001  # the answer comes a little after the send
        if what == "ok":
            local.succeeded(at - t0)
        else:
            local.throttled(at - t0, 1.0)
            if local.pauses:
                local_at = n
                break
    assert local_at == 4  # b's 429 marks the API closed, c's first one pauses
    assert shared_at == local_at
