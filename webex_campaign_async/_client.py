"""`CampaignClient`: one session, one throttle, one retry policy around every request."""

from __future__ import annotations

import asyncio
import ipaddress
import logging
import random
from collections.abc import AsyncIterable, Awaitable, Callable, Iterable, Mapping
from types import TracebackType
from typing import TYPE_CHECKING, Any, TypeVar

import attrs
from yarl import URL

from ._convert import encode_profile, profile_from_wire
from ._models import ProfileUpsert
from ._ratecontrol import RateLimit
from ._results import RecordResult, RecordStatus
from ._retry import RetryPolicy
from ._sansio import Outcome, Verdict, classify, read_applied, request_headers
from ._slots import Slots
from ._throttle import AdaptiveThrottle, Throttle
from ._transport import AiohttpTransport, Transport
from .exceptions import (
    ConfigurationError,
    TokenProviderError,
    TransportError,
    WebexCampaignError,
)

if TYPE_CHECKING:
    import ssl

    import aiohttp

    from ._bulk import BulkRun, RecordInput
    from ._jsonlines import Target
    from ._report import BulkReport

__all__ = ["DEFAULT_UPSERT_PATH", "CampaignClient", "StopSignal", "as_profile"]

logger = logging.getLogger("webex_campaign_async")

#: Inferred from the documented bulk sibling ``/profiles/updateBulk``; configurable.
DEFAULT_UPSERT_PATH = "/campaignapi/resources/v3/profiles/update"

TokenProvider = Callable[[], Awaitable[str]]
_T = TypeVar("_T")

_AMBIGUOUS_NOTE = (
    "; an earlier attempt lost its connection after sending, so it may be that attempt "
    "which applied the record"
)


class _Credentials:
    """The current bearer token; one shared refresh when the API says it expired.

    ``headers`` are the headers to send with (``None`` until the provider gave a first
    token) and ``generation`` is bumped by every new token: plain attributes, read once
    per request, written only by `refresh`.
    """

    __slots__ = (
        "_calls",
        "_failure",
        "_lock",
        "_provider",
        "_secret",
        "generation",
        "headers",
        "refreshes",
    )

    def __init__(self, api_key: str | None, provider: TokenProvider | None) -> None:
        if (api_key is None) == (provider is None):
            raise ConfigurationError("give exactly one of api_key or token_provider")
        if api_key is not None and (not isinstance(api_key, str) or not api_key.strip()):
            raise ConfigurationError("api_key must be a non-empty string")
        self._provider = provider
        self._secret = api_key
        self.headers: Mapping[str, str] | None = (
            request_headers(api_key) if api_key is not None else None
        )
        self.generation = 0
        self._lock: asyncio.Lock | None = None
        self._calls = 0  # provider calls finished
        self._failure: tuple[int, str] | None = None  # (call number, message) of the last failure
        #: Tokens fetched from the provider after the first one.
        self.refreshes = 0

    def __repr__(self) -> str:
        return "<credentials: redacted>"

    @property
    def can_refresh(self) -> bool:
        return self._provider is not None

    async def refresh(self, seen_generation: int) -> None:
        """Ask the provider for a new token, once for all callers that saw the old one.

        Raises `TokenProviderError` when the provider fails; every caller that was waiting
        for that call gets it too (the provider is not asked once per caller), and a later
        caller asks again.
        """
        if self._provider is None:
            return
        if self._lock is None:
            self._lock = asyncio.Lock()
        ticket = self._calls  # calls finished when we came: one failing after that is ours too
        async with self._lock:
            if seen_generation != self.generation:
                return  # someone refreshed while we waited
            if self._failure is not None and self._failure[0] > ticket:
                raise TokenProviderError(self._failure[1])  # the call we waited for failed
            first = self.headers is None
            try:
                token = await self._provider()
            except Exception as exc:
                self._calls += 1
                message = f"the token provider failed: {type(exc).__name__}: {exc}"
                self._failure = (self._calls, self.redact(message))
                raise TokenProviderError(self._failure[1]) from exc
            self._calls += 1
            if not isinstance(token, str) or not token.strip():
                self._failure = (self._calls, "the token provider returned no token")
                raise TokenProviderError(self._failure[1])
            self._secret = token
            self.headers = request_headers(token)
            self.generation += 1
            if not first:
                self.refreshes += 1
                logger.info("access token refreshed")

    def redact(self, text: str) -> str:
        """``text`` with the current token removed, should a server ever echo it."""
        secret = self._secret
        return text.replace(secret, "***") if secret and secret in text else text


