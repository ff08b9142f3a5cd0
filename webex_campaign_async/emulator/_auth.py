"""Who may call the emulator: API keys, forbidden keys and expiring access tokens (pure).

A missing or malformed ``Authorization`` header (anything but ``Bearer <credential>``) and a
forbidden key answer 401/430; an unknown token and an expired one answer 401/498. A token
expires ``ttl`` seconds after it was issued and/or after ``max_requests`` requests were
authenticated with it (requests later throttled count too). Keys never expire.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterable, Mapping

import attrs

from ._config import DEFAULT_TENANT

__all__ = ["Auth", "Denied", "bearer", "new_key"]


class Denied(Exception):
    """The request is not authorized; ``code`` is "430" or "498"."""

    def __init__(self, code: str) -> None:
        super().__init__(code)
        self.code = code


def new_key() -> str:
    """A fresh random API key for the emulator (a local test credential)."""
    return "emu_" + secrets.token_urlsafe(24)


def bearer(header: str | None) -> str | None:
    """The credential of a ``Bearer <credential>`` header, or None when it is not one."""
    if not header:
        return None
    scheme, _, credential = header.strip().partition(" ")
    credential = credential.strip()
    if scheme.lower() != "bearer" or not credential or " " in credential:
        return None
    return credential


@attrs.define
class _Token:
    tenant: str
    expires_at: float | None
    remaining: int | None


@attrs.define
class Auth:
    """Valid keys (key -> tenant), forbidden keys, and the tokens issued so far."""

    keys: dict[str, str]
    forbidden: frozenset[str] = frozenset()
    _tokens: dict[str, _Token] = attrs.field(factory=dict, init=False, repr=False)

    @classmethod
    def from_config(
        cls, keys: Iterable[str], forbidden: Iterable[str], tenants: Mapping[str, str]
    ) -> Auth:
        """Every key in its tenant (``tenants``; the default tenant otherwise)."""
        return cls({key: tenants.get(key, DEFAULT_TENANT) for key in keys}, frozenset(forbidden))

    def issue(
        self,
        now: float,
        ttl: float | None = None,
        max_requests: int | None = None,
        tenant: str = DEFAULT_TENANT,
    ) -> str:
        """A new token, valid for ``ttl`` seconds from ``now`` and/or ``max_requests`` uses."""
        if ttl is not None and ttl < 0:
            raise ValueError(f"ttl must be >= 0 seconds, not {ttl!r}")
        if max_requests is not None and max_requests < 0:
            raise ValueError(f"max_requests must be >= 0, not {max_requests!r}")
        token = "tok_" + secrets.token_urlsafe(24)
        expires = None if ttl is None else now + ttl
        self._tokens[token] = _Token(tenant, expires, max_requests)
        return token

    def check(self, header: str | None, now: float) -> str:
        """The tenant the request belongs to, or raise `Denied`."""
        credential = bearer(header)
        if credential is None or credential in self.forbidden:
            raise Denied("430")
        tenant = self.keys.get(credential)
        if tenant is not None:
            return tenant
        token = self._tokens.get(credential)
        if token is None:
            raise Denied("498")
        if token.expires_at is not None and now >= token.expires_at:
            raise Denied("498")
        if token.remaining is not None:
            if token.remaining <= 0:
                raise Denied("498")
            token.remaining -= 1
        return token.tenant
