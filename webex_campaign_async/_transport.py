"""Sending one request: the only module that touches aiohttp's client.

A transport turns (url, headers, body) into a `Response` or raises `TransportError`.
`AiohttpTransport` is the real one; tests and benchmarks pass fakes through
``CampaignClient(transport=...)``.
"""

from __future__ import annotations

import asyncio
import ssl
from collections.abc import Mapping
from typing import Any, Protocol, runtime_checkable

import aiohttp
from aiohttp.client_proto import ResponseHandler
from yarl import URL

from ._sansio import Response
from .exceptions import ConfigurationError, RequestTimeoutError, TransportError

__all__ = ["AiohttpTransport", "Transport"]


@runtime_checkable
class Transport(Protocol):
    """Sends one POST and returns the raw answer."""

    async def send(
        self, url: str, headers: Mapping[str, str], body: bytes, timeout: float | None
    ) -> Response:
        """POST ``body`` to ``url``; raise `TransportError` (or `RequestTimeoutError`) if no
        answer came."""

    async def aclose(self) -> None:
        """Release connections (only those this transport opened)."""


class AiohttpTransport:
    """A transport over one `aiohttp.ClientSession`, owned or borrowed.

    An owned session gets a connector sized for ``max_connections``, DNS caching and TLS
    verification (which cannot be turned off here). Redirects are not followed: a redirect
    of a POST is reported as an error rather than replayed elsewhere with the credentials.
    """

    def __init__(
        self,
        *,
        session: aiohttp.ClientSession | None = None,
        max_connections: int = 100,
        ssl_context: ssl.SSLContext | None = None,
    ) -> None:
        if session is not None and ssl_context is not None:
            raise ConfigurationError("give a session or an ssl_context, not both")
        self._owned = session is None
        self._session = session  # an owned one is made at the first request, inside the loop
        self._max_connections = max_connections
        self._ssl_context = ssl_context
        self._timeouts: dict[float | None, aiohttp.ClientTimeout] = {}
        self._urls: dict[str, URL] = {}  # parsed once: yarl's parse costs microseconds

    def _open(self) -> aiohttp.ClientSession:
        connector = _Connector(
            limit=self._max_connections,
            limit_per_host=self._max_connections,
            ttl_dns_cache=300,
            ssl=self._ssl_context if self._ssl_context is not None else True,
            enable_cleanup_closed=False,
        )
        self._session = aiohttp.ClientSession(
            connector=connector,
            timeout=aiohttp.ClientTimeout(total=None),
            auto_decompress=True,
            raise_for_status=False,
            skip_auto_headers=("User-Agent",),
            headers={"User-Agent": _user_agent()},
        )
        return self._session

    def __repr__(self) -> str:
        return f"<AiohttpTransport owned={self._owned}>"

    def _timeout(self, seconds: float | None) -> aiohttp.ClientTimeout:
        timeout = self._timeouts.get(seconds)
        if timeout is None:
            timeout = self._timeouts[seconds] = aiohttp.ClientTimeout(total=seconds)
        return timeout

    def _url(self, url: str) -> URL:
        parsed = self._urls.get(url)
        if parsed is None:
            if len(self._urls) > 16:
                self._urls.clear()
            parsed = self._urls[url] = URL(url)
        return parsed

    async def send(
        self, url: str, headers: Mapping[str, str], body: bytes, timeout: float | None
    ) -> Response:
        session = self._session or self._open()
        try:
            async with session.post(
                self._url(url),
                data=body,
                headers=headers,
                timeout=self._timeout(timeout),
                allow_redirects=False,
                raise_for_status=False,  # also on a borrowed session: the body says more
            ) as response:
                payload = await response.read()
                return Response(response.status, response.headers, payload)
        except (asyncio.TimeoutError, TimeoutError):
            raise RequestTimeoutError(f"no response within {timeout} s") from None
        except (aiohttp.ClientError, OSError) as exc:
            # Any other failure of aiohttp (a malformed answer, an oversized header): no
            # answer to read. Its repr can hold the request's headers, the key among them,
            # so neither it nor its cause travels on: only the type and a header-free text.
            raise TransportError(_describe(exc)) from None

    async def aclose(self) -> None:
        if self._owned and self._session is not None and not self._session.closed:
            await self._session.close()


#: Bytes asked of the socket per read on plain-TCP connections (asyncio asks 256 KiB).
READ_SIZE = 64 * 1024


class _Connector(aiohttp.TCPConnector):
    """A TCPConnector whose plain-TCP connections read at most `READ_SIZE` bytes at a time.

    asyncio's selector transport allocates a fresh ``max_size`` (256 KiB) buffer for every
    read. That is above glibc's 128 KiB mmap threshold, so each answer costs an mmap, an
    mremap, a munmap and a page fault: on loopback (the emulator) that was the largest
    part of the client's CPU time per request after aiohttp's own. 64 KiB comes from the
    heap. TLS connections are not affected (asyncio reads them into a kept buffer), nor
    are other event loops (their transports have no ``max_size``).
    """

    async def _wrap_create_connection(
        self, *args: Any, **kwargs: Any
    ) -> tuple[asyncio.Transport, ResponseHandler]:
        transport, protocol = await super()._wrap_create_connection(*args, **kwargs)
        if getattr(transport, "max_size", 0) > READ_SIZE:
            transport.max_size = READ_SIZE  # type: ignore[attr-defined]
        return transport, protocol


def _describe(exc: BaseException) -> str:
    """``Type: message``; aiohttp's str() (unlike its repr) names the URL, never headers."""
    name = type(exc).__name__
    if isinstance(exc, aiohttp.ClientResponseError):
        return f"{name}: HTTP {exc.status}, {exc.message}"
    text = str(exc)
    return f"{name}: {text}" if text and text != name else name


def _user_agent() -> str:
    from ._version import version

    return f"webex-campaign-async/{version} aiohttp/{aiohttp.__version__}"