def _check_url(base_url: str, path: str, allow_insecure_http: bool) -> URL:
    url = URL(base_url)
    if url.scheme not in ("https", "http") or not url.host:
        raise ConfigurationError(f"base_url must be an http(s) URL with a host, got {base_url!r}")
    if url.user or url.password:
        raise ConfigurationError("base_url must not carry credentials; use api_key")
    if url.scheme == "http" and not allow_insecure_http and not _is_loopback(url.host):
        raise ConfigurationError(
            f"refusing plain http to {url.host!r}: the token would travel unencrypted. Use "
            "https, or allow it explicitly (allow_insecure_http=True, or "
            "--allow-insecure-http on the command line)"
        )
    return url.with_path(url.path.rstrip("/") + "/" + path.lstrip("/"))


def _is_loopback(host: str) -> bool:
    if host.lower() in ("localhost", "localhost.localdomain") or host.lower().endswith(
        ".localhost"
    ):
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def as_profile(record: ProfileUpsert | Mapping[str, Any]) -> ProfileUpsert:
    """A `ProfileUpsert` from itself or from its wire JSON object (raises InvalidRecordError)."""
    if isinstance(record, ProfileUpsert):
        return record
    return profile_from_wire(record)


class CampaignClient:
    """Async client of the Webex Campaign "Create / Update contact profile" API.

    Use it as an async context manager. Every request made through one client, from any
    number of coroutines, passes one throttle (``rate``), at most ``max_concurrency`` at a
    time, and one retry policy (``retry``).

    - ``base_url``: your tenant's API base, ``https://<your-domain>.webexcampaign.io``.
      Plain ``http://`` is refused unless the host is loopback or ``allow_insecure_http``.
    - ``api_key`` (an API secret key) or ``token_provider`` (an async callable returning
      an access token, asked again once whenever the API answers 498).
    - ``rate``: requests per second, or a `RateLimit`; ``None`` sends unthrottled until
      the API answers 429 and then adapts.
    - ``timeout``: seconds for one request, connection included.
    - ``session``: an aiohttp session to borrow (it is not closed); ``transport``: any
      `Transport` (for tests and benchmarks).
    - ``clock``/``sleep``: monotonic clock and sleep for the retry waits (tests).
    """

    def __init__(
        self,
        base_url: str,
        *,
        api_key: str | None = None,
        token_provider: TokenProvider | None = None,
        rate: float | RateLimit | None = None,
        max_concurrency: int = 32,
        retry: RetryPolicy | None = None,
        timeout: float | None = 30.0,
        session: aiohttp.ClientSession | None = None,
        transport: Transport | None = None,
        throttle: Throttle | None = None,
        upsert_path: str = DEFAULT_UPSERT_PATH,
        allow_insecure_http: bool = False,
        ssl_context: ssl.SSLContext | None = None,
        clock: Callable[[], float] | None = None,
        sleep: Callable[[float], Awaitable[object]] | None = None,
    ) -> None:
        if not isinstance(max_concurrency, int) or max_concurrency < 1:
            raise ConfigurationError(
                f"max_concurrency must be an int >= 1, got {max_concurrency!r}"
            )
        if timeout is not None and not timeout > 0:
            raise ConfigurationError(f"timeout must be > 0 or None, got {timeout!r}")
        if session is not None and transport is not None:
            raise ConfigurationError("give a session or a transport, not both")
        self._url = _check_url(base_url, upsert_path, allow_insecure_http)
        self._credentials = _Credentials(api_key, token_provider)
        self._clock = clock
        self._sleep = sleep or asyncio.sleep
        self._random = random.random
        self.retry = retry if retry is not None else RetryPolicy()
        self.timeout = timeout
        self.max_concurrency = max_concurrency
        if throttle is None:
            limit = rate if isinstance(rate, RateLimit) else RateLimit(rate)
            throttle = AdaptiveThrottle(limit, clock=clock, sleep=sleep)
        elif rate is not None:
            raise ConfigurationError("give a rate or a throttle, not both")
        self.throttle: Throttle = throttle
        self._session = session
        self._transport = transport
        self._ssl_context = ssl_context
        self._slots: Slots | None = None
        self._closed = False
        #: 429 answers this client received.
        self.throttled_answers = 0

    def __repr__(self) -> str:
        return (
            f"<CampaignClient {self._url} rate={self.throttle.rate!r} "
            f"max_concurrency={self.max_concurrency}>"
        )

    @property
    def url(self) -> str:
        """The URL every upsert is POSTed to."""
        return str(self._url)

    @property
    def rate(self) -> float | None:
        """The rate the throttle enforces now (lower than configured after 429s)."""
        return self.throttle.rate

    def set_rate(self, rate: float | None) -> None:
        """Change the configured rate at runtime; every request in flight or to come obeys it."""
        self.throttle.set_rate(rate)

    @property
    def token_refreshes(self) -> int:
        """How many times the token provider was asked again after a 498."""
        return self._credentials.refreshes

    async def __aenter__(self) -> CampaignClient:
        self._ensure_transport()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        """Close the connections this client opened (a borrowed session stays open)."""
        self._closed = True
        if self._transport is not None:
            await self._transport.aclose()

    def _ensure_transport(self) -> Transport:
        if self._closed:
            raise RuntimeError("this CampaignClient is closed")
        if self._transport is None:
            self._transport = AiohttpTransport(
                session=self._session,
                max_connections=self.max_concurrency,
                ssl_context=self._ssl_context,
            )
        if self._slots is None:
            self._slots = Slots(self.max_concurrency)
        return self._transport

    def _bound_clock(self) -> Callable[[], float]:
        """The clock: the one given, else the running loop's (bound at first use)."""
        clock = self._clock
        if clock is None:
            clock = self._clock = asyncio.get_running_loop().time
        return clock

    def _now(self) -> float:
        return self._bound_clock()()

    # --- one record --------------------------------------------------------------------

    async def upsert(
        self, profile: ProfileUpsert | Mapping[str, Any], *, allow_not_applied: bool = False
    ) -> RecordResult:
        """Create or update one profile; return its `RecordResult` (status APPLIED).

        Raises the typed error otherwise: `NotAppliedError` when the API answered
        update-count 0 (unless ``allow_not_applied``, which returns the NOT_APPLIED result),
        `RejectedError` for a permanent error, `ThrottledError`/`ServerError`/
        `TransportError` once the retry policy gave up, `PermissionDeniedError` (430),
        `EndpointError` (405), `InvalidRecordError` before anything is sent.
        """
        record = as_profile(profile)
        result, error = await self._send(record, encode_profile(record))
        if result.status is RecordStatus.APPLIED or (
            allow_not_applied and result.status is RecordStatus.NOT_APPLIED
        ):
            return result
        assert error is not None
        raise error

    # --- many records ------------------------------------------------------------------

    def stream_upsert(
        self,
        records: Iterable[RecordInput] | AsyncIterable[RecordInput],
        *,
        concurrency: int | None = None,
        deadline: float | None = None,
        on_result: Callable[[RecordResult], object] | None = None,
        sink: Target | None = None,
        failures: Target | None = None,
        max_failures: int = 1000,
    ) -> BulkRun:
        """Upsert many records; iterate the returned `BulkRun` for results as they end.

        ``async with client.stream_upsert(records) as run: async for result in run: ...``;
        ``run.report()`` folds what has ended so far. The options are `BulkRun`'s.
        """
        from ._bulk import BulkRun

        return BulkRun(
            self,
            records,
            concurrency=concurrency,
            deadline=deadline,
            on_result=on_result,
            sink=sink,
            failures=failures,
            max_failures=max_failures,
        )

    async def bulk_upsert(
        self,
        records: Iterable[RecordInput] | AsyncIterable[RecordInput],
        *,
        concurrency: int | None = None,
        deadline: float | None = None,
        on_result: Callable[[RecordResult], object] | None = None,
        sink: Target | None = None,
        failures: Target | None = None,
        max_failures: int = 1000,
    ) -> BulkReport:
        """Upsert many records and return the `BulkReport` (a fold over `stream_upsert`).

        - ``concurrency``: worker tasks (default: ``max_concurrency``).
        - ``deadline``: seconds for the whole run; then nothing more is sent and the records
          not sent end SKIPPED (`RetryPolicy.deadline` is per record).
        - ``on_result``: called with every `RecordResult`, in completion order.
        - ``sink``: a path or open file for every result as a JSON line.
        - ``failures``: a path or open file for every FAILED, REJECTED, INVALID and SKIPPED
          record as re-runnable wire JSON with its error.
        - ``max_failures``: failed results kept in the report itself.
        """
        run = self.stream_upsert(
            records,
            concurrency=concurrency,
            deadline=deadline,
            on_result=on_result,
            sink=sink,
            failures=failures,
            max_failures=max_failures,
        )
        return await run.complete()

    async def _send(
        self,
        record: ProfileUpsert,
        body: bytes,
        index: int = 0,
        stop: StopSignal | None = None,
    ) -> tuple[RecordResult, WebexCampaignError | None]:
        """Send one encoded record through throttle and retries; never raises an API error.

        Returns the record's result and, unless it was APPLIED, the typed error. ``stop`` is
        checked before every send and every retry, and cuts retry waits short: a stopped
        record ends SKIPPED if it was never sent, FAILED if it was.
        """
        transport = self._ensure_transport()
        slots = self._slots
        assert slots is not None
        credentials = self._credentials
        throttle = self.throttle
        try_acquire = throttle.try_acquire
        ready = throttle.ready
        clock = self._bound_clock()
        started = 0.0
        attempts = 0
        throttled = 0
        unprocessed = 0  # answers 1010 "not processed"
        refreshed = False
        ambiguous = False
        error: WebexCampaignError | None = None
        while True:
            if not slots.try_take():
                await slots.take()
            try:
                sent_at = try_acquire()
                if sent_at is None:
                    if stop is None or ready():
                        sent_at = await throttle.acquire()
                    else:  # the throttle may make us wait: a stop must cut that short
                        sent_at = await stop.until(throttle.acquire())
                if stop is not None and stop.reason is not None:
                    return _stopped(index, record, stop.reason, attempts, error), error
                assert sent_at is not None
                headers = credentials.headers
                if headers is None:  # a token provider's first token
                    try:
                        await credentials.refresh(credentials.generation)
                    except TokenProviderError as exc:
                        if stop is not None and stop.reason is not None:  # the run stopped for it
                            return _stopped(index, record, stop.reason, attempts, error), exc
                        return _unsent_failure(index, record, exc, attempts), exc
                    headers = credentials.headers
                    assert headers is not None
                generation = credentials.generation
                attempts += 1
                t0 = clock()
                if attempts == 1:
                    started = t0  # the retry deadline counts from the first send
                try:
                    response = await transport.send(self._url, headers, body, self.timeout)
                except TransportError as exc:
                    latency = clock() - t0
                    outcome: Outcome | None = None
                    error = exc
                    ambiguous = True
                else:
                    latency = clock() - t0
                    applied = read_applied(response.status, response.body)
                    if applied is not None:  # the usual answer, read without an Outcome
                        throttle.succeeded(sent_at)
                        return RecordResult(
                            index,
                            _APPLIED,
                            record.target,
                            applied[0],
                            applied[1],
                            None,
                            response.status,
                            "",
                            attempts,
                            latency,
                            record,
                        ), None
                    outcome = classify(response.status, response.headers, response.body)
            finally:
                slots.give()
            paused = False
            retry_after = None
            if outcome is not None:
                verdict = outcome.verdict
                if verdict is not Verdict.THROTTLED:
                    throttle.succeeded(sent_at)
                if verdict is Verdict.APPLIED:  # a rarer form of success ("2" as a string)
                    return _result(index, record, _APPLIED, outcome, attempts, latency), None
                if outcome.description:
                    outcome = _redacted(outcome, credentials)
                error = outcome.error(attempts)
                final = _FINAL.get(verdict)
                if verdict is Verdict.TOKEN_EXPIRED and not refreshed and credentials.can_refresh:
                    refreshed = True
                    try:
                        await credentials.refresh(generation)
                    except TokenProviderError as exc:
                        return _unsent_failure(index, record, exc, attempts), exc
                    continue
                if final is not None:
                    note = _AMBIGUOUS_NOTE if ambiguous and verdict is Verdict.NOT_APPLIED else ""
                    return _result(index, record, final, outcome, attempts, latency, note), error
                if verdict is Verdict.UNPROCESSED:  # retried within its own small budget
                    unprocessed += 1
                if verdict is Verdict.THROTTLED:
                    throttled += 1
                    self.throttled_answers += 1
                    if outcome.retry_after is not None:  # honoured up to the policy's maximum
                        retry_after = min(outcome.retry_after, self.retry.maximum)
                    paused = throttle.throttled(sent_at, retry_after)
            assert error is not None
            error.attempts = attempts
            delay = self.retry.delay(
                attempts,
                elapsed=clock() - started,
                retry_after=retry_after,
                random=self._random(),
                throttled=throttled,
                unprocessed=unprocessed,
            )
            if delay is None:
                return RecordResult(
                    index,
                    # still 1010 at the end: the API refused it every time
                    RecordStatus.REJECTED
                    if outcome is not None and outcome.verdict is Verdict.UNPROCESSED
                    else RecordStatus.FAILED,
                    record.target,
                    code=outcome.code if outcome is not None else None,
                    http_status=outcome.http_status if outcome is not None else None,
                    message=str(error),
                    attempts=attempts,
                    latency=latency,
                    record=record,
                ), error
            if stop is not None and stop.reason is not None:
                return _stopped(index, record, stop.reason, attempts, error), error
            if delay > 0 and not (retry_after is not None and paused):
                # (a Retry-After the throttle pauses every sender for is waited out there)
                if stop is None:
                    await self._sleep(delay)
                else:
                    await stop.until(self._sleep(delay))


