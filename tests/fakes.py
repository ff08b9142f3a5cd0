"""Fakes for client tests: a clock that moves only when slept on."""

from __future__ import annotations


class FakeClock:
    """``clock()`` reads the fake time; ``await sleep(s)`` records ``s`` and moves time."""

    def __init__(self, start: float = 1000.0) -> None:
        self.now = start
        self.sleeps: list[float] = []

    def __call__(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds
