"""Retry math: capped exponential backoff, full jitter, Retry-After first, attempts, deadline."""

from __future__ import annotations

import pytest

from webex_campaign_async import RetryPolicy


@pytest.mark.parametrize(
    ("policy", "retry", "random", "expected"),
    [
        (RetryPolicy(initial=0.5, multiplier=2, maximum=30, jitter=False), 1, 0.3, 0.5),
        (RetryPolicy(initial=0.5, multiplier=2, maximum=30, jitter=False), 2, 0.3, 1.0),
        (RetryPolicy(initial=0.5, multiplier=2, maximum=30, jitter=False), 4, 0.3, 4.0),
        (RetryPolicy(initial=0.5, multiplier=2, maximum=30, jitter=False), 7, 0.3, 30.0),
        (RetryPolicy(initial=0.5, multiplier=2, maximum=30, jitter=False), 500, 0.3, 30.0),
        (RetryPolicy(initial=0.5, multiplier=2, maximum=30), 1, 0.0, 0.0),
        (RetryPolicy(initial=0.5, multiplier=2, maximum=30), 3, 0.5, 1.0),
        (RetryPolicy(initial=0.5, multiplier=2, maximum=30), 9, 0.999, 29.97),
        (RetryPolicy(initial=1, multiplier=1, maximum=30, jitter=False), 9, 0.5, 1.0),
    ],
)
def test_backoff(policy: RetryPolicy, retry: int, random: float, expected: float) -> None:
    assert policy.backoff(retry, random) == pytest.approx(expected)


@pytest.mark.parametrize(
    ("policy", "attempts", "elapsed", "retry_after", "expected"),
    [
        (RetryPolicy(attempts=3, jitter=False), 1, 0.0, None, 0.5),
        (RetryPolicy(attempts=3, jitter=False), 2, 0.0, None, 1.0),
        (RetryPolicy(attempts=3, jitter=False), 3, 0.0, None, None),  # attempts used up
        (RetryPolicy(attempts=1), 1, 0.0, None, None),  # no retries at all
        (RetryPolicy(attempts=3, jitter=False), 1, 0.0, 7.0, 7.0),  # Retry-After first
        (RetryPolicy(attempts=3, jitter=False), 1, 0.0, 0.0, 0.0),
        (RetryPolicy(attempts=9, jitter=False, deadline=10), 1, 9.0, None, 0.5),
        (RetryPolicy(attempts=9, jitter=False, deadline=10), 1, 9.6, None, None),  # past deadline
        (RetryPolicy(attempts=9, jitter=False, deadline=10), 1, 1.0, 60.0, None),  # too long a wait
        (RetryPolicy(attempts=9, jitter=False, deadline=None), 1, 1e6, 60.0, 60.0),
    ],
)
def test_delay(
    policy: RetryPolicy,
    attempts: int,
    elapsed: float,
    retry_after: float | None,
    expected: float | None,
) -> None:
    assert policy.delay(attempts, elapsed=elapsed, retry_after=retry_after, random=0.5) == expected


@pytest.mark.parametrize(
    "kwargs",
    [
        {"attempts": 0},
        {"attempts": 1.5},
        {"throttled_attempts": 0},
        {"unprocessed_attempts": 0},
        {"initial": 0},
        {"maximum": -1},
        {"multiplier": 0.5},
    ],
)
def test_invalid_policies_are_refused(kwargs: dict[str, float]) -> None:
    with pytest.raises(ValueError, match=next(iter(kwargs))):
        RetryPolicy(**kwargs)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("attempts", "throttled", "expected"),
    [
        (4, 0, 0.5),  # 4 errors of 5 allowed: one more
        (5, 0, None),  # 5 errors: done
        (5, 1, 0.5),  # 4 errors and one 429: one more error allowed
        (19, 19, 0.5),  # 19 answers 429: one more allowed
        (20, 20, None),  # 20 answers 429: done
        (25, 20, None),
    ],
)
def test_429s_have_their_own_budget(attempts: int, throttled: int, expected: float | None) -> None:
    policy = RetryPolicy(
        attempts=5, throttled_attempts=20, jitter=False, maximum=0.5, deadline=None
    )
    delay = policy.delay(attempts, elapsed=0, retry_after=None, random=0.5, throttled=throttled)
    assert delay == expected


@pytest.mark.parametrize(
    ("attempts", "unprocessed", "expected"),
    [
        (1, 1, 0.5),  # one answer 1010: sent again
        (2, 2, 0.5),
        (3, 3, None),  # three answers 1010: REJECTED
        (4, 2, 0.5),  # two errors, two 1010s
        (5, 2, None),  # they count in attempts too
    ],
)
def test_1010s_have_a_small_budget_of_their_own(
    attempts: int, unprocessed: int, expected: float | None
) -> None:
    policy = RetryPolicy(attempts=5, jitter=False, maximum=0.5, deadline=None)
    assert policy.unprocessed_attempts == 3
    delay = policy.delay(attempts, elapsed=0, retry_after=None, random=0.5, unprocessed=unprocessed)
    assert delay == expected


def test_never() -> None:
    assert RetryPolicy.never().delay(1, elapsed=0, retry_after=None, random=0.5) is None
    assert RetryPolicy.never().unprocessed_attempts == 1


@pytest.mark.parametrize(
    ("attempts", "unavailable", "elapsed", "gives_up"),
    [
        (5, 0, 1.0, True),  # five failures of any other kind: the budget is used up
        (5, 5, 1.0, False),  # five gateway answers within the outage window: not counted
        (9, 5, 1.0, False),  # four counted, five not
        (10, 5, 1.0, True),  # five counted
        (5, 5, 60.0, True),  # past the window they count like any failure
        (40, 40, 59.0, False),  # a long outage, still within the window
    ],
)
def test_gateway_answers_and_lost_connections_have_a_time_budget(
    attempts: int, unavailable: int, elapsed: float, gives_up: bool
) -> None:
    policy = RetryPolicy(attempts=5, outage=60.0, maximum=0.5, deadline=None)
    delay = policy.delay(
        attempts, elapsed=elapsed, retry_after=None, random=0.5, unavailable=unavailable
    )
    assert (delay is None) is gives_up


def test_outage_zero_counts_them_at_once() -> None:
    policy = RetryPolicy(attempts=2, outage=0)
    assert policy.delay(2, elapsed=0.1, retry_after=None, random=0.5, unavailable=2) is None
