"""The bulk engine's goals, measured against the emulator served from its own process.

    python -m benchmarks.engine [rate] [latency] [overhead] [uvloop] [--seconds 10]
        [--json PATH] [--no-uvloop]

- rate: emulator throttle R = 500/s, client configured to R. Achieved records/s / R
  (goal >= 0.98), 429s provoked (goal 0), largest 100 ms window (goal <= R/10 + client
  burst) at the client's sends and at the server's arrivals (which add transit jitter).
- latency: emulator latency 50 ms, 64 concurrent, no limit. Records/s / (64 / 0.05)
  (goal >= 0.93), and the same against the measured round trip, and against a bare
  aiohttp loop measured in the same run.
- uvloop: the library alone on asyncio's loop and on uvloop, records/s and CPU per record.
- overhead: no latency, no limit, 64 concurrent. Client CPU seconds per record / the same for
  a bare aiohttp loop (goal <= 1.15), and records/s / the bare loop's (goal >= 0.9). Three
  floors: pre-encoded bodies (aiohttp alone), the same with the library's 64 KiB socket
  reads (so the ratio shows the library's own work, not that tuning), and dicts sent with
  ``json=`` (what a user writes). Rounds alternate between the clients; medians reported.

Every figure is a ratio of two things measured in this run. Memory: `benchmarks.memory`.
Runs go on uvloop when it is installed (the ``speedups`` extra); ``--no-uvloop`` keeps
asyncio's loop (the bare-loop floors run on the same loop as the library).
"""

from __future__ import annotations

import argparse
import asyncio
import bisect
import json
import platform
import statistics
import sys
import time
from collections.abc import Callable, Coroutine
from typing import Any

import aiohttp

from webex_campaign_async import (
    AiohttpTransport,
    CampaignClient,
    ProfileUpsert,
    RateLimit,
    RetryPolicy,
)
from webex_campaign_async._codec import loads
from webex_campaign_async._convert import encode_profile, profile_to_wire
from webex_campaign_async._transport import _Connector as ReadSizeConnector
from webex_campaign_async.emulator import EmulatorProcess, Faults

from ._fake import profiles

RATE = 500.0


def _records(n: int, offset: int = 0) -> list[ProfileUpsert]:
    return [
        ProfileUpsert("bench", key=f"r{offset + i}", attributes=p.attributes)
        for i, p in enumerate(profiles(n))
    ]


async def _bulk(
    server: EmulatorProcess, records: list[ProfileUpsert], **client: Any
) -> tuple[Any, float, float]:
    """(report, wall seconds, client CPU seconds) of one bulk_upsert."""
    async with CampaignClient(server.base_url, api_key=server.api_key, **client) as c:
        cpu, wall = time.process_time(), time.perf_counter()
        report = await c.bulk_upsert(records)
        return report, time.perf_counter() - wall, time.process_time() - cpu


async def _bare(
    server: EmulatorProcess,
    bodies: list[bytes] | list[dict[str, Any]],
    concurrency: int,
    connector_class: type[aiohttp.TCPConnector] = aiohttp.TCPConnector,
) -> tuple[int, float, float]:
    """The floor: plain aiohttp and a pool of workers; (applied, wall, CPU).

    ``bodies`` pre-encoded (aiohttp alone), or dicts sent with ``json=`` (a user's loop).
    ``connector_class``: the library's connector gives the floor its 64 KiB socket reads.
    """
    headers = {"Authorization": f"Bearer {server.api_key}", "Content-Type": "application/json"}
    applied = 0
    connector = connector_class(limit=concurrency, limit_per_host=concurrency)
    async with aiohttp.ClientSession(connector=connector) as session:
        work = iter(bodies)

        async def worker() -> None:
            nonlocal applied
            for body in work:
                sent = {"data": body} if isinstance(body, bytes) else {"json": body}
                async with session.post(server.url, headers=headers, **sent) as response:
                    answer = loads(await response.read())
                    applied += answer.get("update-count", 0) >= 1

        cpu, wall = time.process_time(), time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(concurrency)))
        return applied, time.perf_counter() - wall, time.process_time() - cpu


def _uvloop_run() -> Callable[[Coroutine[Any, Any, Any]], Any] | None:
    try:
        import uvloop
    except ImportError:
        return None
    runner: Callable[[Coroutine[Any, Any, Any]], Any] = uvloop.run
    return runner


#: How every run of this process is run: uvloop when installed (``--no-uvloop``: asyncio).
RUN: Callable[[Coroutine[Any, Any, Any]], Any] = _uvloop_run() or asyncio.run


def _run(coro: Callable[[], Coroutine[Any, Any, Any]]) -> Any:
    return RUN(coro())


class _Recording:
    """A transport that notes when each request leaves, then hands it to aiohttp."""

    def __init__(self) -> None:
        self.inner: AiohttpTransport | None = None  # made in the event loop, at first use
        self.sent: list[float] = []

    async def send(self, url: Any, headers: Any, body: bytes, timeout: float | None) -> Any:
        if self.inner is None:
            self.inner = AiohttpTransport(max_connections=64)
        self.sent.append(time.perf_counter())
        return await self.inner.send(url, headers, body, timeout)

    async def aclose(self) -> None:
        if self.inner is not None:
            await self.inner.aclose()


