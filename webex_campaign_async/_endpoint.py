"""Where requests go: the upsert URL from a base URL and a path, and the plain-http policy."""

from __future__ import annotations

import ipaddress
from urllib.parse import urlsplit

from .exceptions import ConfigurationError

__all__ = ["DEFAULT_UPSERT_PATH", "check_path", "is_loopback", "upsert_url"]

#: Inferred from the documented bulk sibling ``/profiles/updateBulk``; configurable.
DEFAULT_UPSERT_PATH = "/campaignapi/resources/v3/profiles/update"


def upsert_url(base_url: str, path: str, *, allow_insecure_http: bool = False) -> str:
    """The URL every upsert is POSTed to; refuses what would leak the key.

    Plain ``http://`` is refused unless the host is loopback or ``allow_insecure_http``;
    a base URL carrying credentials, a query or a fragment is refused too.
    """
    if not isinstance(base_url, str):
        raise ConfigurationError(f"base_url must be a string, got {type(base_url).__name__}")
    try:
        parts = urlsplit(base_url.strip())
        host = parts.hostname
        parts.port  # noqa: B018 - raises ValueError for a port that is not a number
    except ValueError as exc:
        raise ConfigurationError(f"base_url is not a valid URL: {exc}") from None
    if parts.scheme not in ("https", "http") or not host:
        raise ConfigurationError(f"base_url must be an http(s) URL with a host, got {base_url!r}")
    if _has_blank(base_url.strip()):  # (urlsplit drops tabs and line breaks: not them all)
        raise ConfigurationError(
            f"base_url must not contain spaces or control characters: {base_url!r}"
        )
    check_path(path)
    if parts.username or parts.password:
        raise ConfigurationError("base_url must not carry credentials; use api_key")
    if parts.query or parts.fragment:
        raise ConfigurationError(f"base_url must not carry a query or fragment, got {base_url!r}")
    if parts.scheme == "http" and not allow_insecure_http and not is_loopback(host):
        raise ConfigurationError(
            f"refusing plain http to {host!r}: the token would travel unencrypted. Use "
            "https, or allow it explicitly (allow_insecure_http=True, or "
            "--allow-insecure-http on the command line)"
        )
    return f"{parts.scheme}://{parts.netloc}{parts.path.rstrip('/')}/{path.lstrip('/')}"


def check_path(path: str) -> None:
    """Refuse an upsert path that is not a plain path (a URL would send the key to another
    host). It is joined to the base URL's own path: ``/v3/x`` and ``v3/x`` are the same."""
    if not isinstance(path, str):
        raise ConfigurationError(f"upsert_path must be a string, got {type(path).__name__}")
    parts = urlsplit(path)
    if (
        not path.strip("/")
        or path.startswith("//")
        or parts.scheme
        or parts.netloc
        or parts.query
        or parts.fragment
        or _has_blank(path)
    ):
        raise ConfigurationError(
            f"upsert_path must be a plain path such as {DEFAULT_UPSERT_PATH!r}, got {path!r}"
        )


def _has_blank(text: str) -> bool:
    return any(c.isspace() or ord(c) < 32 or ord(c) == 127 for c in text)


def is_loopback(host: str) -> bool:
    """True for ``localhost`` names and loopback addresses (the emulator)."""
    name = host.lower().rstrip(".")
    if name in ("localhost", "localhost.localdomain") or name.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(name.strip("[]")).is_loopback
    except ValueError:
        return False
