"""Shared fixtures."""

from __future__ import annotations

import inspect
from collections.abc import Iterator
from types import SimpleNamespace
from typing import Any

import aioresponses.core
import pytest
from aiohttp import ClientResponse
from aioresponses import aioresponses as _aioresponses


class _ClientResponseWithWriter(ClientResponse):
    """aiohttp 3.14 requires ``stream_writer``; aioresponses 0.7.9 does not pass it yet
    (pnuckowski/aioresponses#289). A finished request only reads its ``output_size``."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("stream_writer", SimpleNamespace(output_size=0))
        super().__init__(*args, **kwargs)


_NEEDS_SHIM = "stream_writer" in inspect.signature(ClientResponse.__init__).parameters


@pytest.fixture
def api(monkeypatch: pytest.MonkeyPatch) -> Iterator[_aioresponses]:
    """aioresponses, patched for aiohttp >= 3.14 until it catches up."""
    if _NEEDS_SHIM:
        monkeypatch.setattr(aioresponses.core, "ClientResponse", _ClientResponseWithWriter)
    with _aioresponses() as mocked:
        yield mocked
