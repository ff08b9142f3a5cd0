"""An input that hangs or never ends: a deadline, stop() and cancellation still end the run,
and records never read are not records (the report counts what was read)."""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import AsyncIterator, Iterator
from typing import Any

import pytest

from webex_campaign_async import CampaignClient, ProfileUpsert, RecordResult

from .fakes import FakeTransport
from .vtime import run_virtual


def record(i: int) -> ProfileUpsert:
    return ProfileUpsert("p", key=f"k{i}", attributes={"a": "1"})


async def hanging(n: int) -> AsyncIterator[ProfileUpsert]:
    """``n`` records, then it waits for ever (a feed that went quiet)."""
    for i in range(n):
        yield record(i)
    await asyncio.Event().wait()
    yield record(n)  # pragma: no cover - never reached


def client() -> CampaignClient:
    return CampaignClient("http://127.0.0.1:9", api_key="k", transport=FakeTransport(latency=0.01))


@pytest.mark.parametrize("how", ["deadline", "stop", "cancel"])
def test_a_hanging_async_input_does_not_hold_the_run_up(how: str) -> None:
    seen: list[RecordResult] = []

    async def main() -> Any:
        async with client() as c:
            run = c.stream_upsert(
                hanging(5), on_result=seen.append, deadline=2.0 if how == "deadline" else None
            )
            task = asyncio.ensure_future(run.complete())
            if how != "deadline":
                await asyncio.sleep(2.0)
                run.stop() if how == "stop" else task.cancel()
            await asyncio.gather(task, return_exceptions=True)
            return run.report(), asyncio.get_running_loop().time()

    report, ended_at = run_virtual(main())
    assert ended_at < 3.0
    assert report.total == len(seen) == report.applied == 5  # read, sent, applied
    assert report.aborted


def test_a_deadline_never_reads_an_endless_input_to_its_end() -> None:
    read = 0

    def endless() -> Iterator[ProfileUpsert]:
        nonlocal read
        for i in itertools.count():
            read += 1
            yield record(i)

    async def main() -> Any:
        async with client() as c:
            return await c.bulk_upsert(endless(), deadline=1.0, concurrency=8)

    report = run_virtual(main())
    assert report.aborted
    assert "deadline" in (report.abort_reason or "")
    assert report.total == read < 2000  # what was read: about 1 s at 8 x 100/s
    assert report.skipped == report.total - report.applied
