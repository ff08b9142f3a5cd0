"""How many upserts per second the emulator answers, served from its own process.

Hammers an `EmulatorProcess` (faults off) with a plain aiohttp client at a few concurrencies
and prints requests per second and the server's CPU time per request, beside a bare
aiohttp.web handler measured the same way in the same run (the ceiling on this machine).

    .venv/bin/python benchmarks/emulator_throughput.py [--seconds 3] [--concurrency 32 64]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import aiohttp

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from webex_campaign_async.emulator import EmulatorProcess

_BARE_SERVER = """
import asyncio, json, socket, sys
from aiohttp import web

BODY = b'{"update-count":1,"transaction-id":"0123456789abcdef0123456789abcdef"}'

async def handle(request):
    await request.read()
    return web.Response(body=BODY, content_type="application/json")

async def main():
    app = web.Application()
    app.router.add_post("/{tail:.*}", handle)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    await web.SockSite(runner, sock).start()
    print(json.dumps({"url": "http://127.0.0.1:%d/bare" % sock.getsockname()[1]}), flush=True)
    await asyncio.get_running_loop().run_in_executor(None, sys.stdin.read)
    await runner.cleanup()

asyncio.run(main())
"""


def _cpu_seconds(pid: int) -> float | None:
    """User + system CPU seconds of process ``pid`` (Linux only)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


async def hammer(
    url: str, api_key: str, pid: int, concurrency: int, seconds: float
) -> tuple[int, int, float, float | None]:
    """(requests answered, answers not HTTP 200, seconds, server CPU seconds) after a warm-up."""
    headers = {"Authorization": f"Bearer {api_key}", "Content-Type": "application/json"}
    template = (
        b'{"profile-name":"bench","key":"K-%d","upsert":"1","attributes":['
        b'{"attribute-name":"firstname","val":"Matt"},{"attribute-name":"lastname","val":"Adam"},'
        b'{"attribute-name":"city","val":"Oslo"},{"attribute-name":"age","val":"42"}]}'
    )
    counter = 0
    done = 0
    errors = 0
    connector = aiohttp.TCPConnector(limit=concurrency, limit_per_host=concurrency)
    async with aiohttp.ClientSession(connector=connector) as session:

        async def worker(deadline: float, count: bool) -> None:
            nonlocal counter, done, errors
            loop = asyncio.get_running_loop()
            while loop.time() < deadline:
                counter += 1
                async with session.post(url, data=template % counter, headers=headers) as answer:
                    await answer.read()
                    if count:
                        done += 1
                        errors += answer.status != 200

        loop = asyncio.get_running_loop()
        warmup = loop.time() + 0.5
        await asyncio.gather(*(worker(warmup, False) for _ in range(concurrency)))
        cpu0, t0 = _cpu_seconds(pid), time.perf_counter()
        deadline = loop.time() + seconds
        await asyncio.gather(*(worker(deadline, True) for _ in range(concurrency)))
        elapsed, cpu1 = time.perf_counter() - t0, _cpu_seconds(pid)
    cpu = None if cpu0 is None or cpu1 is None else cpu1 - cpu0
    return done, errors, elapsed, cpu


def measure(
    label: str, url: str, api_key: str, pid: int, concurrency: int, seconds: float
) -> float:
    done, errors, elapsed, cpu_seconds = asyncio.run(
        hammer(url, api_key, pid, concurrency, seconds)
    )
    rate = done / elapsed
    cpu = ""
    if cpu_seconds is not None and done:
        cpu = f"  server CPU {cpu_seconds / done * 1e6:4.0f} us/request"
    print(
        f"{label:<10} concurrency {concurrency:>3}: {rate:8,.0f} req/s  ({done:,} requests, "
        f"{errors} not 200){cpu}"
    )
    return rate


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=3.0, help="per measurement")
    parser.add_argument("--concurrency", type=int, nargs="+", default=[32, 64])
    parser.add_argument("--no-baseline", action="store_true", help="skip the bare handler")
    args = parser.parse_args()

    results: dict[int, tuple[float, float | None]] = {}
    with EmulatorProcess() as server:
        for concurrency in args.concurrency:
            rate = measure(
                "emulator", server.url, server.api_key, server.pid, concurrency, args.seconds
            )
            results[concurrency] = (rate, None)
        stats = server.stats()
        print(
            f"emulator stats: {stats['requests']:,} requests, peak {stats['max_per_second']:,} "
            f"in 1 s, {stats['max_per_100ms']:,} in 100 ms, by status {stats['by_status']}"
        )

    if not args.no_baseline:
        bare = subprocess.Popen(
            [sys.executable, "-c", _BARE_SERVER], stdin=subprocess.PIPE, stdout=subprocess.PIPE
        )
        try:
            assert bare.stdout is not None
            url = json.loads(bare.stdout.readline())["url"]
            for concurrency in args.concurrency:
                rate = measure("bare", url, "-", bare.pid, concurrency, args.seconds)
                results[concurrency] = (results[concurrency][0], rate)
        finally:
            assert bare.stdin is not None
            bare.stdin.close()
            bare.wait(10)
        for concurrency, (emulated, baseline) in results.items():
            assert baseline is not None
            print(
                f"concurrency {concurrency:>3}: emulator / bare handler = {emulated / baseline:.2f}"
            )
    return 0


if __name__ == "__main__":
    sys.exit(main())
