"""Classification of every row of the vendor's failure table, and of the answers it does not
list, from sample bodies written by hand (``tests/samples/README.md`` says where each is from).
"""

from __future__ import annotations

from datetime import datetime, timezone
from email.utils import format_datetime
from pathlib import Path

import pytest

from webex_campaign_async import (
    EndpointError,
    NotAppliedError,
    PermissionDeniedError,
    RejectedError,
    ServerError,
    ThrottledError,
    TokenExpiredError,
)
from webex_campaign_async._httptext import parse_retry_after, snippet
from webex_campaign_async._sansio import Verdict, classify, read_applied, request_headers

SAMPLES = Path(__file__).parent / "samples"
NOW = 1_767_225_600.0  # 2026-01-01T00:00:00Z

V = Verdict
SUPERSCRIPT_TWO = '{"code": "\u00b2", "description": "x"}'.encode()  # "2".isdigit() is true

# (sample file or literal body, HTTP status, headers, verdict, code, update-count, error type)
TABLE = [
    ("200-applied.json", 200, {}, V.APPLIED, None, 1, None),
    ("200-applied-filter.json", 200, {}, V.APPLIED, None, 3, None),
    ("200-applied-stringly.json", 200, {}, V.APPLIED, None, 2, None),
    ("200-update-count-0.json", 200, {}, V.NOT_APPLIED, None, 0, NotAppliedError),
    # a transaction-id without update-count: processed, count unknown: final, never re-sent
    ("200-transaction-id-only.json", 200, {}, V.NOT_APPLIED, None, None, NotAppliedError),
    (
        b'{"update-count": null, "transaction-id": 7}',
        200,
        {},
        V.NOT_APPLIED,
        None,
        None,
        NotAppliedError,
    ),
    (
        b'{"update-count": "many", "transaction-id": "t"}',
        200,
        {},
        V.NOT_APPLIED,
        None,
        None,
        NotAppliedError,
    ),
    # 1010 "not processed": sent again a few times, then REJECTED (RejectedError)
    ("200-1010.json", 200, {}, V.UNPROCESSED, 1010, None, RejectedError),
    ("200-1001.json", 200, {}, V.REJECTED, 1001, None, RejectedError),
    ("200-3005.json", 200, {}, V.REJECTED, 3005, None, RejectedError),
    ("200-7031.json", 200, {}, V.REJECTED, 7031, None, RejectedError),
    ("200-102.json", 200, {}, V.REJECTED, 102, None, RejectedError),
    ("200-1020.json", 200, {}, V.REJECTED, 1020, None, RejectedError),
    ("200-unknown-code.json", 200, {}, V.REJECTED, 4242, None, RejectedError),
    ("401-430.json", 401, {}, V.FATAL, 430, None, PermissionDeniedError),
    ("401-498.json", 401, {}, V.TOKEN_EXPIRED, 498, None, TokenExpiredError),
    ("405-405.json", 405, {}, V.FATAL, 405, None, EndpointError),
    ("429-429.json", 429, {}, V.THROTTLED, 429, None, ThrottledError),
    ("429-429.json", 429, {"Retry-After": "7"}, V.THROTTLED, 429, None, ThrottledError),
    ("499-499.json", 499, {}, V.RETRY, 499, None, ServerError),
    ("500-500.json", 500, {}, V.RETRY, 500, None, ServerError),
    ("500-1001.json", 500, {}, V.REJECTED, 1001, None, RejectedError),
    ("502-html.html", 502, {}, V.RETRY, None, None, ServerError),
    ("503-html.html", 503, {}, V.RETRY, None, None, ServerError),
    ("504-truncated-html.html", 504, {}, V.RETRY, None, None, ServerError),
    ("200-truncated.json", 200, {}, V.RETRY, None, None, ServerError),
    (b"", 200, {}, V.RETRY, None, None, ServerError),
    (b"", 429, {"Retry-After": "2"}, V.THROTTLED, None, None, ThrottledError),
    (b"", 401, {}, V.FATAL, None, None, PermissionDeniedError),
    (b"", 403, {}, V.FATAL, None, None, PermissionDeniedError),
    (b"<h1>Not Found</h1>", 404, {}, V.FATAL, None, None, EndpointError),
    (b"", 405, {}, V.FATAL, None, None, EndpointError),
    (b"", 302, {"Location": "https://elsewhere/"}, V.FATAL, None, None, EndpointError),
    (b'{"error": "bad"}', 400, {}, V.REJECTED, None, None, RejectedError),
    (b"", 408, {}, V.RETRY, None, None, ServerError),
    (b"", 500, {}, V.RETRY, None, None, ServerError),
    (b'{"code": 9999, "description": "?"}', 503, {}, V.RETRY, 9999, None, ServerError),
    (b'{"code": "498"}', 200, {}, V.TOKEN_EXPIRED, 498, None, TokenExpiredError),
    (b'{"code": "ABC", "description": "odd"}', 200, {}, V.REJECTED, None, None, RejectedError),
    (b"[1, 2]", 200, {}, V.RETRY, None, None, ServerError),
    # a null code is no code
    (b'{"update-count": 1, "code": null}', 200, {}, V.APPLIED, None, 1, None),
    # unknown codes: a 200 makes them business errors, otherwise the status speaks
    (b'{"code": 401, "description": "no"}', 401, {}, V.FATAL, 401, None, PermissionDeniedError),
    (b'{"code": "403", "description": "no"}', 403, {}, V.FATAL, 403, None, PermissionDeniedError),
    (b'{"code": 404, "description": "no"}', 404, {}, V.FATAL, 404, None, EndpointError),
    (b'{"code": 408, "description": "slow"}', 408, {}, V.RETRY, 408, None, ServerError),
    (b'{"code": 9999, "description": "?"}', 400, {}, V.REJECTED, 9999, None, RejectedError),
    (b'{"code": "ABC", "description": "odd"}', 503, {}, V.RETRY, None, None, ServerError),
    # codes that look like numbers but are not
    (SUPERSCRIPT_TWO, 200, {}, V.REJECTED, None, None, RejectedError),
    (b'{"code": "--5", "description": "x"}', 200, {}, V.REJECTED, None, None, RejectedError),
    (b'{"code": "1" , "description": null}', 200, {}, V.REJECTED, 1, None, RejectedError),
    (b'{"update-count": "many"}', 200, {}, V.RETRY, None, None, ServerError),
    (b"{}", 200, {}, V.RETRY, None, None, ServerError),
    # 429, 401 and 405 speak about the request: the status decides whatever the code says
    (
        b'{"code": "1001", "description": "x"}',
        429,
        {"Retry-After": "3"},
        V.THROTTLED,
        1001,
        None,
        ThrottledError,
    ),
    (b'{"code": "1001", "description": "x"}', 401, {}, V.FATAL, 1001, None, PermissionDeniedError),
    (b'{"code": "1010", "description": "x"}', 401, {}, V.FATAL, 1010, None, PermissionDeniedError),
    (b'{"code": "430", "description": "x"}', 405, {}, V.FATAL, 430, None, EndpointError),
    # elsewhere the code decides: the API reports business errors in 200 and 500 bodies
    (b'{"code": "429", "description": "x"}', 200, {}, V.THROTTLED, 429, None, ThrottledError),
    (b'{"code": "1010", "description": "x"}', 500, {}, V.UNPROCESSED, 1010, None, RejectedError),
    (b'{"code": "1001", "description": "x"}', 503, {}, V.REJECTED, 1001, None, RejectedError),
    (b'{"code": "499", "description": "x"}', 200, {}, V.RETRY, 499, None, ServerError),
]


