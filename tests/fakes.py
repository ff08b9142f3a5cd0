"""Fakes for tests: a clock that moves only when slept on, and an in-process transport."""

from __future__ import annotations

import asyncio
import json
from collections import Counter
from collections.abc import Callable, Mapping
from typing import Any

from webex_campaign_async import Response


class FakeClock:
    """A `Clock` the test moves: ``time()`` (or ``clock()``) reads it, ``advance(s)`` moves
    it, and ``await sleep(s)`` records ``s`` and moves it, without waiting."""

    def __init__(self, start: float = 1000.0) -> None:
        self.now = start
        self.sleeps: list[float] = []

    def __call__(self) -> float:
        return self.now

    def time(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds

    async def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


class FakeTransport:
    """An in-process transport answering from a function of (wire body, attempt, headers).

    ``answer`` returns a `Response`, or an exception to raise (a `TransportError`). Every
    request is recorded with the loop time it was sent at.
    """

    def __init__(
        self,
        answer: Callable[[dict[str, Any], int, Mapping[str, str]], Response | Exception]
        | None = None,
        *,
        latency: float = 0.0,
    ) -> None:
        self.answer = answer or (lambda body, attempt, headers: applied())
        self.latency = latency
        self.sent: list[tuple[float, dict[str, Any]]] = []
        self.attempts: Counter[str] = Counter()
        self.closed = False

    async def send(
        self, url: Any, headers: Mapping[str, str], body: bytes, timeout: float | None
    ) -> Response:
        wire = json.loads(body)
        self.sent.append((asyncio.get_running_loop().time(), wire))
        label = str(wire.get("key"))
        self.attempts[label] += 1
        if self.latency:
            await asyncio.sleep(self.latency)
        out = self.answer(wire, self.attempts[label], headers)
        if isinstance(out, Exception):
            raise out
        return out

    async def aclose(self) -> None:
        self.closed = True

    def keys_sent(self) -> list[str]:
        return [str(wire.get("key")) for _, wire in self.sent]


def applied(count: int = 1) -> Response:
    return Response(200, {}, json.dumps({"update-count": count, "transaction-id": "tx"}).encode())


def answer(status: int, code: str | None = None, description: str = "", **headers: str) -> Response:
    body = {"code": code, "description": description} if code is not None else {}
    return Response(status, headers, json.dumps(body).encode() if body else b"")
