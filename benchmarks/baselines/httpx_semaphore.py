"""Baseline: ``httpx.AsyncClient`` with a semaphore, no rate limiter.

httpx's default pool (100 connections, 20 kept alive) is kept: on this machine, sizing it
to the concurrency (64 kept alive) made httpx 1.3-4x slower, so the default is the fair one.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable
from typing import Any

import httpx

from ..harness.workload import Row, Settings, Tally, Target, wire_body
from ._retry import upsert_with_retries

ERRORS = (httpx.TransportError,)


async def run(target: Target, records: Iterable[Row], settings: Settings) -> Tally:
    assert target.url is not None
    url = target.url
    tally = Tally()
    semaphore = asyncio.Semaphore(settings.concurrency)
    headers = {"Authorization": f"Bearer {target.api_key}"}
    async with httpx.AsyncClient(headers=headers, timeout=settings.timeout) as client:

        async def send(body: dict[str, Any]) -> tuple[int, bytes]:
            response = await client.post(url, json=body)
            return response.status_code, response.content

        async def upsert(row: Row) -> None:
            async with semaphore:
                if settings.out_of_time():
                    return
                await upsert_with_retries(send, wire_body(row), settings, tally, ERRORS)

        await asyncio.gather(*(upsert(row) for row in records))
    return tally
