"""The emulator's request handler, pure: ``(method, path, headers, body, now) -> Decision``.

Both the aiohttp server and the in-process `EmulatorTransport` run this one handler; they
only carry out its `Decision` (wait, answer, or drop the connection).

Checks, in order: path (404, plain text), method (405/405), ``Authorization`` (401/430,
401/498), the tenant's token bucket (429/429), storm windows (429/429), then one seeded
fault draw, then the request itself, checked by `_validate` against the vendor's page (the
library's parser is never used): a ``Content-Type`` other than ``application/json`` (strict
only) is HTTP 500 code 1001 "Invalid input JSON - Content-Type: ..."; a body that is not
JSON at all is HTTP 500 code 1001 "Invalid input JSON"; a missing or empty
``profile-name`` is HTTP 200 code 1001 with the vendor's "One of 'ProfileID' or
'ProfileName'" text; any other invalid body (a number where the page says String, an
unknown spelling, a missing or unknown field) is HTTP 200 code 1001 "Invalid input JSON -
<field>: <reason>". Then the store: an undeclared list is 3005, update-link "3" with a
missing linked profile is 1010. 7031 (a profile id that does not match the name) is never
answered: the page's request table has no profile id to send. Codes go out as JSON strings
(``{"code": "3005", ...}``); success is ``{"update-count": n, "transaction-id": "..."}``
with a transaction id unique within the emulator's lifetime.
"""

from __future__ import annotations

import asyncio
import math
import secrets
import time
from collections.abc import Callable, Mapping
from types import MappingProxyType
from typing import Any

import attrs

from ._auth import Auth, Denied, new_key
from ._bucket import TokenBucket
from ._config import DEFAULT_TENANT, EmulatorConfig, RetryAfter
from ._faults import Fault, FaultPlan
from ._json import dumps, loads
from ._stats import Stats
from ._store import ProfileStore, StoreError
from ._validate import MISSING_NAME, InvalidRequest, content_type_error, validate

__all__ = ["ERRORS", "Decision", "EmulatorCore", "default_clock"]

#: Every failure of the vendor's table: API code -> (HTTP status, description).
ERRORS: Mapping[str, tuple[int, str]] = MappingProxyType(
    {
        "1010": (200, "The request was not processed."),
        "1001": (200, MISSING_NAME),
        "3005": (200, "Invalid Profile ID"),
        "7031": (200, "Profile Id and Profile name do not match."),
        "430": (
            401,
            "Authorization failed. This resource is not allowed to access using this TOKEN or KEY",
        ),
        "498": (401, "Invalid token or Access token expired"),
        "405": (405, "Method not supported"),
        "429": (429, "Too many requests. Throttle limit reached for the time window."),
        "499": (
            499,
            "Request failed. Check the exact reason of failure in application code and "
            "description of error stream.",
        ),
        "500": (500, "Internal server error"),
    }
)

_JSON: Mapping[str, str] = MappingProxyType({"Content-Type": "application/json"})

NGINX_503 = b"""<html>
<head><title>503 Service Temporarily Unavailable</title></head>
<body>
<center><h1>503 Service Temporarily Unavailable</h1></center>
<hr><center>nginx</center>
</body>
</html>
"""


@attrs.frozen
class Decision:
    """What to do with one request: wait ``latency + slow`` seconds, then answer or drop.

    ``code`` is the API code in the body (None on success and non-API answers).
    ``drop_before``: close the connection without an answer, nothing was applied;
    ``drop_after``: the write was applied, then close without an answer.
    """

    status: int
    body: bytes = b""
    headers: Mapping[str, str] = _JSON
    code: str | None = None
    latency: float = 0.0
    slow: float = 0.0
    drop_before: bool = False
    drop_after: bool = False
    fault: Fault | None = None

    @property
    def delay(self) -> float:
        """Seconds before answering (or dropping)."""
        return self.latency + self.slow

    @property
    def dropped(self) -> bool:
        """True when the connection is closed without an answer."""
        return self.drop_before or self.drop_after


def _error(code: str, description: str | None = None, status: int | None = None) -> Decision:
    known_status, known_text = ERRORS.get(code, (500, ""))
    text = known_text if description is None else description
    body = dumps({"code": code, "description": text})
    return Decision(known_status if status is None else status, body, _JSON, code)


