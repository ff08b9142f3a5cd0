"""End to end: the library's CampaignClient against the emulator (the only client import here)."""

from __future__ import annotations

import asyncio
from collections import Counter

from webex_campaign_async import (
    CampaignClient,
    ProfileUpsert,
    RejectedError,
    RetryPolicy,
)
from webex_campaign_async.emulator import (
    Emulator,
    EmulatorConfig,
    EmulatorTransport,
    Fault,
    Faults,
)

from ..vtime import run_virtual


def _profile(i: int) -> ProfileUpsert:
    return ProfileUpsert("customers", key=f"C-{i}", attributes={"firstname": "Matt", "n": i})


async def test_client_upsert_against_the_served_emulator() -> None:
    async with (
        Emulator(faults=Faults(seed=11, p1010=0.2)) as emulator,
        CampaignClient(
            emulator.base_url, api_key=emulator.api_key, retry=RetryPolicy(attempts=1)
        ) as client,
    ):
        results = await asyncio.gather(
            *(client.upsert(_profile(i)) for i in range(100)), return_exceptions=True
        )
        rejected = {f"C-{i}" for i, r in enumerate(results) if isinstance(r, RejectedError)}
        applied = {r.key for r in results if not isinstance(r, BaseException)}
        assert len(rejected) + len(applied) == 100, [
            r for r in results if isinstance(r, BaseException) and not isinstance(r, RejectedError)
        ]
        # with one attempt allowed, the records that got 1010 are exactly the ones REJECTED
        faulted = emulator.stats.keys_with_fault(Fault.UNPROCESSED_1010)
        assert {key for _, key in faulted} == rejected
        assert 5 < len(rejected) < 40
        # the applied ones are in the store with their values, and none was sent twice
        assert set(emulator.store.profiles("customers")) == applied
        # the values went out as strings (``n`` is an int in the model)
        assert emulator.store.get("customers", "C-0") in (None, {"firstname": "Matt", "n": "0"})
        assert set(emulator.stats.requests_per_key.values()) == {1}
        assert emulator.stats.count(200) == len(applied)


def test_client_with_the_in_process_transport_on_virtual_time() -> None:
    faults = Faults(seed=4, p_drop_before=0.1, p_drop_after=0.1, p500=0.1, latency=0.05)

    async def main() -> tuple[list[object], EmulatorTransport, float]:
        transport = EmulatorTransport(EmulatorConfig(faults=faults))
        loop = asyncio.get_running_loop()
        started = loop.time()
        async with CampaignClient(
            "http://127.0.0.1",
            api_key=transport.api_key,
            transport=transport,
            retry=RetryPolicy(attempts=10, initial=1.0, maximum=5.0),
        ) as client:
            results = await asyncio.gather(*(client.upsert(_profile(i)) for i in range(200)))
        return list(results), transport, loop.time() - started

    results, transport, elapsed = run_virtual(main())
    core = transport.core
    assert len(results) == 200
    assert core.store.count("customers") == 200
    # every key was sent once plus once per fault it got; drops after applying included
    faults_per_key = Counter(event.key for event in core.stats.fault_log)
    for i in range(200):
        key = f"C-{i}"
        assert core.stats.requests_per_key["customers", key] == 1 + faults_per_key[key]
    assert core.stats.faults["drop_after"] > 5
    assert elapsed >= 0.05  # latency was slept, in virtual time
