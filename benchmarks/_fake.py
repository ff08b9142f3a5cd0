"""A transport that answers every request at once, without a network: the library alone."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from webex_campaign_async import ProfileUpsert, Response

_APPLIED = Response(
    200, {}, b'{"update-count": 1, "transaction-id": "4f1c2a9e-0b7d-4e21-9c55-3a8e1f6b2d70"}'
)


class InstantTransport:
    """Answers 200 / update-count 1 to everything; counts requests."""

    def __init__(self) -> None:
        self.requests = 0

    async def send(
        self, url: Any, headers: Mapping[str, str], body: bytes, timeout: float | None
    ) -> Response:
        self.requests += 1
        return _APPLIED

    async def aclose(self) -> None:
        pass


def profiles(n: int, attributes: int = 10) -> Iterator[ProfileUpsert]:
    """``n`` distinct profile upserts of ``attributes`` attributes, built lazily."""
    names = [f"attr{j}" for j in range(attributes)]
    for i in range(n):
        yield ProfileUpsert(
            "contacts", key=f"c-{i:08d}", attributes={name: f"v{i}-{name}" for name in names}
        )
