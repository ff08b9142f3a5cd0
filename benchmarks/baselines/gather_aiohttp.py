"""Baseline: ``asyncio.gather`` over aiohttp, a semaphore bounding concurrency, no rate limiter.

One task per record, each holding a semaphore slot through its attempts and sleeps.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable
from typing import Any

import aiohttp

from ..harness.workload import Row, Settings, Tally, Target, wire_body
from ._retry import upsert_with_retries

ERRORS = (aiohttp.ClientError, asyncio.TimeoutError)


async def run(target: Target, records: Iterable[Row], settings: Settings) -> Tally:
    assert target.url is not None
    url = target.url
    tally = Tally()
    semaphore = asyncio.Semaphore(settings.concurrency)
    headers = {"Authorization": f"Bearer {target.api_key}"}
    timeout = aiohttp.ClientTimeout(total=settings.timeout)
    async with aiohttp.ClientSession(headers=headers, timeout=timeout) as session:

        async def send(body: dict[str, Any]) -> tuple[int, bytes]:
            async with session.post(url, json=body) as response:
                return response.status, await response.read()

        async def upsert(row: Row) -> None:
            async with semaphore:
                if settings.out_of_time():
                    return
                await upsert_with_retries(send, wire_body(row), settings, tally, ERRORS)

        await asyncio.gather(*(upsert(row) for row in records))
    return tally
