"""Building requests and classifying responses: pure functions of plain data, no I/O.

`classify` reads the body whatever the HTTP status (the API reports business errors inside
HTTP 200 bodies) and maps every row of the vendor's failure table to one `Verdict`.
"""

from __future__ import annotations

import enum
import re
from collections.abc import Mapping
from http import HTTPStatus
from typing import Any

import attrs

from ._codec import loads, loads_quick
from ._convert import converter, response_from_wire
from ._httptext import page_title, parse_retry_after, snippet
from ._models import ErrorBody
from .exceptions import (
    ApiError,
    EndpointError,
    NotAppliedError,
    PermissionDeniedError,
    RejectedError,
    ServerError,
    ThrottledError,
    TokenExpiredError,
)

__all__ = [
    "PERMANENT_CODES",
    "UNPROCESSED_CODE",
    "Outcome",
    "Response",
    "Verdict",
    "classify",
    "read_applied",
    "request_headers",
]

#: Codes the vendor documents as business errors of one record; retrying cannot help.
#: 1001 invalid input JSON, 3005 invalid profile id, 7031 id and name do not match,
#: 102 invalid profile id, 1020 contact profile not found.
PERMANENT_CODES = frozenset({1001, 3005, 7031, 102, 1020})

#: 1010 "The request was not processed.": nothing was done and an upsert is idempotent, so
#: it is sent again a few times (`RetryPolicy.unprocessed_attempts`), then REJECTED.
UNPROCESSED_CODE = 1010


class Verdict(enum.Enum):
    """What an answer means for the record and for the run."""

    APPLIED = "applied"  #: 200 with update-count >= 1
    NOT_APPLIED = "not_applied"  #: 200 with update-count 0, or a transaction-id and no count
    REJECTED = "rejected"  #: a permanent error for this record
    UNPROCESSED = "unprocessed"  #: 1010: nothing was done; a few more tries, then REJECTED
    RETRY = "retry"  #: transient (499, 5xx, an unreadable 200): send it again later
    THROTTLED = "throttled"  #: 429: slow down, then send it again
    TOKEN_EXPIRED = "token_expired"  # noqa: S105 #: 401/498: refresh the token, then send it again
    FATAL = "fatal"  #: 401/430, 405, ...: no request can succeed; stop sending


@attrs.frozen
class Response:
    """A raw HTTP answer: what a transport hands to `classify`."""

    status: int
    headers: Mapping[str, str] = attrs.field(factory=dict, repr=False)
    body: bytes = b""


@attrs.frozen
class Outcome:
    """The classified answer to one request."""

    verdict: Verdict
    http_status: int
    update_count: int | None = None
    transaction_id: str | None = None
    code: int | None = None
    description: str = ""
    retry_after: float | None = None

    def error(self, attempts: int = 1) -> ApiError:
        """The typed exception for an outcome that is not APPLIED."""
        cls = _ERRORS[self.verdict]
        if (
            self.verdict is Verdict.FATAL
            and self.http_status != 405
            and (self.code == 430 or self.http_status in (401, 403))
        ):
            cls = PermissionDeniedError
        return cls(
            self.description or self.verdict.value.replace("_", " "),
            http_status=self.http_status,
            code=self.code,
            transaction_id=self.transaction_id,
            retry_after=self.retry_after,
            attempts=attempts,
        )


_ERRORS: dict[Verdict, type[ApiError]] = {
    Verdict.APPLIED: ApiError,
    Verdict.NOT_APPLIED: NotAppliedError,
    Verdict.REJECTED: RejectedError,
    Verdict.UNPROCESSED: RejectedError,
    Verdict.RETRY: ServerError,
    Verdict.THROTTLED: ThrottledError,
    Verdict.TOKEN_EXPIRED: TokenExpiredError,
    Verdict.FATAL: EndpointError,
}


def request_headers(token: str) -> dict[str, str]:
    """Headers of every request: JSON body, bearer authorization."""
    return {
        "Authorization": f"Bearer {token}",
        "Content-Type": "application/json",
        "Accept": "application/json",
    }


_NOT_APPLIED_TEXT = (
    "update-count 0: nothing was created or updated (the vendor warns this usually means a "
    "wrong request body: a key or filter that matches nothing, a wrong profile name)"
)
_NO_COUNT_TEXT = (
    "no update-count: the API gave a transaction-id (it processed the request) but did not "
    "say how many profiles changed; not sent again (it may have applied): check the profile"
)


def _parse_body(body: bytes) -> dict[str, Any] | None:
    if not body:
        return None
    try:
        parsed = loads(body)
    except ValueError:
        return None
    return parsed if type(parsed) is dict else None


_INTEGER = re.compile(r"[+-]?[0-9]{1,9}")


def _int_or_none(value: object) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, str) and _INTEGER.fullmatch(value.strip()):
        return int(value)
    return None


#: What the codes of the vendor's failure table mean, whatever the HTTP status.
_CODE_VERDICTS: Mapping[int, Verdict] = {
    430: Verdict.FATAL,
    498: Verdict.TOKEN_EXPIRED,
    429: Verdict.THROTTLED,
    405: Verdict.FATAL,
    499: Verdict.RETRY,
    500: Verdict.RETRY,
    UNPROCESSED_CODE: Verdict.UNPROCESSED,
    **dict.fromkeys(PERMANENT_CODES, Verdict.REJECTED),
}


