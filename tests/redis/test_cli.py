"""``webex-campaign upsert --redis-url``: two jobs on one tenant share one throttle."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

from webex_campaign_async.emulator import EmulatorProcess

from ..cli.conftest import console_script
from .server import RedisServer, free_port


def job(path: Path, first: int, n: int) -> Path:
    path.write_text(
        "key,n\n" + "".join(f"k{i},{i}\n" for i in range(first, first + n)), encoding="utf-8"
    )
    return path


def env(emulator: EmulatorProcess, redis_url: str) -> dict[str, str]:
    return {
        **{k: v for k, v in os.environ.items() if not k.startswith("WEBEX_CAMPAIGN_")},
        "WEBEX_CAMPAIGN_API_KEY": emulator.api_key,
        "WEBEX_CAMPAIGN_BASE_URL": emulator.base_url,
        "WEBEX_CAMPAIGN_REDIS_URL": redis_url,
    }


def test_two_jobs_share_the_tenants_rate(redis_server: RedisServer, tmp_path: Path) -> None:
    rate = 80
    with EmulatorProcess(rate=rate, burst=rate / 10) as emulator:
        argv = [*console_script(), "upsert", "--profile-name", "p", "--rate", str(rate),
                "--progress", "none", "--no-journal"]  # fmt: skip
        jobs = [
            subprocess.Popen(  # noqa: S603 - our console script
                [*argv, str(job(tmp_path / f"part{w}.csv", w * 60, 60))],
                env=env(emulator, redis_server.url),
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
            )
            for w in range(2)
        ]
        outputs = [p.communicate(timeout=120) for p in jobs]
        stats = emulator.stats()
    for process, (out, err) in zip(jobs, outputs, strict=True):
        assert process.returncode == 0, out + err
    assert stats["applied"] == 120
    assert stats["throttled"] == 0
    assert stats["max_per_second"] <= rate * 1.05 + 2


def test_an_unreachable_redis_is_a_usage_error_before_anything(tmp_path: Path) -> None:
    with EmulatorProcess() as emulator:
        done = subprocess.run(  # noqa: S603 - our console script
            [*console_script(), "upsert", str(job(tmp_path / "in.csv", 0, 5)), "--profile-name",
             "p", "--progress", "none", "--failures", str(tmp_path / "failed.jsonl")],
            env=env(emulator, f"redis://:pw-9x@127.0.0.1:{free_port()}/0"),
            capture_output=True,
            text=True,
            check=False,
        )  # fmt: skip
        assert emulator.stats()["requests"] == 0
    assert done.returncode == 2, done.stdout + done.stderr
    assert done.stderr.count("\n") == 1
    assert "cannot reach Redis" in done.stderr
    assert "pw-9x" not in done.stderr
    assert not (tmp_path / "failed.jsonl").exists()
    assert not (tmp_path / "in.csv.journal").exists()
