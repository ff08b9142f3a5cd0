"""Sending one request: the only module that touches aiohttp's client.

A transport turns (url, headers, body) into a `Response` or raises `TransportError`.
`AiohttpTransport` is the real one; tests and benchmarks pass fakes through
``CampaignClient(transport=...)``.
"""

from __future__ import annotations

import asyncio
import base64
import ipaddress
import os
import ssl
import urllib.request
from collections.abc import Mapping
from typing import Any, Protocol, runtime_checkable

import aiohttp
from aiohttp.client_proto import ResponseHandler
from yarl import URL

from ._endpoint import is_loopback
from ._sansio import Response
from .exceptions import (
    ConfigurationError,
    ConnectError,
    ConnectionLostError,
    RequestTimeoutError,
    TLSVerificationError,
    TransportError,
)

__all__ = ["AiohttpTransport", "Transport"]


@runtime_checkable
class Transport(Protocol):
    """Sends one POST and returns the raw answer."""

    async def send(
        self, url: str, headers: Mapping[str, str], body: bytes, timeout: float | None
    ) -> Response:
        """POST ``body`` to ``url``; raise `TransportError` if no answer came:
        `RequestTimeoutError` after ``timeout``, `ConnectError` when nothing was sent
        (`TLSVerificationError` for an untrusted certificate)."""

    async def aclose(self) -> None:
        """Release connections (only those this transport opened)."""


class AiohttpTransport:
    """A transport over one `aiohttp.ClientSession`, owned or borrowed.

    An owned session gets a connector sized for ``max_connections``, DNS caching and TLS
    verification, which cannot be turned off: ``ssl_context`` only chooses what to trust
    (say a corporate CA: ``ssl.create_default_context(cafile=...)``). Redirects are not
    followed: a redirect of a POST is reported as an error rather than replayed elsewhere
    with the credentials.

    Proxies: with ``trust_env`` (the default, as in requests and httpx) ``HTTPS_PROXY`` /
    ``HTTP_PROXY`` and ``NO_PROXY`` from the environment choose a proxy per URL, read once;
    loopback hosts (the emulator) never go through one. ``proxy`` names one explicitly
    (``http://user:password@host:port``). A borrowed session keeps its own settings.
    """

    def __init__(
        self,
        *,
        session: aiohttp.ClientSession | None = None,
        max_connections: int = 100,
        ssl_context: ssl.SSLContext | None = None,
        trust_env: bool = True,
        proxy: str | None = None,
    ) -> None:
        if session is not None and ssl_context is not None:
            raise ConfigurationError("give a session or an ssl_context, not both")
        if ssl_context is not None and (
            not isinstance(ssl_context, ssl.SSLContext)
            or ssl_context.verify_mode is not ssl.CERT_REQUIRED
            or not ssl_context.check_hostname
        ):
            raise ConfigurationError(
                "ssl_context must verify certificates and host names (CERT_REQUIRED, "
                "check_hostname): add a CA to trust instead of turning verification off"
            )
        self._owned = session is None
        self._session = session  # an owned one is made at the first request, inside the loop
        self._max_connections = max_connections
        self._ssl_context = ssl_context
        self._trust_env = trust_env
        self._proxy = _proxy(proxy) if proxy is not None else None
        if trust_env and self._owned and proxy is None:
            _check_env_proxies()  # a bad one is a configuration error now, not at a send
        self._timeouts: dict[float | None, aiohttp.ClientTimeout] = {}
        # per URL, parsed once (yarl's parse costs microseconds), with its proxy
        self._routes: dict[str, tuple[URL, _Proxy | None]] = {}

    def __repr__(self) -> str:
        return f"<AiohttpTransport owned={self._owned} trust_env={self._trust_env}>"

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
            trust_env=False,  # proxies are chosen here, once per URL (no .netrc: it would
            # fight our Authorization header, and aiohttp asks a thread for it per request)
        )
        return self._session

    def _timeout(self, seconds: float | None) -> aiohttp.ClientTimeout:
        timeout = self._timeouts.get(seconds)
        if timeout is None:
            timeout = self._timeouts[seconds] = aiohttp.ClientTimeout(total=seconds)
        return timeout

    def _route(self, url: str) -> tuple[URL, _Proxy | None]:
        route = self._routes.get(url)
        if route is None:
            if len(self._routes) > 16:
                self._routes.clear()
            parsed = URL(url)
            proxy = self._proxy
            if proxy is None and self._trust_env and self._owned:
                proxy = _env_proxy(parsed)
            route = self._routes[url] = (parsed, proxy)
        return route

    def proxy_for(self, url: str) -> str | None:
        """The proxy requests to ``url`` go through (without its credentials), or None."""
        proxy = self._route(url)[1]
        return None if proxy is None else str(proxy[0])

    async def send(
        self, url: str, headers: Mapping[str, str], body: bytes, timeout: float | None
    ) -> Response:
        session = self._session or self._open()
        target, proxy = self._route(url)
        try:
            async with session.post(
                target,
                data=body,
                headers=headers,
                timeout=self._timeout(timeout),
                allow_redirects=False,
                raise_for_status=False,  # also on a borrowed session: the body says more
                proxy=proxy[0] if proxy is not None else None,
                proxy_headers=proxy[1] if proxy is not None else None,
            ) as response:
                payload = await response.read()
                return Response(response.status, response.headers, payload)
        except (asyncio.TimeoutError, TimeoutError):
            raise RequestTimeoutError(f"no response within {timeout} s") from None
        except aiohttp.ClientConnectorCertificateError as exc:
            raise TLSVerificationError(
                f"the TLS certificate of {target.host} is not trusted "
                f"({_describe(exc.certificate_error)}). Behind a TLS-inspecting proxy, trust "
                "its CA (--ca-file, SSL_CERT_FILE, or an ssl_context); verification stays on"
            ) from None
        except aiohttp.ClientConnectorError as exc:  # refused, DNS, proxy, TLS handshake
            raise ConnectError(_describe(exc)) from None
        except (aiohttp.ServerDisconnectedError, aiohttp.ClientOSError, ConnectionError) as exc:
            raise ConnectionLostError(_describe(exc)) from None
        except (aiohttp.ClientError, OSError) as exc:
            # Any other failure of aiohttp (a malformed answer, an oversized header): no
            # answer to read. Its repr can hold the request's headers, the key among them,
            # so neither it nor its cause travels on: only the type and a header-free text.
            raise TransportError(_describe(exc)) from None

    async def aclose(self) -> None:
        if self._owned and self._session is not None and not self._session.closed:
            await self._session.close()


