"""The installed distribution's version, read from package metadata."""

from __future__ import annotations

from importlib.metadata import PackageNotFoundError
from importlib.metadata import version as _distribution_version

try:
    version = _distribution_version("webex-campaign-async")
except PackageNotFoundError:  # pragma: no cover - running from a source tree
    version = "0+unknown"
