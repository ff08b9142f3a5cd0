"""Peak RSS of streaming N records through the bulk engine (fake transport, no network).

Each size runs in a fresh child process and reports its own peak RSS, so the figures do not
include each other. Prints the ratio of the largest run to the smallest.

    python -m benchmarks.memory [--sizes 10000 1000000]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import subprocess
import sys
import time

from webex_campaign_async import CampaignClient

from ._fake import InstantTransport, profiles


async def _stream(n: int) -> dict[str, float]:
    transport = InstantTransport()
    async with CampaignClient(
        "https://bench.invalid", api_key="bench", transport=transport, max_concurrency=64
    ) as client:
        start = time.perf_counter()
        report = await client.bulk_upsert(profiles(n))
        elapsed = time.perf_counter() - start
    assert report.applied == n == transport.requests, report
    return {
        "records": n,
        "peak_rss_mb": peak_rss_mb(),
        "seconds": elapsed,
        "records_per_second": n / elapsed,
    }


def peak_rss_mb() -> float:
    """This process's own peak RSS (VmHWM): ``ru_maxrss`` of a child starts at its parent's."""
    with open("/proc/self/status", encoding="ascii") as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    raise RuntimeError("no VmHWM in /proc/self/status (Linux only)")


def measure(n: int) -> dict[str, float]:
    """Run one size in a child process; return its figures."""
    out = subprocess.run(
        [sys.executable, "-m", "benchmarks.memory", "--child", str(n)],
        check=True,
        capture_output=True,
        text=True,
    )
    result: dict[str, float] = json.loads(out.stdout)
    return result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[10_000, 1_000_000])
    parser.add_argument("--child", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        print(json.dumps(asyncio.run(_stream(args.child))))
        return 0
    runs = [measure(n) for n in args.sizes]
    for run in runs:
        print(
            f"{int(run['records']):>10,} records: peak RSS {run['peak_rss_mb']:6.1f} MB, "
            f"{run['records_per_second']:,.0f} records/s"
        )
    ratio = runs[-1]["peak_rss_mb"] / runs[0]["peak_rss_mb"]
    print(f"peak RSS ratio {int(runs[-1]['records']):,} / {int(runs[0]['records']):,}: {ratio:.3f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