_ERROR_DECISIONS: Mapping[str, Decision] = MappingProxyType({code: _error(code) for code in ERRORS})
_METHOD_NOT_ALLOWED = attrs.evolve(
    _ERROR_DECISIONS["405"], headers=MappingProxyType({**_JSON, "Allow": "POST"})
)
_NOT_FOUND = Decision(404, b"404: Not Found", MappingProxyType({"Content-Type": "text/plain"}))
_INVALID_JSON = _error("1001", "Invalid input JSON", status=500)
_MISSING_NAME = _ERROR_DECISIONS["1001"]
_FAULT_DECISIONS: Mapping[Fault, Decision] = MappingProxyType(
    {
        Fault.ERROR_500: _ERROR_DECISIONS["500"],
        Fault.ERROR_499: _ERROR_DECISIONS["499"],
        Fault.UNPROCESSED_1010: _ERROR_DECISIONS["1010"],
        Fault.HTML_503: Decision(
            503, NGINX_503, MappingProxyType({"Content-Type": "text/html", "Server": "nginx"})
        ),
        Fault.DROP_BEFORE: Decision(0, b"", _JSON, drop_before=True),
    }
)
_NOT_JSON: Any = object()


def default_clock() -> float:
    """The running event loop's time (virtual on a virtual-time loop), else monotonic time."""
    try:
        return asyncio.get_running_loop().time()
    except RuntimeError:
        return time.monotonic()


def _header(headers: Mapping[str, str], name: str) -> str | None:
    """A header by name, in any case (aiohttp's headers are case-insensitive, dicts are not)."""
    value = headers.get(name)
    if value is None:
        lower = name.lower()
        for candidate_name, candidate in headers.items():
            if candidate_name.lower() == lower:
                return candidate
    return value


def _target(parsed: Any) -> tuple[str | None, str | None]:
    if type(parsed) is not dict:
        return None, None
    name = parsed.get("profile-name")
    key = parsed.get("key")
    if type(key) is int:
        key = str(key)
    return (
        name if type(name) is str else None,
        key if type(key) is str else None,
    )


