"""The scenarios: the emulator's behaviour, the workload, and each client's time budget.

Full sizes take about 20 s per client; ``quick=True`` shrinks everything for a smoke run.
"""

from __future__ import annotations

import dataclasses
from typing import Any

from webex_campaign_async.emulator import Faults, Storm

#: Requests per second the throttled and flaky APIs allow, and their server-side burst.
API_RATE = 500.0
API_BURST = 50.0


@dataclasses.dataclass(frozen=True)
class Scenario:
    """One scenario.

    ``emulator``: `EmulatorProcess` settings (None: no network, a fake transport).
    ``rate``: the API's known rate, given to clients that can use one. ``budget`` and
    ``sequential_budget``: seconds after which a client starts no new record (the one
    request-at-a-time loop gets the shorter one). ``reference_records``: a second, small
    run of the library, to compare peak RSS with.
    """

    name: str
    title: str
    records: int
    budget: float
    sequential_budget: float
    emulator: dict[str, Any] | None
    concurrency: int = 64
    rate: float | None = None
    clients: tuple[str, ...] = ("library", "sequential", "gather", "httpx")
    reference_records: int | None = None

    def describe(self) -> dict[str, Any]:
        """JSON-ready description."""
        emulator = None
        if self.emulator is not None:
            emulator = {
                k: _faults_json(v) if isinstance(v, Faults) else v for k, v in self.emulator.items()
            }
        return {
            "title": self.title,
            "records": self.records,
            "budget_seconds": self.budget,
            "sequential_budget_seconds": self.sequential_budget,
            "concurrency": self.concurrency,
            "rate_given_to_clients": self.rate,
            "emulator": emulator,
            "reference_records": self.reference_records,
        }


def _faults_json(faults: Faults) -> dict[str, Any]:
    out = {
        name: getattr(faults, name)
        for name in ("seed", "latency", "p500", "p_drop_before", "p_drop_after")
    }
    out["storms"] = [
        {"start": s.start, "duration": s.duration, "retry_after": s.retry_after}
        for s in faults.storms
    ]
    return out


def scenarios(quick: bool = False) -> dict[str, Scenario]:
    """The four scenarios, at full size or at smoke-test size."""
    k = 0.05 if quick else 1.0  # workload scale
    budget = 3.0 if quick else 40.0
    sequential = 1.0 if quick else 10.0
    # storm windows, seconds after the emulator starts: one with Retry-After, one without
    storms = (
        (Storm(0.3, 0.3, retry_after=1), Storm(0.8, 0.3))
        if quick
        else (Storm(5.0, 2.0, retry_after=2), Storm(12.0, 2.0))
    )
    throttled = {"rate": API_RATE, "burst": API_BURST, "track_keys": False}
    found = [
        Scenario(
            "throttled",
            f"Throttled API: {API_RATE:g}/s, burst {API_BURST:g}",
            records=int(10_000 * k),
            budget=budget,
            sequential_budget=sequential,
            emulator=throttled,
            rate=API_RATE,
        ),
        Scenario(
            "slow",
            "Slow API: 50 ms latency, no rate limit, 64 in flight",
            records=int(20_000 * k),
            budget=budget,
            sequential_budget=sequential,
            emulator={"faults": Faults(latency=0.05), "track_keys": False},
        ),
        Scenario(
            "flaky",
            f"Flaky API: 2% 500s, 1% drops, two 429 storms, {API_RATE:g}/s",
            records=int(10_000 * k),
            budget=budget,
            sequential_budget=sequential,
            emulator={
                **throttled,
                "faults": Faults(
                    seed=6, p500=0.02, p_drop_before=0.005, p_drop_after=0.005, storms=storms
                ),
            },
            rate=API_RATE,
        ),
        Scenario(
            "big",
            "Big job: fake transport, no network",
            records=20_000 if quick else 1_000_000,
            budget=0.0,  # no budget: the whole job
            sequential_budget=0.0,
            emulator=None,
            clients=("library",),
            reference_records=2_000 if quick else 10_000,
        ),
    ]
    return {s.name: s for s in found}
