"""What a lost Redis puts in the log: one warning when an outage starts, one when Redis is
back; stale pooled connections failing right after, and every retry, at DEBUG."""

from __future__ import annotations

import logging

import pytest

from webex_campaign_async.redis._outage import SETTLE, Outage

from ..fakes import FakeClock


def warnings(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING]


def test_one_warning_each_way_per_outage(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG, logger="test.outage")
    clock = FakeClock(0.0)
    outage = Outage("redis://h:6379/0", clock, logging.getLogger("test.outage"))
    outage.answered()
    assert not caplog.records
    for _ in range(20):  # every waiter's retries, every failed update
        outage.failed(ConnectionError("refused"), "an acquire")
        clock.advance(0.1)
    assert outage.down
    outage.answered()
    for _ in range(5):  # pooled connections that went stale fail one by one, then work
        clock.advance(0.2)
        outage.failed(ConnectionError("closed by server"), "an acquire")
        outage.answered()
    assert warnings(caplog) == [
        "lost Redis at redis://h:6379/0 (refused): sending waits for it",
        "Redis at redis://h:6379/0 is back: sending goes on",
    ]
    assert len(caplog.records) == 2 + 19 + 5 * 2  # the rest at DEBUG


def test_a_failure_right_after_that_lasts_is_a_new_outage(
    caplog: pytest.LogCaptureFixture,
) -> None:
    clock = FakeClock(0.0)
    outage = Outage("redis://h:6379/0", clock, logging.getLogger("test.outage"))
    outage.failed(ConnectionError("refused"), "an acquire")
    outage.answered()
    clock.advance(1.0)
    outage.failed(ConnectionError("refused again"), "an acquire")  # quiet: a straggler?
    assert len(warnings(caplog)) == 2
    clock.advance(SETTLE)
    outage.failed(ConnectionError("still refused"), "an acquire")  # no: a new outage
    outage.failed(ConnectionError("still refused"), "an acquire")
    outage.answered()
    assert warnings(caplog)[2:] == [
        "lost Redis at redis://h:6379/0 (still refused): sending waits for it",
        "Redis at redis://h:6379/0 is back: sending goes on",
    ]
    clock.advance(SETTLE)
    outage.failed(ConnectionError("down"), "an acquire")  # long after: warned at once
    assert len(warnings(caplog)) == 5
