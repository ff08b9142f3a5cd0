"""pytest plugin: the ``campaign_emulator`` fixture, a running `Emulator` for each test.

Configure it per test with ``@pytest.mark.campaign_emulator(config=None, **overrides)``
(an `EmulatorConfig` and/or its fields). Needs pytest-asyncio (or another async plugin).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest

from ._server import Emulator

try:
    from pytest_asyncio import fixture as _async_fixture
except ImportError:  # pragma: no cover - without pytest-asyncio, another async plugin runs it
    _async_fixture = pytest.fixture  # type: ignore[assignment]

__all__ = ["campaign_emulator", "pytest_configure"]

MARKER = "campaign_emulator"


def pytest_configure(config: pytest.Config) -> None:
    """Register the ``campaign_emulator`` marker (so ``--strict-markers`` accepts it)."""
    config.addinivalue_line(
        "markers",
        f"{MARKER}(config=None, **overrides): configure the campaign_emulator fixture "
        "with an EmulatorConfig and/or its fields",
    )


@_async_fixture
async def campaign_emulator(request: pytest.FixtureRequest) -> AsyncIterator[Emulator]:
    """A served `Emulator`: ``base_url``, ``api_key``, ``store``, ``stats``, ``reset()``."""
    marker = request.node.get_closest_marker(MARKER)
    args: tuple[Any, ...] = marker.args if marker is not None else ()
    overrides: dict[str, Any] = dict(marker.kwargs) if marker is not None else {}
    config = overrides.pop("config", args[0] if args else None)
    async with Emulator(config, **overrides) as emulator:
        yield emulator
