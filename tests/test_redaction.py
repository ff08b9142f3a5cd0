"""No token ever leaves the library: not in results, errors, reports, files or logs.

A hostile server echoes the token everywhere it can: in a transaction-id, in a
description, in a transport error; and the token changes on the way (498, refresh).
"""

from __future__ import annotations

import asyncio
import json
import logging
from pathlib import Path
from typing import Any

import pytest

from webex_campaign_async import (
    CampaignClient,
    ProfileUpsert,
    Response,
    RetryPolicy,
    TokenProviderError,
    TransportError,
)
from webex_campaign_async._credentials import Credentials
from webex_campaign_async.exceptions import ConnectionLostError

from .fakes import FakeTransport, answer, applied
from .vtime import run_virtual

TOKENS = ["tok-first-2c9d8b7a61f0", "tok-second-5e4d3c2b1a09", "tok-third-8f7e6d5c4b3a"]


def echoing(wire: dict[str, Any], attempt: int, headers: Any) -> Any:
    """Echo the bearer token wherever an answer can carry text."""
    token = headers["Authorization"].removeprefix("Bearer ")
    key = wire["key"]
    if token == TOKENS[0] and key != "k0":
        return answer(401, "498", f"token {token} expired")  # forces a refresh
    n = int(key[1:])
    if n % 4 == 0:
        return _json(200, {"update-count": 1, "transaction-id": f"tx-{token}"})
    if n % 4 == 1:
        return _json(200, {"code": "1001", "description": f"bad {token}", "transaction-id": token})
    if n % 4 == 2:
        return ConnectionLostError(f"reset while sending Authorization: Bearer {token}")
    return _json(200, {"update-count": 0, "transaction-id": f"{token}!"})


def _json(status: int, body: dict[str, Any]) -> Response:
    return Response(status, {}, json.dumps(body).encode())


def test_every_token_ever_held_is_redacted_everywhere(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    tokens = iter(TOKENS)

    async def provider() -> str:
        return next(tokens)

    failures, sink = tmp_path / "failures.jsonl", tmp_path / "sink.jsonl"
    seen: list[Any] = []
    errors: list[str] = []

    async def main() -> Any:
        client = CampaignClient(
            "http://127.0.0.1:9",
            token_provider=provider,
            transport=FakeTransport(echoing),
            retry=RetryPolicy(attempts=2, initial=0.01, outage=0),
            max_concurrency=4,
        )
        async with client:
            report = await client.bulk_upsert(
                [ProfileUpsert("p", key=f"k{i}", attributes={"a": "1"}) for i in range(40)],
                on_result=seen.append,
                failures=failures,
                sink=sink,
            )
            for key in ("k1", "k2", "k3"):
                try:
                    await client.upsert(ProfileUpsert("p", key=key, attributes={"a": "1"}))
                except Exception as exc:
                    errors.extend([str(exc), repr(exc), repr(exc.__cause__)])
            return report, client

    report, client = run_virtual(main())
    assert report.token_refreshes >= 1  # the first token was replaced: it must stay hidden
    everything = "\n".join(
        [str(report), json.dumps(report.to_dict()), failures.read_text(), sink.read_text()]
        + [json.dumps(r.to_dict()) for r in seen]
        + [repr(r) for r in seen]
        + errors
        + [caplog.text, repr(client), repr(vars(client))]
    )
    for token in TOKENS:
        assert token not in everything
    assert "***" in everything  # the echoes were there, redacted
    assert any(r.transaction_id == "tx-***" for r in seen)  # the usual APPLIED path too


def test_a_token_inside_the_providers_own_error_is_hidden() -> None:
    """The provider's message may hold secrets the client never saw (a client secret, a new
    token): only its type is told, and its exception is neither chained nor in the context."""

    async def provider() -> str:
        raise RuntimeError(f"identity provider said: {TOKENS[1]} is revoked, secret=S3CR3T")

    async def main() -> TokenProviderError:
        transport = FakeTransport(lambda w, a, h: applied())
        client = CampaignClient("http://127.0.0.1:9", token_provider=provider, transport=transport)
        async with client:
            with pytest.raises(TokenProviderError) as info:
                await client.upsert(ProfileUpsert("p", key="k", attributes={"a": "1"}))
        return info.value

    error = run_virtual(main())
    assert "RuntimeError" in str(error)
    for text in (str(error), repr(error)):
        assert TOKENS[1] not in text
        assert "S3CR3T" not in text
    assert error.__cause__ is None
    assert error.__context__ is None


def test_a_transport_error_that_echoes_the_key_is_redacted() -> None:
    key = "key-8c7b6a5d4e3f2a1b"

    async def main() -> TransportError:
        transport = FakeTransport(
            lambda w, a, h: TransportError(f"bad header {h['Authorization']}")
        )
        client = CampaignClient(
            "http://127.0.0.1:9", api_key=key, transport=transport, retry=RetryPolicy.never()
        )
        async with client:
            with pytest.raises(TransportError) as info:
                await client.upsert(ProfileUpsert("p", key="k", attributes={"a": "1"}))
        return info.value

    error = run_virtual(main())
    assert key not in str(error)
    assert "Bearer ***" in str(error)


def test_concurrent_refreshes_keep_every_old_token_redacted() -> None:
    tokens = iter(TOKENS)

    async def provider() -> str:
        await asyncio.sleep(0.01)
        return next(tokens)

    async def main() -> Credentials:
        credentials = Credentials(None, provider)
        await credentials.refresh(0)
        await credentials.refresh(1)
        await credentials.refresh(2)
        return credentials

    credentials = run_virtual(main())
    text = " ".join(TOKENS)
    assert credentials.redact(text) == "*** *** ***"
    assert credentials.leaks(TOKENS[0])


def test_the_rarer_form_of_success_is_redacted_too() -> None:
    key = "key-0a1b2c3d4e5f60718293"

    async def main() -> Any:
        body = json.dumps({"update-count": "2", "transaction-id": f"x {key}"}).encode()
        transport = FakeTransport(lambda w, a, h: Response(200, {}, body))
        async with CampaignClient("http://127.0.0.1:9", api_key=key, transport=transport) as c:
            return await c.upsert(ProfileUpsert("p", key="k", attributes={"a": "1"}))

    result = run_virtual(main())
    assert result.update_count == 2
    assert result.transaction_id == "x ***"
