"""The rate law's state as it travels through Redis: JSON of plain numbers, pure.

Every field of `RateControl` but its `RateLimit` (each process has its own) is written;
infinities, which JSON cannot hold, go as strings. The successes of the last second come
back from Redis as 100 ms buckets; `recent_rate` turns them into a rate.
"""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from typing import Any

import attrs

from .._ratecontrol import RateControl
from .._ratelimit import RateLimit

__all__ = ["BUCKET", "BUCKETS", "dump", "load", "recent_rate", "tenant_name"]

BUCKET = 0.1
BUCKETS = 10

_FIELDS = [f for f in attrs.fields(RateControl) if f.name != "limit"]


def _plain(value: Any) -> Any:
    if isinstance(value, float) and not math.isfinite(value):
        return "inf" if value > 0 else "-inf"
    return value


def _number(value: Any) -> Any:
    if value == "inf":
        return math.inf
    if value == "-inf":
        return -math.inf
    return value


def dump(control: RateControl) -> str:
    """The state of ``control`` as JSON (without its `RateLimit`)."""
    return json.dumps(
        {f.name: _plain(getattr(control, f.name)) for f in _FIELDS}, separators=(",", ":")
    )


def load(text: str, limit: RateLimit) -> RateControl:
    """A `RateControl` of ``limit`` in the state ``text`` describes (fields it lacks keep
    their defaults: a state written by another version of the law still loads)."""
    data = json.loads(text) if text else {}
    values: dict[str, Any] = {
        str(f.alias): _number(data[f.name]) for f in _FIELDS if f.name in data
    }
    control = RateControl(limit, **values)
    for name in ("ceiling", "rate"):  # as shared, even None (not this process's default)
        if name in data:
            setattr(control, name, _number(data[name]))
    return control


def recent_rate(
    now: float, origin: float | None, last: int | None, buckets: Sequence[int]
) -> float | None:
    """Successes per second over the last second, from 100 ms buckets (``last`` is the
    index, ``floor(time / 0.1)``, of the newest; ``buckets[i % 10]`` the count of bucket i).

    None until the first send is ``MIN_WINDOW``-old (too early to tell).
    """
    if origin is None or last is None or now - origin < 0.25:
        return None
    current = math.floor(now / BUCKET)
    if current - last >= BUCKETS:
        return 0.0
    first = max(current - BUCKETS + 1, math.floor(origin / BUCKET))
    total = sum(buckets[i % BUCKETS] for i in range(first, last + 1))
    return total / max(now - max(first * BUCKET, origin), BUCKET)


def tenant_name(base_url: str, credential: str) -> str:
    """A throttle name for one tenant: a hash of the base URL and of a hash of the key or
    token (never the secret itself, nor anything it could be read back from)."""
    import hashlib

    secret = hashlib.sha256(credential.encode()).hexdigest()
    return hashlib.sha256(f"{base_url.rstrip('/')}\n{secret}".encode()).hexdigest()[:24]
