"""The progress display: plain lines off a terminal, and when the bar's library is missing."""

from __future__ import annotations

import builtins
import io
from typing import Any

import pytest

from webex_campaign_async import RecordStatus
from webex_campaign_async.cli._progress import BarProgress, LineProgress, Snapshot, make_progress

from ..fakes import FakeClock

APPLIED, NOT_APPLIED, REJECTED, INVALID, FAILED, SKIPPED = RecordStatus


class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_lines_when_not_a_terminal() -> None:
    assert isinstance(make_progress("auto", 10, io.StringIO()), LineProgress)
    assert make_progress("none", 10, io.StringIO()) is None


def test_bar_on_a_terminal() -> None:
    pytest.importorskip("tqdm")
    assert isinstance(make_progress("auto", 10, _Terminal()), BarProgress)


def test_lines_when_tqdm_is_missing(monkeypatch: pytest.MonkeyPatch) -> None:
    real_import = builtins.__import__

    def no_tqdm(name: str, *args: Any, **kwargs: Any) -> Any:
        if name == "tqdm":
            raise ImportError("No module named 'tqdm'")
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_tqdm)
    assert isinstance(make_progress("bar", 10, _Terminal()), LineProgress)


@pytest.mark.parametrize(
    ("snapshot", "expected"),
    [
        (
            Snapshot(50, 200, {APPLIED: 45, NOT_APPLIED: 5}, 500.0),
            ["50/200 (25%)", "applied 45  not applied 5  throttle 500/s", "eta"],
        ),
        (Snapshot(7, None, {APPLIED: 7}, None), ["7 ", "applied 7  throttle unlimited"]),
        (Snapshot(200, 200, {APPLIED: 200}, 100.0), ["200/200 (100%)"]),
        (Snapshot(0, 10, {}, None), ["applied 0  throttle"]),
        (
            Snapshot(90, None, {APPLIED: 90}, 180.0, 200.0),
            ["throttle 180/s (limit 200/s)"],  # the rate now, and the limit it learned
        ),
    ],
)
def test_line_content(snapshot: Snapshot, expected: list[str]) -> None:
    clock = FakeClock(0.0)
    stream = io.StringIO()
    progress = LineProgress(stream, interval=5.0, clock=clock)
    progress.show(snapshot)
    assert stream.getvalue() == ""  # not yet: one line per interval
    clock.advance(10.0)
    progress.show(snapshot)
    line = stream.getvalue()
    assert line.count("\n") == 1
    for part in expected:
        assert part in line
    if snapshot.total == snapshot.done:
        assert "eta" not in line


@pytest.mark.parametrize(
    ("counts", "shown"),
    [
        ({APPLIED: 3}, "applied 3"),
        ({APPLIED: 3, REJECTED: 2}, "applied 3  rejected 2"),  # rejected is not "not applied"
        ({INVALID: 1, APPLIED: 1, FAILED: 4}, "applied 1  invalid 1  failed 4"),
        (
            {SKIPPED: 6, FAILED: 5, INVALID: 4, REJECTED: 3, NOT_APPLIED: 2, APPLIED: 1},
            "applied 1  not applied 2  rejected 3  invalid 4  failed 5  skipped 6",
        ),
        ({APPLIED: 1, NOT_APPLIED: 0, FAILED: 0}, "applied 1"),
        ({APPLIED: 1234567}, "applied 1,234,567"),
    ],
)
def test_one_word_one_meaning(counts: dict[RecordStatus, int], shown: str) -> None:
    """The progress names each ending as the report's table does: "not applied" is an
    update-count of 0, never every record that did not apply."""
    assert Snapshot(sum(counts.values()), None, counts, None).endings() == shown


def test_the_bar_shows_the_same_words() -> None:
    pytest.importorskip("tqdm")
    stream = _Terminal()
    bar = BarProgress(stream, 10)
    bar.close(Snapshot(10, 10, {APPLIED: 8, REJECTED: 2}, 50.0))
    assert "applied 8  rejected 2  throttle 50/s" in stream.getvalue()
    assert "not applied" not in stream.getvalue()


def test_failed_connections_show_beside_the_endings() -> None:
    """An API that cannot be reached shows on the line, rather than a progress that stalls."""
    stalled = Snapshot(0, 200, {}, None, connection_failures=1234)
    assert stalled.endings() == "applied 0  failed connections 1,234"
    assert Snapshot(0, 200, {}, None).endings() == "applied 0"
