"""Per-key order: what it costs with unique keys, and what it does with repeated ones.

    python -m benchmarks.order [--seconds 8] [--rounds 5] [--json PATH] [--quick]

- unique: every key once, the emulator in its own process, no latency, 64 concurrent:
  records/s and client CPU per record with ``ordered=True`` / ``ordered=False`` (goal:
  ratio >= 0.97), paired within rounds that alternate the order of the two runs; and the
  same with no network (a transport that answers at once) to show the bookkeeping alone.
- repeated: 20 % of the records repeat a key seen a few dozen records earlier, the emulator
  answering in 2-12 ms: records/s ordered and unordered, the records held back, and the
  keys left holding an older version by the unordered run (the ordered one leaves none).

Every figure is a ratio of two runs in this process, or a count. Exits 1 when the ordered
run left a key stale or a run lost records (never on timings); ``--quick`` is a smoke run.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import statistics
import sys
import time
from collections.abc import Iterator
from typing import Any

from webex_campaign_async import CampaignClient, ProfileUpsert, RetryPolicy
from webex_campaign_async.emulator import EmulatorProcess, Faults

from ._fake import InstantTransport

ATTRIBUTES = [f"attr{j}" for j in range(10)]


def unique(n: int, offset: int) -> Iterator[ProfileUpsert]:
    for i in range(offset, offset + n):
        yield ProfileUpsert("bench", key=f"u{i}", attributes=dict.fromkeys(ATTRIBUTES, f"v{i}"))


def repeated(n: int, share: float = 0.2, seed: int = 7) -> list[ProfileUpsert]:
    """``share`` of the records repeat a key from the last 50 records; values say which row."""
    rng = random.Random(seed)
    keys: list[str] = []
    out = []
    for i in range(n):
        key = rng.choice(keys[-50:]) if keys and rng.random() < share else f"r{i}"
        keys.append(key)
        out.append(ProfileUpsert("bench", key=key, attributes={"row": str(i)}))
    return out


async def _run(client: CampaignClient, records: Any, ordered: bool) -> tuple[Any, float, float]:
    async with client:
        cpu, wall = time.process_time(), time.perf_counter()
        report = await client.bulk_upsert(records, ordered=ordered)
        return report, time.perf_counter() - wall, time.process_time() - cpu


def _paired(ordered: list[float], unordered: list[float]) -> dict[str, Any]:
    ratios = [a / b for a, b in zip(ordered, unordered, strict=True)]
    return {
        "median": round(statistics.median(ratios), 4),
        "range": [round(min(ratios), 4), round(max(ratios), 4)],
    }


def unique_keys(seconds: float, rounds: int, no_network: int = 100_000) -> dict[str, Any]:
    out: dict[str, Any] = {}
    with EmulatorProcess(track_keys=False) as server:

        def client() -> CampaignClient:
            return CampaignClient(server.base_url, api_key=server.api_key, max_concurrency=64)

        probe_report, probe_wall, _ = asyncio.run(_run(client(), unique(2000, 10**8), True))
        n = max(2000, int(probe_report.applied / probe_wall * seconds / 2))
        figures: dict[bool, dict[str, list[float]]] = {
            flag: {"rate": [], "cpu": []} for flag in (True, False)
        }
        for round_ in range(rounds):
            for k, flag in enumerate((True, False) if round_ % 2 == 0 else (False, True)):
                records = unique(n, (round_ * 2 + k + 1) * 10**7)
                report, wall, cpu = asyncio.run(_run(client(), records, flag))
                assert report.applied == n
                figures[flag]["rate"].append(n / wall)
                figures[flag]["cpu"].append(cpu / n)
    out["emulator"] = {
        "records_per_run": n,
        "ordered_records_per_second": round(statistics.median(figures[True]["rate"]), 1),
        "unordered_records_per_second": round(statistics.median(figures[False]["rate"]), 1),
        "throughput_ratio": _paired(figures[True]["rate"], figures[False]["rate"]),
        "ordered_cpu_us_per_record": round(statistics.median(figures[True]["cpu"]) * 1e6, 1),
        "unordered_cpu_us_per_record": round(statistics.median(figures[False]["cpu"]) * 1e6, 1),
        "cpu_ratio": _paired(figures[True]["cpu"], figures[False]["cpu"]),
    }
    cpu: dict[bool, list[float]] = {True: [], False: []}
    n = no_network
    for round_ in range(rounds):
        for flag in (True, False) if round_ % 2 == 0 else (False, True):
            instant = CampaignClient(
                "https://bench.invalid", api_key="k", transport=InstantTransport()
            )
            report, _, used = asyncio.run(_run(instant, unique(n, round_ * n), flag))
            assert report.applied == n
            cpu[flag].append(used / n)
    out["no_network"] = {
        "records_per_run": n,
        "ordered_cpu_us_per_record": round(statistics.median(cpu[True]) * 1e6, 2),
        "unordered_cpu_us_per_record": round(statistics.median(cpu[False]) * 1e6, 2),
        "bookkeeping_us_per_record": round(
            (statistics.median(cpu[True]) - statistics.median(cpu[False])) * 1e6, 2
        ),
        "cpu_ratio": _paired(cpu[True], cpu[False]),
    }
    return out


def repeated_keys(seconds: float, rounds: int) -> dict[str, Any]:
    concurrency, latency = 64, 0.007
    n = int(concurrency / latency * seconds / 2)
    records = repeated(n)
    last = {r.key: r.attributes[0].val for r in records}
    out: dict[str, Any] = {"records": n, "repeated_share": 0.2, "distinct_keys": len(last)}
    faults = Faults(latency=0.002, jitter=0.01, p500=0.02, seed=3)
    for flag in (True, False):
        with EmulatorProcess(faults=faults) as server:
            client = CampaignClient(
                server.base_url,
                api_key=server.api_key,
                max_concurrency=concurrency,
                retry=RetryPolicy(attempts=10, initial=0.01),
            )
            report, wall, _ = asyncio.run(_run(client, records, flag))
            held = server.profiles("bench")
        stale = sum(held.get(key, {}).get("row") != row for key, row in last.items())
        out["ordered" if flag else "unordered"] = {
            "records_per_second": round(report.applied / wall, 1),
            "applied": report.applied,
            "held_back": report.held_back,
            "keys_left_stale": stale,
        }
    out["throughput_ratio"] = round(
        out["ordered"]["records_per_second"] / out["unordered"]["records_per_second"], 4
    )
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--seconds", type=float, default=8.0, help="length of each run")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--json", help="also write the figures to this file")
    parser.add_argument("--quick", action="store_true", help="a smoke run: small and short")
    args = parser.parse_args(argv)
    seconds, rounds = (0.5, 1) if args.quick else (args.seconds, args.rounds)
    results: dict[str, Any] = {}
    started = time.perf_counter()
    results["unique"] = unique_keys(seconds, rounds, 10_000 if args.quick else 100_000)
    print(f"unique ({time.perf_counter() - started:.0f} s): {json.dumps(results['unique'])}")
    started = time.perf_counter()
    results["repeated"] = repeated_keys(seconds, rounds)
    print(f"repeated ({time.perf_counter() - started:.0f} s): {json.dumps(results['repeated'])}")
    if args.json:
        with open(args.json, "w", encoding="utf-8") as f:
            json.dump(results, f, indent=2)
    ordered = results["repeated"]["ordered"]
    if ordered["keys_left_stale"] or ordered["applied"] != results["repeated"]["records"]:
        print("CHECK FAILED: the ordered run left stale keys or lost records", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
