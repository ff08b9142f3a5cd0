"""One decision per answer the vendor's page leaves open, checked in the classifier and end to
end: 1010, 499, a 200 without update-count, and a body code that disagrees with the status.
The README's "What is inferred about the API" table points here."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import pytest

from webex_campaign_async import (
    CampaignClient,
    NotAppliedError,
    PermissionDeniedError,
    ProfileUpsert,
    RecordResult,
    RecordStatus,
    RejectedError,
    Response,
    RetryPolicy,
    ServerError,
    UpdateLink,
)
from webex_campaign_async._sansio import Verdict, classify
from webex_campaign_async.emulator import EmulatorConfig, EmulatorTransport, Faults

from .fakes import FakeTransport, answer, applied
from .vtime import run_virtual

S = RecordStatus
V = Verdict
POLICY = RetryPolicy(attempts=5, throttled_attempts=4, unprocessed_attempts=3, initial=0.1)
PROFILE = ProfileUpsert("contacts", key="k1", attributes={"firstname": "Matt"})


def _body(**fields: Any) -> bytes:
    return json.dumps(fields).encode()


def _coded(code: str) -> bytes:
    return _body(code=code, description="text")


# (id, HTTP status, body, verdict, the record's final status, requests sent for it)
DECISIONS: list[tuple[str, int, bytes, Verdict, RecordStatus, int]] = [
    ("200/1010 not processed", 200, _coded("1010"), V.UNPROCESSED, S.REJECTED, 3),
    ("500/1010 not processed", 500, _coded("1010"), V.UNPROCESSED, S.REJECTED, 3),
    ("499/499", 499, _coded("499"), V.RETRY, S.FAILED, 5),
    ("499 without a body", 499, b"", V.RETRY, S.FAILED, 5),
    (
        "200 transaction-id only",
        200,
        _body(**{"transaction-id": "t1"}),
        V.NOT_APPLIED,
        S.NOT_APPLIED,
        1,
    ),
    (
        "200 update-count null",
        200,
        _body(**{"update-count": None, "transaction-id": "t1"}),
        V.NOT_APPLIED,
        S.NOT_APPLIED,
        1,
    ),
    (
        "200 update-count 0",
        200,
        _body(**{"update-count": 0, "transaction-id": "t"}),
        V.NOT_APPLIED,
        S.NOT_APPLIED,
        1,
    ),
    ("200 without transaction-id or count", 200, b"{}", V.RETRY, S.FAILED, 5),
    ("429 whose body says 1001", 429, _coded("1001"), V.THROTTLED, S.FAILED, 4),
    ("401 whose body says 1001", 401, _coded("1001"), V.FATAL, S.FAILED, 1),
    ("405 whose body says 1001", 405, _coded("1001"), V.FATAL, S.FAILED, 1),
    ("500/1001 invalid input JSON", 500, _coded("1001"), V.REJECTED, S.REJECTED, 1),
    ("200/429 in the body", 200, _coded("429"), V.THROTTLED, S.FAILED, 4),
]


def _run_one(
    status: int, body: bytes, policy: RetryPolicy = POLICY, answer: Any = None
) -> tuple[RecordResult, int]:
    """One record through a bulk run; the API answers ``status`` and ``body`` (or ``answer``
    of the attempt); (its result, the requests sent)."""
    transport = FakeTransport(answer or (lambda wire, attempt, headers: Response(status, {}, body)))

    async def main() -> RecordResult:
        seen: list[RecordResult] = []
        async with CampaignClient(
            "https://tenant.example", api_key="k", transport=transport, retry=policy
        ) as client:
            await client.bulk_upsert([PROFILE], on_result=seen.append)
        [result] = seen
        return result

    result = run_virtual(main())
    return result, len(transport.sent)


@pytest.mark.parametrize(
    ("status", "body", "verdict", "final", "requests"),
    [pytest.param(*row[1:], id=row[0]) for row in DECISIONS],
)
def test_decision(
    status: int, body: bytes, verdict: Verdict, final: RecordStatus, requests: int
) -> None:
    assert classify(status, {}, body, now=0.0).verdict is verdict
    result, sent = _run_one(status, body)
    assert (result.status, sent, result.attempts) == (final, requests, requests)
    assert result.http_status == status


def test_1010_ends_rejected_with_its_code_and_the_vendors_text() -> None:
    result, _ = _run_one(200, _body(code="1010", description="The request was not processed."))
    assert result.code == 1010
    assert result.message.endswith("code 1010: The request was not processed.")


def test_1010_is_not_retried_when_the_policy_allows_one_attempt() -> None:
    for policy in (RetryPolicy.never(), RetryPolicy(unprocessed_attempts=1)):
        result, sent = _run_one(200, _coded("1010"), policy)
        assert (result.status, sent) == (S.REJECTED, 1)
    # one attempt in all, but 1010 had more to come: the retries gave up, not the record
    result, sent = _run_one(200, _coded("1010"), RetryPolicy(attempts=1))
    assert (result.status, sent, result.code) == (S.FAILED, 1, 1010)


def test_a_1010_that_ends_a_budget_used_up_by_other_errors_is_failed_not_rejected() -> None:
    """REJECTED says "this record cannot be processed": only 1010 after 1010 earns it."""

    def answer(wire: object, attempt: int, headers: object) -> Response:
        return Response(500, {}, b"oops") if attempt < 5 else Response(200, {}, _coded("1010"))

    result, sent = _run_one(0, b"", answer=answer)
    assert (result.status, result.attempts, sent, result.code) == (S.FAILED, 5, 5, 1010)


def test_a_transaction_id_without_update_count_is_never_reported_applied() -> None:
    transport = FakeTransport(lambda w, a, h: Response(200, {}, _body(**{"transaction-id": "t9"})))

    async def main() -> tuple[NotAppliedError, RecordResult]:
        async with CampaignClient("https://tenant.example", api_key="k", transport=transport) as c:
            with pytest.raises(NotAppliedError) as info:
                await c.upsert(PROFILE)
            return info.value, await c.upsert(PROFILE, allow_not_applied=True)

    error, result = run_virtual(main())
    assert (error.transaction_id, error.attempts) == ("t9", 1)
    assert (result.update_count, result.transaction_id) == (None, "t9")
    assert "no update-count" in result.message
    assert len(transport.sent) == 2  # one request per call: never re-sent


def test_a_401_that_is_not_498_asks_no_new_token() -> None:
    calls = 0

    async def provider() -> str:
        nonlocal calls
        calls += 1
        return f"token-{calls}"

    transport = FakeTransport(lambda w, a, h: answer(401, "1001", "Invalid input JSON"))

    async def main() -> None:
        async with CampaignClient(
            "https://tenant.example", token_provider=provider, transport=transport
        ) as client:
            with pytest.raises(PermissionDeniedError):
                await client.upsert(PROFILE)

    run_virtual(main())
    assert (calls, len(transport.sent)) == (1, 1)  # the first token only


def test_a_429_with_a_business_code_is_waited_out_then_applied() -> None:
    transport = FakeTransport(
        lambda w, attempt, h: (
            answer(429, "1001", "x", **{"Retry-After": "2"}) if attempt == 1 else applied()
        )
    )

    async def main() -> tuple[RecordResult, float]:
        loop = asyncio.get_running_loop()
        async with CampaignClient("https://tenant.example", api_key="k", transport=transport) as c:
            started = loop.time()
            result = await c.upsert(PROFILE)
            return result, loop.time() - started

    result, elapsed = run_virtual(main())
    assert (result.status, result.attempts) == (S.APPLIED, 2)
    assert elapsed >= 2.0  # its Retry-After was honoured


# --- end to end against the emulator -------------------------------------------------------


def _emulated(config: EmulatorConfig, records: list[ProfileUpsert], policy: RetryPolicy) -> Any:
    transport = EmulatorTransport(config)

    async def main() -> Any:
        async with CampaignClient(
            "http://127.0.0.1", api_key=transport.api_key, transport=transport, retry=policy
        ) as client:
            return await client.bulk_upsert(records)

    return run_virtual(main()), transport.core


def test_injected_1010s_are_absorbed_by_the_retries() -> None:
    records = [ProfileUpsert("contacts", key=f"k{i}", attributes={"n": i}) for i in range(400)]
    config = EmulatorConfig(faults=Faults(seed=13, p1010=0.2))
    report, core = _emulated(config, records, RetryPolicy(initial=0.05))
    assert core.stats.faults["1010"] > 40
    # at 20 %, three 1010s in a row come to 0.8 % of the records: those alone end REJECTED
    assert report.applied + report.rejected == 400
    assert report.rejected < 10
    # every 1010 was sent again, but the third of a record that ended REJECTED
    retried = core.stats.faults["1010"] - report.rejected
    assert report.requests == core.stats.requests == 400 + retried
    assert report.rejected == sum(
        1
        for _, key in core.stats.keys_with_fault("1010")
        if core.store.get("contacts", key or "") is None
    )
    assert report.codes == ({1010: report.rejected} if report.rejected else {})


def test_a_missing_linked_profile_is_1010_three_times_then_rejected() -> None:
    config = EmulatorConfig(links={"contacts": "contact_details"})
    records = [
        ProfileUpsert("contacts", key=f"k{i}", attributes={"n": i}, update_link=UpdateLink.FAIL)
        for i in range(10)
    ]
    report, core = _emulated(config, records, RetryPolicy(initial=0.05))
    assert report.rejected == 10
    assert report.codes == {1010: 10}
    assert core.stats.count(200, "1010") == core.stats.requests == 30
    assert core.store.count() == 0


def test_499_is_retried_within_the_attempts_budget() -> None:
    records = [ProfileUpsert("contacts", key=f"k{i}", attributes={"n": i}) for i in range(200)]
    report, core = _emulated(
        EmulatorConfig(faults=Faults(seed=2, p499=0.3)),
        records,
        RetryPolicy(attempts=8, initial=0.05),
    )
    assert report.applied == 200
    assert core.stats.count(499, "499") == core.stats.faults["499"] > 30
    report, core = _emulated(
        EmulatorConfig(faults=Faults(p499=1.0)), records[:3], RetryPolicy(attempts=4, initial=0.05)
    )
    assert (report.failed, report.requests, report.codes) == (3, 12, {499: 3})


def test_rejected_errors_carry_1010_for_a_single_upsert() -> None:
    transport = EmulatorTransport(EmulatorConfig(faults=Faults(p1010=1.0)))

    async def main() -> RejectedError:
        async with CampaignClient(
            "http://127.0.0.1", api_key=transport.api_key, transport=transport
        ) as client:
            with pytest.raises(RejectedError) as info:
                await client.upsert(PROFILE)
            return info.value

    error = run_virtual(main())
    assert (error.code, error.http_status, error.attempts) == (1010, 200, 3)
    assert transport.core.stats.requests == 3


def test_server_error_after_499s_is_a_server_error() -> None:
    transport = EmulatorTransport(EmulatorConfig(faults=Faults(p499=1.0)))

    async def main() -> ServerError:
        async with CampaignClient(
            "http://127.0.0.1",
            api_key=transport.api_key,
            transport=transport,
            retry=RetryPolicy(attempts=2, initial=0.01),
        ) as client:
            with pytest.raises(ServerError) as info:
                await client.upsert(PROFILE)
            return info.value

    error = run_virtual(main())
    assert (error.code, error.http_status, error.attempts) == (499, 499, 2)
