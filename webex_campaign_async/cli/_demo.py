"""``webex-campaign demo``: a whole batch job against the built-in emulator, on any machine.

Writes a sample CSV (a few records deliberately invalid), serves the emulator in-process with
a realistic throttle and a few faults, runs the upsert with progress, and prints the report.
"""

from __future__ import annotations

import argparse
import csv
import io
import os
import random
import sys
import tempfile

from ..emulator import Emulator, EmulatorConfig, Faults, Storm
from ._args import job_arguments
from ._job import run_job
from ._loop import run
from ._options import JobOptions
from ._readers import CsvOptions

__all__ = ["demo_command", "write_sample"]

_FIRST = ["Matt", "Ana", "Wei", "Olu", "Ines", "Raj", "Sofia", "Lars", "Mei", "Tomas"]
_LAST = ["Adam", "Silva", "Chen", "Okafor", "Garcia", "Patel", "Rossi", "Berg", "Lin", "Novak"]
_CITIES = ["Oslo", "Lisbon", "Pune", "Lagos", "Austin", "Kyoto", "Turin", "Gdansk"]
_TIERS = ["bronze", "silver", "gold"]
HEADER = ["customer_id", "firstname", "lastname", "email", "city", "tier", "age"]


def _csv_line(values: list[str]) -> bytes:
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\n").writerow(values)
    return buffer.getvalue().encode()


def write_sample(path: str, records: int, seed: int = 7) -> int:
    """Write ``records`` customer rows to ``path``; returns how many are deliberately invalid."""
    rng = random.Random(seed)  # noqa: S311 - sample data, not secrets
    picks = {records // 7, records // 3, records // 2, (2 * records) // 3, records - 2}
    bad_rows = sorted(i for i in picks if 0 <= i < records)  # a few rows: fewer picks
    with open(path, "wb") as f:
        f.write(_csv_line(HEADER))
        for i in range(records):
            first, last = rng.choice(_FIRST), rng.choice(_LAST)
            row = [
                f"C-{i:06d}",
                first,
                last,
                f"{first}.{last}{i}@example.com".lower(),
                rng.choice(_CITIES),
                rng.choice(_TIERS),
                str(rng.randint(18, 90)),
            ]
            if i in bad_rows:
                kind = bad_rows.index(i) % 3
                if kind == 0:
                    row[0] = ""  # no key
                elif kind == 1:
                    row = row[:4]  # a short row
                else:  # a Latin-1 byte in a UTF-8 file
                    f.write(b"C-%06d,Jos\xe9,Broken,jose@example.com,Lima,gold,40\n" % i)
                    continue
            f.write(_csv_line(row))
    return len(bad_rows)


def demo_config(rate: float, seed: int = 7) -> EmulatorConfig:
    """A realistic tenant: a throttle, some latency, rare faults, one 429 storm."""
    return EmulatorConfig(
        profile_lists={"customers"},
        rate=rate,
        burst=max(1.0, rate / 10),
        faults=Faults(
            seed=seed,
            latency=0.02,
            jitter=0.03,
            p500=0.01,
            p499=0.002,
            p1010=0.002,
            p503_html=0.003,
            p_drop_after=0.002,
            storms=(Storm(start=4.0, duration=1.5, retry_after=1.0),),
        ),
    )


async def _demo(args: argparse.Namespace) -> int:
    directory = args.dir or tempfile.mkdtemp(prefix="webex-campaign-demo-")
    os.makedirs(directory, exist_ok=True)
    sample = os.path.join(directory, "customers.csv")
    invalid = write_sample(sample, args.records)
    rate = args.rate or 500.0
    print(
        f"demo: {args.records:,} customer profiles ({invalid} deliberately invalid) in {sample}\n"
        f"demo: the emulator throttles at {rate:g} requests/s, answers in 20-50 ms, fails "
        "about 2 % of requests, and sends 429 with Retry-After: 1 from second 4 to 5.5",
        file=sys.stderr,
    )
    settings = job_arguments(args, sample)
    options = JobOptions(
        format="csv",
        csv=CsvOptions("customers", key_column="customer_id"),
        **{
            **settings,
            "rate": rate,
            "failures": args.failures or os.path.join(directory, "failures.jsonl"),
            "report": args.report or os.path.join(directory, "report.json"),
        },
    )
    async with Emulator(demo_config(rate)) as emulator:
        code = await run_job(
            options,
            base_url=emulator.base_url,
            api_key=emulator.api_key,
            out=sys.stdout,
            err=sys.stderr,
        )
        held = emulator.store.count("customers")
        stats = emulator.stats
    kinds = ", ".join(f"{kind} x{n:,}" for kind, n in sorted(stats.faults.items()))
    print(
        f"\nthe emulator holds {held:,} customer profiles; it answered {stats.requests:,} "
        f"requests ({stats.throttled:,} with 429, {sum(stats.faults.values()):,} faults "
        f"injected: {kinds}) and saw at most {stats.max_per_second:,} requests in one second",
        file=sys.stdout,
    )
    journal = f"the journal {options.journal}" if options.journal else "no journal"
    print(
        f"files: the report {options.report}, the failures {options.failures}, {journal}",
        file=sys.stdout,
    )
    return code


def demo_command(args: argparse.Namespace) -> int:
    """Run the demo; the exit code is the job's (1: the invalid records did not apply)."""
    return run(_demo(args), use_uvloop=not args.no_uvloop)
