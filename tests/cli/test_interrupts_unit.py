"""The job's signal handling in process: a signal before the run exists is not lost."""

from __future__ import annotations

import asyncio
import io
import signal

from webex_campaign_async import BulkReport, CampaignClient, ProfileUpsert
from webex_campaign_async.cli._signals import Interrupts

from ..fakes import FakeTransport
from ..vtime import run_virtual


def test_a_signal_before_the_run_exists_stops_it_when_it_starts() -> None:
    err = io.StringIO()
    interrupts = Interrupts(grace=5.0, err=err)
    interrupts(signal.SIGINT)  # while the job loads its journal, say
    transport = FakeTransport()

    async def main() -> BulkReport:
        client = CampaignClient("http://127.0.0.1:9", api_key="k", transport=transport)
        async with client:
            records = (ProfileUpsert("p", key=f"k{i}", attributes={"a": "1"}) for i in range(50))
            run = client.stream_upsert(records)
            consumer = asyncio.ensure_future(run.complete())
            interrupts.attach(run, consumer)
            return await consumer

    report = run_virtual(main())
    assert transport.sent == []  # nothing was sent
    assert report.aborted
    assert "interrupted by SIGINT" in str(report.abort_reason)
    assert "SIGINT: stopping before the job sends anything" in err.getvalue()


def test_a_second_signal_cancels_at_once() -> None:
    interrupts = Interrupts(grace=3600.0, err=io.StringIO())

    async def main() -> bool:
        never: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        client = CampaignClient("http://127.0.0.1:9", api_key="k", transport=FakeTransport())
        async with client:
            run = client.stream_upsert([])
            interrupts.attach(run, never)
            interrupts(signal.SIGTERM)
            assert not never.cancelled()  # the first: graceful
            interrupts(signal.SIGTERM)
            return never.cancelled()

    assert run_virtual(main())
