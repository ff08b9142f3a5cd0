"""The emulator served over HTTP: `create_app` (aiohttp.web) and the `Emulator` context manager.

Besides the upsert path, admin routes without auth (loopback only): ``GET /_emulator/stats``
(``?keys=1`` adds requests per key, ``?log=1`` the fault log), ``POST /_emulator/reset``,
``GET /_emulator/profiles/{profile_name}``, ``POST /_emulator/tokens``
(``{"ttl": s, "max-requests": n}``), ``GET /_emulator/faults`` and ``POST /_emulator/rate``
(``{"rate": r}``: every tenant's throttle from now on, for benchmarks).
"""

from __future__ import annotations

import asyncio
import socket
import ssl
from collections.abc import Callable
from types import TracebackType
from typing import Any

import attrs
from aiohttp import web

from ._config import DEFAULT_TENANT, EmulatorConfig
from ._core import EmulatorCore, default_clock
from ._json import dumps, loads
from ._stats import Stats
from ._store import ProfileStore

__all__ = ["CORE_KEY", "Emulator", "create_app"]

#: Where `create_app` keeps its core: ``app[CORE_KEY]``.
CORE_KEY = web.AppKey("webex_campaign_emulator_core", EmulatorCore)

_REASONS = {499: "Request Failed"}
_TRUE = frozenset({"1", "true", "yes", "on"})


#: Bytes asked of the socket per read: asyncio's 256 KiB buffer, allocated for every read,
#: is above glibc's mmap threshold and costs each request system calls and a page fault
#: (the client's transport does the same; the emulator does not import the client).
READ_SIZE = 64 * 1024


def _json(obj: Any, status: int = 200) -> web.Response:
    return web.Response(body=dumps(obj), status=status, content_type="application/json")


def _flag(request: web.Request, name: str) -> bool:
    return request.query.get(name, "").lower() in _TRUE


def create_app(core: EmulatorCore) -> web.Application:
    """An aiohttp application serving ``core``: the upsert path, the admin routes, 404s."""
    app = web.Application()
    app[CORE_KEY] = core
    handle = core.handle
    clock = core.clock
    sleep = asyncio.sleep

    async def api(request: web.Request) -> web.StreamResponse:
        transport = request.transport
        if getattr(transport, "max_size", 0) > READ_SIZE:  # once per connection
            transport.max_size = READ_SIZE  # type: ignore[union-attr]  # see READ_SIZE
        body = await request.read()
        decision = handle(request.method, request.path, request.headers, body, clock())
        delay = decision.latency + decision.slow
        if delay > 0:
            await sleep(delay)
        if decision.drop_before or decision.drop_after:
            transport = request.transport
            if transport is not None:
                transport.close()
            # Never written: the transport is closed, aiohttp sees a client gone away.
            return web.Response(status=500)
        status = decision.status
        return web.Response(
            status=status, body=decision.body, headers=decision.headers, reason=_REASONS.get(status)
        )

    async def stats(request: web.Request) -> web.Response:
        return _json(core.stats.to_dict(keys=_flag(request, "keys"), log=_flag(request, "log")))

    async def faults(request: web.Request) -> web.Response:
        return _json({"fault_log": [event.to_dict() for event in core.stats.fault_log]})

    async def reset(request: web.Request) -> web.Response:
        core.reset()
        return _json({"reset": True})

    async def profiles(request: web.Request) -> web.Response:
        name = request.match_info["profile_name"]
        rows = core.store.profiles(name)
        return _json({"profile-name": name, "count": len(rows), "profiles": rows})

    async def tokens(request: web.Request) -> web.Response:
        raw = await request.read()
        try:
            params = loads(raw) if raw.strip() else {}
        except ValueError:
            return _json({"error": "the body must be a JSON object"}, 400)
        if not isinstance(params, dict):
            return _json({"error": "the body must be a JSON object"}, 400)
        ttl = params.get("ttl")
        max_requests = params.get("max-requests")
        tenant = params.get("tenant", DEFAULT_TENANT)
        if ttl is not None and (isinstance(ttl, bool) or not isinstance(ttl, (int, float))):
            return _json({"error": "ttl must be a number of seconds"}, 400)
        if max_requests is not None and (
            isinstance(max_requests, bool) or not isinstance(max_requests, int)
        ):
            return _json({"error": "max-requests must be an integer"}, 400)
        if not isinstance(tenant, str):
            return _json({"error": "tenant must be a string"}, 400)
        try:
            token = core.issue_token(ttl, max_requests, tenant)
        except ValueError as exc:
            return _json({"error": str(exc)}, 400)
        return _json({"token": token, "ttl": ttl, "max-requests": max_requests, "tenant": tenant})

    async def rate(request: web.Request) -> web.Response:
        raw = await request.read()
        try:
            params = loads(raw) if raw.strip() else {}
        except ValueError:
            params = None
        value = params["rate"] if isinstance(params, dict) and "rate" in params else "missing"
        if value is not None and (isinstance(value, bool) or not isinstance(value, (int, float))):
            return _json({"error": 'the body must be {"rate": <requests per second or null>}'}, 400)
        try:
            core.set_rate(value, clock())
        except ValueError as exc:
            return _json({"error": str(exc)}, 400)
        return _json({"rate": value})

    router = app.router
    router.add_get("/_emulator/stats", stats)
    router.add_get("/_emulator/faults", faults)
    router.add_post("/_emulator/reset", reset)
    router.add_get("/_emulator/profiles/{profile_name}", profiles)
    router.add_post("/_emulator/tokens", tokens)
    router.add_post("/_emulator/rate", rate)
    router.add_route("*", core.config.upsert_path, api)
    router.add_route("*", "/{tail:.*}", api)  # every other path: the core answers 404
    return app


