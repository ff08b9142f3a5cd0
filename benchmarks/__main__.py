"""``python -m benchmarks``: this library side by side with what users write instead.

    python -m benchmarks [--quick] [--scenarios NAME ...] [--clients NAME ...] [--out DIR]
                         [--no-adaptive]

Scenarios: throttled, slow, flaky (emulator in its own process) and big (1,000,000 records,
fake transport). Clients: library, sequential, gather, httpx (see ``benchmarks/baselines``).
Then the adaptive throttle's scenarios (`benchmarks.adaptive`: finding an unknown limit,
``Retry-After``, a changing limit, 4 processes; with botocore's limiter side by side when
botocore is installed), unless ``--no-adaptive``.
A full run writes ``results.json``, ``results.md`` and ``chart.png`` (with matplotlib) to
``benchmarks/results/``. ``--quick`` runs small workloads in under a minute and writes
nothing unless ``--out`` is given. Exits 1 when a client failed or its records do not add
up (never on timings).
"""

from __future__ import annotations

import argparse
import datetime
import sys
import time
from pathlib import Path
from typing import Any

from . import adaptive
from .harness import chart, checks, machine, report, runner
from .harness.clients import CLIENTS, LIBRARY
from .harness.scenarios import scenarios
from .harness.workload import Settings

RESULTS = Path(__file__).resolve().parent / "results"


def _progress(r: dict[str, Any]) -> str:
    where = f"[{r['scenario']}] {r['client']} ({r['workload']:,} records)"
    if not r["completed"]:
        return f"{where}: FAILED: {r['error']}"
    server = r["server"]
    throttled = "" if server is None else f", {server['throttled']:,} 429s"
    return (
        f"{where}: {r['records_per_second']:,.0f} records/s{throttled}, "
        f"{r['not_applied']:,} not applied, {r['attempted']:,} sent in {r['seconds']:.1f} s"
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks", description=(__doc__ or "").splitlines()[0]
    )
    parser.add_argument("--quick", action="store_true", help="small workloads: a smoke check")
    known = scenarios()
    parser.add_argument("--scenarios", nargs="+", choices=list(known), default=list(known))
    parser.add_argument("--clients", nargs="+", choices=list(CLIENTS), default=list(CLIENTS))
    parser.add_argument("--out", type=Path, help=f"where to write results (full: {RESULTS})")
    parser.add_argument("--no-adaptive", action="store_true", help="skip benchmarks.adaptive")
    args = parser.parse_args(argv)
    out: Path | None = args.out or (None if args.quick else RESULTS)
    chosen = {name: s for name, s in scenarios(args.quick).items() if name in args.scenarios}

    started = time.perf_counter()
    results: list[dict[str, Any]] = []
    for scenario in chosen.values():
        for name in scenario.clients:
            if name in args.clients:
                results.append(runner.run(CLIENTS[name], scenario))
                print(_progress(results[-1]), file=sys.stderr, flush=True)
        if scenario.reference_records and LIBRARY.name in args.clients:
            reference = runner.run(CLIENTS[LIBRARY.name], scenario, scenario.reference_records)
            label = f"{LIBRARY.label} (reference size)"
            results.append({**reference, "label": label, "reference": True})
            print(_progress(results[-1]), file=sys.stderr, flush=True)

    defaults = Settings(concurrency=1)
    given = sys.argv[1:] if argv is None else argv
    doc: dict[str, Any] = {
        "command": " ".join(["python -m benchmarks", *given]),
        "mode": "quick" if args.quick else "full",
        "generated": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        "runtime_seconds": time.perf_counter() - started,
        "machine": machine.describe(runner.ROOT),
        "settings": {
            "attempts": defaults.attempts,
            "retry_sleep": defaults.retry_sleep,
            "timeout": defaults.timeout,
        },
        "scenarios": {name: s.describe() for name, s in chosen.items()},
        "results": results,
        "problems": list(checks.problems(results)),
    }
    text = report.markdown(doc)
    print(text)
    if out is not None:
        out.mkdir(parents=True, exist_ok=True)
        report.write_json(out / "results.json", doc)
        report.write(out / "results.md", text)
        print(chart.write(out / "chart.png", doc), file=sys.stderr)
        print(f"results written to {out}", file=sys.stderr)
    for problem in doc["problems"]:
        print(f"CHECK FAILED: {problem}", file=sys.stderr)
    failed = bool(doc["problems"])
    if not args.no_adaptive:
        more = ["--quick"] * args.quick + (["--out", str(args.out)] if args.out else [])
        failed = adaptive.main(more) != 0 or failed
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
