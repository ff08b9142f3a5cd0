"""The adaptive rate law, step by step with explicit times (no clock, no event loop)."""

from __future__ import annotations

import math

import pytest

from webex_campaign_async import RateLimit
from webex_campaign_async._ratecontrol import (
    CLOSED,
    LAG,
    MAX_RATE,
    MIN_WINDOW,
    PACED,
    SLOW_START,
    UNLIMITED,
    RateControl,
)


def steady(rate: float | None = 100.0, **limit: float) -> RateControl:
    """A control that has been sending since t=0 (its measurements start there)."""
    control = RateControl(RateLimit(rate, **limit))  # type: ignore[arg-type]
    control.start(0.0)
    return control


# --- back-off: once per congestion event, to what was measured -----------------------------


def test_the_first_429_with_a_measurement_learns_the_limit_from_the_successes() -> None:
    control = steady(None)
    # 10 s unlimited, 2,000 successes since the start, 190/s over the last second
    reaction = control.on_throttled(10.0, 9.99, None, successes=2000, recent=190.0)
    assert reaction.lowered
    assert control.learned_rate == 190.0
    assert control.rate == pytest.approx(0.7 * 190)


@pytest.mark.parametrize(
    ("events", "rates"),
    [
        # (now, sent_at) of each 429: answers to requests sent before the decrease are the
        # same congestion event
        ([(10.0, 9.9), (10.01, 9.95), (10.2, 9.99)], [63, 63, 63]),
        # sent after the decrease but too soon to measure, few 429s: wait for a measurement
        ([(10.0, 9.9), (10.1, 10.05)], [63, 63]),
    ],
)
def test_one_decrease_per_congestion_event(
    events: list[tuple[float, float]], rates: list[float]
) -> None:
    control = steady(100.0)
    seen = []
    for now, sent_at in events:
        control.on_throttled(now, sent_at, None, successes=900, recent=90.0)
        seen.append(control.rate)
    assert seen == pytest.approx(rates)
    assert control.decreases == 1
    assert control.throttled == len(events)


def test_a_429_while_the_api_accepted_all_that_was_sent_is_a_passing_burst() -> None:
    control = steady(100.0)
    # 10 s at 100/s, 1,000 successes: the API kept up with the rate
    reaction = control.on_throttled(10.0, 9.9, None, successes=1000, recent=100.0)
    assert not reaction.lowered
    assert control.rate == 100.0


def test_a_429_at_the_ceiling_while_the_api_kept_up_lately_is_a_passing_burst() -> None:
    control = steady(100.0, climb=1.0)
    control.on_throttled(0.5, 0.4, None, successes=20, recent=40.0)  # early: lowered to 70
    control.tick(5.0, recent=100.0)
    assert control.rate == 100.0  # back at the ceiling...
    # ...for a while: 430 successes since the decrease (86/s on average, the climb
    # included), 99/s over the last second: a burst of arrivals, not too fast a rate
    assert not control.on_throttled(5.5, 5.49, None, successes=430, recent=99.0).lowered
    assert control.on_throttled(5.6, 5.59, None, successes=440, recent=90.0).lowered


@pytest.mark.parametrize(
    ("rate", "recent", "since", "learned"),
    [
        (110.0, 100.0, 30, 100.0),  # over the limit: what got through lately
        (100.0, 140.0, 30, 100.0),  # the bucket's reserve got through too: at most the rate
        (100.0, 20.0, 60, 40.0),  # little got through lately: at least the average since
    ],
)
def test_the_learned_limit_lies_between_the_measurements_and_the_rate(
    rate: float, recent: float, since: int, learned: float
) -> None:
    control = steady(None)
    control.on_throttled(10.0, 9.9, None, successes=1000, recent=rate)  # learn `rate`...
    control.rate = rate  # ...and be at it 1.5 s later
    control.on_throttled(11.5, 11.4, None, successes=since, recent=recent)
    assert control.learned_rate == pytest.approx(learned)
    assert control.rate == pytest.approx(0.7 * learned)


