"""Runs one client on one scenario: a fresh child process against a fresh emulator process.

A fresh emulator per run means every client meets the same server: a full token bucket,
the same seeded faults, storm windows timed from when the client starts.
"""

from __future__ import annotations

import dataclasses
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

from webex_campaign_async.emulator import EmulatorProcess

from .clients import Client
from .scenarios import Scenario
from .workload import Settings, Target

ROOT = Path(__file__).resolve().parents[2]

#: Server statistics kept in the results.
_STATS = (
    "requests",
    "throttled",
    "applied",
    "max_per_second",
    "max_per_100ms",
    "by_status",
    "faults",
)

#: Seconds a child may run beyond its budget (the last records' retries and timeouts).
_GRACE = 60.0


def _cpu_seconds(pid: int) -> float | None:
    """User + system CPU seconds of process ``pid`` so far (Linux only, else None)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


class ChildFailed(RuntimeError):
    """A child process crashed, hung or printed no figures."""


def _settings(client: Client, scenario: Scenario) -> Settings:
    return Settings(
        concurrency=1 if client.sequential else scenario.concurrency, rate=scenario.rate
    )


def _finish(child: subprocess.Popen[str], target: Target, timeout: float) -> dict[str, Any]:
    try:
        out, err = child.communicate(json.dumps(dataclasses.asdict(target)) + "\n", timeout)
    except subprocess.TimeoutExpired:
        child.kill()
        child.communicate()
        raise ChildFailed(f"no answer within {timeout:g} s") from None
    if child.returncode != 0 or not out.strip():
        raise ChildFailed(f"exit code {child.returncode}: {err.strip()[-2000:]}")
    result: dict[str, Any] = json.loads(out.strip().splitlines()[-1])
    return result


def run(client: Client, scenario: Scenario, records: int | None = None) -> dict[str, Any]:
    """One client's figures on ``scenario`` (``completed`` False and ``error`` if it failed)."""
    records = scenario.records if records is None else records
    budget = scenario.sequential_budget if client.sequential else scenario.budget
    settings = _settings(client, scenario)
    spec = {
        "module": client.module,
        "records": records,
        "budget": budget,
        "settings": dataclasses.asdict(settings),
    }
    row: dict[str, Any] = {
        "scenario": scenario.name,
        "client": client.name,
        "label": client.label,
        "workload": records,
        "budget_seconds": budget or None,
        "concurrency": settings.concurrency,
        "rate_configured": scenario.rate if client.name == "library" else None,
    }
    child = subprocess.Popen(
        [sys.executable, "-m", "benchmarks.harness.child", json.dumps(spec)],
        cwd=ROOT,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    timeout = (budget or 600.0) + _GRACE
    try:
        assert child.stdout is not None
        if child.stdout.readline().strip() != "ready":
            child.kill()
            _, err = child.communicate()
            raise ChildFailed(f"did not start: {err.strip()[-2000:]}")
        if scenario.emulator is None:
            figures = _finish(child, Target(None), timeout)
            stats = server_cpu = None
        else:
            with EmulatorProcess(**scenario.emulator) as server:
                target = Target(server.url, server.base_url, server.api_key)
                cpu = _cpu_seconds(server.pid)
                figures = _finish(child, target, timeout)
                stats = server.stats()
                used = _cpu_seconds(server.pid)
                server_cpu = None if cpu is None or used is None else used - cpu
    except ChildFailed as exc:
        return {**row, "completed": False, "error": str(exc)}
    finally:
        if child.poll() is None:
            child.kill()
            child.wait()
    row.update(figures)
    row["completed"] = True
    row["stopped_by_budget"] = row["attempted"] < records
    row["records_per_second"] = row["applied"] / row["seconds"] if row["seconds"] else 0.0
    done = row["attempted"] or 1
    row["cpu_us_per_record"] = row["cpu_seconds"] / done * 1e6
    if stats is not None:
        row["server"] = {k: stats[k] for k in _STATS}
        row["server"]["cpu_seconds"] = server_cpu
    else:
        row["server"] = None
    return row
