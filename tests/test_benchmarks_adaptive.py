"""The adaptive-throttle benchmark's pure pieces: the ideal of a changing limit, its goals."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from benchmarks.adaptive import Scenario, _applied_at, _goals, _rate_series, scenarios


def test_the_ideal_follows_the_limit_changes() -> None:
    s = Scenario("s", "s", 200, 20, changes=((8.0, 100.0),))
    assert s.limit_at(7.9) == 200
    assert s.limit_at(8.0) == 100
    assert s.ideal(10.0) == pytest.approx(8 * 200 + 2 * 100)
    assert Scenario("s", "s", 50, 40).ideal(40.0) == 2000


def test_samples_give_the_applied_rate_over_time() -> None:
    samples: list[list[Any]] = [[t / 4, None, 50 * t, 0, None] for t in range(9)]  # 200/s
    assert _applied_at(samples, 1.1) == pytest.approx(220)
    assert [round(r) for _, r in _rate_series(samples)] == [200] * 8


@pytest.mark.parametrize(
    ("scenario", "row", "met"),
    [
        (Scenario("a", "a", 200, 20), {"achieved_over_limit": 0.93, "throttled_share": 0.01}, True),
        (
            Scenario("a", "a", 200, 20),
            {"achieved_over_limit": 0.93, "throttled_share": 0.03},
            False,
        ),
        (
            Scenario("b", "b", 200, 20, retry_after=1),
            {"achieved_over_limit": 0.86, "throttled_share": 0.01},
            True,
        ),
        (
            Scenario("c", "c", 200, 15, rate_share=0.95),
            {"achieved_over_limit": 0.95, "throttled_share": 0.0, "throttled_after_1s": 1},
            False,
        ),
        (
            Scenario("d", "d", 200, 20, changes=((8.0, 100.0),)),
            {"achieved_over_limit": 0.6, "achieved_over_ideal": 0.9, "settled_after": 2.0},
            True,
        ),
        (
            Scenario("e", "e", 200, 20, changes=((8.0, 400.0),)),
            {"achieved_over_limit": 1.2, "achieved_over_ideal": 0.9, "settled_after": 11.0},
            False,
        ),
        (
            Scenario("f", "f", 200, 20, processes=4, budget=20),
            {"achieved_over_limit": 0.81, "throttled_share": 0.2},
            True,
        ),
    ],
)
def test_goals(scenario: Scenario, row: dict[str, Any], met: bool) -> None:
    row = {"achieved_over_ideal": 1.0, "throttled_share": 0.0, **row}
    assert all(ok for _, _, ok in _goals(scenario, row)) is met


def test_the_quick_set_is_small() -> None:
    quick = scenarios(quick=True)
    assert sum(s.seconds for s in quick) <= 20
    assert {s.name for s in scenarios()} >= {"find-50", "halves-200", "4-processes-200"}


def test_botocores_limiter_is_a_throttle_and_runs_a_small_job() -> None:
    """The side-by-side adapter satisfies the protocol and completes a run in process (the
    benchmark's children once all crashed on a member it lacked)."""
    pytest.importorskip("botocore")
    from benchmarks.adaptive import BotocoreThrottle, _client_run
    from webex_campaign_async import Throttle
    from webex_campaign_async.emulator import EmulatorConfig, EmulatorCore, EmulatorTransport

    throttle = BotocoreThrottle()
    assert isinstance(throttle, Throttle)
    assert throttle.learned_rate is None  # botocore keeps no such figure
    assert throttle.rate is None  # unlimited until the first 429...
    throttle.throttled(0.0, None)
    assert throttle.rate is not None  # ...then botocore's rate
    # the benchmark's own child, in process: every member the client uses is there (no 429
    # here: at botocore's rate after one, 0.5/s from a cold start, the run would take seconds)
    core = EmulatorCore(EmulatorConfig(rate=1e5, burst=1000, track_keys=False))
    spec = {
        "client": "botocore",
        "base_url": "http://127.0.0.1",
        "api_key": core.api_key,
        "records": 100,
        "budget": None,
        "rate": None,
        "prefix": "t",
    }
    out = asyncio.run(_client_run(spec, EmulatorTransport(core)))
    assert out["total"] == out["applied"] == 100
    assert out["learned_rate"] is None