def test_a_halved_limit_is_below_the_rate_after_two_events() -> None:
    control = steady(None)
    control.on_throttled(10.0, 9.9, None, successes=2000, recent=200.0)
    control.rate = 200.0  # climbed back; now the API's limit halves to 100/s
    control.on_throttled(20.0, 19.9, None, successes=1500, recent=190.0)
    assert control.rate == pytest.approx(0.7 * 190)  # still above 100
    # 0.5 s later: 50 successes since the decrease (100/s), 120/s over the last second
    control.on_throttled(20.5, 20.45, None, successes=50, recent=120.0)
    assert control.rate is not None
    assert control.rate < 100.0
    assert control.learned_rate == pytest.approx(120.0)


@pytest.mark.parametrize(
    ("used", "learned", "rate"),
    [
        (1.0, 143.0, 0.7 * 143),  # busy at its rate: what got through is the API's limit
        (None, 143.0, 0.7 * 143),  # not known (a shared throttle): as busy
        (0.8, 143.0, 0.7 * 143),
        (0.5, 200.0, 0.7 * 250),  # held back by its own senders: the rate drops, the limit stays
    ],
)
def test_only_a_busy_client_learns_from_what_got_through(
    used: float | None, learned: float, rate: float
) -> None:
    """The first burst's 22 429s wait out Retry-After: 1 while 10 senders get 143/s through;
    the 22 come back together and get 429s. The API's limit is 200/s, not 143."""
    control = steady(None)
    control.on_throttled(0.3, 0.29, None, successes=60, recent=200.0)  # learns 200
    control.rate = 250.0  # climbed on
    reaction = control.on_throttled(1.3, 1.29, 1.0, successes=143, recent=143.0, used=used)
    assert reaction.lowered
    assert control.learned_rate == pytest.approx(learned)
    assert control.rate == pytest.approx(rate)


def test_a_client_held_back_in_a_slow_start_starts_again_lower() -> None:
    control = steady(None)
    control.on_throttled(0.001, 0.0, 1.0, successes=0, sending=128.0)  # the first burst
    control.rate = 400.0  # doubled meanwhile
    control.on_throttled(1.0, 0.99, 1.0, successes=140, recent=140.0, used=0.4)
    assert control.learned_rate is None  # nothing learned: a slow start again...
    assert control.rate == pytest.approx(280.0)  # ...from 0.7 x the rate
    control.on_throttled(1.5, 1.49, 1.0, successes=100, recent=190.0, used=1.0)
    assert control.learned_rate == pytest.approx(280.0)  # busy: its end is the limit


def test_successes_are_measured_up_to_the_newest_answer() -> None:
    """Answers to the requests of the last latency are on their way: a window of 0.3 s with
    75 ms of latency holds 0.225 s of answers (a lag of at most LAG is taken off)."""
    control = steady(None)
    control.on_throttled(10.0, 9.9, None, successes=2000, recent=200.0)  # 140/s, 200 learned
    control.rate = 230.0
    control.on_throttled(10.3, 10.29, None, successes=45, recent=150.0, answered=10.225)
    assert control.learned_rate == pytest.approx(200.0)  # 45 / 0.225 s, not 45 / 0.3 s
    # the lag taken off is at most LAG
    assert steady(None).measured(1.0, 45, answered=0.5) == pytest.approx(45 / (1.0 - LAG))


@pytest.mark.parametrize(
    ("rate", "rejected", "lowered", "learned"),
    [
        # learned 979/s, then climbing back from 685/s; 930/s got through over the last
        # second (the climb included), 1,600 since the decrease 2 s ago (800/s)
        (950.0, 1.0, False, 979.0),  # a lone 429 below the learned limit: a passing burst
        (950.0, 25.0, False, 979.0),  # 2.6 % of the last second's answers
        (950.0, 40.0, True, 930.0),  # 4.1 %: the limit is lower than learned
        (990.0, 1.0, True, 930.0),  # above the learned limit: probing, any 429 counts
        (950.0, None, True, 930.0),  # 429s of the last second not known (a shared throttle)
    ],
)
def test_a_429_while_climbing_back_lowers_only_if_the_last_second_says_so(
    rate: float, rejected: float | None, lowered: bool, learned: float
) -> None:
    control = steady(None)
    control.on_throttled(8.0, 7.9, None, successes=8000, recent=979.0)
    assert control.learned_rate == 979.0
    control.rate = rate
    reaction = control.on_throttled(
        10.0, 9.99, None, successes=1600, recent=930.0, rejected=rejected
    )
    assert reaction.lowered is lowered
    assert control.learned_rate == pytest.approx(learned)


