"""Statistics (by status and code, peaks in sliding windows, per key) and the admin routes."""

from __future__ import annotations

from typing import Any

import aiohttp
import pytest

from webex_campaign_async.emulator import Emulator, Faults, Stats

from .conftest import FakeClock, post, upsert_body


async def _admin(
    session: aiohttp.ClientSession, emulator: Emulator, method: str, path: str
) -> tuple[int, Any]:
    async with session.request(method, emulator.base_url + path) as response:
        return response.status, await response.json()


async def test_counts_by_status_and_code(session: aiohttp.ClientSession) -> None:
    async with Emulator(rate=1, burst=2, forbidden_keys=["ro"], clock=FakeClock()) as emulator:
        await post(session, emulator, upsert_body("K-1"))  # 200
        await post(session, emulator, upsert_body(key=None))  # 200/1001
        await post(session, emulator, upsert_body("K-1"))  # 429
        await post(session, emulator, upsert_body("K-1"), key="ro")  # 401/430
        await post(session, emulator, upsert_body("K-1"), key="nope")  # 401/498
        await post(session, emulator, method="GET")  # 405/405
        await post(session, emulator, upsert_body(), path="/elsewhere")  # 404
        stats = emulator.stats
        assert stats.requests == 7
        assert stats.by_status == {
            (200, None): 1,
            (200, "1001"): 1,
            (429, "429"): 1,
            (401, "430"): 1,
            (401, "498"): 1,
            (405, "405"): 1,
            (404, None): 1,
        }
        assert (stats.throttled, stats.applied, stats.profiles_written) == (1, 1, 1)
        # requests per key: authenticated upsert requests only, 429s included
        assert stats.requests_per_key == {("contacts", "K-1"): 2}

        status, body = await _admin(session, emulator, "GET", "/_emulator/stats")
        assert status == 200
        assert body["requests"] == 7
        assert body["by_status"] == {
            "200": 1,
            "200/1001": 1,
            "401/430": 1,
            "401/498": 1,
            "404": 1,
            "405/405": 1,
            "429/429": 1,
        }
        assert (body["keys_seen"], body["keys_sent_more_than_once"]) == (1, 1)
        assert body["max_requests_per_key"] == 2
        assert "requests_per_key" not in body
        _, body = await _admin(session, emulator, "GET", "/_emulator/stats?keys=1")
        assert body["requests_per_key"] == [
            {"profile-name": "contacts", "key": "K-1", "requests": 2}
        ]
        assert emulator.stats.requests == 7, "admin routes are not counted"


@pytest.mark.parametrize(
    ("times", "per_second", "per_100ms"),
    [
        ([0.0], 1, 1),
        ([0.0, 0.05, 0.099, 0.1], 4, 3),  # the window is (t - 0.1, t]
        ([0.0, 0.5, 0.999, 1.0, 1.05, 1.2], 5, 3),
        ([0.0, 0.3, 0.6, 0.9, 1.2, 1.5, 1.8, 2.1], 4, 1),
        ([0.0, 2.0, 2.01, 2.02, 2.03, 5.0], 4, 4),
    ],
)
def test_peak_windows(times: list[float], per_second: int, per_100ms: int) -> None:
    stats = Stats()
    for t in times:
        stats.arrived(100.0 + t)
    assert (stats.max_per_second, stats.max_per_100ms) == (per_second, per_100ms)


async def test_peak_windows_count_every_request_429s_included(
    session: aiohttp.ClientSession,
) -> None:
    clock = FakeClock()
    async with Emulator(rate=1, burst=1, clock=clock) as emulator:
        for _ in range(3):
            await post(session, emulator, upsert_body())
            clock.advance(0.01)
        clock.advance(0.5)
        for _ in range(4):
            await post(session, emulator, upsert_body())
            clock.advance(0.2)
        # arrivals at t = 0, .01, .02, .53, .73, .93, 1.13: one 200, five 429s, one 200
        assert emulator.stats.throttled == 5
        assert emulator.stats.count(200) == 2
        assert emulator.stats.max_per_100ms == 3
        assert emulator.stats.max_per_second == 6


async def test_profiles_route_and_reset(
    session: aiohttp.ClientSession, campaign_emulator: Emulator
) -> None:
    emulator = campaign_emulator
    await post(session, emulator, upsert_body("K-1"))
    await post(session, emulator, upsert_body("K-2", "customers"))
    status, body = await _admin(session, emulator, "GET", "/_emulator/profiles/contacts")
    assert status == 200
    assert body == {
        "profile-name": "contacts",
        "count": 1,
        "profiles": {"K-1": {"firstname": "Matt"}},
    }
    _, body = await _admin(session, emulator, "GET", "/_emulator/profiles/unknown")
    assert body["count"] == 0

    status, body = await _admin(session, emulator, "POST", "/_emulator/reset")
    assert (status, body) == (200, {"reset": True})
    assert emulator.store.count() == 0
    assert emulator.stats.requests == 0
    assert emulator.stats.by_status == {}
    # the key still works after a reset
    assert (await post(session, emulator, upsert_body("K-3"))).update_count == 1
    assert emulator.store.names() == ["contacts"]


async def test_reset_from_python_keeps_tokens(
    session: aiohttp.ClientSession, campaign_emulator: Emulator
) -> None:
    token = campaign_emulator.issue_token()
    await post(session, campaign_emulator, upsert_body())
    campaign_emulator.reset()
    assert campaign_emulator.store.count() == 0
    assert (await post(session, campaign_emulator, upsert_body(), key=token)).status == 200


async def test_faults_route_and_log(session: aiohttp.ClientSession) -> None:
    async with Emulator(faults=Faults(seed=1, p500=0.5)) as emulator:
        for i in range(20):
            await post(session, emulator, upsert_body(f"K-{i}"))
        status, body = await _admin(session, emulator, "GET", "/_emulator/faults")
        assert status == 200
        log = body["fault_log"]
        assert len(log) == emulator.stats.faults["500"] > 0
        assert {entry["kind"] for entry in log} == {"500"}
        failed = {entry["key"] for entry in log}
        assert failed == {key for _, key in emulator.stats.keys_with_fault("500")}
        assert all(emulator.store.get("contacts", key) is None for key in failed)
        _, stats = await _admin(session, emulator, "GET", "/_emulator/stats?log=1")
        assert stats["fault_log"] == log
        assert stats["faults"] == {"500": len(log)}


@pytest.mark.campaign_emulator(fault_log_size=3, faults=Faults(p500=1.0))
async def test_fault_log_is_bounded(
    session: aiohttp.ClientSession, campaign_emulator: Emulator
) -> None:
    for i in range(5):
        await post(session, campaign_emulator, upsert_body(f"K-{i}"))
    assert [e.seq for e in campaign_emulator.stats.fault_log] == [3, 4, 5]
    assert campaign_emulator.stats.faults["500"] == 5


@pytest.mark.campaign_emulator(track_keys=False)
async def test_key_tracking_can_be_turned_off(
    session: aiohttp.ClientSession, campaign_emulator: Emulator
) -> None:
    await post(session, campaign_emulator, upsert_body())
    assert campaign_emulator.stats.requests_per_key == {}
    assert campaign_emulator.stats.requests == 1
