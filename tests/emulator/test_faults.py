"""Seeded faults: frequencies, what each one does (in process and over HTTP), determinism."""

from __future__ import annotations

import asyncio
import json
from collections import Counter
from typing import Any

import aiohttp
import pytest

from webex_campaign_async.emulator import (
    DEFAULT_UPSERT_PATH,
    Emulator,
    EmulatorConfig,
    EmulatorCore,
    EmulatorTransport,
    Fault,
    Faults,
)
from webex_campaign_async.exceptions import RequestTimeoutError, TransportError

from ..vtime import run_virtual
from .conftest import post, upsert_body

URL_ = "http://emulator.invalid" + DEFAULT_UPSERT_PATH


def _body(key: str) -> bytes:
    return json.dumps(upsert_body(key)).encode()


async def _send(
    transport: EmulatorTransport, key: str, timeout: float | None = None
) -> tuple[str, Any]:
    """('answer', Response) or ('timeout'|'dropped', None)."""
    headers = {"Authorization": f"Bearer {transport.api_key}", "Content-Type": "application/json"}
    try:
        return "answer", await transport.send(URL_, headers, _body(key), timeout)
    except RequestTimeoutError:
        return "timeout", None
    except TransportError:
        return "dropped", None


ALL_FAULTS = Faults(
    seed=7,
    p500=0.1,
    p499=0.1,
    p1010=0.1,
    p503_html=0.1,
    p_drop_before=0.1,
    p_drop_after=0.1,
    p_slow=0.1,
    slow_seconds=50.0,
)


def test_each_fault_comes_at_its_configured_frequency() -> None:
    n = 2000

    async def main() -> EmulatorCore:
        transport = EmulatorTransport(EmulatorConfig(faults=ALL_FAULTS))
        await asyncio.gather(*(_send(transport, f"K-{i}", timeout=30) for i in range(n)))
        return transport.core

    core = run_virtual(main())
    faults = core.stats.faults
    # binomial(2000, 0.1): sd ~13.4; 4 sd either side
    for kind in ("500", "499", "1010", "503_html", "drop_before", "drop_after", "slow"):
        assert faults[kind] == pytest.approx(200, abs=54), (kind, faults)
    clean = n - sum(faults.values())
    assert clean == pytest.approx(600, abs=90)
    stats = core.stats
    assert stats.count(500, "500") == faults["500"]
    assert stats.count(499, "499") == faults["499"]
    assert stats.count(200, "1010") == faults["1010"]
    assert stats.count(503) == faults["503_html"]
    assert stats.count(0, "drop_before") == faults["drop_before"]
    assert stats.count(0, "drop_after") == faults["drop_after"]
    # written: clean requests, drops after applying, slow answers; nothing else
    assert core.store.count() == clean + faults["drop_after"] + faults["slow"]
    assert stats.applied == core.store.count()


def test_what_the_transport_does_with_each_fault() -> None:
    async def one(faults: Faults, timeout: float | None = 10.0) -> tuple[str, Any, float, bool]:
        transport = EmulatorTransport(EmulatorConfig(faults=faults))
        loop = asyncio.get_running_loop()
        started = loop.time()
        outcome, response = await _send(transport, "K-1", timeout)
        written = transport.core.store.get("contacts", "K-1") is not None
        return outcome, response, loop.time() - started, written

    async def main() -> dict[str, tuple[str, Any, float, bool]]:
        return {
            "500": await one(Faults(p500=1)),
            "499": await one(Faults(p499=1)),
            "1010": await one(Faults(p1010=1)),
            "503": await one(Faults(p503_html=1)),
            "drop_before": await one(Faults(p_drop_before=1, latency=0.2)),
            "drop_after": await one(Faults(p_drop_after=1, latency=0.2)),
            "slow_timeout": await one(Faults(p_slow=1, slow_seconds=40), timeout=10.0),
            "slow_no_timeout": await one(Faults(p_slow=1, slow_seconds=40), timeout=None),
        }

    seen = run_virtual(main())
    for name, status, code in (("500", 500, "500"), ("499", 499, "499"), ("1010", 200, "1010")):
        outcome, response, _, written = seen[name]
        assert outcome == "answer"
        assert (response.status, json.loads(response.body)["code"]) == (status, code)
        assert not written, name
    outcome, response, _, written = seen["503"]
    assert response.status == 503
    assert response.headers["Content-Type"] == "text/html"
    assert response.body.startswith(b"<html>")
    assert b"nginx" in response.body
    assert not written

    assert seen["drop_before"][0] == "dropped"
    assert not seen["drop_before"][3]
    assert seen["drop_before"][2] == pytest.approx(0.2, abs=1e-3)
    assert seen["drop_after"][0] == "dropped"
    assert seen["drop_after"][3]

    outcome, _, elapsed, written = seen["slow_timeout"]
    assert (outcome, written) == ("timeout", True)
    assert elapsed == pytest.approx(10.0, abs=1e-3)  # raised when the client's timeout ran out
    outcome, response, elapsed, written = seen["slow_no_timeout"]
    assert (outcome, response.status, written) == ("answer", 200, True)
    assert elapsed == pytest.approx(40.0, abs=1e-3)


