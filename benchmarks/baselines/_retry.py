"""The retry loop the baselines share: read the body, retry 429/5xx/errors after a fixed sleep.

This is the usual hand-rolled version: a fixed wait (no backoff, no jitter, no
``Retry-After``), a bounded number of attempts, success only with update-count >= 1.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable
from typing import Any

from ..harness.workload import Settings, Tally

#: Sends one JSON body; returns (HTTP status, body bytes).
Send = Callable[[dict[str, Any]], Awaitable[tuple[int, bytes]]]


def applied(status: int, body: bytes) -> bool:
    """HTTP 200 with update-count >= 1 (the API reports errors inside 200s too)."""
    if status != 200:
        return False
    try:
        answer = json.loads(body)
    except ValueError:
        return False
    count = answer.get("update-count", 0) if isinstance(answer, dict) else 0
    return isinstance(count, int) and count >= 1


def transient(status: int) -> bool:
    """Worth sending again: throttled, or a server-side failure."""
    return status in (429, 499) or status >= 500


async def upsert_with_retries(
    send: Send,
    body: dict[str, Any],
    settings: Settings,
    tally: Tally,
    errors: tuple[type[BaseException], ...],
) -> None:
    """Send ``body`` until applied, refused for good, or out of attempts; count the record."""
    tally.attempted += 1
    last = "no attempt"
    for attempt in range(settings.attempts):
        if attempt:
            await asyncio.sleep(settings.retry_sleep)
        tally.requests += 1
        try:
            status, answer = await send(body)
        except errors as exc:
            last = type(exc).__name__
            continue  # connection dropped or timed out: try again
        tally.throttled += status == 429
        if applied(status, answer):
            tally.applied += 1
            return
        last = f"HTTP {status}"
        if not transient(status):
            break
    tally.failed(f"{last}, after {attempt + 1} attempts")
