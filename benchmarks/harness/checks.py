"""The accounting checks of a run: every client finished and every record is accounted for.

Never a timing threshold: these hold on any machine, however slow.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Any


def problems(results: Iterable[dict[str, Any]]) -> Iterator[str]:
    """One message per broken promise."""
    for r in results:
        where = f"{r['scenario']} / {r['client']} ({r['workload']:,} records)"
        if not r["completed"]:
            yield f"{where}: did not complete: {r['error']}"
            continue
        if r["attempted"] < 1:
            yield f"{where}: sent no record at all"
        if r["applied"] + r["not_applied"] != r["attempted"]:
            yield (
                f"{where}: applied {r['applied']} + not applied {r['not_applied']} "
                f"!= {r['attempted']} records attempted"
            )
        if r["attempted"] > r["workload"]:
            yield f"{where}: attempted {r['attempted']} records of {r['workload']}"
        counts = r["counts"]
        if counts and sum(counts.values()) != r["attempted"]:
            yield f"{where}: the report's counts {counts} do not add up to {r['attempted']}"
        server = r["server"]
        if server is not None and r["applied"] > server["applied"]:
            yield (
                f"{where}: claims {r['applied']} records applied, the emulator applied "
                f"{server['applied']} requests"
            )
