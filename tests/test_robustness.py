"""Bulk runs and the client when inputs, callbacks, servers, throttles and providers misbehave.

Each test pins down one way a record could be lost, sent twice, or a secret leak out.
"""

from __future__ import annotations

import asyncio
import io
import json
import logging
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from aioresponses import aioresponses
from multidict import CIMultiDict, CIMultiDictProxy
from yarl import URL

from webex_campaign_async import (
    DEFAULT_UPSERT_PATH,
    CampaignClient,
    ConfigurationError,
    ProfileUpsert,
    RateLimit,
    RecordResult,
    RecordStatus,
    RetryPolicy,
    TokenProviderError,
    TransportError,
)
from webex_campaign_async import _records as records_module
from webex_campaign_async._convert import encode_profile

from .fakes import FakeClock, FakeTransport, answer, applied
from .vtime import run_virtual

S = RecordStatus
BASE = "https://tenant.webexcampaign.io"
URL_ = BASE + DEFAULT_UPSERT_PATH
KEY = "sk-live-SECRET-123"


def profiles(n: int) -> Iterator[ProfileUpsert]:
    for i in range(n):
        yield ProfileUpsert("contacts", key=f"k{i}", attributes={"n": i})


def client_for(transport: Any, **kwargs: Any) -> CampaignClient:
    kwargs.setdefault("retry", RetryPolicy(attempts=3, initial=0.1, jitter=False))
    kwargs.setdefault("max_concurrency", 8)
    kwargs.setdefault("api_key", KEY)
    return CampaignClient(BASE, transport=transport, **kwargs)


# --- secrets ----------------------------------------------------------------------------


