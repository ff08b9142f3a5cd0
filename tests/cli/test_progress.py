"""The progress display: plain lines off a terminal, and when the bar's library is missing."""

from __future__ import annotations

import builtins
import io
from typing import Any

import pytest

from webex_campaign_async.cli._progress import BarProgress, LineProgress, Snapshot, make_progress


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
            Snapshot(50, 200, 45, 5, 500.0),
            ["50/200 (25%)", "applied 45", "not applied 5", "throttle 500/s", "eta"],
        ),
        (Snapshot(7, None, 7, 0, None), ["7 ", "applied 7", "throttle unlimited"]),
        (Snapshot(200, 200, 200, 0, 100.0), ["200/200 (100%)"]),
    ],
)
def test_line_content(snapshot: Snapshot, expected: list[str]) -> None:
    now = [0.0]
    stream = io.StringIO()
    progress = LineProgress(stream, interval=5.0, clock=lambda: now[0])
    progress.show(snapshot)
    assert stream.getvalue() == ""  # not yet: one line per interval
    now[0] = 10.0
    progress.show(snapshot)
    line = stream.getvalue()
    assert line.count("\n") == 1
    for part in expected:
        assert part in line
    if snapshot.total == snapshot.done:
        assert "eta" not in line
