"""`EmulatorTransport`: the emulator in process, no sockets, for ``CampaignClient(transport=...)``.

It runs the same `EmulatorCore` as the server and plays its `Decision` with
``asyncio.sleep`` (instant on a virtual-time loop): latency and slowness are slept, a drop
raises `ConnectionLostError`, an answer later than ``timeout`` raises `RequestTimeoutError` after
``timeout`` seconds (a slow write is applied all the same).
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Mapping
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from .. import Response
from ..exceptions import ConnectionLostError, RequestTimeoutError
from ._config import EmulatorConfig
from ._core import EmulatorCore

if TYPE_CHECKING:
    from ._server import Emulator

__all__ = ["EmulatorTransport"]


class EmulatorTransport:
    """A transport answering from an `EmulatorCore` in process.

    ``target`` is a core, an `Emulator` (its core), an `EmulatorConfig`, or None (a default
    core). ``clock`` stamps requests (default: the core's clock, itself the
    running loop's time by default); ``sleep`` waits (default ``asyncio.sleep``).
    """

    def __init__(
        self,
        target: EmulatorCore | Emulator | EmulatorConfig | None = None,
        *,
        clock: Callable[[], float] | None = None,
        sleep: Callable[[float], Awaitable[Any]] | None = None,
    ) -> None:
        if target is None or isinstance(target, EmulatorConfig):
            core = EmulatorCore(target if target is not None else EmulatorConfig())
        elif isinstance(target, EmulatorCore):
            core = target
        else:
            core = target.core
        self.core = core
        self._clock = clock or core.clock
        self._sleep = sleep or asyncio.sleep
        self._paths: dict[str, str] = {}

    def __repr__(self) -> str:
        return f"<EmulatorTransport {self.core.config.upsert_path}>"

    @property
    def api_key(self) -> str:
        """A valid API key of the core."""
        return self.core.api_key

    async def send(
        self, url: str, headers: Mapping[str, str], body: bytes, timeout: float | None
    ) -> Response:
        """Answer one POST as the emulator would, or raise as a dropped connection would."""
        path = self._paths.get(url)
        if path is None:
            path = self._paths[url] = urlsplit(url).path
        decision = self.core.handle("POST", path, headers, body, self._clock())
        delay = decision.delay
        if timeout is not None and delay > timeout:
            await self._sleep(timeout)
            raise RequestTimeoutError(f"no response within {timeout} s")
        if delay > 0:
            await self._sleep(delay)
        if decision.dropped:
            raise ConnectionLostError(
                "ServerDisconnectedError: the emulator dropped the connection"
            )
        return Response(decision.status, decision.headers, decision.body)

    async def aclose(self) -> None:
        """Nothing to release: the core and its state stay usable (clients may share it)."""
