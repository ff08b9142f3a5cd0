"""The emulator's configuration: `EmulatorConfig`, its `Faults` and 429 `Storm` windows.

Frozen attrs values, validated at construction (`ConfigurationError`), with a JSON round trip
(`config_to_json` / `config_from_json`) so a child process can be handed the same setup.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from types import MappingProxyType
from typing import Any, Literal

import attrs

from ..exceptions import ConfigurationError

__all__ = [
    "DEFAULT_TENANT",
    "DEFAULT_UPSERT_PATH",
    "PROBABILITY_FIELDS",
    "EmulatorConfig",
    "Faults",
    "RetryAfter",
    "Storm",
    "config_from_json",
    "config_to_json",
]

#: The single upsert's path, inferred from the documented bulk sibling ``/profiles/updateBulk``
#: (the same default as the client's; defined here because the emulator never imports it).
DEFAULT_UPSERT_PATH = "/campaignapi/resources/v3/profiles/update"

#: The tenant of every key that `EmulatorConfig.tenants` does not name.
DEFAULT_TENANT = "default"

#: ``None``: no header; a number: that many seconds; ``"auto"``: computed per answer.
RetryAfter = float | Literal["auto"] | None

#: The mutually exclusive per-request faults, in the order their probabilities are stacked.
PROBABILITY_FIELDS = (
    "p500",
    "p499",
    "p1010",
    "p503_html",
    "p_drop_before",
    "p_drop_after",
    "p_slow",
)


def _retry_after(value: object) -> RetryAfter:
    if value is None or value == "auto":
        return value
    if isinstance(value, str):
        try:
            value = float(value)
        except ValueError:
            raise ConfigurationError(
                f"retry_after must be None, 'auto' or seconds, not {value!r}"
            ) from None
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ConfigurationError(f"retry_after must be None, 'auto' or seconds, not {value!r}")
    if not math.isfinite(value) or value < 0:
        raise ConfigurationError(f"retry_after must be >= 0 seconds, not {value!r}")
    return float(value)


def _non_negative(name: str, value: float) -> None:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ConfigurationError(f"{name} must be a number, not {value!r}")
    if not math.isfinite(value) or value < 0:
        raise ConfigurationError(f"{name} must be a finite number >= 0, not {value!r}")


@attrs.frozen
class Storm:
    """A window of 429 answers, ``start`` seconds after the server started, ``duration`` long.

    Every request that passes auth and the token bucket inside ``[start, start + duration)``
    gets 429; ``retry_after`` is sent as the ``Retry-After`` header (``"auto"``: the seconds
    left in the window, rounded up, at least 1; ``None``: no header).
    """

    start: float
    duration: float
    retry_after: RetryAfter = attrs.field(default=None, converter=_retry_after)

    def __attrs_post_init__(self) -> None:
        _non_negative("Storm.start", self.start)
        _non_negative("Storm.duration", self.duration)

    @property
    def end(self) -> float:
        """Seconds after the server started when the storm is over."""
        return self.start + self.duration


def _storms(value: Iterable[Storm | Mapping[str, Any]]) -> tuple[Storm, ...]:
    return tuple(s if isinstance(s, Storm) else Storm(**s) for s in value)


@attrs.frozen
class Faults:
    """Seeded, reproducible fault injection; everything off by default.

    - ``latency`` seconds plus a uniform ``[0, jitter)`` are added to every answer.
    - ``p500``, ``p499``: HTTP 500/500 and 499/499 bodies; ``p1010``: HTTP 200 with code 1010
      "The request was not processed." (nothing applied; a transient refusal, which the
      library sends again); ``p503_html``: an nginx-style HTML 503 page.
    - ``p_drop_before``: the connection is closed without an answer, nothing applied;
      ``p_drop_after``: the write is applied, then the connection is closed without an answer.
    - ``p_slow``: the write is applied and the answer comes ``slow_seconds`` late (longer
      than a client's timeout, by default).
    - ``storms``: `Storm` windows of 429 answers.

    The probabilities are mutually exclusive (their sum is at most 1): per request one
    uniform number picks at most one fault, then a second one picks the jitter, both from one
    ``random.Random(seed)``, so the same seed and the same requests give the same faults.
    """

    seed: int = 0
    latency: float = 0.0
    jitter: float = 0.0
    p500: float = 0.0
    p499: float = 0.0
    p1010: float = 0.0
    p503_html: float = 0.0
    p_drop_before: float = 0.0
    p_drop_after: float = 0.0
    p_slow: float = 0.0
    slow_seconds: float = 35.0
    storms: tuple[Storm, ...] = attrs.field(default=(), converter=_storms)

    def __attrs_post_init__(self) -> None:
        if isinstance(self.seed, bool) or not isinstance(self.seed, int):
            raise ConfigurationError(f"Faults.seed must be an int, not {self.seed!r}")
        _non_negative("Faults.latency", self.latency)
        _non_negative("Faults.jitter", self.jitter)
        _non_negative("Faults.slow_seconds", self.slow_seconds)
        total = 0.0
        for name in PROBABILITY_FIELDS:
            p = getattr(self, name)
            _non_negative(f"Faults.{name}", p)
            if p > 1:
                raise ConfigurationError(f"Faults.{name} must be a probability in [0, 1]")
            total += p
        if total > 1 + 1e-9:
            raise ConfigurationError(
                f"the fault probabilities are exclusive and must sum to at most 1, not {total:g}"
            )

    @property
    def random_faults(self) -> bool:
        """True when a request may get a random fault or a random delay."""
        return (
            self.latency > 0
            or self.jitter > 0
            or any(getattr(self, name) > 0 for name in PROBABILITY_FIELDS)
        )


def _str_tuple(value: Iterable[str]) -> tuple[str, ...]:
    if isinstance(value, str):
        return (value,)
    return tuple(value)


def _str_map(value: Mapping[str, str]) -> Mapping[str, str]:
    return MappingProxyType(dict(value))


def _lists(value: Iterable[str] | None) -> frozenset[str] | None:
    if value is None:
        return None
    if isinstance(value, str):
        return frozenset((value,))
    return frozenset(value)


def _faults(value: Faults | Mapping[str, Any]) -> Faults:
    return value if isinstance(value, Faults) else Faults(**value)


def _optional_float(value: float | None) -> float | None:
    return None if value is None else float(value)


@attrs.frozen(hash=False)
class EmulatorConfig:
    """Everything an emulator does, as one value; every field has a working default.

    - ``host``/``port``: where `Emulator` listens (port 0: a free port).
    - ``upsert_path``: the path of the single upsert.
    - ``api_keys``: valid API secret keys (none given: one is generated); ``forbidden_keys``
      answer 401/430; ``tenants`` maps a key to its tenant (default ``"default"``): the
      throttle is per tenant.
    - ``strict`` (default True): requests are checked against the vendor's page as
      `_validate` says (strings where the page says String, its enum spellings, no unknown
      fields, ``Content-Type: application/json``); ``False`` also takes numbers and booleans
      for strings, enums in any case and any ``Content-Type`` (for experiments).
    - ``profile_lists``: the known profile lists; ``None`` creates lists on first use,
      otherwise an unknown list answers code 3005. ``links`` maps a list to its linked list.
    - ``rate``/``burst``: the server's token bucket per tenant (requests per second, ``None``:
      unlimited; burst defaults to one second's worth, at least 1); ``retry_after`` for its
      429s: ``None`` (no header, as documented by the vendor), seconds, or ``"auto"``.
    - ``faults``: see `Faults`.
    - ``track_keys``: count requests per (profile-name, key) (turn off for huge benchmarks);
      ``fault_log_size``: how many fault events are kept.
    - ``shutdown_timeout``: seconds a closing server waits for answers still in flight.
    """

    host: str = "127.0.0.1"
    port: int = 0
    upsert_path: str = DEFAULT_UPSERT_PATH
    api_keys: tuple[str, ...] = attrs.field(default=(), converter=_str_tuple)
    forbidden_keys: tuple[str, ...] = attrs.field(default=(), converter=_str_tuple)
    tenants: Mapping[str, str] = attrs.field(factory=dict, converter=_str_map)
    strict: bool = True
    profile_lists: frozenset[str] | None = attrs.field(default=None, converter=_lists)
    links: Mapping[str, str] = attrs.field(factory=dict, converter=_str_map)
    rate: float | None = attrs.field(default=None, converter=_optional_float)
    burst: float | None = attrs.field(default=None, converter=_optional_float)
    retry_after: RetryAfter = attrs.field(default=None, converter=_retry_after)
    faults: Faults = attrs.field(factory=Faults, converter=_faults)
    track_keys: bool = True
    fault_log_size: int = 10_000
    shutdown_timeout: float = 1.0

    def __attrs_post_init__(self) -> None:
        if not self.upsert_path.startswith("/"):
            raise ConfigurationError(f"upsert_path must start with '/', not {self.upsert_path!r}")
        if self.rate is not None and not (math.isfinite(self.rate) and self.rate > 0):
            raise ConfigurationError(f"rate must be > 0 or None, not {self.rate!r}")
        if self.burst is not None and not (math.isfinite(self.burst) and self.burst >= 1):
            raise ConfigurationError(f"burst must be >= 1 or None, not {self.burst!r}")
        if any(not isinstance(k, str) or not k.strip() for k in self.api_keys):
            raise ConfigurationError("api_keys must be non-empty strings")
        if set(self.api_keys) & set(self.forbidden_keys):
            raise ConfigurationError("a key cannot be both valid and forbidden")
        if self.fault_log_size < 0:
            raise ConfigurationError("fault_log_size must be >= 0")
        _non_negative("shutdown_timeout", self.shutdown_timeout)

    @property
    def bucket_size(self) -> float:
        """The bucket's capacity: ``burst``, or one second's worth of ``rate`` (at least 1)."""
        if self.burst is not None:
            return self.burst
        return max(1.0, self.rate or 1.0)


def config_to_json(config: EmulatorConfig) -> dict[str, Any]:
    """A JSON-ready dict of ``config``; `config_from_json` reads it back."""

    def plain(_inst: object, _field: object, value: Any) -> Any:
        if isinstance(value, frozenset):
            return sorted(value)
        if isinstance(value, Mapping):
            return dict(value)
        return value

    return attrs.asdict(config, value_serializer=plain)


def config_from_json(obj: Mapping[str, Any]) -> EmulatorConfig:
    """The `EmulatorConfig` of a dict made by `config_to_json` (unknown fields raise)."""
    try:
        return EmulatorConfig(**obj)
    except TypeError as exc:
        raise ConfigurationError(f"invalid emulator configuration: {exc}") from None