def _max_in_window(times: list[float], window: float) -> int:
    times = sorted(times)
    return max((bisect.bisect_left(times, t + window) - i for i, t in enumerate(times)), default=0)


def rate_fidelity(seconds: float) -> dict[str, Any]:
    burst = 25  # the client's default at 500/s: 1/20 s worth
    n = int(RATE * seconds)
    recording = _Recording()
    with EmulatorProcess(rate=RATE, burst=RATE / 10) as server:
        report, wall, _ = _run(
            lambda: _bulk(
                server,
                _records(n),
                rate=RateLimit(RATE, burst=burst),
                max_concurrency=64,
                retry=RetryPolicy(attempts=10),
                transport=recording,
            )
        )
        stats = server.stats()
    achieved = report.applied / wall
    return {
        "records": n,
        "seconds": round(wall, 3),
        "records_per_second": round(achieved, 1),
        "ratio_to_rate": round(achieved / RATE, 4),
        "throttled_429": stats["throttled"],
        "client_max_per_100ms": _max_in_window(recording.sent, 0.1),
        "client_max_per_second": _max_in_window(recording.sent, 1.0),
        "server_max_per_100ms": stats["max_per_100ms"],
        "server_max_per_second": stats["max_per_second"],
        "bound_per_100ms": RATE / 10 + burst,
        "applied": report.applied,
    }


def latency_hiding(seconds: float) -> dict[str, Any]:
    concurrency, latency = 64, 0.05
    ideal = concurrency / latency
    n = int(ideal * seconds)
    with EmulatorProcess(faults=Faults(latency=latency), track_keys=False) as server:
        report, wall, _ = _run(lambda: _bulk(server, _records(n), max_concurrency=concurrency))
        bodies = [encode_profile(r) for r in _records(n, offset=10**7)]
        bare_applied, bare_wall, _ = _run(lambda: _bare(server, bodies, concurrency))
    achieved = report.applied / wall
    p50 = report.latency.p50
    return {
        "records": n,
        "seconds": round(wall, 3),
        "records_per_second": round(achieved, 1),
        "ideal": ideal,
        "ratio_to_ideal": round(achieved / ideal, 4),
        "measured_round_trip_p50_ms": round(p50 * 1000, 2),
        "ratio_to_measured_round_trip": round(achieved / (concurrency / p50), 4),
        "bare_records_per_second": round(bare_applied / bare_wall, 1),
        "ratio_to_bare": round(achieved / (bare_applied / bare_wall), 4),
        "applied": report.applied,
    }


def overhead(seconds: float, rounds: int = 5) -> dict[str, Any]:
    """Each round runs every client once, in a rotating order; ratios are taken within a
    round (runs seconds apart share the machine's state) and their median reported."""
    concurrency = 64

    def library(server: EmulatorProcess, n: int, offset: int) -> tuple[int, float, float]:
        records = _records(n, offset=offset)
        report, wall, cpu = _run(lambda: _bulk(server, records, max_concurrency=concurrency))
        return report.applied, wall, cpu

    def bare(server: EmulatorProcess, n: int, offset: int) -> tuple[int, float, float]:
        bodies = [encode_profile(r) for r in _records(n, offset=offset)]
        return _run(lambda: _bare(server, bodies, concurrency))

    def bare_64k_reads(server: EmulatorProcess, n: int, offset: int) -> tuple[int, float, float]:
        bodies = [encode_profile(r) for r in _records(n, offset=offset)]
        return _run(lambda: _bare(server, bodies, concurrency, ReadSizeConnector))

    def json_loop(server: EmulatorProcess, n: int, offset: int) -> tuple[int, float, float]:
        dicts = [profile_to_wire(r) for r in _records(n, offset=offset)]
        return _run(lambda: _bare(server, dicts, concurrency))

    clients = [library, bare, bare_64k_reads, json_loop]
    cpu: dict[str, list[float]] = {c.__name__: [] for c in clients}
    rate: dict[str, list[float]] = {c.__name__: [] for c in clients}
    with EmulatorProcess(track_keys=False) as server:
        # size the runs from a short probe of the server's speed
        probe = _records(2000, offset=10**8)
        _, wall, _ = _run(lambda: _bulk(server, probe, max_concurrency=concurrency))
        n = max(2000, int(len(probe) / wall * seconds / 3))
        for round_ in range(rounds):
            turn = round_ % len(clients)
            for k, client in enumerate(clients[turn:] + clients[:turn]):
                applied, wall, used = client(server, n, (round_ * len(clients) + k + 1) * 10**7)
                assert applied == n, (client.__name__, applied, n)
                cpu[client.__name__].append(used / n)
                rate[client.__name__].append(n / wall)

    def paired(figures: dict[str, list[float]], floor: str) -> tuple[float, float, float]:
        ratios = [a / b for a, b in zip(figures["library"], figures[floor], strict=True)]
        return round(statistics.median(ratios), 4), round(min(ratios), 4), round(max(ratios), 4)

    def us(name: str) -> float:
        return round(statistics.median(cpu[name]) * 1e6, 1)

    out: dict[str, Any] = {"records_per_run": n, "rounds": rounds}
    for name in cpu:
        out[f"{name}_cpu_us_per_record"] = us(name)
        out[f"{name}_records_per_second"] = round(statistics.median(rate[name]), 1)
    for floor, label in (
        ("bare", ""),
        ("bare_64k_reads", "_to_bare_64k_reads"),
        ("json_loop", "_to_json_loop"),
    ):
        out[f"cpu_ratio{label}"], low, high = paired(cpu, floor)
        out[f"cpu_ratio{label}_range"] = [low, high]
        out[f"throughput_ratio{label}"], low, high = paired(rate, floor)
        out[f"throughput_ratio{label}_range"] = [low, high]
    out["library_own_work_us_per_record"] = round(us("library") - us("bare_64k_reads"), 1)
    return out


