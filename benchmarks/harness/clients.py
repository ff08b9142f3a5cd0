"""The clients compared, by name: label, module, and which scenarios they take part in."""

from __future__ import annotations

import dataclasses


@dataclasses.dataclass(frozen=True)
class Client:
    """A client: ``module`` holds ``async def run(target, records, settings) -> Tally``."""

    name: str
    label: str
    module: str
    sequential: bool = False  # one request at a time: given the short time budget
    offline: bool = False  # can run without a network (the big job)


LIBRARY = Client(
    "library", "webex-campaign-async bulk_upsert", "benchmarks.harness.library", offline=True
)
CLIENTS: dict[str, Client] = {
    c.name: c
    for c in (
        LIBRARY,
        Client(
            "sequential",
            "sequential loop (aiohttp)",
            "benchmarks.baselines.sequential",
            sequential=True,
        ),
        Client("gather", "gather + semaphore (aiohttp)", "benchmarks.baselines.gather_aiohttp"),
        Client("httpx", "httpx.AsyncClient + semaphore", "benchmarks.baselines.httpx_semaphore"),
    )
}
