"""One record through the throttle, the concurrency slots, the transport and the retry policy.

`Sender` is what the bulk engine needs (send one record, read the clock, redact a text,
read the counters); `HttpSender` is the real one, which `CampaignClient` composes.
"""

from __future__ import annotations

import asyncio
import random
import time
from typing import Protocol

import attrs

from ._clock import Clock, LoopClock
from ._credentials import Credentials
from ._endings import AMBIGUOUS_NOTE, APPLIED, FINAL, GATEWAY, ended, gave_up, no_answer, stopped
from ._models import ProfileUpsert
from ._results import RecordResult
from ._retry import RetryPolicy
from ._sansio import Outcome, Verdict, classify, read_applied
from ._slots import Slots
from ._stop import StopSignal
from ._throttle import Throttle
from ._transport import Transport
from .exceptions import (
    ConnectError,
    ConnectionLostError,
    TLSVerificationError,
    TokenProviderError,
    TransportError,
    UnreachableError,
    WebexCampaignError,
)

__all__ = ["HttpSender", "SendCounts", "Sender"]


@attrs.frozen
class SendCounts:
    """Running totals of a sender, for a run's report (differences of two readings)."""

    throttled: int = 0  #: 429 answers
    rate_changes: int = 0  #: times the throttle's rate changed
    token_refreshes: int = 0  #: new tokens asked for after a 498
    rate: float | None = None  #: the throttle's rate now (None: unlimited)
    connection_failures: int = 0  #: connections that failed before a request was sent
    learned_rate: float | None = None  #: the tenant's limit as the throttle last learned it


class Sender(Protocol):
    """What the bulk engine uses to send records; it never sees the client."""

    clock: Clock

    async def send(
        self, record: ProfileUpsert, body: bytes, index: int, stop: StopSignal | None
    ) -> tuple[RecordResult, WebexCampaignError | None]:
        """Send one encoded record; never raises an API error (see `HttpSender.send`)."""

    def redact(self, text: str) -> str:
        """``text`` without any secret the sender holds."""

    def counts(self) -> SendCounts:
        """The running totals now."""


