"""The bearer token of a client: an API key, or a provider asked again after a 498.

Also the redaction of secrets from every text that leaves the library.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Mapping

import attrs

from ._sansio import Outcome, request_headers
from .exceptions import ConfigurationError, TokenProviderError, TransportError

__all__ = ["Credentials", "TokenProvider"]

logger = logging.getLogger("webex_campaign_async")

#: An async callable returning an access token; asked again when the API answers 498.
TokenProvider = Callable[[], Awaitable[str]]

_REDACTED = "***"


class Credentials:
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
        "generation",
        "headers",
        "refreshes",
        "secrets",
    )

    def __init__(self, api_key: str | None, provider: TokenProvider | None) -> None:
        if (api_key is None) == (provider is None):
            raise ConfigurationError("give exactly one of api_key or token_provider")
        if api_key is not None and (not isinstance(api_key, str) or not api_key.strip()):
            raise ConfigurationError("api_key must be a non-empty string")
        if api_key is not None and not _fits_a_header(api_key):
            raise ConfigurationError(
                "api_key holds a line break or another control character: it cannot be sent "
                "in a header (copied with a trailing newline?)"
            )
        self._provider = provider
        #: Every token this client ever held, the longest first (to redact).
        self.secrets: tuple[str, ...] = (api_key,) if api_key is not None else ()
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
        return "<Credentials: redacted>"

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
            failed: str | None = None
            try:
                token = await self._provider()
            except Exception as exc:  # its text may hold secrets we never saw: not shown
                failed = type(exc).__name__
            self._calls += 1
            if failed is not None:  # raised here, not in the except: nothing chained to it
                self._failure = (
                    self._calls,
                    f"the token provider failed: it raised {failed} (its message is not "
                    "shown: it may hold a secret)",
                )
                raise TokenProviderError(self._failure[1])
            if not isinstance(token, str) or not token.strip():
                self._failure = (self._calls, "the token provider returned no token")
                raise TokenProviderError(self._failure[1])
            if not _fits_a_header(token):
                self._failure = (
                    self._calls,
                    "the token provider returned a token with a line break or another control "
                    "character: it cannot be sent in a header",
                )
                raise TokenProviderError(self._failure[1])
            if token not in self.secrets:  # every token ever held stays redacted
                self.secrets = tuple(sorted((*self.secrets, token), key=len, reverse=True))
            self.headers = request_headers(token)
            self.generation += 1
            if not first:
                self.refreshes += 1
                logger.info("access token refreshed")

    def redact(self, text: str) -> str:
        """``text`` without any token this client ever held, should a server echo one."""
        for secret in self.secrets:
            if secret in text:
                text = text.replace(secret, _REDACTED)
        return text

    def clean_outcome(self, outcome: Outcome) -> Outcome:
        """``outcome`` without any token in its texts (a server may echo one)."""
        description = self.redact(outcome.description)
        transaction_id = outcome.transaction_id
        if transaction_id is not None:
            transaction_id = self.redact(transaction_id)
        if description is outcome.description and transaction_id is outcome.transaction_id:
            return outcome
        return attrs.evolve(outcome, description=description, transaction_id=transaction_id)

    def clean_error(self, error: TransportError) -> TransportError:
        """``error`` (a new one of its type) without any token in its message."""
        text = str(error)
        clean = self.redact(text)
        return error if clean is text else type(error)(clean)

    def leaks(self, text: str) -> bool:
        """True when ``text`` holds a token this client ever held."""
        return any(secret in text for secret in self.secrets)


def _fits_a_header(token: str) -> bool:
    """No control character (a CR or LF would split the Authorization header)."""
    return not any(ord(c) < 32 or ord(c) == 127 for c in token)
