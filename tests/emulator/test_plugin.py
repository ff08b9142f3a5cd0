"""The pytest plugin's ``campaign_emulator`` fixture and its marker."""

from __future__ import annotations

import aiohttp
import pytest

from webex_campaign_async.emulator import Emulator, EmulatorConfig

from .conftest import post, upsert_body


async def test_fixture_serves_a_fresh_emulator(
    session: aiohttp.ClientSession, campaign_emulator: Emulator
) -> None:
    assert campaign_emulator.base_url.startswith("http://127.0.0.1:")
    assert campaign_emulator.stats.requests == 0
    assert (await post(session, campaign_emulator, upsert_body())).status == 200
    assert campaign_emulator.profile("contacts", "K-1") == {"firstname": "Matt"}


@pytest.mark.campaign_emulator(EmulatorConfig(rate=3, api_keys=["k"]), burst=1)
async def test_marker_takes_a_config_and_overrides(campaign_emulator: Emulator) -> None:
    assert campaign_emulator.api_key == "k"
    assert (campaign_emulator.config.rate, campaign_emulator.config.burst) == (3, 1)


@pytest.mark.campaign_emulator(upsert_path="/custom/path")
async def test_marker_upsert_path(
    session: aiohttp.ClientSession, campaign_emulator: Emulator
) -> None:
    assert campaign_emulator.url.endswith("/custom/path")
    assert (await post(session, campaign_emulator, upsert_body())).status == 200
    default = await post(
        session,
        campaign_emulator,
        upsert_body(),
        path="/campaignapi/resources/v3/profiles/update",
    )
    assert default.status == 404


async def test_emulator_outside_its_context_says_so() -> None:
    emulator = Emulator()
    with pytest.raises(RuntimeError, match="not serving"):
        _ = emulator.base_url
    async with emulator:
        with pytest.raises(RuntimeError, match="already serving"):
            await emulator.start()
    assert "not serving" in repr(emulator)
