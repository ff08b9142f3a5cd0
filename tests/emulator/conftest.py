"""Fixtures of the emulator's conformance tests: the plugin's fixture, a session, helpers."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Mapping
from typing import Any

import aiohttp
import pytest

from webex_campaign_async.emulator import Emulator
from webex_campaign_async.emulator._pytest_plugin import (  # the plugin, as users get it
    campaign_emulator,
    pytest_configure,
)

from ..fakes import FakeClock

__all__ = ["Answer", "FakeClock", "campaign_emulator", "post", "pytest_configure", "upsert_body"]


class Answer:
    """One HTTP answer: status, headers, raw body, and the JSON body when it is JSON."""

    def __init__(self, status: int, headers: Mapping[str, str], body: bytes) -> None:
        self.status = status
        self.headers = headers
        self.body = body
        try:
            self.json: Any = json.loads(body)
        except ValueError:
            self.json = None

    @property
    def code(self) -> str | None:
        return self.json.get("code") if isinstance(self.json, dict) else None

    @property
    def update_count(self) -> int | None:
        return self.json.get("update-count") if isinstance(self.json, dict) else None

    def __repr__(self) -> str:
        return f"<Answer {self.status} {self.body[:120]!r}>"


def upsert_body(
    key: str | None = "K-1", profile_name: str = "contacts", **fields: Any
) -> dict[str, Any]:
    """A valid request body; ``fields`` use wire names with underscores (update_link)."""
    body: dict[str, Any] = {"profile-name": profile_name}
    if key is not None:
        body["key"] = key
    body["attributes"] = [{"attribute-name": "firstname", "val": "Matt"}]
    for name, value in fields.items():
        body[name.replace("_", "-")] = value
    return body


async def post(
    session: aiohttp.ClientSession,
    emulator: Emulator,
    body: Any = None,
    *,
    key: str | None = None,
    headers: Mapping[str, str] | None = None,
    raw: bytes | None = None,
    method: str = "POST",
    path: str | None = None,
    content_type: str | None = "application/json",
) -> Answer:
    """Send one request to the emulator with plain aiohttp (the API key unless ``headers``).

    ``content_type`` None sends no Content-Type header at all.
    """
    if headers is None:
        headers = {"Authorization": f"Bearer {key or emulator.api_key}"}
    data = raw if raw is not None else (None if body is None else aiohttp_json(body))
    url = emulator.base_url + (path if path is not None else emulator.config.upsert_path)
    sent = dict(headers)
    if content_type is not None:
        sent = {"Content-Type": content_type, **sent}
    async with session.request(
        method, url, data=data, headers=sent, skip_auto_headers=("Content-Type",)
    ) as response:
        return Answer(response.status, response.headers, await response.read())


def aiohttp_json(body: Any) -> bytes:
    return json.dumps(body).encode()


@pytest.fixture
async def session() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as client_session:
        yield client_session