def test_a_lone_429_under_a_ceiling_while_climbing_back_is_a_passing_burst() -> None:
    control = steady(950.0, climb=3.0)  # rate=0.95 R of 1,000/s
    control.on_throttled(0.2, 0.1, None, successes=3)  # both buckets full at start: 429s
    assert control.learned_rate == 950.0  # nothing measured yet: climb back to the ceiling
    control.tick(2.5, recent=900.0)
    assert control.rate is not None
    assert control.rate < 950.0  # climbing back
    assert not control.on_throttled(2.5, 2.49, None, 1500, recent=880.0, rejected=1.0).lowered
    assert control.learned_rate == 950.0


@pytest.mark.parametrize(
    ("successes", "rates"),
    [
        (2, [140, 140, 98, 98, 98, 68.6]),  # a quarter or more 429s: still too high
        (9, [140, 140, 98, 98, 98, 68.6]),
        (20, [140] * 6),  # fewer: wait for a measurement
    ],
)
def test_many_429s_right_after_a_decrease_lower_again(successes: int, rates: list[float]) -> None:
    control = steady(None)
    control.on_throttled(10.0, 9.9, None, successes=2000, recent=200.0)  # 140/s
    seen = []
    for i in range(1, 7):  # 429s to requests sent after it, `successes` since
        control.on_throttled(10.0 + i / 100, 10.0 + i / 100, None, successes=successes)
        seen.append(control.rate)
    assert seen == pytest.approx(rates)


# --- the climb: CUBIC-like -----------------------------------------------------------------


def test_the_climb_is_slow_near_the_learned_limit_and_fast_far_from_it() -> None:
    control = steady(None, climb=4.0)
    control.on_throttled(10.0, 9.9, None, successes=5000, recent=1000.0)
    assert control.target(10.0) == pytest.approx(700)
    assert control.target(14.0) == pytest.approx(1000)  # back at the limit after `climb`

    def gain(t: float) -> float:
        high, low = control.target(t + 0.5), control.target(t)
        assert high is not None
        assert low is not None
        return high - low

    assert gain(10.0) > 5 * gain(13.5)  # fast after the decrease, flat near the limit
    assert gain(18.0) > 5 * gain(14.0)  # and faster and faster above it
    assert control.target(10.0 + 2.49 * 4.0) == pytest.approx(2000, rel=0.01)  # 2x in 10 s


def test_the_rate_follows_the_climb_at_each_tick() -> None:
    control = steady(None, climb=2.0)
    control.on_throttled(5.0, 4.9, None, successes=500, recent=100.0)
    rates = []
    for t in (5.5, 6.0, 7.0, 8.0, 9.0):
        control.tick(t, recent=control.rate)  # every send a success
        rates.append(round(control.rate or 0))
    assert rates == [87, 96, 100, 104, 130]
    assert control.changes == 1 + 5


def test_a_rate_that_is_not_used_is_not_raised() -> None:
    control = steady(None, climb=2.0)
    control.on_throttled(5.0, 4.9, None, successes=500, recent=100.0)
    control.tick(9.0, recent=30.0)  # the senders were waiting (say, out a Retry-After)
    assert control.rate == 100.0  # the learned limit, not the climb's 130
    control.tick(9.5, recent=None)  # nothing known: no higher either
    assert control.rate == 100.0
    control.tick(10.0, recent=100.0)  # in use again: the climb goes on from there
    assert control.rate is not None
    assert 100.0 < control.rate < 130.0


def test_a_configured_rate_is_a_ceiling() -> None:
    control = steady(100.0, climb=2.0)
    control.on_throttled(5.0, 4.9, None, successes=400, recent=95.0)  # 80/s got through
    assert control.learned_rate == 95.0
    for t in (6.0, 7.0, 8.0, 10.0, 60.0):
        control.tick(t, recent=100.0)
        assert control.rate is not None
        assert control.rate <= 100.0
    assert control.rate == 100.0


