"""Several processes, one tenant: a throttle shared through Redis against independent ones.

    python -m benchmarks.shared [--seconds 10] [--latency-ms MS [--jitter-ms MS]] [--json PATH]

- tenant: the emulator throttles the tenant at R = 200/s (bucket 20); 4 worker processes
  upsert their share of the records, each with ``rate=R`` (what a user who knows the
  tenant's limit writes), either through one `RedisThrottle` or each with its own
  throttle. Reported: the rate the tenant saw, 429s, the busiest second.
- acquire: the cost of one acquire of a `RedisThrottle` (one round trip and one script),
  alone and with 64 concurrent senders in one process, and the acquires per second one
  Redis sustains for 4 processes at once; unlimited (no rate) and paced (a rate set that
  is never reached: the GCRA path; and a rate that binds, where a slot that waited is
  checked again: two round trips). Redis's own time per script call (INFO commandstats).
- ``--latency-ms MS``: the tenant scenario again (shared only) with MS of delay added to
  each direction between the workers and Redis (a delaying TCP proxy), ``--jitter-ms``
  more at random.

Needs a ``redis-server`` binary (Debian's package): the benchmark starts its own.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import redis.asyncio as aioredis

from webex_campaign_async import CampaignClient, ProfileUpsert, RateLimit, RetryPolicy
from webex_campaign_async.emulator import EmulatorProcess
from webex_campaign_async.redis import RedisThrottle

sys.path.insert(0, str(Path(__file__).parents[1]))
from tests.redis.server import RedisServer

RATE = 200.0
WORKERS = 4


async def _worker(url: str, key: str, redis: str, mode: str, first: int, n: int) -> None:
    limit = RateLimit(RATE, burst=4)
    throttle = RedisThrottle(redis, name="bench-tenant", rate=limit) if mode == "shared" else None
    client = CampaignClient(
        url,
        api_key=key,
        throttle=throttle,
        rate=None if throttle is not None else limit,
        retry=RetryPolicy(attempts=10),
    )
    records = [
        ProfileUpsert("bench", key=f"k{i}", attributes={"n": str(i)})
        for i in range(first, first + n)
    ]
    if throttle is not None:
        await throttle.connect()
    try:
        async with client:
            report = await client.bulk_upsert(records)
    finally:
        if throttle is not None:
            await throttle.aclose()
    print(json.dumps({"applied": report.applied, "throttled": report.throttled}))


async def _acquires(redis: str, n: int, concurrency: int, rate: float | None = None) -> float:
    """Seconds per acquire (wall), unlimited (no rate) or paced at ``rate``."""
    limit = RateLimit(rate, burst=10) if rate is not None else None
    name = f"bench-acquire-{concurrency}-{rate}"
    async with RedisThrottle(redis, name=name, rate=limit) as throttle:
        await throttle.acquire()
        per = n // concurrency

        async def one() -> None:
            for _ in range(per):
                await throttle.acquire()

        started = time.perf_counter()
        await asyncio.gather(*(one() for _ in range(concurrency)))
        return (time.perf_counter() - started) / (per * concurrency)


def tenant(
    seconds: float, redis: str, modes: tuple[str, ...] = ("shared", "independent")
) -> dict[str, Any]:
    per_worker = int(RATE * seconds / WORKERS)
    out: dict[str, Any] = {"rate": RATE, "workers": WORKERS, "records": per_worker * WORKERS}
    for mode in modes:
        with EmulatorProcess(rate=RATE, burst=RATE / 10, track_keys=False) as emulator:
            processes = [
                subprocess.Popen(
                    [
                        sys.executable,
                        "-m",
                        "benchmarks.shared",
                        "worker",
                        emulator.base_url,
                        emulator.api_key,
                        redis,
                        mode,
                        str(w * per_worker),
                        str(per_worker),
                    ],
                    stdout=subprocess.PIPE,
                    text=True,
                )
                for w in range(WORKERS)
            ]
            reports = [json.loads(p.communicate()[0].splitlines()[-1]) for p in processes]
            stats = emulator.stats()
        span = stats["last_at"] - stats["first_at"]
        out[mode] = {
            "applied": sum(r["applied"] for r in reports),
            "tenant_saw_per_second": round(stats["applied"] / span, 1),
            "ratio_to_rate": round(stats["applied"] / span / RATE, 3),
            "requests": stats["requests"],
            "throttled_429": stats["throttled"],
            "share_429": round(stats["throttled"] / stats["requests"], 4),
            "busiest_second": stats["max_per_second"],
        }
    return out


async def _script_stats(redis: str) -> dict[str, Any]:
    """Redis's own INFO commandstats: calls and microseconds per call of each command."""
    client = aioredis.Redis.from_url(redis)
    try:
        stats = await client.info("commandstats")
    finally:
        await client.aclose()
    return {
        name.removeprefix("cmdstat_"): {"calls": v["calls"], "usec_per_call": v["usec_per_call"]}
        for name, v in stats.items()
        if name in ("cmdstat_evalsha", "cmdstat_hmget")
    }