def _header_seconds(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else f"{value:g}"


@attrs.define
class EmulatorCore:
    """The emulator's whole state and its request handler; no I/O, no clock reads in `handle`.

    ``clock`` (default: the running loop's time) is read only by `issue_token` and by the
    servers to stamp requests. Storm windows count from `start` (or from the first request).
    """

    config: EmulatorConfig = attrs.field(factory=EmulatorConfig)
    clock: Callable[[], float] = attrs.field(default=default_clock, repr=False)
    api_key: str = attrs.field(init=False)
    store: ProfileStore = attrs.field(init=False)
    _auth: Auth = attrs.field(init=False, repr=False)
    stats: Stats = attrs.field(init=False, repr=False)
    _plan: FaultPlan = attrs.field(init=False, repr=False)
    started_at: float | None = attrs.field(default=None, init=False)
    _buckets: dict[str, TokenBucket] = attrs.field(factory=dict, init=False, repr=False)
    _txn_prefix: str = attrs.field(init=False, repr=False)
    _txn: int = attrs.field(default=0, init=False, repr=False)

    def __attrs_post_init__(self) -> None:
        config = self.config
        keys = config.api_keys or (new_key(),)
        self.api_key = keys[0]
        self._auth = Auth.from_config(keys, config.forbidden_keys, config.tenants)
        self.store = ProfileStore(config.profile_lists, config.links)
        self.stats = Stats(config.track_keys, config.fault_log_size)
        self._plan = FaultPlan(config.faults)
        self._txn_prefix = secrets.token_hex(10)

    # --- control -----------------------------------------------------------------------

    def start(self, now: float) -> None:
        """Set the origin of the storm windows."""
        self.started_at = now

    def reset(self) -> None:
        """Forget every profile and statistic, refill the buckets and re-seed the faults.

        Keys, issued tokens and the storm origin stay.
        """
        self.store.clear()
        self.stats.reset()
        self._plan.reset()
        self._buckets.clear()

    def set_rate(self, rate: float | None, now: float) -> None:
        """Change every tenant's throttle to ``rate`` requests per second from ``now`` on.

        Buckets keep the tokens they hold (refilled at the old rate until ``now``) and their
        size. For benchmarks of a client that must follow a changing limit.
        """
        if rate is not None and not (math.isfinite(rate) and rate > 0):
            raise ValueError(f"rate must be > 0 or None, not {rate!r}")
        for bucket in self._buckets.values():
            bucket.wait(now)  # refilled at the old rate up to now
            if rate is not None:
                bucket.rate = rate
        if rate is None:
            self._buckets.clear()
        self.config = attrs.evolve(self.config, rate=rate)

    def issue_token(
        self,
        ttl: float | None = None,
        max_requests: int | None = None,
        tenant: str = DEFAULT_TENANT,
    ) -> str:
        """A new access token, expiring ``ttl`` seconds from now and/or after ``max_requests``."""
        return self._auth.issue(self.clock(), ttl, max_requests, tenant)

    # --- one request ---------------------------------------------------------------------

    def handle(
        self, method: str, path: str, headers: Mapping[str, str], body: bytes, now: float
    ) -> Decision:
        """Decide the answer to one request arriving at ``now``; apply its write if due."""
        if self.started_at is None:
            self.started_at = now
        stats = self.stats
        seq = stats.arrived(now)
        if path != self.config.upsert_path:
            return self._count(_NOT_FOUND)
        if method != "POST":
            return self._count(_METHOD_NOT_ALLOWED)
        try:
            tenant = self._auth.check(_header(headers, "Authorization"), now)
        except Denied as denied:
            return self._count(_ERROR_DECISIONS[denied.code])

        try:
            parsed = loads(body) if body else _NOT_JSON
        except ValueError:
            parsed = _NOT_JSON
        name, key = _target(parsed)
        if stats.track_keys and name is not None and key is not None:
            stats.requests_per_key[name, key] += 1

        config = self.config
        if config.rate is not None:
            bucket = self._buckets.get(tenant)
            if bucket is None:
                bucket = self._buckets[tenant] = TokenBucket.full(
                    config.rate, config.bucket_size, now
                )
            if not bucket.take(now):
                retry: RetryAfter = config.retry_after
                if retry == "auto":
                    retry = bucket.retry_after(now)
                return self._count(self._throttled(retry))
        plan = self._plan
        if plan.faults.storms:
            storm = plan.storm(now - self.started_at)
            if storm is not None:
                stats.fault(Fault.STORM.value, seq, now, name, key)
                retry = storm.retry_after
                if retry == "auto":
                    retry = max(1, math.ceil(storm.end - (now - self.started_at)))
                return self._count(self._throttled(retry))

        fault: Fault | None = None
        latency = 0.0
        if plan.enabled:
            fault, latency = plan.draw()
        if fault is not None:
            stats.fault(fault.value, seq, now, name, key)
            canned = _FAULT_DECISIONS.get(fault)
            if canned is not None:
                if canned.dropped:
                    stats.answered(0, fault.value)
                else:
                    self._count(canned)
                return attrs.evolve(canned, latency=latency, fault=fault)

        decision = self._upsert(headers, parsed)
        if fault is Fault.DROP_AFTER:
            stats.answered(0, Fault.DROP_AFTER.value)
            return attrs.evolve(decision, latency=latency, drop_after=True, fault=fault)
        self._count(decision)
        if fault is Fault.SLOW:
            return attrs.evolve(
                decision, latency=latency, slow=plan.faults.slow_seconds, fault=fault
            )
        if latency:
            return attrs.evolve(decision, latency=latency)
        return decision

    def _count(self, decision: Decision) -> Decision:
        self.stats.answered(decision.status, decision.code)
        return decision

    @staticmethod
    def _throttled(retry_after: RetryAfter) -> Decision:
        if retry_after is None:
            return _ERROR_DECISIONS["429"]
        assert retry_after != "auto"
        headers = {**_JSON, "Retry-After": _header_seconds(retry_after)}
        return attrs.evolve(_ERROR_DECISIONS["429"], headers=headers)

    def _upsert(self, headers: Mapping[str, str], parsed: Any) -> Decision:
        strict = self.config.strict
        if strict:
            problem = content_type_error(_header(headers, "Content-Type"))
            if problem is not None:
                return _error("1001", problem, status=500)
        if parsed is _NOT_JSON:
            return _INVALID_JSON
        try:
            request = validate(parsed, strict=strict)
        except InvalidRequest as exc:
            if exc.description is MISSING_NAME:
                return _MISSING_NAME
            return _error("1001", exc.description)
        try:
            count = self.store._apply(request)
        except StoreError as exc:
            return _ERROR_DECISIONS[exc.code]
        if count:
            self.stats.applied += 1
            self.stats.profiles_written += count
        self._txn += 1
        body = b'{"update-count":%d,"transaction-id":"%s%012x"}' % (
            count,
            self._txn_prefix.encode(),
            self._txn,
        )
        return Decision(200, body)