def _by_code(code: int, status: int) -> Verdict:
    # 429, 401 and 405 are answers about the request, not the record: the status decides
    # whatever code the body holds (a 401 is a token to refresh only when it says 498).
    if status == 429:
        return Verdict.THROTTLED
    if status == 401:
        return Verdict.TOKEN_EXPIRED if code == 498 else Verdict.FATAL
    if status == 405:
        return Verdict.FATAL
    verdict = _CODE_VERDICTS.get(code)
    if verdict is not None:
        return verdict
    if 200 <= status < 300:
        return Verdict.REJECTED  # an unknown error code inside a 200: a business error
    return _by_status(status)  # an unknown code: the HTTP status says more


def _by_status(status: int) -> Verdict:
    if status == 429:
        return Verdict.THROTTLED
    if status in (401, 403, 404, 405) or 300 <= status < 400:
        return Verdict.FATAL
    if status in (408, 425, 499) or status >= 500:
        return Verdict.RETRY
    if 400 <= status < 500:
        return Verdict.REJECTED
    return Verdict.RETRY  # 1xx / 2xx without a readable body: ambiguous, send again


_STATUS_TEXT = {
    401: "authorization failed",
    403: "forbidden",
    404: "not found: check the base URL and path",
    405: "method not supported: check the base URL and path",
    429: "too many requests",
    499: "request failed",
}


_STATUS_PREFIX = re.compile(r"^\d{3}\s*[:\-]?\s*")


def _phrase(status: int) -> str:
    """HTTP's own name for ``status`` (``Bad Gateway``), or nothing for an unknown one."""
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return ""


def read_applied(status: int, body: bytes) -> tuple[int, str | None] | None:
    """``(update-count, transaction-id)`` of the usual APPLIED answer, else None.

    The hot path of every request: a 2xx JSON object with an integer update-count >= 1,
    no ``code`` and a string (or no) transaction-id. For None, `classify` says what the
    answer means (it also reads the rarer forms of success, a count sent as a string).
    """
    if not 200 <= status < 300 or not body:
        return None
    try:
        parsed = loads_quick(body)  # a count or id it rounded fails _applied: classify reads it
    except ValueError:
        return None
    return _applied(parsed) if type(parsed) is dict else None


def _applied(parsed: dict[str, Any]) -> tuple[int, str | None] | None:
    count = parsed.get("update-count")
    transaction_id = parsed.get("transaction-id")
    if (
        type(count) is int
        and count >= 1
        and (transaction_id is None or type(transaction_id) is str)
        and parsed.get("code") is None
    ):
        return count, transaction_id
    return None


def classify(status: int, headers: Mapping[str, str], body: bytes, *, now: float) -> Outcome:
    """Classify one HTTP answer.

    ``now`` (POSIX time) resolves an HTTP-date ``Retry-After``.
    """
    parsed = _parse_body(body)
    if parsed is not None and 200 <= status < 300 and parsed.get("code") is None:
        applied = _applied(parsed)
        if applied is not None:
            return Outcome(Verdict.APPLIED, status, *applied)
        try:
            success = response_from_wire(parsed)
        except (KeyError, ValueError, TypeError) as exc:
            transaction_id = parsed.get("transaction-id")
            if type(transaction_id) is str or type(transaction_id) is int:
                # processed (it has a transaction), the count unknown: final, never re-sent
                return Outcome(
                    Verdict.NOT_APPLIED,
                    status,
                    transaction_id=str(transaction_id),
                    description=_NO_COUNT_TEXT,
                )
            if not isinstance(exc, KeyError):
                return Outcome(
                    Verdict.RETRY, status, description=f"unreadable success body: {snippet(body)}"
                )
            # no update-count and no transaction-id: classified by status below
        else:
            if success.update_count >= 1:
                return Outcome(
                    Verdict.APPLIED,
                    status,
                    update_count=success.update_count,
                    transaction_id=success.transaction_id,
                )
            return Outcome(
                Verdict.NOT_APPLIED,
                status,
                update_count=success.update_count,
                transaction_id=success.transaction_id,
                description=_NOT_APPLIED_TEXT,
            )

    if parsed is not None and parsed.get("code") is not None:
        error = converter.structure(parsed, ErrorBody)
        code = _int_or_none(error.code)
        if code is not None:
            verdict = _by_code(code, status)
        else:  # a code that is not a number: unknown, like any other
            verdict = Verdict.REJECTED if 200 <= status < 300 else _by_status(status)
        description = error.description or f"API code {error.code}"
        return Outcome(
            verdict,
            status,
            code=code,
            description=description,
            transaction_id=error.transaction_id,
            retry_after=_retry_after(verdict, headers, now),
        )

    verdict = _by_status(status)
    if 200 <= status < 300:
        text = f"unexpected response body: {snippet(body)}" if body else "empty response body"
    else:
        # the status is in the error's message already: here only what the body adds
        text = _STATUS_TEXT.get(status, "")
        detail = (page_title(body) or snippet(body)) if body else ""
        detail = (
            _STATUS_PREFIX.sub("", detail, count=1) if detail.startswith(str(status)) else detail
        )
        if 300 <= status < 400:
            location = headers.get("Location") or headers.get("location") or "?"
            text = f"a redirect to {snippet(location.encode())} (not followed: check base_url)"
            detail = ""
        elif not text and not detail:
            text = _phrase(status)
        if detail.lower() in text.lower():
            detail = ""  # adds nothing
        text = f"{text}: {detail}" if text and detail else text or detail or "no body"
    return Outcome(
        verdict, status, description=text, retry_after=_retry_after(verdict, headers, now)
    )


def _retry_after(verdict: Verdict, headers: Mapping[str, str], now: float) -> float | None:
    if verdict is not Verdict.THROTTLED:
        return None
    return parse_retry_after(headers.get("Retry-After"), now)