class HttpSender:
    """Sends records to one URL with one set of credentials, throttle, slots and policy."""

    def __init__(
        self,
        url: str,
        credentials: Credentials,
        throttle: Throttle,
        transport: Transport,
        *,
        max_concurrency: int,
        retry: RetryPolicy,
        timeout: float | None,
        clock: Clock,
    ) -> None:
        self.url = url
        self.credentials = credentials
        self.throttle = throttle
        self.transport = transport
        self.slots = Slots(max_concurrency)
        self.retry = retry
        self.timeout = timeout
        self.clock = clock
        self.random = random.random
        #: 429 answers received.
        self.throttled = 0
        #: Connections that could not be made (no request was sent).
        self.connection_failures = 0
        #: When the first transport error since the API's last answer came (None: it answered).
        self.unanswered_since: float | None = None

    def __repr__(self) -> str:
        return f"<HttpSender {self.url}>"

    def _unreachable(self, error: WebexCampaignError, now: float) -> WebexCampaignError:
        """``error`` as an `UnreachableError` if no request has had any answer for the retry
        policy's ``outage`` (then the run stops: others could only wait as long again)."""
        since, outage = self.unanswered_since, self.retry.outage
        if since is None or outage <= 0 or now - since < outage:
            return error
        unreachable = UnreachableError(
            f"the API has not answered for {now - since:.0f} s (check the base URL, the "
            f"network and any proxy); the last error: {error}"
        )
        unreachable.attempts = error.attempts
        return unreachable

    def redact(self, text: str) -> str:
        return self.credentials.redact(text)

    def counts(self) -> SendCounts:
        throttle = self.throttle
        return SendCounts(
            self.throttled,
            throttle.rate_changes,
            self.credentials.refreshes,
            throttle.rate,
            self.connection_failures,
            throttle.learned_rate,
        )

    async def send(
        self,
        record: ProfileUpsert,
        body: bytes,
        index: int = 0,
        stop: StopSignal | None = None,
    ) -> tuple[RecordResult, WebexCampaignError | None]:
        """Send one encoded record through throttle and retries; never raises an API error.

        Returns the record's result and, unless it was APPLIED, the typed error. ``stop`` is
        checked before every send and every retry, and cuts waits short: a stopped record
        ends SKIPPED if it was never sent, FAILED if it was.
        """
        slots = self.slots
        credentials = self.credentials
        throttle = self.throttle
        transport = self.transport
        clock = self.clock
        # the loop's own clock, bound once: LoopClock.time would look the loop up per read
        now = asyncio.get_running_loop().time if type(clock) is LoopClock else clock.time
        started: float | None = None
        attempts = 0  # requests sent
        tries = 0  # attempts and connections that failed before sending
        throttled = 0
        unavailable = 0  # gateway answers and lost connections
        unprocessed = 0  # answers 1010 "not processed"
        refreshed = False
        ambiguous = False
        error: WebexCampaignError | None = None
        while True:
            if not slots.try_take():
                await slots.take()
            try:
                sent_at = throttle.try_acquire()
                if sent_at is None:
                    if stop is None or throttle.ready():
                        sent_at = await throttle.acquire()
                    else:  # the throttle may make us wait: a stop must cut that short
                        sent_at = await stop.until(throttle.acquire())
                if stop is not None and stop.reason is not None:
                    return stopped(index, record, stop.reason, attempts, error), error
                assert sent_at is not None
                headers = credentials.headers
                if headers is None:  # a token provider's first token
                    try:
                        await credentials.refresh(credentials.generation)
                    except TokenProviderError as exc:
                        if stop is not None and stop.reason is not None:  # the run stopped for it
                            return stopped(index, record, stop.reason, attempts, error), exc
                        return no_answer(index, record, exc, attempts), exc
                    headers = credentials.headers
                    assert headers is not None
                generation = credentials.generation
                tries += 1
                t0 = now()
                if started is None:
                    started = t0  # the retry deadline counts from the first try
                try:
                    response = await transport.send(self.url, headers, body, self.timeout)
                except TransportError as exc:
                    latency = now() - t0
                    if self.unanswered_since is None:
                        self.unanswered_since = t0
                    outcome: Outcome | None = None
                    error = credentials.clean_error(exc)
                    if isinstance(exc, ConnectError):  # nothing was sent
                        self.connection_failures += 1
                        if isinstance(exc, TLSVerificationError):
                            return no_answer(index, record, error, attempts), error
                    else:
                        attempts += 1
                        ambiguous = True  # it may have been applied
                    if isinstance(exc, (ConnectError, ConnectionLostError)):
                        unavailable += 1
                else:
                    attempts += 1
                    latency = now() - t0
                    self.unanswered_since = None
                    applied = read_applied(response.status, response.body)
                    if applied is not None:  # the usual answer, read without an Outcome
                        throttle.succeeded(sent_at)
                        transaction_id = applied[1]
                        if transaction_id is not None:  # a server may echo a token: inline
                            for secret in credentials.secrets:
                                if secret in transaction_id:
                                    transaction_id = credentials.redact(transaction_id)
                                    break
                        return RecordResult(  # positional: this runs once per record
                            index,
                            APPLIED,
                            record.target,
                            applied[0],
                            transaction_id,
                            None,
                            response.status,
                            "",
                            attempts,
                            latency,
                            record,
                        ), None
                    outcome = classify(
                        response.status, response.headers, response.body, now=time.time()
                    )
            finally:
                slots.give()
            paused = False
            retry_after = None
            if outcome is not None:
                verdict = outcome.verdict
                if verdict is not Verdict.THROTTLED:
                    throttle.succeeded(sent_at)
                outcome = credentials.clean_outcome(outcome)
                if verdict is Verdict.APPLIED:  # a rarer form of success ("2" as a string)
                    return ended(index, record, APPLIED, outcome, attempts, latency), None
                error = outcome.error(attempts)
                final = FINAL.get(verdict)
                if verdict is Verdict.TOKEN_EXPIRED and not refreshed and credentials.can_refresh:
                    refreshed = True
                    try:
                        await credentials.refresh(generation)
                    except TokenProviderError as exc:
                        return no_answer(index, record, exc, attempts), exc
                    continue
                if final is not None:
                    note = AMBIGUOUS_NOTE if ambiguous and verdict is Verdict.NOT_APPLIED else ""
                    return ended(index, record, final, outcome, attempts, latency, note), error
                if verdict is Verdict.UNPROCESSED:
                    unprocessed += 1
                if outcome.http_status in GATEWAY:
                    unavailable += 1
                if verdict is Verdict.THROTTLED:
                    throttled += 1
                    self.throttled += 1
                    if outcome.retry_after is not None:  # honoured up to the policy's maximum
                        retry_after = min(outcome.retry_after, self.retry.maximum)
                    paused = throttle.throttled(sent_at, retry_after)
            assert error is not None
            error.attempts = attempts
            delay = self.retry.delay(
                tries,
                elapsed=now() - (started if started is not None else now()),
                retry_after=retry_after,
                random=self.random(),
                throttled=throttled,
                unavailable=unavailable,
                unprocessed=unprocessed,
            )
            if delay is None:
                if outcome is None:  # a transport error: has the API answered anyone lately?
                    error = self._unreachable(error, now())
                stayed = (
                    outcome is not None
                    and outcome.verdict is Verdict.UNPROCESSED
                    and unprocessed >= self.retry.unprocessed_attempts
                )
                result = gave_up(
                    index, record, outcome, error, attempts, latency, stayed_unprocessed=stayed
                )
                return result, error
            if stop is not None and stop.reason is not None:
                return stopped(index, record, stop.reason, attempts, error), error
            if delay > 0 and not (retry_after is not None and paused):
                # (a Retry-After the throttle pauses every sender for is waited out there)
                if stop is None:
                    await self.clock.sleep(delay)
                else:
                    await stop.until(self.clock.sleep(delay))
