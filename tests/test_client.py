"""The client's wiring, checked with aioresponses: headers, body, retries, auth, errors."""

from __future__ import annotations

import json
import logging
from typing import Any

import aiohttp
import pytest
from aioresponses import aioresponses
from yarl import URL

from webex_campaign_async import (
    DEFAULT_UPSERT_PATH,
    AdaptiveThrottle,
    AiohttpTransport,
    CampaignClient,
    ConfigurationError,
    EndpointError,
    InvalidRecordError,
    NotAppliedError,
    PermissionDeniedError,
    ProfileUpsert,
    RecordStatus,
    RejectedError,
    RequestTimeoutError,
    RetryPolicy,
    ServerError,
    ThrottledError,
    TokenExpiredError,
    TransportError,
    __version__,
)
from webex_campaign_async._convert import encode_profile

from .fakes import FakeClock

BASE = "https://tenant.webexcampaign.io"
URL_ = BASE + DEFAULT_UPSERT_PATH
KEY = "sk-live-9f8e7d6c5b4a"
PROFILE = ProfileUpsert("contacts", key="c-1", attributes={"firstname": "Matt", "age": 41})
APPLIED = {"update-count": 1, "transaction-id": "tx-1"}


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


def make_client(clock: FakeClock, **kwargs: Any) -> CampaignClient:
    kwargs.setdefault("api_key", KEY)
    kwargs.setdefault("retry", RetryPolicy(attempts=4, initial=1, jitter=False, outage=0))
    return CampaignClient(BASE, clock=clock, **kwargs)


def calls(api: aioresponses) -> list[Any]:
    return api.requests.get(("POST", URL(URL_)), [])


async def test_sends_the_exact_request(api: aioresponses, clock: FakeClock) -> None:
    api.post(URL_, payload=APPLIED)
    async with make_client(clock) as client:
        result = await client.upsert(PROFILE)
    [call] = calls(api)
    assert call.kwargs["data"] == encode_profile(PROFILE)
    assert dict(call.kwargs["headers"]) == {
        "Authorization": f"Bearer {KEY}",
        "Content-Type": "application/json",
        "Accept": "application/json",
        "User-Agent": f"webex-campaign-async/{__version__} aiohttp/{aiohttp.__version__}",
    }
    assert call.kwargs["allow_redirects"] is False
    assert result.status is RecordStatus.APPLIED
    assert (result.update_count, result.transaction_id, result.attempts) == (1, "tx-1", 1)
    assert result.key == "c-1"
    assert result.record is PROFILE


async def test_accepts_a_wire_mapping(api: aioresponses, clock: FakeClock) -> None:
    api.post(URL_, payload=APPLIED)
    wire = json.loads(encode_profile(PROFILE))
    async with make_client(clock) as client:
        assert (await client.upsert(wire)).ok
    assert calls(api)[0].kwargs["data"] == encode_profile(PROFILE)


async def test_invalid_input_is_never_sent(api: aioresponses, clock: FakeClock) -> None:
    async with make_client(clock) as client:
        with pytest.raises(InvalidRecordError, match=r"attributes\[0\]\.val"):
            await client.upsert(
                {"profile-name": "p", "key": "k", "attributes": [{"attribute-name": "a"}]}
            )
    assert calls(api) == []


async def test_custom_path(api: aioresponses, clock: FakeClock) -> None:
    api.post(BASE + "/prefix/v9/upsert", payload=APPLIED)
    async with make_client(clock, upsert_path="v9/upsert") as client:
        client_base = CampaignClient(BASE + "/prefix/", api_key=KEY, upsert_path="v9/upsert")
        assert client_base.url == BASE + "/prefix/v9/upsert"
        assert client.url == BASE + "/v9/upsert"
    async with CampaignClient(BASE + "/prefix", api_key=KEY, upsert_path="/v9/upsert") as client:
        assert (await client.upsert(PROFILE)).ok


