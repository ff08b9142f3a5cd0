"""Records that end without I/O (invalid ones, an in-process transport that answers at
once) still let the loop run: a deadline, a stop and the caller's own tasks are not held up.

These run on the real loop (a virtual clock does not move while tasks are ready) with
deadlines of a tenth of a second.
"""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import Iterator, Mapping
from typing import Any

from webex_campaign_async import BulkReport, CampaignClient, ProfileUpsert, Response

from .fakes import applied


class _AtOnce:
    """Answers APPLIED without ever suspending."""

    async def send(
        self, url: str, headers: Mapping[str, str], body: bytes, timeout: float | None
    ) -> Response:
        return applied()

    async def aclose(self) -> None:
        pass


def _endless_invalid() -> Iterator[Any]:
    for i in itertools.count():
        yield {"profile-name": "p", "key": f"k{i}"}  # no attributes: INVALID


def _endless_valid() -> Iterator[ProfileUpsert]:
    for i in itertools.count():
        yield ProfileUpsert("p", key=f"k{i}", attributes={"a": "1"})


async def _run(records: Iterator[Any], **options: Any) -> BulkReport:
    async with CampaignClient("http://127.0.0.1:9", api_key="k", transport=_AtOnce()) as c:
        return await c.bulk_upsert(records, **options)


def test_a_deadline_ends_an_endless_input_of_invalid_records() -> None:
    report = asyncio.run(_run(_endless_invalid(), deadline=0.1))
    assert report.aborted
    assert "deadline" in str(report.abort_reason)
    assert report.invalid == report.total > 0


def test_a_deadline_ends_an_endless_input_answered_at_once() -> None:
    report = asyncio.run(_run(_endless_valid(), deadline=0.1))
    assert report.aborted
    assert report.applied == report.total > 0


def test_the_callers_tasks_run_while_records_end_without_io() -> None:
    async def main() -> tuple[BulkReport, int]:
        ticks = 0
        run_task = asyncio.ensure_future(_run(_endless_invalid(), deadline=0.1))

        async def ticker() -> None:
            nonlocal ticks
            while not run_task.done():
                ticks += 1
                await asyncio.sleep(0.01)

        tick_task = asyncio.ensure_future(ticker())
        report = await run_task
        await tick_task
        return report, ticks

    report, ticks = asyncio.run(main())
    assert report.aborted
    assert ticks >= 3  # a progress display would have been drawn, not frozen
