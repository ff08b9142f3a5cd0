"""The library's own CPU per record: ``bulk_upsert`` over a transport that answers at once.

    python -m benchmarks.own_work [RECORDS]

No network, no server: what is left is the engine, the sender, the throttle, the request
body and the report. The records are built before the clock starts. Prints microseconds
of CPU per record; compare two checkouts by running it in each, alternately (the file
works in checkouts older than itself: copy it there).
"""

from __future__ import annotations

import asyncio
import sys
import time

from webex_campaign_async import CampaignClient

from ._fake import InstantTransport, profiles


async def main(n: int) -> float:
    client = CampaignClient(
        "https://bench.invalid", api_key="k", transport=InstantTransport(), max_concurrency=64
    )
    records = list(profiles(n))
    async with client:
        cpu = time.process_time()
        report = await client.bulk_upsert(records)
        used = time.process_time() - cpu
    assert report.applied == n
    return used / n


if __name__ == "__main__":
    seconds = asyncio.run(main(int(sys.argv[1]) if len(sys.argv) > 1 else 100_000))
    print(f"{seconds * 1e6:.2f} us/record")