async def test_429_then_success_honours_retry_after(api: aioresponses, clock: FakeClock) -> None:
    api.post(
        URL_,
        status=429,
        headers={"Retry-After": "7"},
        payload={"code": "429", "description": "Too many requests."},
    )
    api.post(URL_, payload=APPLIED)
    async with make_client(clock, rate=1e6) as client:
        result = await client.upsert(PROFILE)
        assert client.throttled == 1
    assert result.attempts == 2
    assert len(clock.sleeps) == 1
    assert 7.0 <= clock.sleeps[0] <= 7.7  # the pause, plus at most 10 % jitter


async def test_429_without_retry_after_backs_off(api: aioresponses, clock: FakeClock) -> None:
    api.post(URL_, status=429, payload={"code": "429", "description": "Too many requests."})
    api.post(URL_, status=429, payload={"code": "429", "description": "Too many requests."})
    api.post(URL_, payload=APPLIED)
    async with make_client(clock, rate=1e6) as client:
        result = await client.upsert(PROFILE)
        assert client.rate is not None
        assert client.rate < 1e6  # adapted down
    assert result.attempts == 3
    assert clock.sleeps == [1.0, 2.0]


async def test_gives_up_after_max_attempts(api: aioresponses, clock: FakeClock) -> None:
    for _ in range(4):
        api.post(URL_, status=500, payload={"code": "500", "description": "Internal server error"})
    async with make_client(clock) as client:
        with pytest.raises(ServerError) as info:
            await client.upsert(PROFILE)
    assert info.value.attempts == 4
    assert (info.value.http_status, info.value.code) == (500, 500)
    assert len(calls(api)) == 4
    assert clock.sleeps == [1.0, 2.0, 4.0]


async def test_gives_up_at_the_deadline(api: aioresponses, clock: FakeClock) -> None:
    for _ in range(4):
        api.post(URL_, status=503, body="<html>busy</html>")
    policy = RetryPolicy(attempts=10, initial=1, jitter=False, deadline=2.5)
    async with make_client(clock, retry=policy) as client:
        with pytest.raises(ServerError, match="busy") as info:
            await client.upsert(PROFILE)
    assert info.value.attempts == 2  # waited 1 s, the next 2 s wait would pass the deadline
    assert clock.sleeps == [1.0]


async def test_throttled_error_when_429_persists(api: aioresponses, clock: FakeClock) -> None:
    for _ in range(4):
        api.post(
            URL_,
            status=429,
            headers={"Retry-After": "1"},
            payload={"code": 429, "description": "Too many"},
        )
    policy = RetryPolicy(attempts=2, throttled_attempts=4, jitter=False)
    async with make_client(clock, rate=1e6, retry=policy) as client:
        with pytest.raises(ThrottledError) as info:
            await client.upsert(PROFILE)
    assert info.value.retry_after == 1.0
    assert info.value.attempts == 4  # 429s have their own budget, beyond attempts=2
    assert len(calls(api)) == 4


async def test_429s_do_not_use_up_the_error_budget(api: aioresponses, clock: FakeClock) -> None:
    for _ in range(6):
        api.post(URL_, status=429, payload={"code": 429, "description": "Too many"})
    api.post(URL_, status=500, payload={"code": "500", "description": "Internal server error"})
    api.post(URL_, payload=APPLIED)
    policy = RetryPolicy(attempts=2, jitter=False, initial=0.01)
    async with make_client(clock, rate=1e6, retry=policy) as client:
        result = await client.upsert(PROFILE)
    assert result.attempts == 8


async def test_498_refreshes_the_token_once_and_retries(
    api: aioresponses, clock: FakeClock
) -> None:
    tokens = iter(["token-1", "token-2"])
    asked: list[int] = []

    async def provider() -> str:
        asked.append(1)
        return next(tokens)

    api.post(
        URL_,
        status=401,
        payload={"code": "498", "description": "Invalid token or Access token expired"},
    )
    api.post(URL_, payload=APPLIED)
    async with make_client(clock, api_key=None, token_provider=provider) as client:
        result = await client.upsert(PROFILE)
        assert client.token_refreshes == 1
    assert result.attempts == 2
    assert len(asked) == 2
    sent = [c.kwargs["headers"]["Authorization"] for c in calls(api)]
    assert sent == ["Bearer token-1", "Bearer token-2"]
    assert clock.sleeps == []