def test_the_floor() -> None:
    control = steady(100.0, floor=50.0)
    control.on_throttled(10.0, 9.9, None, successes=10, recent=10.0)
    assert control.rate == 50.0
    assert control.learned_rate == 50.0  # not below the floor
    assert control.target(10.5) == pytest.approx(50.0, rel=0.01)


def test_a_learned_limit_climbed_far_beyond_gives_way_to_unlimited() -> None:
    control = steady(None, climb=1.0)
    control.on_throttled(10.0, 9.9, None, successes=1000, recent=100.0)
    control.tick(12.0, recent=10_000.0)
    assert control.rate is not None
    # 1 + 0.3 x^3 = UNLIMITED at x = (15 / 0.3) ** (1/3)
    x = ((UNLIMITED - 1) / 0.3) ** (1 / 3)
    assert control.tick(10.0 + 1.0 + x + 0.01, recent=10_000.0)
    assert control.rate is None
    assert control.learned_rate is None


# --- the start --------------------------------------------------------------------------


def test_slow_start_when_the_first_429_comes_too_early_to_measure() -> None:
    control = steady(None)
    # 32 sends in the first millisecond, then a 429: nothing measured yet
    reaction = control.on_throttled(0.001, 0.0, None, successes=0, sending=32 / MIN_WINDOW)
    assert reaction.lowered
    assert control.learned_rate is None
    assert control.rate == pytest.approx(0.7 * 128)
    control.tick(0.001 + 3 * SLOW_START, recent=1000.0)
    assert control.rate == pytest.approx(0.7 * 128 * 8)
    control.tick(0.001 + 4 * SLOW_START, recent=300.0)  # at most twice what gets through
    assert control.rate == pytest.approx(600)
    # the next 429 with a measurement ends the slow start: the rate then was too much
    control.on_throttled(0.4, 0.39, None, successes=100, recent=300.0)
    assert control.learned_rate == pytest.approx(600)


def test_with_no_rate_a_burst_makes_a_paced_start() -> None:
    control = RateControl(RateLimit(None, burst=5))
    assert control.rate is None  # nothing sent yet
    assert control.start(10.0)
    assert control.rate == pytest.approx(5 / PACED)  # the burst, then 250/s...
    assert not control.start(11.0)
    control.tick(10.0 + 2 * SLOW_START, recent=1000.0)
    assert control.rate == pytest.approx(4 * 5 / PACED)  # ...doubling, within the cap
    control.tick(20.0, recent=1e7)
    assert control.rate == MAX_RATE  # never unlimited: the burst holds
    assert RateControl(RateLimit(None)).start(10.0) is False  # no burst: unlimited
    assert RateControl(RateLimit(100, burst=5)).start(10.0) is False  # a rate: as it was


def test_with_a_burst_a_forgotten_limit_gives_way_to_a_slow_start() -> None:
    control = steady(None, burst=5, climb=1.0)
    control.on_throttled(10.0, 9.9, None, successes=1000, recent=100.0)
    x = ((UNLIMITED - 1) / 0.3) ** (1 / 3)
    control.tick(12.0, recent=10_000.0)
    control.tick(10.0 + 1.0 + x + 0.01, recent=10_000.0)
    assert control.learned_rate is None
    assert control.rate is not None  # not unlimited: a slow start from where it was


def test_set_ceiling_to_none_with_a_burst_paces_again() -> None:
    control = steady(100.0, burst=5)
    assert control.set_ceiling(None, now=3.0)
    assert control.rate == pytest.approx(5 / PACED)
    assert control.set_ceiling(None)  # no time given (a shared throttle): unlimited
    assert control.rate is None


def test_answers_to_the_first_burst_are_one_event() -> None:
    control = steady(None)
    for i in range(22):
        control.on_throttled(0.001 + i * 1e-5, 0.0, None, successes=0, sending=128.0)
    assert control.decreases == 1
    assert control.throttled == 22


# --- no measurement: step by step --------------------------------------------------------