def test_latency_and_jitter() -> None:
    async def main() -> list[float]:
        transport = EmulatorTransport(EmulatorConfig(faults=Faults(latency=0.05, jitter=0.1)))
        loop = asyncio.get_running_loop()
        durations = []
        for i in range(300):
            started = loop.time()
            outcome, _ = await _send(transport, f"K-{i}")
            assert outcome == "answer"
            durations.append(loop.time() - started)
        return durations

    durations = run_virtual(main())
    assert min(durations) >= 0.05 - 1e-3
    assert max(durations) < 0.15 + 1e-3
    assert sum(durations) / len(durations) == pytest.approx(0.10, abs=0.01)


def _fault_sequence(seed: int) -> list[tuple[int, str]]:
    async def main() -> list[tuple[int, str]]:
        faults = Faults(seed=seed, p500=0.05, p1010=0.05, p_drop_after=0.05, jitter=0.01)
        transport = EmulatorTransport(EmulatorConfig(faults=faults))
        for i in range(500):
            await _send(transport, f"K-{i}")
        return [(e.seq, e.kind) for e in transport.core.stats.fault_log]

    return run_virtual(main())


def test_same_seed_same_faults() -> None:
    first = _fault_sequence(42)
    assert len(first) > 40
    assert _fault_sequence(42) == first
    assert _fault_sequence(43) != first


def test_reset_replays_the_same_faults() -> None:
    async def main() -> tuple[list[str], list[str]]:
        transport = EmulatorTransport(EmulatorConfig(faults=Faults(seed=5, p500=0.3)))
        core = transport.core
        runs = []
        for _ in range(2):
            for i in range(50):
                await _send(transport, f"K-{i}")
            runs.append([f"{e.seq}:{e.kind}:{e.key}" for e in core.stats.fault_log])
            core.reset()
        return runs[0], runs[1]

    first, second = run_virtual(main())
    assert first == second
    assert first


def test_faults_come_after_auth_and_throttle() -> None:
    core = EmulatorCore(EmulatorConfig(rate=1, burst=1, faults=Faults(p500=1.0)))
    headers = {"Authorization": f"Bearer {core.api_key}"}
    path = DEFAULT_UPSERT_PATH
    assert core.handle("POST", path, {}, _body("a"), 0.0).status == 401
    assert core.handle("POST", path, headers, _body("a"), 0.0).status == 500
    assert core.handle("POST", path, headers, _body("a"), 0.0).status == 429
    assert core.stats.faults == Counter({"500": 1})


def test_fault_log_tells_which_keys_got_which_fault() -> None:
    async def main() -> EmulatorCore:
        transport = EmulatorTransport(EmulatorConfig(faults=Faults(seed=3, p1010=0.2, p500=0.2)))
        for i in range(200):
            await _send(transport, f"K-{i}")
        return transport.core

    core = run_virtual(main())
    rejected = core.stats.keys_with_fault(Fault.UNPROCESSED_1010)
    assert len(rejected) == core.stats.faults["1010"] > 10
    for _, key in rejected:
        assert core.store.get("contacts", key) is None
    assert {e.kind for e in core.stats.fault_log} == {"1010", "500"}


# --- over HTTP --------------------------------------------------------------------------


async def test_drops_over_http(session: aiohttp.ClientSession) -> None:
    for faults, written in ((Faults(p_drop_before=1), False), (Faults(p_drop_after=1), True)):
        async with Emulator(faults=faults) as emulator:
            with pytest.raises(aiohttp.ClientConnectionError):
                await post(session, emulator, upsert_body("K-1"))
            assert (emulator.store.get("contacts", "K-1") is not None) is written
            assert emulator.stats.requests == 1


async def test_html_503_over_http(session: aiohttp.ClientSession) -> None:
    async with Emulator(faults=Faults(p503_html=1)) as emulator:
        answer = await post(session, emulator, upsert_body())
        assert answer.status == 503
        assert answer.headers["Content-Type"].startswith("text/html")
        assert b"<title>503 Service Temporarily Unavailable</title>" in answer.body
        assert answer.json is None


async def test_slow_answer_over_http_applies_before_it_answers(
    session: aiohttp.ClientSession,
) -> None:
    async with Emulator(faults=Faults(p_slow=1, slow_seconds=30), shutdown_timeout=0) as emulator:
        request = asyncio.ensure_future(
            session.post(
                emulator.url,
                json=upsert_body("K-1"),
                headers={"Authorization": f"Bearer {emulator.api_key}"},
            )
        )
        while emulator.store.get("contacts", "K-1") is None:  # noqa: ASYNC110 - written on arrival...
            await asyncio.sleep(0.005)
        assert not request.done()  # ...answered only 30 s later: the client gives up first
        request.cancel()
        with pytest.raises(asyncio.CancelledError):
            await request
        assert emulator.store.get("contacts", "K-1") == {"firstname": "Matt"}
        assert emulator.stats.faults["slow"] == 1


async def test_latency_over_http(session: aiohttp.ClientSession) -> None:
    async with Emulator(faults=Faults(latency=0.1)) as emulator:
        loop = asyncio.get_running_loop()
        started = loop.time()
        assert (await post(session, emulator, upsert_body())).status == 200
        assert loop.time() - started >= 0.1
