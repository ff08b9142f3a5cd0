"""Real TLS (a throwaway CA from trustme) and a real forward proxy (proxy.py) around the client.

The emulator serves HTTPS with a certificate of that CA; proxy.py runs as a process on a
loopback port and logs every request it forwards.
"""

from __future__ import annotations

import asyncio
import os
import socket
import ssl
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest
import trustme

from webex_campaign_async import (
    AiohttpTransport,
    CampaignClient,
    ConfigurationError,
    ProfileUpsert,
    RetryPolicy,
    TLSVerificationError,
)
from webex_campaign_async.emulator import Emulator

HOST = socket.gethostname()  # not a loopback *name*: proxies from the environment apply to it


def records(n: int) -> list[ProfileUpsert]:
    return [ProfileUpsert("contacts", key=f"k{i}", attributes={"i": str(i)}) for i in range(n)]


@pytest.fixture(scope="module")
def ca() -> trustme.CA:
    return trustme.CA()


@pytest.fixture(scope="module")
def ca_file(ca: trustme.CA, tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("ca") / "ca.pem"
    ca.cert_pem.write_to_path(str(path))
    return path


def server_context(ca: trustme.CA) -> ssl.SSLContext:
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert("127.0.0.1", "localhost", HOST).configure_cert(context)
    return context


def trusting(ca: trustme.CA) -> ssl.SSLContext:
    context = ssl.create_default_context()
    ca.configure_trust(context)
    return context


@pytest.fixture
async def tls_emulator(ca: trustme.CA) -> AsyncIterator[Emulator]:
    async with Emulator(ssl_context=server_context(ca), host="0.0.0.0") as emulator:  # noqa: S104
        yield emulator


# --- TLS ------------------------------------------------------------------------------------------


async def test_a_certificate_from_an_unknown_ca_is_refused_without_retries(
    tls_emulator: Emulator,
) -> None:
    url = f"https://127.0.0.1:{tls_emulator.port}"
    async with CampaignClient(url, api_key=tls_emulator.api_key) as client:
        with pytest.raises(TLSVerificationError, match="not trusted") as info:
            await client.upsert(records(1)[0])
    assert info.value.attempts == 0  # no request was sent
    assert "--ca-file" in str(info.value)
    assert tls_emulator.stats.requests == 0


async def test_a_bulk_run_stops_at_the_first_untrusted_certificate(tls_emulator: Emulator) -> None:
    url = f"https://127.0.0.1:{tls_emulator.port}"
    retry = RetryPolicy(attempts=5, initial=0.01)
    async with CampaignClient(url, api_key="k", max_concurrency=8, retry=retry) as client:
        report = await client.bulk_upsert(records(200))
    assert report.aborted
    assert "not trusted" in (report.abort_reason or "")
    assert report.requests == 0  # handshakes are not requests
    assert 1 <= report.connection_failures <= 8  # one per worker at most: no retries
    assert report.total <= 8  # and the input was read no further


async def test_trusting_the_ca_through_an_ssl_context(
    tls_emulator: Emulator, ca: trustme.CA
) -> None:
    url = f"https://127.0.0.1:{tls_emulator.port}"
    transport = AiohttpTransport(ssl_context=trusting(ca))
    async with CampaignClient(url, api_key=tls_emulator.api_key, transport=transport) as client:
        report = await client.bulk_upsert(records(50))
    assert report.applied == 50
    assert tls_emulator.store.count("contacts") == 50


def test_an_ssl_context_that_does_not_verify_is_refused() -> None:
    context = ssl.create_default_context()
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    with pytest.raises(ConfigurationError, match="verif"):
        AiohttpTransport(ssl_context=context)


async def cli(*args: str, env: dict[str, str]) -> tuple[int, str]:
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "webex_campaign_async.cli",
        *args,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    out, _ = await process.communicate()
    assert process.returncode is not None
    return process.returncode, out.decode()


@pytest.fixture
def job(tmp_path: Path, tls_emulator: Emulator) -> tuple[list[str], dict[str, str]]:
    source = tmp_path / "in.jsonl"
    source.write_text(
        "".join(
            f'{{"profile-name": "contacts", "key": "k{i}", '
            f'"attributes": [{{"attribute-name": "a", "val": "1"}}]}}\n'
            for i in range(30)
        )
    )
    env = {
        **os.environ,
        "WEBEX_CAMPAIGN_API_KEY": tls_emulator.api_key,
        "WEBEX_CAMPAIGN_BASE_URL": f"https://127.0.0.1:{tls_emulator.port}",
    }
    env.pop("SSL_CERT_FILE", None)
    return ["upsert", str(source), "--progress", "none", "--no-journal"], env


async def test_cli_ca_file(job: tuple[list[str], dict[str, str]], ca_file: Path) -> None:
    args, env = job
    code, out = await cli(*args, env=env)
    assert code == 3, out
    assert "not trusted" in out
    code, out = await cli(*args, "--ca-file", str(ca_file), env=env)
    assert code == 0, out
    code, out = await cli(*args, env={**env, "SSL_CERT_FILE": str(ca_file)})
    assert code == 0, out


async def test_cli_ca_file_that_is_not_a_certificate_is_a_usage_error(
    job: tuple[list[str], dict[str, str]], tmp_path: Path
) -> None:
    args, env = job
    bad = tmp_path / "bad.pem"
    bad.write_text("not a certificate\n")
    code, out = await cli(*args, "--ca-file", str(bad), env=env)
    assert code == 2, out
    assert "--ca-file" in out
    assert "Traceback" not in out


# --- proxies --------------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


class Proxy:
    """proxy.py in a child process; `forwarded` reads its access log."""

    def __init__(self, log: Path) -> None:
        self.log = log
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self._log_file = log.open("wb")
        self._process = subprocess.Popen(  # noqa: S603 - our own interpreter and arguments
            [sys.executable, "-m", "proxy", "--hostname", "127.0.0.1", "--port", str(self.port),
             "--num-workers", "1", "--num-acceptors", "1"],
            stdout=subprocess.DEVNULL,
            stderr=self._log_file,
        )  # fmt: skip
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if self._process.poll() is not None:
                self._log_file.close()
                raise RuntimeError(f"proxy.py exited: {log.read_text()[-2000:]}")
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=0.2).close()
                return
            except OSError:
                time.sleep(0.05)
        raise RuntimeError("proxy.py did not start listening within 30 s")

    def forwarded(self) -> list[str]:
        return [line for line in self.log.read_text().splitlines() if "access_log" in line]

    def close(self) -> None:
        self._process.terminate()
        self._process.wait(10)
        self._log_file.close()


