"""The event loop a command runs on: uvloop when installed (the ``speedups`` extra), else
asyncio's own; ``--no-uvloop`` chooses asyncio's."""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine
from typing import Any, TypeVar

__all__ = ["loop_name", "run"]

T = TypeVar("T")


def _uvloop() -> Any:
    try:
        import uvloop
    except ImportError:
        return None
    return uvloop


def loop_name(use_uvloop: bool) -> str:
    """``uvloop`` or ``asyncio``: the loop `run` would use."""
    return "uvloop" if use_uvloop and _uvloop() is not None else "asyncio"


def run(main: Coroutine[Any, Any, T], *, use_uvloop: bool = True) -> T:
    """``asyncio.run(main)``, on uvloop when it is installed and wanted."""
    uvloop = _uvloop() if use_uvloop else None
    if uvloop is None:
        return asyncio.run(main)
    result: T = uvloop.run(main)
    return result
