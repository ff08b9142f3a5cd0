"""Every error this library raises, in one tree; each carries the data a caller acts on.

::

    WebexCampaignError
    ├── ConfigurationError (ValueError)  bad client arguments; raised before anything is sent
    ├── InvalidRecordError (ValueError)  a record failed local validation; never sent
    ├── InputError                       an input file cannot be read as records at all
    ├── TokenProviderError               the token provider raised or gave an empty token
    ├── TransportError                   no HTTP answer: reset, dropped connection, bad answer
    │   ├── RequestTimeoutError          no answer within the configured timeout
    │   ├── ConnectionLostError          closed or reset before the answer: may have applied
    │   ├── ConnectError                 no connection (refused, DNS, proxy): nothing was sent
    │   │   └── TLSVerificationError     the server's certificate is not trusted: the run stops
    │   └── UnreachableError             no answer at all for the retry policy's outage: stops
    └── ApiError                         the API answered with an error
        ├── NotAppliedError              HTTP 200 but update-count 0: nothing changed
        ├── RejectedError                a permanent error for this record (1010, 1001, ...)
        ├── EndpointError                405 (or 404): wrong base URL, path or method
        ├── ThrottledError               429: too many requests (with retry_after if sent)
        ├── ServerError                  499 or 5xx: a transient failure of the API
        └── AuthError                    401
            ├── PermissionDeniedError    430: the key may not call this API
            └── TokenExpiredError        498: the token expired (the client asks again)

Retryable: `TransportError` (but `TLSVerificationError` and `UnreachableError`),
`ThrottledError`, `ServerError` (and `TokenExpiredError` after a refresh). ``attempts``
says how many requests were sent before the error was raised (a failed connection sent none).
No message, repr or attribute of these exceptions holds an API key or token.
"""

from __future__ import annotations

__all__ = [
    "ApiError",
    "AuthError",
    "ConfigurationError",
    "ConnectError",
    "ConnectionLostError",
    "EndpointError",
    "InputError",
    "InvalidRecordError",
    "NotAppliedError",
    "PermissionDeniedError",
    "RejectedError",
    "RequestTimeoutError",
    "ServerError",
    "TLSVerificationError",
    "ThrottledError",
    "TokenExpiredError",
    "TokenProviderError",
    "TransportError",
    "UnreachableError",
    "WebexCampaignError",
]


class WebexCampaignError(Exception):
    """Base class of every error raised by webex-campaign-async."""

    #: How many HTTP requests were made for the operation that raised this (0: none was sent).
    attempts: int = 0


class ConfigurationError(WebexCampaignError, ValueError):
    """The client was configured in a way that cannot work or is unsafe (plain http, no auth)."""


class InvalidRecordError(WebexCampaignError, ValueError):
    """A record failed local validation and is never sent.

    ``field`` names the offending field (Python names, with a path such as
    ``attributes['age']`` or ``filter[1].rel_op``), ``reason`` says what is wrong, and
    ``index``/``key`` identify the record in a bulk run when known. ``source`` may hold the
    input it came from (a line of a file), for the failures file; it is not in the message.
    """

    def __init__(
        self,
        field: str,
        reason: str,
        *,
        index: int | None = None,
        key: str | None = None,
        source: object = None,
    ) -> None:
        self.field = field
        self.reason = reason
        self.index = index
        self.key = key
        self.source = source
        super().__init__(self._message())

    def _message(self) -> str:
        where = []
        if self.index is not None:
            where.append(f"record {self.index}")
        if self.key is not None:
            where.append(f"key {self.key!r}")
        prefix = f"{' '.join(where)}: " if where else ""
        return f"{prefix}{self.field}: {self.reason}" if self.field else f"{prefix}{self.reason}"

    def within(self, parent: str) -> InvalidRecordError:
        """The same error with ``parent`` prepended to the field path."""
        field = f"{parent}.{self.field}" if self.field else parent
        return InvalidRecordError(
            field, self.reason, index=self.index, key=self.key, source=self.source
        )

    def for_record(self, index: int | None, key: str | None = None) -> InvalidRecordError:
        """The same error naming the record it belongs to."""
        return InvalidRecordError(self.field, self.reason, index=index, key=key, source=self.source)

    def __reduce__(self) -> tuple[object, ...]:
        return (_rebuild_invalid, (self.field, self.reason, self.index, self.key))


