"""Baseline: a sequential loop, one request at a time, as a quick script does (aiohttp).

One keep-alive session, one record after the other; the shared fixed-sleep retry loop.
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
    headers = {"Authorization": f"Bearer {target.api_key}"}
    timeout = aiohttp.ClientTimeout(total=settings.timeout)
    async with aiohttp.ClientSession(headers=headers, timeout=timeout) as session:

        async def send(body: dict[str, Any]) -> tuple[int, bytes]:
            async with session.post(url, json=body) as response:
                return response.status, await response.read()

        for row in records:
            if settings.out_of_time():
                break
            await upsert_with_retries(send, wire_body(row), settings, tally, ERRORS)
    return tally
