"""The benchmarks' hook: every tenant's throttle changed mid-run (core, admin route, process)."""

from __future__ import annotations

import aiohttp
import pytest

from webex_campaign_async.emulator import Emulator, EmulatorProcess

from .conftest import FakeClock, post, upsert_body


async def test_set_rate_halves_and_doubles_the_throttle(session: aiohttp.ClientSession) -> None:
    clock = FakeClock()
    async with Emulator(rate=10, burst=1, clock=clock) as emulator:
        assert (await post(session, emulator, upsert_body("K-1"))).status == 200
        clock.advance(0.1)  # one token at 10/s
        async with session.post(emulator.base_url + "/_emulator/rate", json={"rate": 5}) as r:
            assert (r.status, await r.json()) == (200, {"rate": 5})
        assert (await post(session, emulator, upsert_body("K-2"))).status == 200
        clock.advance(0.1)  # half a token at 5/s
        assert (await post(session, emulator, upsert_body("K-3"))).status == 429
        clock.advance(0.1)
        assert (await post(session, emulator, upsert_body("K-3"))).status == 200
        emulator.core.set_rate(None, clock())
        assert all([(await post(session, emulator, upsert_body("K-4"))).status == 200] * 5)


@pytest.mark.parametrize("body", [{"rate": 0}, {"rate": "fast"}, {"rate": True}, {}, [1]])
async def test_set_rate_refuses_nonsense(session: aiohttp.ClientSession, body: object) -> None:
    async with Emulator(rate=10) as emulator:
        async with session.post(emulator.base_url + "/_emulator/rate", json=body) as response:
            assert response.status == 400
        assert emulator.config.rate == 10


def test_set_rate_of_a_process() -> None:
    with EmulatorProcess(rate=10) as server:
        server.set_rate(20)
        server.set_rate(None)
