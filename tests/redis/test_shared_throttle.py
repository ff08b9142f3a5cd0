"""RedisThrottle against a real redis-server: one schedule, one rate, one pause for all.

Several throttles on one name stand for several processes (each has its own client and
its own copy of the state). Schedule properties are checked on the send times Redis hands
out (its own clock), not on how long the test took.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import subprocess
import sys
from collections.abc import Callable, Iterator
from typing import Any

import pytest
import redis.asyncio as aioredis
import trustme

from webex_campaign_async import (
    BulkReport,
    CampaignClient,
    ConfigurationError,
    ProfileUpsert,
    RateLimit,
    RecordResult,
    RecordStatus,
    Response,
)
from webex_campaign_async.redis import RedisThrottle, tenant_name

from ..fakes import FakeTransport, answer, applied
from ..test_throttle import max_in_window
from .server import RedisServer, free_port


async def take(throttle: RedisThrottle, n: int) -> list[float]:
    return [await throttle.acquire() for _ in range(n)]


async def test_two_processes_share_one_schedule(redis_server: RedisServer) -> None:
    """The rate and the burst hold for both together; a skewed local clock changes nothing."""
    rate, burst = 200.0, 4
    limit = RateLimit(rate, burst=burst)
    loop = asyncio.get_running_loop()
    a = RedisThrottle(redis_server.url, name="schedule", rate=limit)
    b = RedisThrottle(
        redis_server.url, name="schedule", rate=limit, clock=lambda: loop.time() + 3600.0
    )
    async with a, b:
        sent = await asyncio.gather(take(a, 20), take(b, 20), take(a, 20))
    times = sorted(t for part in sent for t in part)
    assert len(times) == 60
    for window in (0.01, 0.05, 0.1, 0.2):  # never more than the burst plus the rate's worth
        assert max_in_window(times, window) <= burst + window * rate + 1e-6, window
    span = times[-1] - times[0]
    assert span >= (60 - burst) / rate - 1e-3  # and paced: not faster than the rate


async def test_a_429_anywhere_lowers_the_rate_of_every_process(redis_server: RedisServer) -> None:
    a = RedisThrottle(redis_server.url, name="lower")
    b = RedisThrottle(redis_server.url, name="lower")
    async with a, b:
        assert a.rate is None
        sent = await take(a, 10)
        for at in sent:
            a.succeeded(at)
        a.throttled(sent[-1], None)
        await asyncio.gather(*a._tasks)
        assert a.rate is not None
        await b.acquire()  # b sees the new state on its next send, and reads it
        await asyncio.gather(*b._tasks)
        assert b.rate == a.rate
        assert b.learned_rate == a.learned_rate


async def test_set_rate_reaches_every_process(redis_server: RedisServer) -> None:
    a = RedisThrottle(redis_server.url, name="set-rate", rate=100)
    b = RedisThrottle(redis_server.url, name="set-rate", rate=100)
    async with a, b:
        await take(b, 2)
        a.set_rate(40)
        await asyncio.gather(*a._tasks)
        await b.acquire()
        await asyncio.gather(*b._tasks)
        assert a.rate == b.rate == 40


async def test_the_ceiling_is_shared_raised_or_removed(
    redis_server: RedisServer, caplog: pytest.LogCaptureFixture
) -> None:
    """set_rate above what b was configured with, or None, reaches b too; a process that
    joins later with another rate takes the shared one and says so, once."""
    a = RedisThrottle(redis_server.url, name="ceiling", rate=100)
    b = RedisThrottle(redis_server.url, name="ceiling", rate=100)
    async with a, b:
        for rate in (400.0, None, 250.0):
            a.set_rate(rate)
            await asyncio.gather(*a._tasks)
            await b.acquire()  # b sees the new version on its next send, and reads it
            await asyncio.gather(*b._tasks)
            assert a.rate == b.rate == rate
        assert not [r for r in caplog.records if r.levelno >= logging.WARNING]
        late = RedisThrottle(redis_server.url, name="ceiling", rate=50)
        async with late:
            assert late.rate == 250.0
            await late.connect()
        warned = [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING]
        assert len(warned) == 1
        assert "the rate 250/s, not this process's 50/s" in warned[0]


async def test_a_retry_after_pauses_every_process_until_one_instant(
    redis_server: RedisServer,
) -> None:
    """429s with Retry-After and no success for a while: the API looks closed, every
    process waits until the same instant, then they resume paced."""
    a = RedisThrottle(redis_server.url, name="pause", rate=RateLimit(100, burst=1))
    b = RedisThrottle(redis_server.url, name="pause", rate=RateLimit(100, burst=1))
    async with a, b:
        for _ in range(40):  # 429s only, to requests sent over a third of a second
            at = await a.acquire()
            a.throttled(at, 1.0)
            await asyncio.gather(*a._tasks)
            if a._control.paused_until > at:
                break
        until = a._control.paused_until
        assert until > at, "the law never paused"
        resumed = sorted(await asyncio.gather(a.acquire(), b.acquire(), b.acquire()))
        assert resumed[0] >= until - 1e-3  # nobody before the instant
        rate = b.rate
        assert rate is not None
        assert resumed[2] - resumed[0] >= 2 / rate - 1e-3  # and paced after it


async def test_unreachable_at_start_is_a_configuration_error() -> None:
    throttle = RedisThrottle(f"redis://:hunter2@127.0.0.1:{free_port()}/0", name="down")
    with pytest.raises(ConfigurationError, match="cannot reach Redis") as info:
        async with throttle:
            pass
    assert "hunter2" not in str(info.value)
    with pytest.raises(ConfigurationError):
        await throttle.acquire()
    await throttle.aclose()


@pytest.fixture
def secured(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, str]]:
    """A redis-server behind TLS (a throwaway CA) with a password: (url, wrong-password url)."""
    ca = trustme.CA()
    cert = ca.issue_cert("127.0.0.1")
    where = tmp_path_factory.mktemp("tls")
    ca.cert_pem.write_to_path(str(where / "ca.pem"))
    cert.private_key_pem.write_to_path(str(where / "key.pem"))
    cert.cert_chain_pems[0].write_to_path(str(where / "cert.pem"))
    port = free_port()
    server = RedisServer(
        "--tls-port", str(port), "--tls-cert-file", str(where / "cert.pem"),
        "--tls-key-file", str(where / "key.pem"), "--tls-ca-cert-file", str(where / "ca.pem"),
        "--tls-auth-clients", "no", "--requirepass", "s3cret-pw",
    )  # fmt: skip
    base = f"127.0.0.1:{port}/0?ssl_ca_certs={where / 'ca.pem'}"
    yield f"rediss://:s3cret-pw@{base}", f"rediss://:wrong@{base}"
    server.close()


async def test_tls_and_a_password_in_the_url(secured: tuple[str, str]) -> None:
    url, wrong = secured
    async with RedisThrottle(url, name="tls", rate=50) as throttle:
        assert len(await take(throttle, 3)) == 3
    with pytest.raises(ConfigurationError) as info:
        async with RedisThrottle(wrong, name="tls"):
            pass
    assert "wrong" not in str(info.value)


async def through_redis(
    server: RedisServer,
    name: str,
    prefix: str,
    n: int,
    on_result: Callable[[RecordResult], object],
    concurrency: int | None = None,
) -> tuple[BulkReport, FakeTransport]:
    """``n`` records (keys ``prefix0``...) through a client whose throttle is a RedisThrottle
    on ``server`` (400/s, burst 4); the report and the transport that saw the requests."""
    throttle = RedisThrottle(server.url, name=name, rate=RateLimit(400, burst=4))
    transport = FakeTransport(latency=0.002)
    async with (
        throttle,
        CampaignClient(
            "http://127.0.0.1:9", api_key="k", throttle=throttle, transport=transport
        ) as client,
    ):
        records = [ProfileUpsert("p", key=f"{prefix}{i}", attributes={"a": "1"}) for i in range(n)]
        report = await client.bulk_upsert(records, on_result=on_result, concurrency=concurrency)
    return report, transport


async def test_redis_lost_and_back_mid_run_loses_no_record() -> None:
    server = RedisServer()
    seen: list[RecordResult] = []
    loop = asyncio.get_running_loop()

    def on_result(result: RecordResult) -> None:
        seen.append(result)
        if len(seen) == 60:  # Redis goes away for a third of a second, data and all
            server.stop()
            loop.call_later(0.3, server.start)

    try:
        report, transport = await through_redis(server, "outage", "k", 200, on_result)
    finally:
        server.close()
    assert report.total == report.applied == 200
    assert sorted(r.index for r in seen) == list(range(200))
    assert sorted(transport.keys_sent()) == sorted(f"k{i}" for i in range(200))  # once each


async def test_two_processes_through_a_two_second_outage_lose_no_record_and_warn_twice(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """Redis stopped for 2 s (its data gone) under two throttles with 32 senders each:
    every record of both ends exactly once, and each throttle warns once when Redis is
    lost and once when it is back (stale pooled connections and failed updates at DEBUG)."""
    server = RedisServer()
    loop = asyncio.get_running_loop()
    done = 0
    restarted = asyncio.Event()

    def on_result(result: RecordResult) -> None:
        nonlocal done
        done += 1
        if done == 100:
            server.stop()
            loop.call_later(2.0, lambda: (server.start(), restarted.set()))

    async def worker(part: int) -> tuple[list[RecordResult], FakeTransport]:
        seen: list[RecordResult] = []
        _, transport = await through_redis(
            server, "outage-2", f"p{part}-", 300, lambda r: (seen.append(r), on_result(r)), 32
        )
        return seen, transport

    try:
        parts = await asyncio.gather(worker(0), worker(1))
    finally:
        server.close()
    assert restarted.is_set()
    for part, (seen, transport) in enumerate(parts):
        assert sorted(r.index for r in seen) == list(range(300))
        assert {r.status for r in seen} == {RecordStatus.APPLIED}
        assert sorted(transport.keys_sent()) == sorted(f"p{part}-{i}" for i in range(300))
    warned = [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING]
    assert len([m for m in warned if m.startswith("lost Redis")]) == 2, warned
    assert len([m for m in warned if m.endswith("is back: sending goes on")]) == 2, warned
    assert len(warned) == 4, warned


async def test_the_secret_never_reaches_redis(
    redis_server: RedisServer, redis_client: aioredis.Redis
) -> None:
    secret = "key-5f0c9e7d8b6a4e3f2d1c0b9a"
    base_url = "https://tenant.webexcampaign.io"
    throttle = RedisThrottle.for_tenant(redis_server.url, base_url, secret)
    calls = 0

    def answers(wire: dict[str, Any], attempt: int, headers: Any) -> Response:
        nonlocal calls
        calls += 1
        return answer(429, "429", "Too many requests.") if calls % 7 == 0 else applied()

    async with (
        throttle,
        CampaignClient(
            base_url, api_key=secret, throttle=throttle, transport=FakeTransport(answers)
        ) as client,
    ):
        await client.bulk_upsert(
            [ProfileUpsert("p", key=f"k{i}", attributes={"a": "1"}) for i in range(50)]
        )
    stored = []
    async for key in redis_client.scan_iter():
        stored.append(key)
        stored += [b for pair in (await redis_client.hgetall(key)).items() for b in pair]
    text = b"\n".join(stored).decode()
    assert tenant_name(base_url, secret) in text
    assert secret not in text
    assert hashlib.sha256(secret.encode()).hexdigest() not in text


async def test_two_tenants_on_one_name_are_refused(
    redis_server: RedisServer, redis_client: aioredis.Redis
) -> None:
    """for_tenant keeps a hash of the tenant with the state: another tenant's process given
    the same name is refused on connecting; one made without for_tenant is not checked."""
    base_url = "https://tenant.webexcampaign.io"
    first = RedisThrottle.for_tenant(redis_server.url, base_url, "key-A", name="jobs")
    async with first:
        other = RedisThrottle.for_tenant(redis_server.url, base_url, "key-B", name="jobs")
        with pytest.raises(ConfigurationError, match="another tenant's") as info:
            await other.connect()
        assert "key-B" not in str(info.value)
        await other.aclose()
        elsewhere = RedisThrottle.for_tenant(
            redis_server.url, base_url + "/x", "key-A", name="jobs"
        )
        with pytest.raises(ConfigurationError, match="another tenant's"):
            await elsewhere.connect()
        await elsewhere.aclose()
        async with (
            RedisThrottle.for_tenant(redis_server.url, base_url, "key-A", name="jobs") as same,
            RedisThrottle(redis_server.url, name="jobs") as unchecked,
        ):
            await same.acquire()
            await unchecked.acquire()
    stored = await redis_client.hget("webex-campaign:{jobs}", "tenant")
    assert stored == tenant_name(base_url, "key-A").encode()


def test_without_redis_py_the_import_names_the_extra() -> None:
    code = (
        "import sys; sys.modules['redis'] = None; sys.modules['redis.asyncio'] = None\n"
        "import webex_campaign_async.redis"
    )
    done = subprocess.run(  # noqa: S603 - our interpreter, our code
        [sys.executable, "-c", code], capture_output=True, text=True, check=False
    )
    assert done.returncode == 1
    last = done.stderr.strip().splitlines()[-1]
    assert last == (
        "ImportError: webex_campaign_async.redis needs redis-py: "
        "pip install 'webex-campaign-async[redis]'"
    )


async def test_a_redis_that_refuses_writes_makes_sending_wait_not_fail() -> None:
    """A failover seen through a plain URL: the server is a read-only replica for a while."""
    server = RedisServer()
    try:
        async with RedisThrottle(server.url, name="readonly", rate=100) as throttle:
            await throttle.acquire()
            admin = aioredis.Redis.from_url(server.url)
            await admin.execute_command("REPLICAOF", "127.0.0.1", str(free_port()))  # READONLY
            waiting = asyncio.ensure_future(throttle.acquire())
            await asyncio.sleep(0.2)
            assert not waiting.done()  # waits: an error of Redis is no reason to fail a send
            await admin.execute_command("REPLICAOF", "NO", "ONE")
            assert await asyncio.wait_for(waiting, 5) > 0
            await admin.aclose()
    finally:
        server.close()


async def test_slots_far_ahead_are_not_booked_so_a_raised_rate_counts_at_once(
    redis_server: RedisServer,
) -> None:
    async with RedisThrottle(redis_server.url, name="horizon", rate=RateLimit(1, burst=1)) as a:
        first = await a.acquire()
        later = asyncio.gather(a.acquire(), a.acquire(), a.acquire())  # 1, 2, 3 s away
        await asyncio.sleep(0.05)
        a.set_rate(200)
        await asyncio.gather(*a._tasks)
        sent = await later
    assert max(sent) - first < 1.2  # not 3 s: only the slot within the horizon was booked


def test_what_is_shown_of_a_redis_url() -> None:
    from webex_campaign_async.redis._remote import shown

    assert shown("redis://:pw@host:6379/0?password=s3") == "redis://host:6379/0"
    assert shown("rediss://user:pw@[::1]:6380/2?ssl_ca_certs=/x") == "rediss://[::1]:6380/2"
    assert "pw" not in shown("redis://u:pw@h:99999/0")


@pytest.mark.parametrize(
    ("url", "secret"),
    [
        ("redis://:12345/ab+cd@host", "ab+cd"),  # a password with a '/', unescaped
        ("redis://:12345/ab+cd@host:6380/2", "ab+cd"),
        ("redis://:12?34@host", "34"),  # ...with a '?'
        ("redis://:a#b@h:1/0", "a#b"),  # ...with a '#'
        ("redis://:p@ss@host/0", "p@ss"),  # ...with an '@'
        ("redis//:pw-x@localhost", "pw-x"),  # no '://'
        ("redis://user:pw-y@h:99999/0", "pw-y"),  # a port out of range
    ],
)
def test_an_at_sign_hides_what_comes_before_it_even_in_a_malformed_url(
    url: str, secret: str
) -> None:
    from webex_campaign_async.redis._remote import shown

    assert secret not in shown(url)
    assert "12345" not in shown(url)
    assert shown("redis://h:6379/0?ssl_ca_certs=/x@y/ca.pem") == "redis://h:6379/0"
    assert shown("unix:///run/redis.sock") == "unix:///run/redis.sock"


async def test_rediss_to_a_plain_server_says_it_may_not_speak_tls(
    redis_server: RedisServer,
) -> None:
    where = f"127.0.0.1:{redis_server.port}/0?socket_connect_timeout=0.3&socket_timeout=0.3"
    with pytest.raises(ConfigurationError, match=r"is the server speaking TLS\?"):
        async with RedisThrottle(f"rediss://{where}", name="tls-hint"):
            pass


async def test_redis_to_a_tls_server_says_it_may_want_tls(secured: tuple[str, str]) -> None:
    url, _ = secured
    plain = url.replace("rediss://", "redis://").split("?")[0]
    with pytest.raises(ConfigurationError, match="does the server want TLS") as info:
        async with RedisThrottle(plain, name="tls-hint"):
            pass
    assert "s3cret-pw" not in str(info.value)


@pytest.mark.parametrize(
    ("url", "options"),
    [("redis//localhost:6379", {}), ("redis://:pw@h:99999/0", {}), ("redis://h/0", {"ttl": 0})],
)
def test_a_bad_url_or_option_is_a_configuration_error(url: str, options: dict[str, Any]) -> None:
    with pytest.raises(ConfigurationError) as info:
        RedisThrottle(url, name="bad", **options)
    assert "pw" not in str(info.value)


def test_a_shared_state_without_a_ceiling_stays_without_one() -> None:
    from webex_campaign_async._ratecontrol import RateControl
    from webex_campaign_async.redis._state import dump, load

    shared = dump(RateControl(RateLimit()))  # a process with no rate wrote it
    loaded = load(shared, RateLimit(100))  # one with --rate 100 reads it
    assert loaded.ceiling is None
    assert loaded.rate is None