async def test_a_malformed_answer_is_a_transport_error_that_holds_no_key(
    api: aioresponses, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """aiohttp's ClientResponseError carries the request headers in its repr."""
    caplog.set_level(logging.DEBUG)
    headers = CIMultiDictProxy(CIMultiDict({"Authorization": f"Bearer {KEY}"}))
    info = aiohttp.RequestInfo(URL(URL_), "POST", headers, URL(URL_))
    for _ in range(15):
        api.post(
            URL_,
            exception=aiohttp.ClientResponseError(info, (), status=400, message="Bad status line"),
        )
    failures = tmp_path / "failed.jsonl"
    async with CampaignClient(BASE, api_key=KEY, retry=RetryPolicy(attempts=3, initial=0.001)) as c:
        with pytest.raises(TransportError) as raised:
            await c.upsert(next(profiles(1)))
        report = await c.bulk_upsert(profiles(4), failures=failures)
    assert report.failed == 4
    assert not report.aborted  # one bad answer is a transient failure, not a reason to stop
    everything = "\n".join(
        [str(raised.value), repr(raised.value), str(raised.value.__cause__), caplog.text]
        + [str(report), json.dumps(report.to_dict()), failures.read_text()]
        + [r.message for r in report.failures]
    )
    assert KEY not in everything
    assert "Bad status line" in str(raised.value)


async def test_a_failing_token_provider_leaks_no_token_and_is_asked_once(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    calls = 0

    async def provider() -> str:
        nonlocal calls
        calls += 1
        await asyncio.sleep(0.01)
        raise RuntimeError("identity provider down")

    transport = FakeTransport()
    async with client_for(transport, api_key=None, token_provider=provider) as client:
        report = await client.bulk_upsert(profiles(50))
        with pytest.raises(TokenProviderError, match="it raised RuntimeError"):
            await client.upsert(next(profiles(1)))
    assert calls == 2  # once for the run's 8 waiting workers, once for the later upsert
    assert transport.sent == []
    assert report.aborted
    assert report.failed == 1  # the record whose worker asked
    assert report.skipped == 7  # the other workers' records waited for it, then the run stopped
    assert report.total == 8  # and nothing more was read


# --- exactly one result per record ------------------------------------------------------------


def test_a_crash_on_one_record_ends_it_and_the_run_without_hanging(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    def encode(profile: ProfileUpsert) -> bytes:
        if profile.key == "k5":
            raise RuntimeError("boom")
        return encode_profile(profile)

    monkeypatch.setattr(records_module, "encode_profile", encode)

    async def main() -> Any:
        async with client_for(FakeTransport(latency=0.01)) as client:
            return await asyncio.wait_for(client.bulk_upsert(profiles(200)), timeout=60)

    report = run_virtual(main())
    assert 6 <= report.total <= 32  # the records read when it crashed
    assert report.aborted
    assert "RuntimeError: boom" in (report.abort_reason or "")
    assert [r.key for r in report.failures if r.status is S.FAILED] == ["k5"]


@pytest.mark.parametrize(
    "raw",
    [
        {"profile-name": "p", "key": 10**5000, "attributes": [{"attribute-name": "a", "val": 1}]},
        {"profile-name": "p", "key": 2**70, "attributes": [{"attribute-name": "a", "val": 1}]},
    ],
)
def test_odd_inputs_are_invalid_not_fatal(raw: dict[str, Any]) -> None:
    async def main() -> Any:
        async with client_for(FakeTransport()) as client:
            return await client.bulk_upsert([raw, *profiles(3)])

    report = run_virtual(main())
    assert (report.invalid, report.applied, report.aborted) == (1, 3, False)


@pytest.mark.parametrize("mode", ["iterate", "complete"])
def test_a_raising_on_result_still_accounts_for_every_record_read(
    tmp_path: Path, mode: str
) -> None:
    """Iterated, the consumer folds each result; completed, the worker that ended it does."""
    read = 0

    def source() -> Iterator[ProfileUpsert]:
        nonlocal read
        for record in profiles(1000):
            read += 1
            yield record

    def on_result(result: RecordResult) -> None:
        if result.index >= 3:  # also for the results folded while the run closes
            raise ValueError("callback bug")

    sink = tmp_path / "results.jsonl"

    async def main() -> Any:
        async with client_for(FakeTransport(latency=0.01)) as client:
            run = client.stream_upsert(source(), on_result=on_result, sink=sink)

            async def consume() -> None:
                async with run:
                    if mode == "complete":
                        await run.complete()
                    async for _ in run:
                        pass

            with pytest.raises(ValueError, match="callback bug"):
                await consume()
            return run.report()

    report = run_virtual(main())
    assert report.total == read
    assert sum(report.counts.values()) == read
    lines = [json.loads(line) for line in sink.read_text().splitlines()]
    assert sorted(line["index"] for line in lines) == list(range(read))  # each once, closed
    assert not (tmp_path / "results.jsonl.partial").exists()


def test_cancelled_twice_while_closing_still_accounts_for_every_record_read() -> None:
    read = 0
    seen: list[RecordResult] = []

    def source() -> Iterator[ProfileUpsert]:
        nonlocal read
        for record in profiles(10_000):
            read += 1
            yield record

    async def main() -> Any:
        async with client_for(FakeTransport(latency=0.05)) as client:
            run = client.stream_upsert(source(), on_result=seen.append)

            async def consume() -> None:
                async with run:
                    async for _ in run:
                        pass

            task = asyncio.ensure_future(consume())
            await asyncio.sleep(0.5)
            task.cancel()
            await asyncio.sleep(0)  # the consumer is now closing the run, awaiting its workers
            task.cancel()
            with pytest.raises(asyncio.CancelledError):
                await task
            return run.report()

    report = run_virtual(main())
    assert 0 < read < 10_000
    assert report.total == read == len(seen)
    assert sorted(r.index for r in seen) == list(range(read))


def test_leaving_a_stream_without_async_with_stops_its_workers(tmp_path: Path) -> None:
    async def main() -> tuple[int, Any]:
        async with client_for(FakeTransport(latency=0.01)) as client:
            run = client.stream_upsert(profiles(1000), sink=tmp_path / "r.jsonl")
            async for result in run:
                if result.index > 10:
                    break
            for _ in range(20):  # a few turns of the loop: no time passes
                await asyncio.sleep(0)
            others = [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]
            return len(others), run.report()

    leftover, report = run_virtual(main())
    assert leftover == 0
    assert report.abort_reason == "cancelled"
    assert (tmp_path / "r.jsonl").exists()


def test_no_extra_reads_from_an_async_input_after_stop() -> None:
    read = 0
    read_at_stop = 0

    async def source() -> AsyncIterator[ProfileUpsert]:
        nonlocal read
        for record in profiles(1000):
            await asyncio.sleep(0.01)  # a slow input: idle workers queue up to read it
            read += 1
            yield record

    async def main() -> Any:
        nonlocal read_at_stop
        async with client_for(FakeTransport(latency=0.001), max_concurrency=16) as client:
            run = client.stream_upsert(source())
            async with run:
                async for _ in run:
                    if not run.stop_requested:
                        read_at_stop = read
                        run.stop()
            return run.report()

    report = run_virtual(main())
    assert report.total == read
    assert read <= read_at_stop + 1  # at most the one read under way


def test_a_failures_file_run_again_into_itself_is_read_first(tmp_path: Path) -> None:
    failures = tmp_path / "failed.jsonl"
    failing = {"k1", "k4", "k7"}
    transport = FakeTransport(
        lambda w, a, h: answer(500, "500", "down") if w["key"] in failing else applied()
    )

    async def first() -> Any:
        async with client_for(transport) as client:
            return await client.bulk_upsert(profiles(10), failures=failures)

    assert run_virtual(first()).failed == 3

    def reread() -> Iterator[dict[str, Any]]:
        with open(failures, encoding="utf-8") as f:
            for line in f:
                yield {k: v for k, v in json.loads(line).items() if not k.startswith("_")}

    failing.clear()  # the API is back

    async def second() -> Any:
        async with client_for(transport) as client:
            return await client.bulk_upsert(reread(), failures=failures)

    report = run_virtual(second())
    assert (report.total, report.applied) == (3, 3)
    assert failures.read_text() == ""  # nothing failed this time


# --- waits ----------------------------------------------------------------------------------


def test_the_run_deadline_cuts_throttle_waits_short() -> None:
    async def main() -> tuple[Any, float]:
        loop = asyncio.get_running_loop()
        async with client_for(FakeTransport(), rate=RateLimit(1, burst=1)) as client:
            start = loop.time()
            report = await client.bulk_upsert(profiles(100), deadline=2.0, concurrency=10)
            return report, loop.time() - start

    report, elapsed = run_virtual(main())
    assert elapsed < 2.5
    assert report.applied <= 3
    assert report.skipped == report.total - report.applied
    assert report.total <= report.applied + 10  # read no further than the workers


def test_stop_cuts_throttle_waits_short() -> None:
    async def main() -> tuple[Any, float]:
        loop = asyncio.get_running_loop()
        async with client_for(FakeTransport(), rate=RateLimit(1, burst=1)) as client:
            start = loop.time()
            run = client.stream_upsert(profiles(100), concurrency=10)
            async with run:
                async for _ in run:
                    run.stop()
            return run.report(), loop.time() - start

    report, elapsed = run_virtual(main())
    assert elapsed < 0.5
    assert report.applied == 1
    assert report.skipped == report.total - 1


def test_the_retry_deadline_counts_from_the_first_send_not_the_queue() -> None:
    """40 workers behind a 2/s throttle: the last record waits ~20 s before its first send."""
    transport = FakeTransport(
        lambda w, attempt, h: answer(500, "500", "x") if attempt == 1 else applied()
    )

    async def main() -> Any:
        async with client_for(
            transport,
            rate=RateLimit(2, burst=1),
            max_concurrency=40,
            retry=RetryPolicy(attempts=3, initial=0.1, jitter=False, deadline=10),
        ) as client:
            return await client.bulk_upsert(profiles(80))

    report = run_virtual(main())
    assert report.applied == 80


async def test_a_huge_retry_after_is_honoured_only_up_to_the_policy_maximum(
    api: aioresponses,
) -> None:
    clock = FakeClock()
    api.post(URL_, status=429, headers={"Retry-After": "86400"}, payload={"code": "429"})
    api.post(URL_, payload={"update-count": 1, "transaction-id": "t"})
    policy = RetryPolicy(maximum=30, jitter=False)
    async with CampaignClient(BASE, api_key=KEY, retry=policy, rate=1e6, clock=clock) as client:
        result = await client.upsert(next(profiles(1)))
    assert result.ok
    assert len(clock.sleeps) == 1
    assert 30 <= clock.sleeps[0] <= 31


async def test_retry_after_with_a_throttle_that_does_not_pause(api: aioresponses) -> None:
    """A custom throttle that cannot pause everyone: the client waits Retry-After itself."""

    class Simple:
        rate = None
        rate_changes = 0
        learned_rate = None

        async def acquire(self) -> float:
            return 0.0

        def try_acquire(self) -> float | None:
            return None

        def ready(self) -> bool:
            return False

        def succeeded(self, sent_at: float) -> None:
            pass

        def throttled(self, sent_at: float, retry_after: float | None) -> bool:
            return False

        def set_rate(self, rate: float | None) -> None:
            pass

    clock = FakeClock()
    api.post(URL_, status=429, headers={"Retry-After": "5"}, payload={"code": "429"})
    api.post(URL_, payload={"update-count": 1, "transaction-id": "t"})
    async with CampaignClient(BASE, api_key=KEY, throttle=Simple(), clock=clock) as client:
        assert (await client.upsert(next(profiles(1)))).ok
    assert clock.sleeps == [5.0]


# --- values ---------------------------------------------------------------------------------


def test_subclasses_of_scalars_are_stored_as_plain_values() -> None:
    class Float(float):
        pass

    class Text(str):
        pass

    profile = ProfileUpsert(
        "p", key=Text("k"), attributes={"a": Float(1.5), "b": Text("x")}, exparam={"e": Float(2)}
    )
    assert [type(a.val) for a in profile.attributes] == [float, str]
    assert type(profile.key) is str
    assert type(profile.exparam["e"]) is float  # type: ignore[index]
    wire = json.loads(encode_profile(profile))
    assert wire["attributes"][0]["val"] == "1.5"
    assert wire["exparam"] == {"e": "2.0"}


@pytest.mark.parametrize(
    "kwargs",
    [{"concurrency": 0}, {"concurrency": 2.5}, {"deadline": 0}, {"max_failures": -1}],
)
def test_bad_bulk_options_are_configuration_errors(kwargs: dict[str, Any]) -> None:
    client = client_for(FakeTransport())
    with pytest.raises(ConfigurationError):
        client.stream_upsert([], **kwargs)


def test_the_failures_file_of_an_open_text_stream() -> None:
    out = io.StringIO()
    transport = FakeTransport(lambda w, a, h: answer(200, "3005", "Invalid Profile ID"))

    async def main() -> Any:
        async with client_for(transport) as client:
            return await client.bulk_upsert(profiles(3), failures=out)

    assert run_virtual(main()).rejected == 3
    assert len(out.getvalue().splitlines()) == 3
