"""House rules of the library, the CLI and the Redis wing: every module says what it is for,
and none is over 350 lines (split by responsibility; the emulator keeps its shape)."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).parent.parent / "webex_campaign_async"
MODULES = sorted(
    path for folder in (PACKAGE, PACKAGE / "cli", PACKAGE / "redis") for path in folder.glob("*.py")
)
MAX_LINES = 350


@pytest.mark.parametrize("path", MODULES, ids=lambda p: str(p.relative_to(PACKAGE)))
def test_a_module_says_what_it_is_for_in_at_most_350_lines(path: Path) -> None:
    text = path.read_text()
    assert ast.get_docstring(ast.parse(text)), f"{path.name}: no module docstring"
    lines = len(text.splitlines())
    assert lines <= MAX_LINES, f"{path.name}: {lines} lines"