@pytest.fixture(scope="module")
def proxy(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Proxy]:
    running = Proxy(tmp_path_factory.mktemp("proxy") / "proxy.log")
    yield running
    running.close()


async def wait_for_log(proxy: Proxy, before: int) -> int:
    for _ in range(100):  # the proxy writes its access line as the tunnel closes
        if len(proxy.forwarded()) > before:
            break
        await asyncio.sleep(0.02)
    return len(proxy.forwarded())


async def test_https_proxy_from_the_environment_is_used(
    proxy: Proxy, tls_emulator: Emulator, ca: trustme.CA, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HTTPS_PROXY", proxy.url)
    monkeypatch.delenv("NO_PROXY", raising=False)
    monkeypatch.delenv("no_proxy", raising=False)
    url = f"https://{HOST}:{tls_emulator.port}"
    before = len(proxy.forwarded())
    transport = AiohttpTransport(ssl_context=trusting(ca))
    assert transport.proxy_for(url + "/x") == proxy.url
    async with CampaignClient(url, api_key=tls_emulator.api_key, transport=transport) as client:
        report = await client.bulk_upsert(records(20))
    assert report.applied == 20
    lines = proxy.forwarded()[before:] if await wait_for_log(proxy, before) > before else []
    assert any("CONNECT" in line and f"{HOST}:{tls_emulator.port}" in line for line in lines)


@pytest.mark.parametrize("how", ["trust_env=False", "NO_PROXY"])
async def test_the_proxy_is_skipped_when_disabled(
    how: str,
    proxy: Proxy,
    tls_emulator: Emulator,
    ca: trustme.CA,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("HTTPS_PROXY", proxy.url)
    monkeypatch.delenv("no_proxy", raising=False)
    if how == "NO_PROXY":
        monkeypatch.setenv("NO_PROXY", f"example.invalid,{HOST}")
    url = f"https://{HOST}:{tls_emulator.port}"
    before = len(proxy.forwarded())
    options: dict[str, Any] = {"trust_env": False} if how == "trust_env=False" else {}
    transport = AiohttpTransport(ssl_context=trusting(ca), **options)
    assert transport.proxy_for(url) is None
    async with CampaignClient(url, api_key=tls_emulator.api_key, transport=transport) as client:
        assert (await client.upsert(records(1)[0])).ok
    await asyncio.sleep(0.2)
    assert len(proxy.forwarded()) == before


async def test_an_explicit_proxy_with_credentials(proxy: Proxy) -> None:
    async with Emulator() as emulator:
        transport = AiohttpTransport(proxy=f"http://user:secret@127.0.0.1:{proxy.port}")
        assert transport.proxy_for(emulator.url) == proxy.url  # credentials kept apart
        before = len(proxy.forwarded())
        async with CampaignClient(
            emulator.base_url, api_key=emulator.api_key, transport=transport
        ) as client:
            assert (await client.upsert(records(1)[0])).ok
        assert await wait_for_log(proxy, before) > before


@pytest.mark.parametrize(
    ("env", "url", "expected"),
    [
        ({"HTTPS_PROXY": "http://p:1"}, "https://api.example.com/x", "http://p:1"),
        ({"https_proxy": "http://p:2"}, "https://api.example.com/x", "http://p:2"),
        ({"HTTP_PROXY": "http://p:1"}, "https://api.example.com/x", None),
        ({"HTTP_PROXY": "http://p:1"}, "http://api.example.com/x", "http://p:1"),
        ({"ALL_PROXY": "http://p:3"}, "https://api.example.com/x", "http://p:3"),
        (
            {"HTTPS_PROXY": "http://p:1", "NO_PROXY": "example.com"},
            "https://api.example.com/",
            None,
        ),
        ({"HTTPS_PROXY": "http://p:1", "NO_PROXY": "*"}, "https://api.example.com/", None),
        (
            {"HTTPS_PROXY": "http://p:1", "NO_PROXY": "other.org"},
            "https://api.example.com/",
            "http://p:1",
        ),
        ({"HTTP_PROXY": "http://p:1"}, "http://127.0.0.1:8080/x", None),  # loopback: never
        ({"HTTP_PROXY": "http://p:1"}, "http://localhost:8080/x", None),
        ({"HTTPS_PROXY": "http://u:pw@p:1"}, "https://api.example.com/x", "http://p:1"),
        ({"HTTPS_PROXY": "proxy.corp:8080"}, "https://api.example.com/x", "http://proxy.corp:8080"),
        ({}, "https://api.example.com/x", None),
        # NO_PROXY in CIDR notation, as curl, Go and httpx read it (an IP address only)
        ({"HTTPS_PROXY": "http://p:1", "NO_PROXY": "192.0.2.0/24"}, "https://192.0.2.7/x", None),
        ({"HTTPS_PROXY": "http://p:1", "NO_PROXY": "a.org, 10.0.0.0/8"}, "https://10.9.8.7/x",
         None),
        ({"HTTPS_PROXY": "http://p:1", "NO_PROXY": "192.0.2.0/24"}, "https://198.51.100.1/x",
         "http://p:1"),
        ({"HTTPS_PROXY": "http://p:1", "no_proxy": "2001:db8::/32"}, "https://[2001:db8::1]/x",
         None),
    ],
)  # fmt: skip
def test_which_proxy_the_environment_chooses(
    env: dict[str, str], url: str, expected: str | None, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in ("HTTPS_PROXY", "HTTP_PROXY", "ALL_PROXY", "NO_PROXY"):
        monkeypatch.delenv(name, raising=False)
        monkeypatch.delenv(name.lower(), raising=False)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    assert AiohttpTransport().proxy_for(url) == expected
    assert AiohttpTransport(trust_env=False).proxy_for(url) is None


@pytest.mark.parametrize("value", ["ftp://u:pw-1x@proxy:21", "http://[bad", "socks5://proxy:1080"])
def test_a_bad_proxy_in_the_environment_is_a_configuration_error_at_once(
    value: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HTTPS_PROXY", value)
    with pytest.raises(ConfigurationError, match="proxy of the environment") as info:
        AiohttpTransport()
    assert "pw-1x" not in str(info.value)
    AiohttpTransport(trust_env=False)  # ignored: fine
