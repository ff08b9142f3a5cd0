"""The child process one client runs in, so its CPU time and peak RSS are its own.

    python -m benchmarks.harness.child SPEC_JSON

Imports the client, prints ``ready``, reads the target (JSON) from stdin, runs the
workload, prints one JSON line of figures. `runner` starts the emulator in between, so
the server's clock (and its storm windows) start when the client is ready.
"""

from __future__ import annotations

import asyncio
import dataclasses
import importlib
import json
import resource
import sys
import time
from typing import Any

from .workload import Settings, Target, rows


def _peak_rss_mb() -> float:
    """This process's own peak RSS.

    Linux's ``ru_maxrss`` of a spawned child starts at its parent's peak (it survives the
    exec), so read the high-water mark of this process's memory map where there is one.
    """
    try:
        with open("/proc/self/status", encoding="ascii") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024  # kB
    except OSError:
        pass
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / (1024 * 1024) if sys.platform == "darwin" else peak / 1024  # bytes / KiB


def main(argv: list[str]) -> int:
    spec: dict[str, Any] = json.loads(argv[0])
    run = importlib.import_module(spec["module"]).run
    print("ready", flush=True)
    target = Target(**json.loads(sys.stdin.readline()))
    budget = spec["budget"]
    settings = dataclasses.replace(
        Settings(**spec["settings"]), deadline=time.monotonic() + budget if budget else None
    )
    before, wall = resource.getrusage(resource.RUSAGE_SELF), time.perf_counter()
    tally = asyncio.run(run(target, rows(spec["records"]), settings))
    wall, after = time.perf_counter() - wall, resource.getrusage(resource.RUSAGE_SELF)
    user, system = after.ru_utime - before.ru_utime, after.ru_stime - before.ru_stime
    figures = {
        **dataclasses.asdict(tally),
        "seconds": wall,
        "cpu_seconds": user + system,
        "cpu_user_seconds": user,
        "cpu_system_seconds": system,
    }
    print(json.dumps({**figures, "peak_rss_mb": _peak_rss_mb()}), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
