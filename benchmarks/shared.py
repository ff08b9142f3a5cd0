"""Several processes, one tenant: a throttle shared through Redis against independent ones.

    python -m benchmarks.shared [--seconds 10] [--json PATH]

- tenant: the emulator throttles the tenant at R = 200/s (bucket 20); 4 worker processes
  upsert their share of the records, each with ``rate=R`` (what a user who knows the
  tenant's limit writes), either through one `RedisThrottle` or each with its own
  throttle. Reported: the rate the tenant saw, 429s, the busiest second.
- acquire: the cost of one acquire of a `RedisThrottle` (one round trip and one script),
  alone and with 64 concurrent senders in one process, and the acquires per second one
  Redis sustains for 4 processes at once.

Needs a ``redis-server`` binary (Debian's package): the benchmark starts its own.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

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


async def _acquires(redis: str, n: int, concurrency: int) -> float:
    """Seconds per acquire (wall), unlimited rate: the round trip and the script alone."""
    async with RedisThrottle(redis, name=f"bench-acquire-{concurrency}") as throttle:
        await throttle.acquire()
        per = n // concurrency

        async def one() -> None:
            for _ in range(per):
                await throttle.acquire()

        started = time.perf_counter()
        await asyncio.gather(*(one() for _ in range(concurrency)))
        return (time.perf_counter() - started) / (per * concurrency)


def tenant(seconds: float, redis: str) -> dict[str, Any]:
    per_worker = int(RATE * seconds / WORKERS)
    out: dict[str, Any] = {"rate": RATE, "workers": WORKERS, "records": per_worker * WORKERS}
    for mode in ("shared", "independent"):
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


def acquire_cost(redis: str) -> dict[str, Any]:
    alone = asyncio.run(_acquires(redis, 3000, 1))
    crowded = asyncio.run(_acquires(redis, 20000, 64))
    script = (
        "import asyncio, sys; sys.path.insert(0, '.');"
        "from benchmarks.shared import _acquires;"
        f"print(asyncio.run(_acquires({redis!r}, 20000, 64)))"
    )
    started = time.perf_counter()
    processes = [
        subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True)
        for _ in range(WORKERS)
    ]
    for p in processes:
        p.communicate()
    wall = time.perf_counter() - started
    return {
        "one_sender_us_per_acquire": round(alone * 1e6, 1),
        "64_senders_acquires_per_second": round(1 / crowded),
        "4_processes_acquires_per_second": round(WORKERS * 20000 / wall),
        "note": "4 processes include their start-up; all on one 2-core machine with Redis",
    }


def main(argv: list[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    if args[:1] == ["worker"]:
        url, key, redis, mode, first, n = args[1:7]
        asyncio.run(_worker(url, key, redis, mode, int(first), int(n)))
        return 0
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--json", help="also write the figures to this file")
    options = parser.parse_args(args)
    server = RedisServer()
    try:
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