def body_of(sample: str | bytes) -> bytes:
    return sample if isinstance(sample, bytes) else (SAMPLES / sample).read_bytes()


@pytest.mark.parametrize(
    ("sample", "status", "headers", "verdict", "code", "count", "error"),
    TABLE,
    ids=[f"{row[1]}-{row[0] if isinstance(row[0], str) else row[0][:16]!r}" for row in TABLE],
)
def test_classify(
    sample: str | bytes,
    status: int,
    headers: dict[str, str],
    verdict: Verdict,
    code: int | None,
    count: int | None,
    error: type[Exception] | None,
) -> None:
    outcome = classify(status, headers, body_of(sample), now=NOW)
    assert outcome.verdict is verdict
    assert outcome.http_status == status
    assert outcome.code == code
    assert outcome.update_count == count
    if error is None:
        assert outcome.description == ""
    else:
        exc = outcome.error(attempts=2)
        assert type(exc) is error
        assert exc.http_status == status
        assert exc.code == code
        assert exc.attempts == 2
        assert outcome.description
        assert outcome.description in str(exc)


@pytest.mark.parametrize(("sample", "status", "headers", "verdict"), [row[:4] for row in TABLE])
def test_read_applied_agrees_with_classify(
    sample: str | bytes, status: int, headers: dict[str, str], verdict: Verdict
) -> None:
    """The hot path's reader says APPLIED only where classify does, with the same values."""
    body = body_of(sample)
    applied = read_applied(status, body)
    outcome = classify(status, headers, body, now=NOW)
    if applied is not None:
        assert outcome.verdict is Verdict.APPLIED
        assert applied == (outcome.update_count, outcome.transaction_id)
    elif verdict is Verdict.APPLIED:  # the rarer forms are left to classify
        assert sample == "200-applied-stringly.json"


@pytest.mark.parametrize(
    ("status", "body", "expected"),
    [
        (200, b'{"update-count": 1, "transaction-id": "t"}', (1, "t")),
        (200, b'{"update-count": 7}', (7, None)),
        (201, b'{"update-count": 1, "transaction-id": "t"}', (1, "t")),
        (200, b'{"update-count": 0, "transaction-id": "t"}', None),
        (200, b'{"update-count": true, "transaction-id": "t"}', None),
        (200, b'{"update-count": 1.0}', None),
        (200, b'{"update-count": "1"}', None),
        (200, b'{"update-count": 1, "transaction-id": 5}', None),
        (200, b'{"update-count": 1, "code": 1010}', None),
        (200, b'{"update-count": 1, "code": null}', (1, None)),
        (200, b"[1]", None),
        (200, b"", None),
        (200, b"{", None),
        (429, b'{"update-count": 1}', None),
        (500, b'{"update-count": 1}', None),
    ],
)
def test_read_applied(status: int, body: bytes, expected: tuple[int, str | None] | None) -> None:
    assert read_applied(status, body) == expected
    if expected is not None:
        assert classify(status, {}, body, now=NOW).verdict is Verdict.APPLIED


