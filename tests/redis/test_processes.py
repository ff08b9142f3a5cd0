"""Four worker processes, one Redis, one tenant throttled at R by the emulator."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from webex_campaign_async.emulator import EmulatorProcess

from .server import RedisServer

ROOT = Path(__file__).parents[2]


def test_four_processes_hold_the_tenants_rate_together(redis_server: RedisServer) -> None:
    rate, per_worker, workers = 100.0, 50, 4
    with EmulatorProcess(rate=rate, burst=rate / 10) as emulator:
        processes = []
        for w in range(workers):
            argv = [sys.executable, "-m", "tests.redis.worker", emulator.base_url,
                    emulator.api_key, redis_server.url, str(rate), str(w * per_worker),
                    str(per_worker)]  # fmt: skip
            processes.append(
                subprocess.Popen(  # noqa: S603 - our interpreter, our worker
                    argv, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
                )
            )
        outputs = [p.communicate(timeout=120) for p in processes]
        stats = emulator.stats()
    for process, (out, err) in zip(processes, outputs, strict=True):
        assert process.returncode == 0, err
        assert json.loads(out.splitlines()[-1])["counts"]["applied"] == per_worker
    assert stats["applied"] == workers * per_worker
    assert stats["throttled"] == 0  # no 429: together they never went above R
    assert stats["max_per_second"] <= rate * 1.05 + 2  # the busiest second, burst included
    # ...and no slower: one worker alone can send R, so from the tenant's first request to
    # its last it saw R whichever worker was running
    seen = (stats["requests"] - 1) / (stats["last_at"] - stats["first_at"])
    assert seen >= 0.97 * rate
