"""This library as a benchmark client: ``bulk_upsert`` over the same rows; its report as a tally.

Configured with the scenario's known rate (when there is one), the same concurrency and the
same number of attempts as the baselines; otherwise the library's defaults.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator

from webex_campaign_async import CampaignClient, ProfileUpsert, RecordResult, RetryPolicy

from .._fake import InstantTransport
from .workload import PROFILE_LIST, Row, Settings, Tally, Target


def _profiles(records: Iterable[Row], settings: Settings) -> Iterator[ProfileUpsert]:
    """The rows as models, read lazily; none started after the deadline."""
    for row in records:
        if settings.out_of_time():
            return
        yield ProfileUpsert(PROFILE_LIST, key=row.key, attributes=row.attributes)


def _client(target: Target, settings: Settings) -> CampaignClient:
    if target.url is None:  # the big job: no network at all
        return CampaignClient(
            "https://bench.invalid",
            api_key=target.api_key,
            transport=InstantTransport(),
            max_concurrency=settings.concurrency,
        )
    assert target.base_url is not None
    return CampaignClient(
        target.base_url,
        api_key=target.api_key,
        rate=settings.rate,
        max_concurrency=settings.concurrency,
        retry=RetryPolicy(attempts=settings.attempts),
        timeout=settings.timeout,
    )


def _reason(result: RecordResult) -> str:
    last = f"HTTP {result.http_status}" if result.http_status else result.message.split(":")[0]
    return f"{result.status.name}: {last}, after {result.attempts} attempts"


async def run(target: Target, records: Iterable[Row], settings: Settings) -> Tally:
    async with _client(target, settings) as client:
        report = await client.bulk_upsert(_profiles(records, settings))
    tally = Tally(
        attempted=report.total,
        applied=report.applied,
        requests=report.requests,
        throttled=report.throttled,
        counts={status.name: n for status, n in report.counts.items()},
    )
    for result in report.failures:  # up to the report's bound (1,000)
        tally.failed(_reason(result))
    tally.not_applied = report.total - report.applied
    return tally
