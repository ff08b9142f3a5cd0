"""Pure readers of HTTP texts: a ``Retry-After`` header, an error page's title, a snippet."""

from __future__ import annotations

import html
import re
from email.utils import parsedate_to_datetime

__all__ = ["page_title", "parse_retry_after", "snippet"]

_SNIPPET_CHARS = 200
_TAGS = re.compile(rb"<(script|style)\b.*?</\1\s*>|<[^>]*>", re.S | re.I)
_SPACE = re.compile(r"\s+")

_TITLE = re.compile(rb"<(title|h1)\b[^>]*>(.*?)</\1\s*>", re.S | re.I)


def page_title(body: bytes) -> str | None:
    """The ``<title>`` (else the first ``<h1>``) of an HTML page, as one plain line."""
    found = {m.group(1).lower(): m.group(2) for m in reversed(list(_TITLE.finditer(body[:20_000])))}
    raw = found.get(b"title") or found.get(b"h1")
    if raw is None:
        return None
    text = _SPACE.sub(" ", html.unescape(_TAGS.sub(b" ", raw).decode("utf-8", "replace"))).strip()
    return text[:_SNIPPET_CHARS] or None


def snippet(body: bytes, limit: int = _SNIPPET_CHARS) -> str:
    """A short, single-line, tag-free excerpt of a body that was not the expected JSON."""
    text = _TAGS.sub(b" ", body[: limit * 20]).decode("utf-8", "replace")
    text = _SPACE.sub(" ", text).strip()
    return text if len(text) <= limit else text[: limit - 1] + "\u2026"


def parse_retry_after(value: str | None, now: float) -> float | None:
    """Seconds to wait from a ``Retry-After`` header (delta-seconds or HTTP-date).

    ``now`` is the current POSIX time, used for the HTTP-date form. Returns ``None`` when
    the header is absent or unreadable, and never a negative number.
    """
    if value is None:
        return None
    value = value.strip()
    if not value:
        return None
    try:
        seconds = float(value)
    except ValueError:
        try:
            when = parsedate_to_datetime(value)
        except (TypeError, ValueError, IndexError):
            return None
        if when.tzinfo is None:  # RFC 9110 dates are GMT; a naive parse means no zone was given
            return None
        seconds = when.timestamp() - now
    if seconds != seconds or seconds in (float("inf"), float("-inf")):
        return None
    return max(0.0, seconds)