async def test_498_again_after_refresh_raises(api: aioresponses, clock: FakeClock) -> None:
    async def provider() -> str:
        return "always-stale"

    for _ in range(2):
        api.post(URL_, status=401, payload={"code": "498", "description": "expired"})
    async with make_client(clock, api_key=None, token_provider=provider) as client:
        with pytest.raises(TokenExpiredError):
            await client.upsert(PROFILE)
    assert len(calls(api)) == 2


async def test_498_with_a_static_key_is_not_retried(api: aioresponses, clock: FakeClock) -> None:
    api.post(URL_, status=401, payload={"code": "498", "description": "expired"})
    async with make_client(clock) as client:
        with pytest.raises(TokenExpiredError):
            await client.upsert(PROFILE)
    assert len(calls(api)) == 1


async def test_430_is_not_retried(api: aioresponses, clock: FakeClock) -> None:
    api.post(URL_, status=401, payload={"code": "430", "description": "Authorization failed."})
    async with make_client(clock) as client:
        with pytest.raises(PermissionDeniedError) as info:
            await client.upsert(PROFILE)
    assert (info.value.http_status, info.value.code, info.value.attempts) == (401, 430, 1)
    assert len(calls(api)) == 1


async def test_405_is_not_retried(api: aioresponses, clock: FakeClock) -> None:
    api.post(URL_, status=405, payload={"code": "405", "description": "Method not supported"})
    async with make_client(clock) as client:
        with pytest.raises(EndpointError):
            await client.upsert(PROFILE)
    assert len(calls(api)) == 1


@pytest.mark.parametrize("code", ["1001", "3005", "7031", "102", "1020"])  # 1010: test_decisions
async def test_business_errors_in_200_are_rejected_not_retried(
    api: aioresponses, clock: FakeClock, code: str
) -> None:
    api.post(URL_, payload={"code": code, "description": "no"})
    async with make_client(clock) as client:
        with pytest.raises(RejectedError) as info:
            await client.upsert(PROFILE)
    assert (info.value.http_status, info.value.code) == (200, int(code))
    assert len(calls(api)) == 1


async def test_update_count_0_is_never_plain_success(api: aioresponses, clock: FakeClock) -> None:
    api.post(URL_, payload={"update-count": 0, "transaction-id": "tx-0"})
    api.post(URL_, payload={"update-count": 0, "transaction-id": "tx-0b"})
    async with make_client(clock) as client:
        with pytest.raises(NotAppliedError) as info:
            await client.upsert(PROFILE)
        assert info.value.transaction_id == "tx-0"
        result = await client.upsert(PROFILE, allow_not_applied=True)
    assert result.status is RecordStatus.NOT_APPLIED
    assert (result.update_count, result.transaction_id, result.ok) == (0, "tx-0b", False)
    assert len(calls(api)) == 2  # never retried


async def test_connection_errors_are_retried(api: aioresponses, clock: FakeClock) -> None:
    api.post(URL_, exception=aiohttp.ServerDisconnectedError())
    api.post(URL_, exception=aiohttp.ClientConnectionError("reset by peer"))
    api.post(URL_, payload=APPLIED)
    async with make_client(clock) as client:
        result = await client.upsert(PROFILE)
    assert result.attempts == 3


async def test_transport_error_after_last_attempt(api: aioresponses, clock: FakeClock) -> None:
    for _ in range(4):
        api.post(URL_, exception=aiohttp.ClientConnectionError("refused"))
    async with make_client(clock) as client:
        with pytest.raises(TransportError, match="refused") as info:
            await client.upsert(PROFILE)
    assert info.value.attempts == 4


async def test_timeout(api: aioresponses, clock: FakeClock) -> None:
    for _ in range(4):
        api.post(URL_, exception=TimeoutError())
    async with make_client(clock, timeout=2.0) as client:
        with pytest.raises(RequestTimeoutError, match=r"2\.0 s"):
            await client.upsert(PROFILE)


async def test_not_applied_after_a_lost_connection_says_it_may_have_applied(
    api: aioresponses, clock: FakeClock
) -> None:
    create_only = ProfileUpsert("contacts", key="c-1", attributes={"a": 1}, upsert="0")
    api.post(URL_, exception=aiohttp.ServerDisconnectedError())
    api.post(URL_, payload={"update-count": 0, "transaction-id": "tx"})
    async with make_client(clock) as client:
        result = await client.upsert(create_only, allow_not_applied=True)
    assert result.status is RecordStatus.NOT_APPLIED
    assert "earlier attempt" in result.message