def _listen(host: str, port: int) -> socket.socket:
    family, kind, proto, _, address = socket.getaddrinfo(
        host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE
    )[0]
    sock = socket.socket(family, kind, proto)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(address)
    except BaseException:
        sock.close()
        raise
    return sock


class Emulator:
    """The emulated API on a loopback port, as an async context manager.

    ::

        async with Emulator(rate=50, faults=Faults(p500=0.01)) as emu:
            async with CampaignClient(emu.base_url, api_key=emu.api_key) as client:
                await client.upsert(profile)
            assert emu.store.get("customers", "C-1") == {"firstname": "Matt"}

    ``config`` is an `EmulatorConfig`; keyword ``overrides`` replace its fields. ``clock``
    (default: the running loop's time) stamps every request. ``ssl_context`` (a server
    context, say from ``trustme``) serves HTTPS instead of plain HTTP.
    """

    def __init__(
        self,
        config: EmulatorConfig | None = None,
        *,
        clock: Callable[[], float] | None = None,
        ssl_context: ssl.SSLContext | None = None,
        **overrides: Any,
    ) -> None:
        config = config if config is not None else EmulatorConfig()
        if overrides:
            config = attrs.evolve(config, **overrides)
        self.core = EmulatorCore(config, clock or default_clock)
        self._ssl_context = ssl_context
        self._runner: web.AppRunner | None = None
        self._base_url: str | None = None
        self._port: int | None = None

    def __repr__(self) -> str:
        where = self._base_url or "not serving"
        return f"<Emulator {where}>"

    # --- what a test reads -----------------------------------------------------------------

    @property
    def config(self) -> EmulatorConfig:
        """The configuration served."""
        return self.core.config

    @property
    def base_url(self) -> str:
        """``http://127.0.0.1:<port>`` (``https`` with an ``ssl_context``): for the client."""
        if self._base_url is None:
            raise RuntimeError("the emulator is not serving: use 'async with Emulator()'")
        return self._base_url

    @property
    def port(self) -> int:
        """The port served on."""
        if self._port is None:
            raise RuntimeError("the emulator is not serving: use 'async with Emulator()'")
        return self._port

    @property
    def url(self) -> str:
        """The full URL of the upsert path."""
        return self.base_url + self.config.upsert_path

    @property
    def api_key(self) -> str:
        """A valid API key (generated unless configured)."""
        return self.core.api_key

    @property
    def store(self) -> ProfileStore:
        """The profile lists."""
        return self.core.store

    @property
    def stats(self) -> Stats:
        """The request statistics (live)."""
        return self.core.stats

    def profile(self, profile_name: str, key: str) -> dict[str, str] | None:
        """Shortcut for ``store.get(profile_name, key)``."""
        return self.core.store.get(profile_name, key)

    def issue_token(
        self,
        ttl: float | None = None,
        max_requests: int | None = None,
        tenant: str = DEFAULT_TENANT,
    ) -> str:
        """A new access token, expiring ``ttl`` seconds from now and/or after ``max_requests``."""
        return self.core.issue_token(ttl, max_requests, tenant)

    def reset(self) -> None:
        """Forget every profile and statistic (keys and tokens stay)."""
        self.core.reset()

    # --- lifecycle -----------------------------------------------------------------------

    async def start(self) -> None:
        """Start serving (`__aenter__` does this)."""
        if self._runner is not None:
            raise RuntimeError("the emulator is already serving")
        config = self.config
        runner = web.AppRunner(
            create_app(self.core),
            access_log=None,
            handle_signals=False,
            # aiohttp reads 0 as "wait forever": keep a tiny positive timeout instead
            shutdown_timeout=max(config.shutdown_timeout, 0.001),
        )
        await runner.setup()
        try:
            sock = _listen(config.host, config.port)
            site = web.SockSite(runner, sock, ssl_context=self._ssl_context)
            await site.start()
        except BaseException:
            await runner.cleanup()
            raise
        self._runner = runner
        host, port = sock.getsockname()[:2]
        self._port = port
        shown = f"[{host}]" if ":" in host else host
        scheme = "https" if self._ssl_context is not None else "http"
        self._base_url = f"{scheme}://{shown}:{port}"
        self.core.start(self.core.clock())

    async def aclose(self) -> None:
        """Stop serving; answers still delayed get ``shutdown_timeout`` seconds."""
        runner, self._runner = self._runner, None
        self._base_url = self._port = None
        if runner is not None:
            await runner.cleanup()

    async def __aenter__(self) -> Emulator:
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()
