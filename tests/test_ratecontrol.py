"""The AIMD rate controller, step by step with explicit times."""

from __future__ import annotations

import pytest

from webex_campaign_async import RateLimit
from webex_campaign_async._ratecontrol import RateControl


def test_decrease_once_per_storm_then_floor() -> None:
    control = RateControl(RateLimit(100, decrease=0.5, floor=20))
    assert control.on_throttled(now=1.0, sent_at=0.9, observed=100)
    assert control.rate == 50
    # answers to requests sent before the decrease belong to the same storm
    assert not control.on_throttled(now=1.1, sent_at=0.95, observed=100)
    assert control.rate == 50
    assert control.on_throttled(now=2.0, sent_at=1.5, observed=50)
    assert control.rate == 25
    assert control.on_throttled(now=3.0, sent_at=2.5, observed=25)
    assert control.rate == 20  # the floor
    assert not control.on_throttled(now=4.0, sent_at=3.5, observed=20)
    assert control.throttled == 5
    assert control.changes == 3


@pytest.mark.parametrize(
    ("times", "rates"),
    [
        # quiet period 5 s after the last 429 at t=10, then +10/s each second up to 100
        (
            [12.0, 14.9, 15.0, 15.5, 16.0, 17.0, 18.0, 19.0, 20.0, 21.0],
            [50, 50, 60, 60, 70, 80, 90, 100, 100, 100],
        ),
    ],
)
def test_additive_recovery_after_quiet_period(times: list[float], rates: list[float]) -> None:
    control = RateControl(RateLimit(100, decrease=0.5, recovery=0.1, quiet=5))
    control.on_throttled(now=10.0, sent_at=9.9, observed=100)
    seen = []
    for now in times:
        control.on_tick(now)
        seen.append(control.rate)
    assert seen == pytest.approx(rates)


@pytest.mark.parametrize(
    ("events", "rates"),
    [
        # (now, sent_at, retry_after) of each 429
        ([(1.0, 0.9, 2.0), (1.01, 0.95, 2.0)], [100, 100]),  # told when: the pause answers
        ([(1.0, 0.9, 2.0), (3.1, 3.05, 2.0)], [100, 70]),  # 429 again right after the pause
        ([(1.0, 0.9, 2.0), (9.0, 8.9, 2.0)], [100, 100]),  # long after: a new, passing storm
        ([(1.0, 0.9, None), (3.0, 2.9, 2.0)], [70, 70]),  # the told one answers no more
    ],
)
def test_a_429_with_retry_after_is_answered_by_the_pause(
    events: list[tuple[float, float, float | None]], rates: list[float]
) -> None:
    control = RateControl(RateLimit(100, quiet=1.0, cooldown=1.0))
    seen = []
    for now, sent_at, retry_after in events:
        control.on_throttled(now=now, sent_at=sent_at, observed=100, retry_after=retry_after)
        seen.append(control.rate)
    assert seen == pytest.approx(rates)
    assert control.throttled == len(events)


def test_a_new_429_stops_recovery() -> None:
    control = RateControl(RateLimit(100, decrease=0.5, recovery=0.1, quiet=5))
    control.on_throttled(now=0.0, sent_at=0.0, observed=100)
    control.on_tick(5.0)
    assert control.rate == 60
    control.on_throttled(now=5.5, sent_at=5.2, observed=60)
    assert control.rate == 30
    assert not control.on_tick(9.0)
    assert control.on_tick(10.5)
    assert control.rate == 40


def test_unlimited_learns_its_ceiling_from_the_first_storm() -> None:
    control = RateControl(RateLimit(None, decrease=0.5))
    assert control.rate is None
    assert not control.on_tick(100.0)
    control.on_throttled(now=1.0, sent_at=0.9, observed=400)
    assert control.ceiling == 400
    assert control.rate == 200


def test_a_learned_ceiling_gives_way_to_unlimited_again() -> None:
    control = RateControl(RateLimit(None, decrease=0.5, recovery=0.25, quiet=2))
    control.on_throttled(now=0.0, sent_at=0.0, observed=4)
    assert (control.ceiling, control.rate) == (4, 2)
    rates = []
    for now in (2.0, 3.0, 4.0, 5.0, 6.0):
        control.on_tick(now)
        rates.append(control.rate)
    assert rates == [3, 4, None, None, None]  # back at the learned 4/s, then unlimited
    assert control.ceiling is None
    assert not control.adapting


def test_a_configured_ceiling_stays() -> None:
    control = RateControl(RateLimit(10, decrease=0.5, recovery=0.5, quiet=1))
    control.on_throttled(now=0.0, sent_at=0.0, observed=10)
    for now in (1.0, 2.0, 3.0, 10.0):
        control.on_tick(now)
    assert (control.rate, control.ceiling) == (10, 10)


def test_set_ceiling_at_runtime() -> None:
    control = RateControl(RateLimit(100))
    assert control.set_ceiling(250)
    assert (control.rate, control.ceiling) == (250, 250)
    assert not control.set_ceiling(250)
    assert control.set_ceiling(None)
    assert control.rate is None


@pytest.mark.parametrize(
    ("limit", "rate", "burst", "floor"),
    [
        (RateLimit(500), 500, 25, 25.0),
        (RateLimit(500, burst=5, floor=100), 500, 5, 100.0),
        (RateLimit(3), 3, 1, 0.15),
        (RateLimit(10, floor=50), 10, 1, 10),
    ],
)
def test_defaults(limit: RateLimit, rate: float, burst: int, floor: float) -> None:
    assert limit.burst_for(rate) == burst
    assert limit.floor_for(rate) == pytest.approx(floor)


@pytest.mark.parametrize(
    "kwargs",
    [
        {"rate": 0},
        {"rate": -1},
        {"rate": float("inf")},
        {"burst": 0},
        {"decrease": 1},
        {"recovery": 0},
        {"floor": 0},
    ],
)
def test_invalid_limits(kwargs: dict[str, float]) -> None:
    with pytest.raises(ValueError, match=next(iter(kwargs))):
        RateLimit(**kwargs)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("events", "rates"),
    [
        # (now, sent_at) of each 429: a storm of answers within the cooldown is one signal
        ([(1.0, 0.9), (1.01, 1.005), (1.5, 1.4), (1.99, 1.98)], [70, 70, 70, 70]),
        ([(1.0, 0.9), (2.0, 1.5), (3.0, 2.5)], [70, 49, 34.3]),
        ([(1.0, 0.9), (2.5, 0.95)], [70, 70]),  # sent before the decrease: old news
    ],
)
def test_one_decrease_per_cooldown(events: list[tuple[float, float]], rates: list[float]) -> None:
    control = RateControl(RateLimit(100, cooldown=1.0, quiet=60))
    seen = []
    for now, sent_at in events:
        control.on_throttled(now=now, sent_at=sent_at, observed=100)
        seen.append(control.rate)
    assert seen == pytest.approx(rates)
