"""One worker process of a tenant: ``python -m tests.redis.worker URL NAME REDIS RATE FIRST N``.

Upserts N profiles (keys FIRST..FIRST+N-1) through a RedisThrottle shared by name, and
prints its report as JSON on the last line of stdout.
"""

from __future__ import annotations

import asyncio
import json
import sys

from webex_campaign_async import CampaignClient, ProfileUpsert, RateLimit, RetryPolicy
from webex_campaign_async.redis import RedisThrottle


async def main(url: str, key: str, redis: str, rate: float, first: int, n: int) -> None:
    throttle = RedisThrottle(redis, name="workers", rate=RateLimit(rate, burst=2))
    async with (
        throttle,
        CampaignClient(
            url, api_key=key, throttle=throttle, retry=RetryPolicy(attempts=10)
        ) as client,
    ):
        records = [
            ProfileUpsert("p", key=f"k{i}", attributes={"n": str(i)})
            for i in range(first, first + n)
        ]
        report = await client.bulk_upsert(records)
    print(json.dumps(report.to_dict()))


if __name__ == "__main__":
    url, key, redis, rate, first, n = sys.argv[1:7]
    asyncio.run(main(url, key, redis, float(rate), int(first), int(n)))