async def _reset_stats(redis: str) -> None:
    client = aioredis.Redis.from_url(redis)
    try:
        await client.config_resetstat()
    finally:
        await client.aclose()


def _processes(redis: str, rate: float | None) -> float:
    """Acquires per second of 4 processes of 64 senders (start-up included)."""
    script = (
        "import asyncio, sys; sys.path.insert(0, '.');"
        "from benchmarks.shared import _acquires;"
        f"print(asyncio.run(_acquires({redis!r}, 20000, 64, {rate!r})))"
    )
    started = time.perf_counter()
    processes = [
        subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True)
        for _ in range(WORKERS)
    ]
    for p in processes:
        p.communicate()
    return WORKERS * 20000 / (time.perf_counter() - started)


def acquire_cost(redis: str) -> dict[str, Any]:
    out: dict[str, Any] = {}
    # unlimited; paced at a rate never reached (the GCRA path); paced at a rate that binds
    for label, rate in (("unlimited", None), ("paced_1e6", 1e6), ("paced_2000", 2000.0)):
        asyncio.run(_reset_stats(redis))
        alone = asyncio.run(_acquires(redis, 2000 if rate != 2000.0 else 400, 1, rate))
        crowded = asyncio.run(_acquires(redis, 20000 if rate != 2000.0 else 8000, 64, rate))
        figures: dict[str, Any] = {
            "one_sender_us_per_acquire": round(alone * 1e6, 1),
            "64_senders_acquires_per_second": round(1 / crowded),
        }
        if rate != 2000.0:
            asyncio.run(_reset_stats(redis))
            figures["4_processes_acquires_per_second"] = round(_processes(redis, rate))
        figures["redis_commandstats"] = asyncio.run(_script_stats(redis))
        out[label] = figures
    out["note"] = (
        "4 processes include their start-up; all on one 2-core machine with Redis; "
        "commandstats: Redis's own microseconds per call, during the busiest run of each"
    )
    return out


async def _pipe(
    reader: asyncio.StreamReader, writer: asyncio.StreamWriter, delay: float, jitter: float
) -> None:
    """Forward ``reader`` to ``writer``, each chunk ``delay`` (+ up to ``jitter``) later, in
    order."""
    loop = asyncio.get_running_loop()
    queue: asyncio.Queue[tuple[float, bytes]] = asyncio.Queue()

    async def send() -> None:
        last = 0.0
        while True:
            due, data = await queue.get()
            if not data:
                break
            due = max(due, last)  # in order: a later chunk never overtakes
            last = due
            await asyncio.sleep(max(0.0, due - loop.time()))
            writer.write(data)
            await writer.drain()
        writer.close()

    sender = asyncio.ensure_future(send())
    try:
        while data := await reader.read(65536):
            queue.put_nowait((loop.time() + delay + random.random() * jitter, data))
    except ConnectionError:
        pass
    queue.put_nowait((0.0, b""))
    await sender


async def _proxy(port: int, target: int, delay: float, jitter: float, ready: Any) -> None:
    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        up_reader, up_writer = await asyncio.open_connection("127.0.0.1", target)
        await asyncio.gather(
            _pipe(reader, up_writer, delay, jitter),
            _pipe(up_reader, writer, delay, jitter),
            return_exceptions=True,
        )

    server = await asyncio.start_server(handle, "127.0.0.1", port)
    ready.set()
    async with server:
        await server.serve_forever()


def delayed(redis_port: int, delay: float, jitter: float) -> str:
    """A URL of Redis through a delaying proxy running in a daemon thread."""
    import threading

    from tests.redis.server import free_port

    port = free_port()
    ready = threading.Event()
    threading.Thread(
        target=lambda: asyncio.run(_proxy(port, redis_port, delay, jitter, ready)), daemon=True
    ).start()
    ready.wait(10)
    return f"redis://127.0.0.1:{port}/0"


def main(argv: list[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    if args[:1] == ["worker"]:
        url, key, redis, mode, first, n = args[1:7]
        asyncio.run(_worker(url, key, redis, mode, int(first), int(n)))
        return 0
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--latency-ms", type=float, help="only the shared tenant, Redis delayed")
    parser.add_argument("--jitter-ms", type=float, default=0.0)
    parser.add_argument("--json", help="also write the figures to this file")
    options = parser.parse_args(args)
    server = RedisServer()
    try:
        if options.latency_ms is not None:
            url = delayed(server.port, options.latency_ms / 1e3, options.jitter_ms / 1e3)
            results = {
                "latency": {"ms_each_way": options.latency_ms, "jitter_ms": options.jitter_ms},
                "tenant": tenant(options.seconds, url, ("shared",)),
            }
        else:
            results = {
                "tenant": tenant(options.seconds, server.url),
                "acquire": acquire_cost(server.url),
            }
    finally:
        server.close()
    for name, figures in results.items():
        print(f"{name}: {json.dumps(figures)}")
    if options.json:
        with open(options.json, "w", encoding="utf-8") as f:
            json.dump(results, f, indent=2)
    return 0


if __name__ == "__main__":
    sys.exit(main())
