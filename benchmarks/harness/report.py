"""The results of a run as JSON (every figure) and as markdown tables (ratios to this library)."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from webex_campaign_async import RateLimit

from .clients import LIBRARY

COLUMNS = (
    "client",
    "records/s",
    "vs library",
    "429s provoked",
    "not applied",
    "CPU µs/record",
    "peak RSS MB",
    "records sent",
)

LEGEND = """\
- **records/s**: records applied (HTTP 200, update-count >= 1) per second of the client's
  wall time; **vs library**: that rate over this library's in the same scenario and run.
- **429s provoked**: 429 answers the emulator sent to the client; in brackets, those inside
  the flaky API's storm windows (where every request gets one, whatever its rate).
- **not applied**: records the client started but did not get applied, retries included.
- **CPU µs/record**: the client process's CPU time over the records it started.
- **peak RSS**: the client process's own peak (each client runs in a fresh interpreter).
- **records sent**: a client starts no new record after its time budget; its rate is then
  measured on what it did.
- **retries**: the baselines retry 429, 5xx and dropped connections after a fixed
  {retry_sleep:g} s sleep, {attempts} attempts per record at most; the library uses its own
  policy (backoff with jitter, `Retry-After` first) with the same number of attempts.
"""


def _n(value: float) -> str:
    return f"{value:,.0f}" if value >= 100 else f"{value:,.1f}"


def _row(r: dict[str, Any], library: dict[str, Any] | None) -> list[str]:
    if not r["completed"]:
        return [r["label"], "failed", "", "", "", "", "", r["error"][:80]]
    ratio = ""
    if library is not None and library["completed"] and library["records_per_second"]:
        ratio = f"{r['records_per_second'] / library['records_per_second']:.2f}"
    sent = f"{r['attempted']:,} of {r['workload']:,}"
    if r["stopped_by_budget"]:
        sent += f" ({r['budget_seconds']:g} s budget)"
    server = r["server"]
    throttled = "n/a"
    if server is not None:
        throttled = f"{server['throttled']:,}"
        if storms := server["faults"].get("storm", 0):
            throttled += f" ({storms:,} in storms)"
    return [
        r["label"],
        _n(r["records_per_second"]),
        ratio,
        throttled,
        f"{r['not_applied']:,}",
        _n(r["cpu_us_per_record"]),
        f"{r['peak_rss_mb']:.0f}",
        sent,
    ]


def _goals(scenario: dict[str, Any], rows: list[dict[str, Any]], lib: dict[str, Any]) -> str:
    """The bulk engine's goals (see ``benchmarks/engine.py``) checked on the library's row."""
    rps, server = lib["records_per_second"], lib["server"]
    rate, emulator = scenario["rate_given_to_clients"], scenario["emulator"] or {}
    latency = (emulator.get("faults") or {}).get("latency", 0.0)
    if rate and not (emulator.get("faults") or {}).get("storms"):
        bound = rate / 10 + RateLimit(rate).burst_for(rate)
        return (
            f"Library: {rps / rate:.3f} x the API's {rate:g}/s (engine goal >= 0.98), "
            f"{server['throttled']} 429s (goal 0), busiest 100 ms at the server "
            f"{server['max_per_100ms']} requests (goal <= {bound:g})."
        )
    if rate:
        return (
            f"Library: {rps / rate:.3f} x the API's {rate:g}/s, storms included; "
            f"{lib['not_applied']} records not applied after {lib['requests']:,} requests."
        )
    if latency:
        ideal = scenario["concurrency"] / latency
        others = ", ".join(
            f"{r['client']} {r['records_per_second'] / ideal:.3f}"
            for r in rows
            if r is not lib and r["completed"]
        )
        return (
            f"Library: {rps / ideal:.3f} x the ideal {scenario['concurrency']} / "
            f"{latency * 1000:g} ms = {ideal:,.0f}/s (engine goal >= 0.93); {others}."
        )
    ref = next((r for r in rows if r.get("reference") and r["completed"]), None)
    if ref is not None:
        return (
            f"Library: peak RSS {lib['peak_rss_mb']:.1f} MB for {lib['attempted']:,} records, "
            f"{ref['peak_rss_mb']:.1f} MB for {ref['attempted']:,} "
            f"(ratio {lib['peak_rss_mb'] / ref['peak_rss_mb']:.2f}: memory does not grow with "
            f"the job); {lib['cpu_us_per_record']:.1f} µs CPU per record."
        )
    return ""


def _failures(rows: list[dict[str, Any]]) -> str:
    """Why records were not applied, by client and last answer."""
    parts = [
        f"{r['client']}: "
        + ", ".join(f"{n:,} x {why}" for why, n in sorted(r["failures"].items(), key=_count))
        for r in rows
        if r["completed"] and r["failures"]
    ]
    return "Not applied, by last answer: " + "; ".join(parts) + "." if parts else ""


def _count(item: tuple[str, int]) -> int:
    return -item[1]


def _table(rows: list[list[str]]) -> str:
    lines = ["| " + " | ".join(COLUMNS) + " |", "| --- |" + " ---: |" * 6 + " --- |"]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    return "\n".join(lines)


def markdown(doc: dict[str, Any]) -> str:
    """Tables per scenario, with the machine, the command and a legend."""
    m = doc["machine"]
    out = [
        f"# Benchmark results ({doc['mode']} run)",
        "",
        f"`{doc['command']}`: {doc['runtime_seconds']:.0f} s on {m['cpu']}, "
        f"{m['logical_cores']} cores, {m['python']}, {m['platform']}, {doc['generated']}"
        + (f", commit {m['commit']}" if m["commit"] else "")
        + ". The emulator runs in its own process; each client in a fresh one.",
    ]
    for name, scenario in doc["scenarios"].items():
        rows = [r for r in doc["results"] if r["scenario"] == name]
        if not rows:
            continue
        library = next(
            (r for r in rows if r["client"] == LIBRARY.name and not r.get("reference")), None
        )
        out += ["", f"## {scenario['title']}", "", _table([_row(r, library) for r in rows])]
        if library is not None and library["completed"]:
            out += ["", _goals(scenario, rows, library)]
        if failures := _failures(rows):
            out += ["", failures]
    out += ["", LEGEND.format(**doc["settings"]).rstrip()]
    if doc["problems"]:
        out += ["", "## Failed checks", ""] + [f"- {p}" for p in doc["problems"]]
    return "\n".join(out) + "\n"


def write(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` through a temporary file, so readers never see half."""
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, path)


def write_json(path: Path, doc: dict[str, Any]) -> None:
    write(path, json.dumps(doc, indent=2) + "\n")
