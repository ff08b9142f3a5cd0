"""The throttle's hash in Redis, as `RedisThrottle` talks to it: the client, the four
scripts (``_scripts.py``) called with their arguments, and their replies read.

No policy here: when to read, what to write and how to wait for a lost Redis are the
throttle's. Redis errors propagate.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any
from urllib.parse import SplitResult, urlsplit

import redis.asyncio as aioredis
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import RedisError
from redis.exceptions import TimeoutError as RedisTimeoutError

from .._ratecontrol import RateControl
from .._ratelimit import RateLimit
from ..exceptions import ConfigurationError
from ._scripts import ACQUIRE, EARLY, INIT, READ, WRITE
from ._state import BUCKETS, dump, load, recent_rate

__all__ = ["Reading", "RemoteState"]

#: What a read returns: (Redis's time now, the shared rate state, the recent success rate,
#: successes counted in the current window, sends since the first).
Reading = tuple[float, RateControl, float | None, int, int]


class RemoteState:
    """One throttle's hash, ``key``, through a client made from a URL or given (then not
    closed here). ``where`` names the server without credentials, for messages."""

    def __init__(self, redis: str | aioredis.Redis, key: str, ttl: str) -> None:
        self.owns_client = isinstance(redis, str)
        #: The URL's scheme ('' for a client given), for the hint of `unreachable`.
        self.scheme = ""
        if isinstance(redis, str):
            self.where = shown(redis)
            self.scheme = urlsplit(redis).scheme.lower()
            try:
                self.client = aioredis.Redis.from_url(
                    redis, socket_timeout=5.0, socket_connect_timeout=5.0, health_check_interval=10
                )
            except ValueError as exc:
                raise ConfigurationError(f"not a Redis URL: {self.where} ({exc})") from None
        else:
            self.where = repr(redis)
            self.client = redis
        self.key = key
        self._ttl = ttl
        self._acquire = self.client.register_script(ACQUIRE)
        self._init = self.client.register_script(INIT)
        self._read = self.client.register_script(READ)
        self._write = self.client.register_script(WRITE)
        #: The version of the shared state as last read or written.
        self.version = ""
        #: The fingerprint of the tenant this process sends for ('' not known).
        self.tenant = ""

    async def ping(self) -> None:
        await self.client.ping()

    def unreachable(self, exc: BaseException) -> str:
        """What to say when connecting failed with ``exc``: a hint when TLS looks amiss
        (a plain server never answers a TLS handshake; a TLS server drops plain text)."""
        text = f"cannot reach Redis at {self.where}: {exc}"
        if self.scheme == "rediss" and isinstance(exc, (RedisTimeoutError, TimeoutError)):
            return f"{text} (is the server speaking TLS? rediss:// waits for a TLS handshake)"
        reset = isinstance(exc, (RedisConnectionError, ConnectionError)) and "reset" in str(exc)
        if self.scheme == "redis" and reset:
            return f"{text} (does the server want TLS? then use rediss://)"
        return text

    async def aclose(self) -> None:
        """Close the client if it was made here."""
        if self.owns_client:
            await self.client.aclose()

    async def init(self, limit: RateLimit) -> str:
        """Write the initial state of ``limit`` unless there is one, stamped with `tenant`
        unless it has a tenant; return the tenant it has ('' none)."""
        reply = await self._init(
            keys=[self.key], args=[dump(RateControl(limit)), "-inf", self._ttl, self.tenant]
        )
        return texts(reply)[2]

    async def read(self, limit: RateLimit, successes: Sequence[float] = ()) -> Reading:
        """The shared state (written again if it is gone), read with ``limit``, after adding
        the successful answers to requests sent at ``successes``."""
        for _ in range(2):
            raw = texts(await self._read(keys=[self.key], args=[repr(t) for t in successes]))
            if raw[1]:
                break
            await self.init(limit)  # gone: Redis restarted without its data, or the key expired
        else:
            raise RedisError("the throttle's state vanished as it was written")
        now = float(raw[0])
        ver, state, _okf, ok, _paused, origin, sent, last = raw[1:9]
        self.version = ver
        control = load(state, limit)
        control.origin = float(origin) if origin else None
        buckets = [int(b or 0) for b in raw[9 : 9 + BUCKETS]]
        recent = recent_rate(now, control.origin, int(last) if last else None, buckets)
        return now, control, recent, int(ok or 0), int(sent or 0)

    async def write(self, control: RateControl, limit: RateLimit, *, lowered: bool) -> bool:
        """Write ``control`` if the state is still the version last read (compare-and-set);
        ``lowered``: the rate was decreased, the schedule's bucket is emptied."""
        rate = control.rate
        empty = ""
        if lowered and rate is not None:
            empty = repr(limit.burst_for(rate) / rate)  # a decrease empties the bucket
        paused = control.paused_until
        reply = await self._write(
            keys=[self.key],
            args=[
                self.version,
                dump(control),
                repr(paused) if math.isfinite(paused) else "0",
                repr(control.measured_from),
                empty,
                self._ttl,
            ],
        )
        status, ver = texts(reply)
        if status == "ok":
            self.version = ver
            return True
        return False

    async def acquire(
        self, rate: float | None, burst: int, successes: Sequence[float], horizon: float
    ) -> list[str]:
        """Book a send slot (see `_scripts.ACQUIRE`), adding the successful answers to
        requests sent at ``successes``."""
        reply = await self._acquire(
            keys=[self.key],
            args=[
                "" if rate is None else repr(rate),
                burst,
                self._ttl,
                repr(horizon),
                *(repr(t) for t in successes),
            ],
        )
        return texts(reply)

    async def confirm(self, booked_at: float, slot: float) -> bool:
        """False if the slot at ``slot``, booked at ``booked_at``, is void: a pause covers
        it, or the rate was lowered after it was booked for a time more than `EARLY` after
        that (see ``cut`` in `_scripts`)."""
        paused, cut = await self.client.hmget(self.key, ["paused", "cut"])
        if paused is not None and slot < float(paused):
            return False
        return not (cut is not None and booked_at < float(cut) and slot >= float(cut) + EARLY)


def texts(reply: Any) -> list[str]:
    """A script's reply as text."""
    return [v.decode() if isinstance(v, bytes) else str(v) for v in reply]


def shown(url: str) -> str:
    """``url`` as it may be shown: scheme, host, port and database; no user, password or
    query (``?password=`` is one way redis-py takes a password).

    An ``@`` anywhere before the query, or before a query that leaves no sound host (a
    password with a ``/``, ``?`` or ``#`` in it, unescaped), ends the credentials: what
    follows the last ``@`` is the host."""
    parts = urlsplit(url)
    scheme, sep, rest = url.partition("://")
    if "@" in url and not sep:
        return "(a URL that does not parse)"
    if "@" in rest:
        query_only = "@" not in parts.netloc and "@" not in parts.path
        if not (query_only and _sound(parts) and parts.hostname):
            return shown(f"{scheme}://{rest.rsplit('@', 1)[1]}")
    if not _sound(parts):
        return f"{parts.scheme}://(a URL that does not parse)"
    host = parts.hostname or ""
    port = f":{parts.port}" if parts.port else ""
    if ":" in host:
        host = f"[{host}]"
    return f"{parts.scheme}://{host}{port}{parts.path}"


def _sound(parts: SplitResult) -> bool:
    """The host and the port parse (the port is a number in range)."""
    try:
        parts.hostname  # noqa: B018 - parsing it is the check
        parts.port  # noqa: B018
    except ValueError:
        return False
    return True