def test_an_api_that_accepts_nothing_is_lowered_once_per_cooldown() -> None:
    control = steady(100.0, cooldown=0.5)
    control.on_throttled(10.0, 9.9, None, successes=500, recent=50.0)  # learns 50
    rates = []
    for t in (10.1, 10.3, 10.6, 10.7, 11.2):  # then nothing gets through at all
        control.on_throttled(t, t - 0.01, None, successes=0)
        rates.append(control.rate)
    assert rates == pytest.approx([35, 35, 24.5, 24.5, 17.15])
    assert control.learned_rate == 50.0  # kept: the climb goes back to it, from deeper down
    back = control.epoch + 3.0
    assert back - 11.2 == pytest.approx(3.0 * ((1 - 17.15 / 50) / 0.3) ** (1 / 3))
    assert control.target(back) == pytest.approx(50.0)


# --- Retry-After: a pause only when the API looks closed ----------------------------------


@pytest.mark.parametrize(
    ("answers", "paused"),
    [
        # (seconds after the decrease the request was sent, successes counted so far)
        ([(0.01, 0), (0.1, 3), (0.2, 6), (0.3, 9)], False),  # successes keep coming
        ([(0.01, 0), (0.1, 0), (0.2, 0)], False),  # not CLOSED seconds yet
        ([(0.01, 0), (0.1, 0), (0.2, 0), (0.01 + CLOSED, 0)], True),
    ],
)
def test_retry_after_pauses_everyone_only_when_the_api_looks_closed(
    answers: list[tuple[float, int]], paused: bool
) -> None:
    control = steady(100.0)
    control.on_throttled(10.0, 9.9, 1.0, successes=800, recent=90.0)  # one event: lowered
    assert control.pauses == 0
    reactions = [
        control.on_throttled(10.0 + dt + 0.001, 10.0 + dt, 1.0, successes=n) for dt, n in answers
    ]
    assert control.pauses == int(paused)
    assert reactions[-1].paused is paused
    assert reactions[-1].covered is paused
    if paused:
        now = 10.0 + answers[-1][0] + 0.001
        assert control.paused_until == pytest.approx(now + 1.0)
        assert control.measured_from == control.paused_until  # measure again after it


def test_a_pause_covers_the_answers_that_come_during_it() -> None:
    control = steady(100.0)
    control.on_throttled(10.0, 9.9, 2.0, successes=800, recent=90.0)
    for t in (10.05, 10.15, 10.3):
        control.on_throttled(t, t - 0.001, 2.0, successes=0)
    assert control.pauses == 1
    until = control.paused_until
    late = control.on_throttled(10.5, 10.2, 1.0, successes=0)  # sent before the pause
    assert late.covered
    assert not late.paused
    assert control.paused_until == until


# --- configuration ------------------------------------------------------------------------


def test_set_ceiling_at_runtime_forgets_what_was_learned() -> None:
    control = steady(100.0)
    control.on_throttled(10.0, 9.9, None, successes=800, recent=90.0)
    assert control.set_ceiling(250)
    assert (control.rate, control.ceiling, control.learned_rate) == (250, 250, None)
    assert not control.set_ceiling(250)
    assert control.set_ceiling(None)
    assert control.rate is None


@pytest.mark.parametrize(
    ("limit", "rate", "burst", "floor"),
    [
        (RateLimit(500), 500, 10, 25.0),
        (RateLimit(200), 200, 4, 10.0),
        (RateLimit(500, burst=5, floor=100), 500, 5, 100.0),
        (RateLimit(3), 3, 1, 0.15),
        (RateLimit(10, floor=50), 10, 1, 10),
        (RateLimit(None), 1000, 10, 1.0),
    ],
)
def test_defaults(limit: RateLimit, rate: float, burst: int, floor: float) -> None:
    assert limit.burst_for(rate) == burst
    assert limit.floor_for(limit.rate) == pytest.approx(floor)


@pytest.mark.parametrize(
    "kwargs",
    [
        {"rate": 0},
        {"rate": -1},
        {"rate": float("inf")},
        {"burst": 0},
        {"decrease": 1},
        {"decrease": 0},
        {"climb": 0},
        {"climb": math.inf},
        {"floor": 0},
        {"cooldown": -1},
    ],
)
def test_invalid_limits(kwargs: dict[str, float]) -> None:
    with pytest.raises(ValueError, match=next(iter(kwargs))):
        RateLimit(**kwargs)  # type: ignore[arg-type]
