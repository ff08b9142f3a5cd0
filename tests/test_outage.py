"""A gateway outage of a few seconds (502 pages, dropped connections) loses no record."""

from __future__ import annotations

import asyncio
import random
from typing import Any

import pytest

from webex_campaign_async import (
    CampaignClient,
    ConnectError,
    ProfileUpsert,
    Response,
    RetryPolicy,
)
from webex_campaign_async.exceptions import ConnectionLostError

from .fakes import FakeTransport, applied
from .vtime import run_virtual

BAD_GATEWAY = Response(
    502,
    {"Content-Type": "text/html"},
    b"<html><head><title>502 Bad Gateway</title></head><body><h1>502 Bad Gateway</h1>"
    b"<hr><center>nginx/1.22.1</center></body></html>",
)


def outage(start: float, seconds: float, seed: int) -> Any:
    """Answers 502, drops or refuses connections while the gateway is down."""
    rng = random.Random(seed)

    def answer(wire: dict[str, Any], attempt: int, headers: Any) -> Any:
        now = asyncio.get_running_loop().time()
        if start <= now < start + seconds:
            return rng.choice([BAD_GATEWAY, ConnectionLostError("reset"), ConnectError("refused")])
        return applied()

    return answer


def run(policy: RetryPolicy, seed: int) -> Any:
    random.seed(seed)  # the retry jitter

    async def main() -> Any:
        client = CampaignClient(
            "http://127.0.0.1:9",
            api_key="k",
            transport=FakeTransport(outage(1.0, 3.0, seed), latency=0.02),
            retry=policy,
            max_concurrency=32,
        )
        async with client:
            records = [ProfileUpsert("p", key=f"k{i}", attributes={"a": "1"}) for i in range(3000)]
            return await client.bulk_upsert(records)

    return run_virtual(main())


@pytest.mark.parametrize("seed", range(5))
def test_a_three_second_outage_loses_nothing_with_the_default_policy(seed: int) -> None:
    report = run(RetryPolicy(), seed)
    assert report.applied == report.total == 3000
    assert report.connection_failures > 0  # counted apart from requests
    assert report.retries > 0


def test_without_the_outage_budget_the_same_outage_fails_records() -> None:
    """The contrast: five attempts of capped, jittered backoff end inside a 3 s outage."""
    report = run(RetryPolicy(outage=0), seed=0)
    assert report.failed > 0
    assert report.applied + report.failed == 3000


def test_an_api_that_never_answers_stops_the_run_after_the_outage_budget() -> None:
    """Refused, every time (a wrong port, a dead proxy): the first record to use up the
    outage budget stops the run, instead of every record waiting as long in turn."""
    transport = FakeTransport(lambda w, a, h: ConnectError("Connection refused"), latency=0.01)

    async def main() -> Any:
        client = CampaignClient(
            "http://127.0.0.1:9", api_key="k", transport=transport, max_concurrency=8
        )
        async with client:
            records = [ProfileUpsert("p", key=f"k{i}", attributes={"a": "1"}) for i in range(200)]
            started = asyncio.get_running_loop().time()
            report = await client.bulk_upsert(records)
            return report, asyncio.get_running_loop().time() - started

    report, elapsed = run_virtual(main())
    assert report.aborted
    assert "the API has not answered for 6" in str(report.abort_reason)
    assert "Connection refused" in str(report.abort_reason)
    assert report.applied == 0
    assert 1 <= report.failed <= 8  # those in flight when it stopped
    assert report.skipped == report.total - report.failed
    assert elapsed < 2 * RetryPolicy().outage  # virtual seconds: one budget, not 200 / 8


def test_an_api_that_answers_some_requests_is_not_unreachable() -> None:
    """One connection in three refused for minutes: records retry, the run goes on."""
    transport = FakeTransport(
        lambda w, a, h: ConnectError("refused") if a % 3 else applied(), latency=0.01
    )

    async def main() -> Any:
        client = CampaignClient(
            "http://127.0.0.1:9", api_key="k", transport=transport, max_concurrency=8,
            retry=RetryPolicy(outage=1.0),
        )  # fmt: skip
        async with client:
            records = [ProfileUpsert("p", key=f"k{i}", attributes={"a": "1"}) for i in range(200)]
            return await client.bulk_upsert(records)

    report = run_virtual(main())
    assert not report.aborted
    assert report.applied == report.total == 200