#: A proxy URL without credentials, and the headers that carry them (if any).
_Proxy = tuple[URL, Mapping[str, str] | None]


def _proxy(text: str) -> _Proxy:
    """A proxy URL and its credentials (as curl and requests do, ``host:port`` means http)."""
    if "://" not in text:
        text = "http://" + text
    try:
        url = URL(text)
        host = url.host
    except ValueError as exc:
        raise ConfigurationError(f"a proxy must be an http(s) URL: {exc}") from None
    if url.scheme not in ("http", "https") or not host:
        shown = f"{url.scheme}://{host or ''}" + (
            f":{url.explicit_port}" if url.explicit_port else ""
        )
        raise ConfigurationError(f"a proxy must be an http(s) URL with a host, got {shown}")
    headers = None
    if url.user is not None:
        pair = f"{url.user}:{url.password or ''}".encode()
        headers = {"Proxy-Authorization": "Basic " + base64.b64encode(pair).decode("ascii")}
        url = url.with_user(None)
    return url, headers


def _check_env_proxies() -> None:
    for scheme, chosen in urllib.request.getproxies().items():
        if scheme in ("http", "https", "all"):
            try:
                _proxy(chosen)
            except ConfigurationError as exc:
                raise ConfigurationError(f"the {scheme} proxy of the environment: {exc}") from None


def _env_proxy(url: URL) -> _Proxy | None:
    """The proxy the environment names for ``url`` (``NO_PROXY`` honoured), or None."""
    proxies = urllib.request.getproxies()
    chosen = proxies.get(url.scheme) or proxies.get("all")
    if not chosen or url.host is None or is_loopback(url.host):
        return None  # loopback (the emulator) is never proxied, as curl and Go do
    if urllib.request.proxy_bypass(url.host) or _in_no_proxy_network(url.host):
        return None
    try:
        return _proxy(chosen)
    except ConfigurationError as exc:
        raise ConfigurationError(f"the {url.scheme} proxy of the environment: {exc}") from None


def _in_no_proxy_network(host: str) -> bool:
    """True for an IP address inside a network of ``NO_PROXY`` written in CIDR notation
    (``10.0.0.0/8``), as curl, Go and httpx read it; urllib only compares names."""
    try:
        address = ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        return False  # a name: not resolved here (curl neither)
    for name in ("no_proxy", "NO_PROXY"):
        for entry in os.environ.get(name, "").split(","):
            if "/" in entry.strip():
                try:
                    if address in ipaddress.ip_network(entry.strip(), strict=False):
                        return True
                except ValueError:
                    continue
    return False


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
        # raise_for_status is off: aiohttp raises this only for an answer it cannot parse,
        # with a status (400) the server never sent
        return _one_line(f"a malformed answer: {exc.message}")
    if isinstance(exc, ssl.SSLCertVerificationError):
        return exc.verify_message or name
    text = str(exc)
    return _one_line(f"{name}: {text}" if text and text != name else name)


def _one_line(text: str, limit: int = 300) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "\u2026"


def _user_agent() -> str:
    from ._version import version

    return f"webex-campaign-async/{version} aiohttp/{aiohttp.__version__}"
