"""`RedisThrottle`: one throttle for every process and host of a tenant, kept in Redis.

Each process runs the same rate law (`RateControl`) on the state it reads from Redis and
writes it back compare-and-set; each send takes its slot from one GCRA schedule in Redis.
Every time is Redis's: hosts with skewed clocks share one schedule. The calls to Redis are
`RemoteState`'s (``_remote.py``); when to make them, and how to wait for a lost Redis, are
decided here.
"""

from __future__ import annotations

import asyncio
import logging
import math
from collections.abc import Awaitable, Callable
from types import TracebackType
from typing import Any

import attrs
import redis.asyncio as aioredis
from redis.exceptions import RedisError

from .._ratecontrol import RateControl
from .._ratelimit import RateLimit
from ..exceptions import ConfigurationError
from ._outage import Outage
from ._remote import RemoteState
from ._scripts import EARLY
from ._state import tenant_name

__all__ = ["RedisThrottle"]

logger = logging.getLogger("webex_campaign_async")

#: Seconds between two reads of the shared state by one process (the climb moves on).
SYNC_EVERY = 0.1
#: Seconds ahead a send slot is booked at most: a slot further ahead is asked for again
#: later, at the rate of then (a rate that rose meanwhile is not held back by old bookings).
HORIZON = 0.5
#: Longest wait between two attempts to reach a Redis that went away.
RECONNECT_CAP = 2.0
_LOST = (RedisError, ConnectionError, OSError)