async def test_borrowed_session_stays_open(api: aioresponses, clock: FakeClock) -> None:
    api.post(URL_, payload=APPLIED)
    async with aiohttp.ClientSession() as session:
        transport = AiohttpTransport(session=session)
        async with make_client(clock, transport=transport) as client:
            await client.upsert(PROFILE)
        assert not session.closed


async def test_closed_client_refuses_work(clock: FakeClock) -> None:
    client = make_client(clock)
    await client.aclose()
    with pytest.raises(RuntimeError, match="closed"):
        await client.upsert(PROFILE)


@pytest.mark.parametrize(
    ("url", "ok"),
    [
        ("https://tenant.webexcampaign.io", True),
        ("http://127.0.0.1:8080", True),
        ("http://localhost:8080", True),
        ("http://[::1]:8080", True),
        ("http://tenant.webexcampaign.io", False),
        ("http://10.0.0.5", False),
        ("ftp://tenant.webexcampaign.io", False),
        ("tenant.webexcampaign.io", False),
        ("https://user:pw@tenant.webexcampaign.io", False),
    ],
)
def test_plain_http_only_for_loopback(url: str, ok: bool) -> None:
    if ok:
        CampaignClient(url, api_key=KEY)
    else:
        with pytest.raises(ConfigurationError):
            CampaignClient(url, api_key=KEY)


def test_plain_http_when_the_caller_opts_in() -> None:
    client = CampaignClient("http://tenant.internal", api_key=KEY, allow_insecure_http=True)
    assert client.url.startswith("http://tenant.internal/")


@pytest.mark.parametrize(
    "kwargs",
    [
        {},
        {"api_key": KEY, "token_provider": lambda: None},
        {"api_key": ""},
        {"api_key": KEY, "max_concurrency": 0},
        {"api_key": KEY, "timeout": 0},
        {"api_key": KEY, "rate": 5, "throttle": AdaptiveThrottle()},
        {"api_key": KEY, "max_concurrency": True},
    ],
)
def test_bad_configuration(kwargs: dict[str, Any]) -> None:
    with pytest.raises(ConfigurationError):
        CampaignClient(BASE, **kwargs)


async def test_the_key_never_leaks(
    api: aioresponses, clock: FakeClock, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    api.post(URL_, status=401, payload={"code": "430", "description": f"key {KEY} is not allowed"})
    client = make_client(clock)
    async with client:
        with pytest.raises(PermissionDeniedError) as info:
            await client.upsert(PROFILE)
    texts = [repr(client), str(client), str(info.value), repr(info.value), caplog.text]
    texts += [repr(vars(client)), repr(vars(client._sender)), repr(client._sender.credentials)]
    assert not [t for t in texts if KEY in t]
    assert "***" in str(info.value)


@pytest.mark.parametrize(
    ("base_url", "options", "message"),
    [
        ("https://exa mple.com", {}, "must not contain spaces or control characters"),
        ("https://x.example/a\tb", {}, "must not contain spaces or control characters"),
        ("https://x.example", {"upsert_path": "http://evil/x"}, "upsert_path must be a plain"),
        ("https://x.example", {"upsert_path": "//evil/x"}, "upsert_path must be a plain path"),
        ("https://x.example", {"upsert_path": "/p?x=1"}, "upsert_path must be a plain path"),
        ("https://x.example", {"upsert_path": "/"}, "upsert_path must be a plain path"),
        ("https://x.example", {"upsert_path": "/a b"}, "upsert_path must be a plain path"),
        ("https://x.example", {"api_key": "key\n"}, "api_key holds a line break"),
        ("https://x.example", {"api_key": "a\r\nX-Evil: 1"}, "api_key holds a line break"),
    ],
)
def test_what_cannot_be_sent_is_refused_when_the_client_is_made(
    base_url: str, options: dict[str, Any], message: str
) -> None:
    with pytest.raises(ConfigurationError, match=message):
        CampaignClient(base_url, **{"api_key": "k", **options})