def test_classify_reads_an_http_date_retry_after_against_the_given_time() -> None:
    later = format_datetime(datetime.fromtimestamp(NOW + 7, timezone.utc), usegmt=True)
    outcome = classify(429, {"Retry-After": later}, b"", now=NOW)
    assert outcome.retry_after == 7


def test_success_keeps_the_transaction_id() -> None:
    outcome = classify(200, {}, body_of("200-applied.json"), now=NOW)
    assert outcome.transaction_id == "b1d7c8a2-5f3e-4c1a-9d2b-7e6f5a4b3c21"
    assert classify(200, {}, body_of("200-applied-stringly.json"), now=NOW).transaction_id == "4711"


def test_not_applied_says_what_the_vendor_warns() -> None:
    outcome = classify(200, {}, body_of("200-update-count-0.json"), now=NOW)
    assert "update-count 0" in outcome.description
    assert outcome.transaction_id == "5a4b3c2d-1e0f-4a9b-8c7d-6e5f4a3b2c1d"


def test_a_null_description_is_not_the_text_none() -> None:
    outcome = classify(200, {}, b'{"code": "1010", "description": null}', now=NOW)
    assert outcome.description == "API code 1010"


def test_business_error_keeps_the_vendor_description() -> None:
    outcome = classify(200, {}, body_of("200-7031.json"), now=NOW)
    assert outcome.description == "Profile Id and Profile name do not match."


def test_html_error_page_becomes_its_title() -> None:
    outcome = classify(503, {}, body_of("503-html.html"), now=NOW)
    assert outcome.description == "Service Temporarily Unavailable"
    assert str(outcome.error()) == "HTTP 503: Service Temporarily Unavailable"  # status once
    assert "<" not in outcome.description
    assert "font-family" not in outcome.description


def test_snippet_is_bounded_and_single_line() -> None:
    text = snippet(b"<p>" + b"word\n" * 1000 + b"</p>")
    assert len(text) <= 200
    assert "\n" not in text
    assert text.endswith("\u2026")
    assert snippet(b"\xff\xfe broken utf-8") == "\ufffd\ufffd broken utf-8"


@pytest.mark.parametrize(
    ("value", "seconds"),
    [
        (None, None),
        ("", None),
        ("7", 7.0),
        (" 7 ", 7.0),
        ("0.5", 0.5),
        ("-3", 0.0),
        ("soon", None),
        ("nan", None),
        ("inf", None),
        (format_datetime(datetime.fromtimestamp(NOW + 30, timezone.utc), usegmt=True), 30.0),
        (format_datetime(datetime.fromtimestamp(NOW - 30, timezone.utc), usegmt=True), 0.0),
        ("Thu, 01 Jan 2026 00:01:00", None),  # no zone: not an HTTP-date
    ],
)
def test_parse_retry_after(value: str | None, seconds: float | None) -> None:
    assert parse_retry_after(value, NOW) == seconds


def test_retry_after_is_read_only_for_throttling() -> None:
    assert classify(429, {"Retry-After": "7"}, body_of("429-429.json"), now=NOW).retry_after == 7.0
    assert classify(503, {"Retry-After": "7"}, b"", now=NOW).retry_after is None


def test_request_headers() -> None:
    assert request_headers("s3cret") == {
        "Authorization": "Bearer s3cret",
        "Content-Type": "application/json",
        "Accept": "application/json",
    }


@pytest.mark.parametrize(
    ("status", "headers", "body", "message"),
    [
        (502, {}, b"<html><head><title>502 Bad Gateway</title></head><body><h1>502 Bad Gateway"
         b"</h1><hr><center>nginx/1.22.1</center></body></html>", "HTTP 502: Bad Gateway"),
        (404, {}, b"404: Not Found", "HTTP 404: not found: check the base URL and path"),
        (503, {}, b"", "HTTP 503: Service Unavailable"),
        (504, {}, b"upstream timed out", "HTTP 504: upstream timed out"),
        (413, {}, b"<title>413 Request Entity Too Large</title>",
         "HTTP 413: Request Entity Too Large"),
        (302, {"Location": "https://sso.example/login"}, b"",
         "HTTP 302: a redirect to https://sso.example/login (not followed: check base_url)"),
        (599, {}, b"", "HTTP 599: no body"),
    ],
)  # fmt: skip
def test_an_error_page_reads_as_one_short_line_with_the_status_once(
    status: int, headers: dict[str, str], body: bytes, message: str
) -> None:
    assert str(classify(status, headers, body, now=NOW).error()) == message
