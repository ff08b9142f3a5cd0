"""The benchmark harness's clients and checks, fast: every client against an in-process emulator.

The timed comparison is ``python -m benchmarks --quick`` (run by CI); this only keeps the
baselines, the library's adapter and the accounting checks honest.
"""

from __future__ import annotations

import importlib
from typing import Any

import pytest

from benchmarks.baselines._retry import applied, transient
from benchmarks.harness.checks import problems
from benchmarks.harness.clients import CLIENTS
from benchmarks.harness.workload import Settings, Target, rows
from webex_campaign_async import RecordStatus
from webex_campaign_async.emulator import Emulator, Faults, Storm


@pytest.mark.parametrize(
    ("status", "body", "expected"),
    [
        (200, b'{"update-count": 1, "transaction-id": "t"}', True),
        (200, b'{"update-count": 0, "transaction-id": "t"}', False),
        (200, b'{"code": "1010", "description": "The request was not processed."}', False),
        (500, b'{"code": "500"}', False),
        (503, b"<html>503</html>", False),
    ],
)
def test_baselines_count_only_update_count_as_applied(
    status: int, body: bytes, expected: bool
) -> None:
    assert applied(status, body) is expected


def test_baselines_retry_throttling_and_server_errors_only() -> None:
    assert [s for s in (200, 400, 401, 404, 429, 499, 500, 503) if transient(s)] == [
        429,
        499,
        500,
        503,
    ]


@pytest.mark.parametrize("name", list(CLIENTS))
async def test_every_client_accounts_for_every_record(name: str) -> None:
    if name == "httpx":
        pytest.importorskip("httpx")
    run = importlib.import_module(CLIENTS[name].module).run
    faults = Faults(
        seed=1, p500=0.05, p_drop_before=0.03, p_drop_after=0.03, storms=(Storm(0.0, 0.02),)
    )
    async with Emulator(rate=400, burst=20, faults=faults, track_keys=False) as emu:
        target = Target(emu.url, emu.base_url, emu.api_key)
        settings = Settings(concurrency=8, rate=400, retry_sleep=0.05)
        tally = await run(target, rows(60), settings)
        server_applied = emu.stats.applied
        assert emu.stats.faults  # some requests did fail
    assert tally.attempted == 60
    assert tally.applied + tally.not_applied == 60
    assert 0 < tally.applied <= server_applied
    if tally.counts:
        assert sum(tally.counts.values()) == 60
        assert tally.counts[RecordStatus.APPLIED.name] == tally.applied


def _row(**changes: Any) -> dict[str, Any]:
    row = {
        "scenario": "s",
        "client": "c",
        "workload": 10,
        "completed": True,
        "attempted": 10,
        "applied": 9,
        "not_applied": 1,
        "counts": {},
        "server": {"applied": 9},
    }
    return {**row, **changes}


def test_checks_pass_when_the_records_add_up() -> None:
    assert list(problems([_row(), _row(counts={"APPLIED": 9, "FAILED": 1})])) == []


@pytest.mark.parametrize(
    "changes",
    [
        {"completed": False, "error": "boom"},
        {"not_applied": 0},
        {"attempted": 0, "applied": 0, "not_applied": 0},
        {"attempted": 11, "not_applied": 2},
        {"counts": {"APPLIED": 9}},
        {"server": {"applied": 8}},
    ],
)
def test_checks_catch_each_broken_promise(changes: dict[str, Any]) -> None:
    assert len(list(problems([_row(**changes)]))) == 1


def test_the_order_benchmark_runs_and_its_ordered_run_leaves_no_key_stale() -> None:
    from benchmarks import order

    assert order.main(["--quick"]) == 0
