"""Auth: keys, forbidden keys, tokens that expire by time or by use, the token admin route."""

from __future__ import annotations

import aiohttp
import pytest

from webex_campaign_async.emulator import Emulator
from webex_campaign_async.emulator._auth import Auth, Denied, bearer

from .conftest import FakeClock, post, upsert_body


async def test_the_generated_key_works(
    session: aiohttp.ClientSession, campaign_emulator: Emulator
) -> None:
    assert campaign_emulator.api_key.startswith("emu_")
    answer = await post(session, campaign_emulator, upsert_body())
    assert (answer.status, answer.update_count) == (200, 1)


async def test_configured_keys_and_forbidden_keys(session: aiohttp.ClientSession) -> None:
    async with Emulator(api_keys=["key-1", "key-2"], forbidden_keys=["key-ro"]) as emulator:
        assert emulator.api_key == "key-1"
        for key in ("key-1", "key-2"):
            assert (await post(session, emulator, upsert_body(), key=key)).status == 200
        denied = await post(session, emulator, upsert_body(), key="key-ro")
        assert (denied.status, denied.code) == (401, "430")
        unknown = await post(session, emulator, upsert_body(), key="key-3")
        assert (unknown.status, unknown.code) == (401, "498")
        assert emulator.stats.count(200) == 2


@pytest.mark.parametrize(
    "header",
    ["", "Bearer", "Bearer ", "Token abc", "Bearer two words", "bearer"],
)
async def test_malformed_authorization_is_430(
    session: aiohttp.ClientSession, campaign_emulator: Emulator, header: str
) -> None:
    answer = await post(
        session, campaign_emulator, upsert_body(), headers={"Authorization": header}
    )
    assert (answer.status, answer.code) == (401, "430")


async def test_bearer_scheme_is_case_insensitive(
    session: aiohttp.ClientSession, campaign_emulator: Emulator
) -> None:
    headers = {"Authorization": f"bearer {campaign_emulator.api_key}"}
    assert (await post(session, campaign_emulator, upsert_body(), headers=headers)).status == 200


async def test_token_expires_after_its_ttl(session: aiohttp.ClientSession) -> None:
    clock = FakeClock()
    async with Emulator(clock=clock) as emulator:
        token = emulator.issue_token(ttl=60)
        assert (await post(session, emulator, upsert_body(), key=token)).status == 200
        clock.advance(59.9)
        assert (await post(session, emulator, upsert_body(), key=token)).status == 200
        clock.advance(0.1)
        expired = await post(session, emulator, upsert_body(), key=token)
        assert (expired.status, expired.code) == (401, "498")
        assert expired.json["description"] == "Invalid token or Access token expired"
        # a new token works again; the key never expires
        fresh = emulator.issue_token(ttl=60)
        assert (await post(session, emulator, upsert_body(), key=fresh)).status == 200
        clock.advance(10**6)
        assert (await post(session, emulator, upsert_body())).status == 200


async def test_token_expires_after_max_requests(
    session: aiohttp.ClientSession, campaign_emulator: Emulator
) -> None:
    token = campaign_emulator.issue_token(max_requests=3)
    statuses = [
        (await post(session, campaign_emulator, upsert_body(), key=token)).status for _ in range(5)
    ]
    assert statuses == [200, 200, 200, 401, 401]
    assert campaign_emulator.stats.count(401, "498") == 2


async def test_token_admin_route(
    session: aiohttp.ClientSession, campaign_emulator: Emulator
) -> None:
    url = campaign_emulator.base_url + "/_emulator/tokens"
    async with session.post(url, json={"max-requests": 1}) as response:
        assert response.status == 200
        issued = await response.json()
    assert issued["max-requests"] == 1
    token = issued["token"]
    assert (await post(session, campaign_emulator, upsert_body(), key=token)).status == 200
    assert (await post(session, campaign_emulator, upsert_body(), key=token)).code == "498"
    async with session.post(url) as response:  # no body: a token that never expires
        assert response.status == 200
        forever = (await response.json())["token"]
    for _ in range(3):
        assert (await post(session, campaign_emulator, upsert_body(), key=forever)).status == 200


@pytest.mark.parametrize(
    "body",
    [b"[1]", b"{", b'{"ttl": "soon"}', b'{"max-requests": 1.5}', b'{"ttl": -1}'],
)
async def test_token_admin_route_rejects_bad_input(
    session: aiohttp.ClientSession, campaign_emulator: Emulator, body: bytes
) -> None:
    url = campaign_emulator.base_url + "/_emulator/tokens"
    async with session.post(url, data=body) as response:
        assert response.status == 400
        assert "error" in await response.json()


def test_auth_is_pure() -> None:
    auth = Auth({"k": "tenant-a"}, frozenset({"ro"}))
    assert auth.check("Bearer k", now=0) == "tenant-a"
    token = auth.issue(now=10, ttl=5, max_requests=2, tenant="tenant-b")
    assert auth.check(f"Bearer {token}", now=14.9) == "tenant-b"
    with pytest.raises(Denied) as denied:
        auth.check(f"Bearer {token}", now=15)
    assert denied.value.code == "498"
    with pytest.raises(Denied) as denied:
        auth.check("Bearer ro", now=0)
    assert denied.value.code == "430"
    assert bearer("Bearer  abc ") == "abc"
    assert bearer(None) is None
