"""`CampaignClient`: the facade that composes credentials, throttle, transport, sender and
engine, and owns their lifetime."""

from __future__ import annotations

from collections.abc import AsyncIterable, Callable, Iterable, Mapping
from types import TracebackType
from typing import Any

from ._adaptive import AdaptiveThrottle
from ._clock import Clock, LoopClock
from ._convert import as_profile, encode_profile
from ._credentials import Credentials, TokenProvider
from ._endpoint import DEFAULT_UPSERT_PATH, upsert_url
from ._engine import BulkRun
from ._files import Target
from ._models import ProfileUpsert
from ._ratelimit import RateLimit
from ._records import RecordInput
from ._report import BulkReport
from ._results import RecordResult, RecordStatus
from ._retry import RetryPolicy
from ._sender import HttpSender
from ._throttle import Throttle
from ._transport import AiohttpTransport, Transport
from .exceptions import ConfigurationError

__all__ = ["CampaignClient"]


class CampaignClient:
    """Async client of the Webex Campaign "Create / Update contact profile" API.

    Use it as an async context manager. Every request made through one client, from any
    number of coroutines, passes one throttle, at most ``max_concurrency`` at a time, and
    one retry policy.

    - ``base_url``: your tenant's API base, ``https://<your-domain>.webexcampaign.io``.
      Plain ``http://`` is refused unless the host is loopback or ``allow_insecure_http``.
    - ``api_key`` (an API secret key) or ``token_provider`` (an async callable returning
      an access token, asked again once whenever the API answers 498).
    - ``rate``: requests per second, or a `RateLimit`; ``None`` (default): no limit until
      the API answers 429, then the limit is learned. ``throttle``: a `Throttle` to share
      (with other clients, or other processes) instead of the client's own.
    - ``max_concurrency``: requests in flight at most; ``retry``: a `RetryPolicy`;
      ``timeout``: seconds for one request, connection included (None: no limit).
    - ``upsert_path``: the API path of the upsert (the default is inferred).
    - ``transport``: how requests are sent (default: an `AiohttpTransport` sized for
      ``max_concurrency``; build one to borrow a session, set a CA or proxies).
    - ``clock``: the `Clock` of every wait and timestamp (tests pass a fake one).
    """

    def __init__(
        self,
        base_url: str,
        *,
        api_key: str | None = None,
        token_provider: TokenProvider | None = None,
        rate: float | RateLimit | None = None,
        throttle: Throttle | None = None,
        max_concurrency: int = 32,
        retry: RetryPolicy | None = None,
        timeout: float | None = 30.0,
        upsert_path: str = DEFAULT_UPSERT_PATH,
        allow_insecure_http: bool = False,
        transport: Transport | None = None,
        clock: Clock | None = None,
    ) -> None:
        if (
            not isinstance(max_concurrency, int)
            or isinstance(max_concurrency, bool)
            or max_concurrency < 1
        ):
            raise ConfigurationError(
                f"max_concurrency must be an int >= 1, got {max_concurrency!r}"
            )
        if timeout is not None and not timeout > 0:
            raise ConfigurationError(f"timeout must be > 0 or None, got {timeout!r}")
        url = upsert_url(base_url, upsert_path, allow_insecure_http=allow_insecure_http)
        credentials = Credentials(api_key, token_provider)
        if throttle is None:
            limit = rate if isinstance(rate, RateLimit) else RateLimit(rate)
            throttle = (
                AdaptiveThrottle(limit)
                if clock is None
                else AdaptiveThrottle(limit, clock=clock.time, sleep=clock.sleep)
            )
        elif rate is not None:
            raise ConfigurationError("give a rate or a throttle, not both")
        self._owns_transport = transport is None
        self._sender = HttpSender(
            url,
            credentials,
            throttle,
            transport or AiohttpTransport(max_connections=max_concurrency),
            max_concurrency=max_concurrency,
            retry=retry if retry is not None else RetryPolicy(),
            timeout=timeout,
            clock=clock if clock is not None else LoopClock(),
        )
        self.max_concurrency = max_concurrency
        self._closed = False

    def __repr__(self) -> str:
        return (
            f"<CampaignClient {self.url} rate={self.rate!r} max_concurrency={self.max_concurrency}>"
        )

    @property
    def url(self) -> str:
        """The URL every upsert is POSTed to."""
        return self._sender.url

    @property
    def throttle(self) -> Throttle:
        """The throttle every request of this client passes."""
        return self._sender.throttle

    @property
    def retry(self) -> RetryPolicy:
        """The retry policy of every request."""
        return self._sender.retry

    @property
    def timeout(self) -> float | None:
        """Seconds for one request."""
        return self._sender.timeout

    @property
    def rate(self) -> float | None:
        """The rate the throttle enforces now (lower than configured after 429s)."""
        return self._sender.throttle.rate

    @property
    def learned_rate(self) -> float | None:
        """The tenant's limit as the throttle learned it from 429s (None: not known yet)."""
        return self._sender.throttle.learned_rate

    def set_rate(self, rate: float | None) -> None:
        """Change the configured rate at runtime; every request in flight or to come obeys it."""
        self._sender.throttle.set_rate(rate)

    @property
    def throttled(self) -> int:
        """429 answers this client received."""
        return self._sender.throttled

    @property
    def connection_failures(self) -> int:
        """Connections this client could not make (no request was sent on them)."""
        return self._sender.connection_failures

    @property
    def token_refreshes(self) -> int:
        """How many times the token provider was asked again after a 498."""
        return self._sender.credentials.refreshes

    async def __aenter__(self) -> CampaignClient:
        self._check_open()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        """Close the transport (a transport given to the client is closed too)."""
        self._closed = True
        await self._sender.transport.aclose()

    def _check_open(self) -> None:
        if self._closed:
            raise RuntimeError("this CampaignClient is closed")

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

        Concurrent calls share the throttle but are not ordered among themselves: a caller
        that upserts one profile twice awaits the first call before making the second.
        """
        self._check_open()
        record = as_profile(profile)
        result, error = await self._sender.send(record, encode_profile(record))
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
        ordered: bool = True,
        on_result: Callable[[RecordResult], object] | None = None,
        sink: Target | None = None,
        failures: Target | None = None,
        max_failures: int = 1000,
    ) -> BulkRun:
        """Upsert many records; iterate the returned `BulkRun` for results as they end.

        ``async with client.stream_upsert(records) as run: async for result in run: ...``;
        ``run.report()`` folds what has ended so far. The options are `bulk_upsert`'s.
        """
        self._check_open()
        return BulkRun(
            self._sender,
            records,
            concurrency=self.max_concurrency if concurrency is None else concurrency,
            deadline=deadline,
            ordered=ordered,
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
        ordered: bool = True,
        on_result: Callable[[RecordResult], object] | None = None,
        sink: Target | None = None,
        failures: Target | None = None,
        max_failures: int = 1000,
    ) -> BulkReport:
        """Upsert many records and return the `BulkReport` (a fold over `stream_upsert`).

        - ``records``: `ProfileUpsert` values, their wire JSON objects, or
          `InvalidRecordError` values standing for unreadable input; sync or async, read
          lazily.
        - ``concurrency``: worker tasks (default: ``max_concurrency``).
        - ``deadline``: seconds for the whole run; then nothing more is read or sent, and
          the records read and not sent end SKIPPED (`RetryPolicy.deadline` is per record).
        - ``ordered`` (default True): records of one profile list and key are applied in
          input order (a later one waits for the earlier one to end); a filter record waits
          for every earlier record of its list and holds back the later ones. False sends
          them concurrently: only for inputs whose keys are unique.
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
            ordered=ordered,
            on_result=on_result,
            sink=sink,
            failures=failures,
            max_failures=max_failures,
        )
        return await run.complete()