class RedisThrottle:
    """A `Throttle` shared through Redis by every process that uses the same ``name``.

    ``redis`` is a URL (``redis://``, ``rediss://`` for TLS, a password as
    ``redis://:password@host:6379/0``) or a ``redis.asyncio.Redis`` client (not closed
    here). ``rate`` is a ceiling in requests per second or a `RateLimit`, as for
    `AdaptiveThrottle`. The ceiling is shared: the first process to use ``name`` writes
    it (with the rest of the state), a process that comes later with another ``rate``
    takes the shared one and logs a warning once, and `set_rate` changes it for all.
    ``RateLimit``'s other settings (burst, floor, decrease, climb, cooldown) are each
    process's own: give every process the same. ``RedisThrottle.for_tenant(redis,
    base_url, key)`` names it from the tenant (a hash: the key never reaches Redis).

    Shared: the ceiling, the GCRA schedule every send takes its slot from (the rate and
    the burst hold for all processes together), the learned limit and the climb (a 429 in
    any process lowers the rate for all, once per congestion event), and a ``Retry-After``
    pause (every process waits until the same instant, then resumes paced).

    Redis unreachable at start is a `ConfigurationError` (``async with`` or `connect` says
    so at once). Lost later, sending waits and reconnects with backoff, with one warning
    when Redis is lost and one when it is back (``_outage.py``): no record is lost, and no
    process guesses a share of the tenant's rate meanwhile.
    """

    def __init__(
        self,
        redis: str | aioredis.Redis,
        *,
        name: str,
        rate: float | RateLimit | None = None,
        ttl: float = 3600.0,
        prefix: str = "webex-campaign",
        clock: Callable[[], float] | None = None,
        sleep: Callable[[float], Awaitable[object]] | None = None,
    ) -> None:
        if not isinstance(name, str) or not name or "}" in name:
            raise ConfigurationError(f"name must be a non-empty string without '}}', got {name!r}")
        if not (isinstance(ttl, (int, float)) and math.isfinite(ttl) and ttl >= 1):
            raise ConfigurationError(f"ttl must be a finite number of seconds >= 1, got {ttl!r}")
        self._limit = rate if isinstance(rate, RateLimit) else RateLimit(rate)
        # one hash slot: Redis Cluster keeps the key on one node
        self._remote = RemoteState(redis, f"{prefix}:{{{name}}}", str(int(ttl)))
        self._where = self._remote.where
        self._clock = clock
        self._sleep = sleep or asyncio.sleep
        self._control = RateControl(self._limit)  # the shared state, as last read
        self._rate: float | None = self._control.rate
        self._changes = 0
        self._synced_at = -math.inf
        self._syncing: asyncio.Task[None] | None = None
        self._connected = False
        self._outage = Outage(self._where, self._local, logger)
        self._told_ceiling = False
        self._ok: list[float] = []  # send times of successes not yet added to the shared count
        self._tasks: set[asyncio.Task[None]] = set()
        self._late: set[asyncio.Future[bool]] = set()  # checks of slots that went anyway

    @classmethod
    def for_tenant(
        cls,
        redis: str | aioredis.Redis,
        base_url: str,
        credential: str,
        *,
        name: str | None = None,
        **options: Any,
    ) -> RedisThrottle:
        """A throttle for one tenant, named from the base URL and a hash of its key or token
        (or ``name``). That hash is kept with the shared state: a process of another tenant
        is refused the name (`ConfigurationError` on connecting)."""
        fingerprint = tenant_name(base_url, credential)
        throttle = cls(redis, name=fingerprint if name is None else name, **options)
        throttle._remote.tenant = fingerprint
        return throttle

    def __repr__(self) -> str:
        return f"<RedisThrottle {self._remote.key} at {self._where} rate={self._rate!r}>"

    # --- lifetime ------------------------------------------------------------------------------

    async def __aenter__(self) -> RedisThrottle:
        await self.connect()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()

    async def connect(self) -> None:
        """Reach Redis and read (or create) the shared state; `ConfigurationError` if not."""
        try:
            await self._remote.ping()
            tenant = await self._remote.init(self._limit)
            await self._sync()
        except _LOST as exc:
            raise ConfigurationError(self._remote.unreachable(exc)) from None
        if self._remote.tenant and tenant != self._remote.tenant:
            raise ConfigurationError(
                f"the throttle {self._remote.key} at {self._where} is another tenant's (same "
                "name, another base URL or key): give each tenant its own name, or let "
                "RedisThrottle.for_tenant derive it"
            )
        self._connected = True
        shared, mine = (
            f"{r:g}/s" if r else "none" for r in (self._control.ceiling, self._limit.rate)
        )
        if shared != mine and not self._told_ceiling:
            self._told_ceiling = True
            logger.warning(
                "the shared throttle %s has the rate %s, not this process's %s: the shared "
                "one holds (the first process's; set_rate changes it for every process)",
                self._remote.key, shared, mine,
            )  # fmt: skip

    async def aclose(self) -> None:
        """Finish the pending writes; close the client if it was made from a URL."""
        if self._tasks or self._late:
            await asyncio.gather(*self._tasks, *self._late, return_exceptions=True)
        await self._remote.aclose()

    def _local(self) -> float:
        return self._clock() if self._clock is not None else asyncio.get_running_loop().time()

    # --- the shared state ----------------------------------------------------------------------

    async def _sync(self) -> None:
        """Read the shared state and move the climb on (locally: a re-anchored climb is the
        same for every process, computed from the same state and the same success rate)."""
        self._synced_at = self._local()
        now, control, recent, _, _ = await self._remote.read(self._seed())
        control.tick(now, recent)
        self._adopt(control)

    def _sync_soon(self) -> None:
        """One background sync at a time per process."""
        if self._syncing is None or self._syncing.done():
            self._synced_at = self._local()
            self._syncing = self._spawn(self._sync)

    def _seed(self) -> RateLimit:
        """This process's settings with the shared ceiling as last read: what it writes
        if the shared state is gone (Redis restarted without it)."""
        return attrs.evolve(self._limit, rate=self._control.ceiling)

    def _adopt(self, control: RateControl) -> None:
        start = control.measured_from
        if start != self._control.measured_from:  # a new window: what was sent before is out
            self._ok = [t for t in self._ok if t > start]
        self._control = control
        rate = control.rate  # under the shared ceiling, not this process's configured one
        if rate != self._rate:
            self._rate = rate
            self._changes += 1

    def _spawn(self, work: Callable[[], Awaitable[None]]) -> asyncio.Task[None]:
        task = asyncio.ensure_future(self._guard(work))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return task

    async def _guard(self, work: Callable[[], Awaitable[None]]) -> None:
        try:
            await work()
        except _LOST as exc:
            self._outage.failed(exc, "an update of the shared state")
        else:
            self._outage.answered()

    # --- the protocol ----------------------------------------------------------------------------

    @property
    def rate(self) -> float | None:
        return self._rate

    @property
    def rate_changes(self) -> int:
        return self._changes

    @property
    def learned_rate(self) -> float | None:
        """The tenant's limit as last learned by any process (None: not known)."""
        return self._control.learned_rate

    def ready(self) -> bool:
        return False  # every send asks Redis

    def try_acquire(self) -> float | None:
        return None

    async def acquire(self) -> float:
        if not self._connected:
            await self.connect()
        delay = 0.05
        while True:
            if self._local() - self._synced_at >= SYNC_EVERY:
                self._sync_soon()
            rate = self._rate
            burst = self._limit.burst_for(rate) if rate is not None else 1
            ok, self._ok = self._ok, []
            asked = self._local()
            try:
                reply = await self._remote.acquire(rate, burst, ok, HORIZON)
            except _LOST as exc:  # any Redis trouble: wait for it, never fail the send
                self._ok[:0] = ok
                self._outage.failed(exc, "an acquire")
                await self._sleep(delay)
                delay = min(RECONNECT_CAP, delay * 2)
                continue
            answered = self._local()
            self._outage.answered()
            status, now, *rest = reply
            if status == "none":  # gone: Redis restarted without it, or the key expired
                self._sync_soon()
                await self._sleep(0.001)
                continue
            wait = float(rest[0])
            if rest[1] != self._remote.version:  # another process changed the state: read it soon
                self._sync_soon()
            if status != "ok":
                await self._sleep(wait)
                continue
            booked_at = float(now)
            if wait > 0 and not await self._still_stands(booked_at, wait, answered - asked):
                self._sync_soon()  # a pause or a decrease since: learn it, ask again
                continue
            return booked_at + wait

    async def _still_stands(self, booked_at: float, wait: float, rtt: float) -> bool:
        """Wait for a slot booked ``wait`` seconds ahead, checking it again a round trip
        (at most EARLY) before its time: False if it is void (a local throttle's waiters
        stop at once too). If the check has not answered EARLY after the slot's time (Redis
        far away), or Redis cannot say, the slot stands."""
        due = self._local() + wait
        early = min(wait, rtt, EARLY)
        await self._sleep(wait - early)
        check = asyncio.ensure_future(self._confirm(booked_at, booked_at + wait))
        try:
            done, _ = await asyncio.wait({check}, timeout=max(0.0, due - self._local()) + EARLY)
        except BaseException:
            check.cancel()  # cancelled: no command may outlive the acquire (nor aclose)
            raise
        if not done:
            self._late.add(check)  # its answer comes too late to count
            check.add_done_callback(self._late.discard)
            return True
        if not check.result():
            return False
        await self._sleep(max(0.0, due - self._local()))
        return True

    async def _confirm(self, booked_at: float, slot: float) -> bool:
        try:
            return await self._remote.confirm(booked_at, slot)
        except _LOST as exc:
            self._outage.failed(exc, "a booked slot's check")
            return True

    def succeeded(self, sent_at: float) -> None:
        if sent_at > self._control.measured_from:
            self._ok.append(sent_at)

    def throttled(self, sent_at: float, retry_after: float | None) -> bool:
        """Report the 429 to every process (in the background); the request that got it
        waits its own ``Retry-After``."""
        self._spawn(lambda: self._on_throttled(sent_at, retry_after))
        return False

    async def _on_throttled(self, sent_at: float, retry_after: float | None) -> None:
        # the successes this process holds go in first: every process then counts the same
        ok, self._ok = self._ok, []
        for _ in range(8):  # compare-and-set: another process may write in between
            try:
                now, control, recent, successes, sent = await self._remote.read(self._seed(), ok)
            except _LOST:
                self._ok[:0] = ok
                raise
            ok = []
            control.tick(now, recent)
            origin = control.origin if control.origin is not None else now
            sending = sent / max(now - origin, 0.25)
            reaction = control.on_throttled(now, sent_at, retry_after, successes, recent, sending)
            if await self._remote.write(control, self._limit, lowered=reaction.lowered):
                self._adopt(control)
                return

    def set_rate(self, rate: float | None) -> None:
        """Change the configured rate for every process using this name."""
        if rate is not None and not (rate > 0 and math.isfinite(rate)):
            raise ConfigurationError(f"rate must be a positive number or None, got {rate!r}")
        self._control.set_ceiling(rate)
        self._adopt(self._control)
        self._spawn(lambda: self._set_ceiling(rate))

    async def _set_ceiling(self, rate: float | None) -> None:
        for _ in range(8):
            _, control, _, _, _ = await self._remote.read(self._seed())
            control.set_ceiling(rate)
            if await self._remote.write(control, self._limit, lowered=False):
                self._adopt(control)
                return