_APPLIED = RecordStatus.APPLIED

#: Verdicts that end a record at once (the rest are retried).
_FINAL = {
    Verdict.NOT_APPLIED: RecordStatus.NOT_APPLIED,
    Verdict.REJECTED: RecordStatus.REJECTED,
    Verdict.FATAL: RecordStatus.FAILED,
    Verdict.TOKEN_EXPIRED: RecordStatus.FAILED,
}


class StopSignal:
    """Tells the requests of a run to stop: checked before every send and every retry."""

    __slots__ = ("_event", "reason")

    def __init__(self) -> None:
        self.reason: str | None = None
        self._event: asyncio.Event | None = None

    def set(self, reason: str) -> None:
        """Stop, for ``reason`` (the first reason given wins)."""
        if self.reason is None:
            self.reason = reason
            if self._event is not None:
                self._event.set()

    async def until(self, awaitable: Awaitable[_T]) -> _T | None:
        """``await awaitable``, or None as soon as the signal is set (it is then cancelled)."""
        task = asyncio.ensure_future(awaitable)
        if self.reason is not None:
            task.cancel()
            return None
        if self._event is None:
            self._event = asyncio.Event()
        stopper = asyncio.ensure_future(self._event.wait())
        try:
            await asyncio.wait((task, stopper), return_when=asyncio.FIRST_COMPLETED)
        finally:
            stopper.cancel()
            if not task.done():
                task.cancel()
        return task.result() if task.done() and not task.cancelled() else None