def _rebuild_invalid(
    field: str, reason: str, index: int | None, key: str | None
) -> InvalidRecordError:
    return InvalidRecordError(field, reason, index=index, key=key)


class InputError(WebexCampaignError):
    """An input file cannot be read as records at all (missing, unreadable, no key column)."""


class TokenProviderError(WebexCampaignError):
    """The ``token_provider`` raised, or returned something that is not a token.

    Every request waiting for that token gets this error; the next request asks again.
    """


class TransportError(WebexCampaignError):
    """No HTTP response was received (connection refused, reset or dropped).

    The request may or may not have been applied by the API when the connection dropped
    after sending.
    """


class RequestTimeoutError(TransportError, TimeoutError):
    """No response arrived within the configured timeout."""


class ConnectionLostError(TransportError):
    """The connection was closed or reset before a whole answer came: the request may or
    may not have been applied."""


class ConnectError(TransportError):
    """No connection could be made (refused, name not resolved, proxy or TLS handshake
    failure): the request was not sent, so it was certainly not applied."""


class TLSVerificationError(ConnectError):
    """The server's TLS certificate is not trusted. Retrying cannot help: a bulk run stops.

    Behind a TLS-inspecting proxy, give its CA (``AiohttpTransport(ssl_context=...)``, the
    CLI's ``--ca-file``, or ``SSL_CERT_FILE``); verification is never turned off.
    """


class ApiError(WebexCampaignError):
    """The API answered, and the answer is not a success.

    ``http_status`` is the HTTP status, ``code`` the API code from the body (``None`` when the
    body had none, such as an HTML error page), ``description`` the API's description or a
    short snippet of a body that was not JSON.
    """

    def __init__(
        self,
        description: str,
        *,
        http_status: int | None = None,
        code: int | None = None,
        transaction_id: str | None = None,
        retry_after: float | None = None,
        attempts: int = 1,
    ) -> None:
        self.description = description
        self.http_status = http_status
        self.code = code
        self.transaction_id = transaction_id
        self.retry_after = retry_after
        self.attempts = attempts
        super().__init__(self._message())

    def _message(self) -> str:
        parts = []
        if self.http_status is not None:
            parts.append(f"HTTP {self.http_status}")
        if self.code is not None:
            parts.append(f"code {self.code}")
        head = ", ".join(parts)
        text = f"{head}: {self.description}" if head else self.description
        if self.transaction_id:
            text += f" (transaction-id {self.transaction_id})"
        return text

    def __reduce__(self) -> tuple[object, ...]:
        kwargs = {
            "http_status": self.http_status,
            "code": self.code,
            "transaction_id": self.transaction_id,
            "retry_after": self.retry_after,
            "attempts": self.attempts,
        }
        return (_rebuild_api_error, (type(self), self.description, kwargs))


def _rebuild_api_error(
    cls: type[ApiError], description: str, kwargs: dict[str, object]
) -> ApiError:
    return cls(description, **kwargs)  # type: ignore[arg-type]


class NotAppliedError(ApiError):
    """HTTP 200 with ``update-count`` 0: the API created or updated nothing.

    The vendor warns this usually means a wrong request body (a key or filter that matches
    nothing in update-only mode, a wrong profile name, ...).
    """

    update_count = 0


class RejectedError(ApiError):
    """A permanent error for this record: sending it again cannot help."""


class EndpointError(ApiError):
    """The API refused the method or path (405, or 404 without an API code)."""


class ThrottledError(ApiError):
    """429: the tenant's throttle limit was reached. ``retry_after`` is in seconds, if sent."""


class ServerError(ApiError):
    """499 or 5xx: a failure on the API's side that may pass."""


class AuthError(ApiError):
    """401: the API did not accept the credentials."""


class PermissionDeniedError(AuthError):
    """401/430: the key or token is valid but may not call this API."""


class TokenExpiredError(AuthError):
    """401/498: invalid token or access token expired."""


class UnreachableError(TransportError):
    """The API gave no answer at all (every connection refused, reset or timed out) for the
    retry policy's ``outage`` seconds: a bulk run stops, as retrying the other records could
    only wait as long again. Check the base URL, the network and any proxy."""
