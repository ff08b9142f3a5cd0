"""A description of the machine and software a run was measured on, for the results file."""

from __future__ import annotations

import os
import platform
import subprocess
from importlib import metadata
from pathlib import Path
from typing import Any

_PACKAGES = (
    "webex-campaign-async",
    "aiohttp",
    "botocore",
    "attrs",
    "cattrs",
    "orjson",
    "httpx",
    "httpcore",
    "matplotlib",
)


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def _version(name: str) -> str | None:
    try:
        return metadata.version(name)
    except metadata.PackageNotFoundError:
        return None


def _commit(root: Path) -> str | None:
    try:
        out = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"],  # noqa: S607 - read-only, git from PATH
            cwd=root,
            capture_output=True,
            text=True,
            timeout=10,
            check=True,
        )
    except (OSError, subprocess.SubprocessError):
        return None
    return out.stdout.strip() or None


def describe(root: Path) -> dict[str, Any]:
    """CPU model, cores, Python, platform, package versions, commit of ``root``."""
    return {
        "cpu": _cpu_model(),
        "logical_cores": os.cpu_count(),
        "python": f"{platform.python_implementation()} {platform.python_version()}",
        "platform": platform.platform(),
        "event_loop": "asyncio default loop (no uvloop)",
        "packages": {name: _version(name) for name in _PACKAGES},
        "commit": _commit(root),
    }