def _unsent_failure(
    index: int, record: ProfileUpsert, error: WebexCampaignError, attempts: int
) -> RecordResult:
    """FAILED without an answer to read (the token provider failed)."""
    error.attempts = attempts
    return RecordResult(
        index,
        RecordStatus.FAILED,
        record.target,
        message=str(error),
        attempts=attempts,
        record=record,
    )


def _stopped(
    index: int,
    record: ProfileUpsert,
    reason: str,
    attempts: int,
    error: WebexCampaignError | None,
) -> RecordResult:
    if attempts == 0 or error is None:
        return RecordResult(
            index, RecordStatus.SKIPPED, record.target, message=reason, record=record
        )
    return RecordResult(
        index,
        RecordStatus.FAILED,
        record.target,
        code=getattr(error, "code", None),
        http_status=getattr(error, "http_status", None),
        message=f"{reason} before retrying; last error: {error}",
        attempts=attempts,
        record=record,
    )


def _redacted(outcome: Outcome, credentials: _Credentials) -> Outcome:
    description = credentials.redact(outcome.description)
    if description is outcome.description:
        return outcome
    return attrs.evolve(outcome, description=description)


def _result(
    index: int,
    record: ProfileUpsert,
    status: RecordStatus,
    outcome: Outcome,
    attempts: int,
    latency: float,
    note: str = "",
) -> RecordResult:
    return RecordResult(  # positional: this runs once per record
        index,
        status,
        record.target,
        outcome.update_count,
        outcome.transaction_id,
        outcome.code,
        outcome.http_status,
        outcome.description + note if note else outcome.description,
        attempts,
        latency,
        record,
    )