def uvloop_gain(seconds: float, rounds: int = 5) -> dict[str, Any]:
    """The library alone (no limit, no latency, 64 concurrent) on asyncio's loop and on
    uvloop, in alternating order; records/s and CPU per record, ratios paired by round."""
    global RUN
    uvloop = _uvloop_run()
    if uvloop is None:
        return {"skipped": "uvloop is not installed (the speedups extra)"}
    concurrency = 64
    figures: dict[str, dict[str, list[float]]] = {
        name: {"rate": [], "cpu": []} for name in ("asyncio", "uvloop")
    }
    saved = RUN
    try:
        with EmulatorProcess(track_keys=False) as server:
            probe = _records(2000, offset=10**8)
            _, wall, _ = _run(lambda: _bulk(server, probe, max_concurrency=concurrency))
            n = max(2000, int(len(probe) / wall * seconds / 2))
            for round_ in range(rounds):
                order = ("asyncio", "uvloop") if round_ % 2 == 0 else ("uvloop", "asyncio")
                for k, name in enumerate(order):
                    RUN = asyncio.run if name == "asyncio" else uvloop
                    records = _records(n, offset=(round_ * 2 + k + 1) * 10**7)
                    report, wall, cpu = _run(
                        lambda records=records: _bulk(server, records, max_concurrency=concurrency)
                    )
                    assert report.applied == n
                    figures[name]["rate"].append(n / wall)
                    figures[name]["cpu"].append(cpu / n)
    finally:
        RUN = saved

    def paired(kind: str) -> dict[str, Any]:
        ratios = [
            u / a for u, a in zip(figures["uvloop"][kind], figures["asyncio"][kind], strict=True)
        ]
        return {
            "median": round(statistics.median(ratios), 4),
            "range": [round(min(ratios), 4), round(max(ratios), 4)],
        }

    return {
        "records_per_run": n,
        "asyncio_records_per_second": round(statistics.median(figures["asyncio"]["rate"]), 1),
        "uvloop_records_per_second": round(statistics.median(figures["uvloop"]["rate"]), 1),
        "asyncio_cpu_us_per_record": round(statistics.median(figures["asyncio"]["cpu"]) * 1e6, 1),
        "uvloop_cpu_us_per_record": round(statistics.median(figures["uvloop"]["cpu"]) * 1e6, 1),
        "throughput_ratio_uvloop_to_asyncio": paired("rate"),
        "cpu_ratio_uvloop_to_asyncio": paired("cpu"),
    }


SCENARIOS: dict[str, Callable[[float], dict[str, Any]]] = {
    "rate": rate_fidelity,
    "latency": latency_hiding,
    "overhead": overhead,
    "uvloop": uvloop_gain,
}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument(
        "scenarios",
        nargs="*",
        metavar="SCENARIO",
        help=f"some of {', '.join(SCENARIOS)} (default: all)",
    )
    parser.add_argument("--seconds", type=float, default=10.0, help="length of each run")
    parser.add_argument("--json", help="also write the figures to this file")
    parser.add_argument(
        "--no-uvloop", action="store_true", help="run on asyncio's own loop even with uvloop"
    )
    args = parser.parse_args(argv)
    global RUN
    if args.no_uvloop:
        RUN = asyncio.run
    unknown = set(args.scenarios) - set(SCENARIOS)
    if unknown:
        parser.error(f"unknown scenario(s): {', '.join(sorted(unknown))}")
    results: dict[str, Any] = {
        "machine": {
            "python": platform.python_version(),
            "platform": platform.platform(),
            "processor": platform.machine(),
            "loop": "asyncio" if RUN is asyncio.run else "uvloop",
        }
    }
    for name in args.scenarios or list(SCENARIOS):
        started = time.perf_counter()
        results[name] = SCENARIOS[name](args.seconds)
        print(f"{name} ({time.perf_counter() - started:.0f} s): {json.dumps(results[name])}")
    if args.json:
        with open(args.json, "w", encoding="utf-8") as f:
            json.dump(results, f, indent=2)
    return 0


if __name__ == "__main__":
    sys.exit(main())
