"""Per-key order: the pure bookkeeping (tables and a model check), then the engine using it."""

from __future__ import annotations

import asyncio
import itertools
import random
import tracemalloc
from collections import Counter, defaultdict
from collections.abc import Iterator
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from webex_campaign_async import (
    HOLD_PER_WORKER,
    CampaignClient,
    Condition,
    ProfileUpsert,
    RecordResult,
    RecordStatus,
    Response,
)
from webex_campaign_async._order import KeyOrder, Replay

from .fakes import FakeTransport, answer, applied
from .vtime import run_virtual

S = RecordStatus

# --- the bookkeeping, table-driven --------------------------------------------------------------

# Each step: ("admit", item, lane, key, goes now?) or ("done", lane, key, [items released]).
# key None is a filter record: a barrier for its lane.
Step = tuple[Any, ...]
TABLES: dict[str, list[Step]] = {
    "unique keys all go at once": [
        ("admit", 1, "L", "a", True),
        ("admit", 2, "L", "b", True),
        ("admit", 3, "M", "a", True),  # same key, another list: another profile
        ("done", "L", "a", []),
        ("done", "L", "b", []),
        ("done", "M", "a", []),
    ],
    "a repeated key waits for the earlier record, then goes in input order": [
        ("admit", 1, "L", "a", True),
        ("admit", 2, "L", "a", False),
        ("admit", 3, "L", "b", True),
        ("admit", 4, "L", "a", False),
        ("done", "L", "a", [2]),
        ("done", "L", "a", [4]),
        ("done", "L", "b", []),
        ("done", "L", "a", []),
    ],
    "a filter waits for its list's earlier records, later ones wait for it": [
        ("admit", 1, "L", "a", True),
        ("admit", 2, "L", "b", True),
        ("admit", 3, "L", None, False),
        ("admit", 4, "L", "c", False),
        ("admit", 5, "M", "a", True),  # another list is not held back
        ("done", "L", "a", []),
        ("done", "L", "b", [3]),
        ("done", "L", None, [4]),
        ("done", "L", "c", []),
        ("done", "M", "a", []),
    ],
    "a filter on an idle list goes at once": [
        ("admit", 1, "L", None, True),
        ("admit", 2, "L", None, False),
        ("admit", 3, "L", "a", False),
        ("done", "L", None, [2]),
        ("done", "L", None, [3]),
        ("done", "L", "a", []),
    ],
    "records released after a barrier keep their own key order": [
        ("admit", 1, "L", None, True),
        ("admit", 2, "L", "a", False),
        ("admit", 3, "L", "a", False),
        ("admit", 4, "L", "b", False),
        ("done", "L", None, [2, 4]),  # 3 is released to wait behind 2, not to go
        ("done", "L", "a", [3]),
        ("done", "L", "b", []),
        ("done", "L", "a", []),
    ],
    "a barrier behind a barrier waits for the records between them": [
        ("admit", 1, "L", None, True),
        ("admit", 2, "L", "a", False),
        ("admit", 3, "L", None, False),
        ("admit", 4, "L", "b", False),
        ("done", "L", None, [2]),
        ("done", "L", "a", [3]),
        ("done", "L", None, [4]),
        ("done", "L", "b", []),
    ],
}


@pytest.mark.parametrize("steps", TABLES.values(), ids=TABLES.keys())
def test_key_order_table(steps: list[Step]) -> None:
    order: KeyOrder[int] = KeyOrder()
    for step in steps:
        if step[0] == "admit":
            _, item, lane, key, goes = step
            assert order.admit(item, lane, key) is goes, step
        else:
            _, lane, key, released = step
            assert list(order.done(lane, key)) == released, step
    assert order.held == 0
    assert order.drain() == []


def test_held_back_counts_each_held_record_once() -> None:
    order: KeyOrder[int] = KeyOrder()
    order.admit(1, "L", None)
    order.admit(2, "L", "a")
    order.admit(3, "L", "a")  # held behind the barrier, then behind 2
    assert order.held == 2
    order.done("L", None)
    assert order.held == 1
    assert order.held_back == 2


def test_drain_returns_every_held_record_and_forgets_them() -> None:
    order: KeyOrder[int] = KeyOrder()
    for item, key in [(1, "a"), (2, "a"), (3, None), (4, "b")]:
        order.admit(item, "L", key)
    assert sorted(order.drain()) == [2, 3, 4]
    assert order.held == 0
    assert order.admit(5, "L", "a")  # a fresh start


# --- the bookkeeping against a model: any input, any completion order -------------------------

records = st.lists(
    st.tuples(st.sampled_from("LM"), st.sampled_from(["a", "b", "c", None])),
    min_size=1,
    max_size=40,
)


@settings(max_examples=300)
@given(records=records, choices=st.lists(st.integers(min_value=0, max_value=10**6), max_size=200))
def test_key_order_never_overlaps_and_keeps_input_order(
    records: list[tuple[str, str | None]], choices: list[int]
) -> None:
    """Admit the input in order and end sent records in an arbitrary order: per key the
    records go in input order, never two at once; a filter never overlaps its list."""
    order: KeyOrder[int] = KeyOrder()
    sent: list[int] = []  # in the order they went
    out: set[int] = set()  # sent, not ended
    picks = iter(choices)

    def go(index: int) -> None:
        lane, key = records[index]
        for other in out:  # nothing of the same key, and no filter overlap, in flight
            other_lane, other_key = records[other]
            if other_lane == lane:
                assert key is not None
                assert other_key is not None
                assert other_key != key
        sent.append(index)
        out.add(index)

    admitted = 0
    while admitted < len(records) or out:
        pick = next(picks, 0)
        if admitted < len(records) and (not out or pick % 2 == 0):
            lane, key = records[admitted]
            if order.admit(admitted, lane, key):
                go(admitted)
            admitted += 1
        else:
            ended = sorted(out)[pick % len(out)]
            out.remove(ended)
            for released in order.done(*records[ended]):
                go(released)
    assert sorted(sent) == list(range(len(records)))  # everything went, nothing is left
    assert order.held == 0
    position = {index: n for n, index in enumerate(sent)}
    for i in range(len(records)):
        for j in range(i + 1, len(records)):
            (lane_i, key_i), (lane_j, key_j) = records[i], records[j]
            if lane_i == lane_j and (key_i == key_j or key_i is None or key_j is None):
                assert position[i] < position[j], (records, sent)


# --- the engine -------------------------------------------------------------------------------


class KeyWatch(FakeTransport):
    """Records how many requests of each key are in flight at once, and fails the first
    attempt of every third request body (so retries race with later records of the key)."""

    def __init__(self, latency: float = 0.01) -> None:
        super().__init__(self._answer, latency=latency)
        self.in_flight: Counter[str] = Counter()
        self.most_at_once: Counter[str] = Counter()
        self.applied: dict[str, Any] = {}
        self._bodies: set[str] = set()

    def _answer(self, wire: dict[str, Any], attempt: int, headers: Any) -> Response | Exception:
        body = repr(wire)
        if body not in self._bodies and len(self._bodies) % 3 == 0:
            self._bodies.add(body)
            return Response(500, {}, b'{"code": "500", "description": "Internal server error"}')
        self._bodies.add(body)
        key = str(wire.get("key") or "filter")
        self.applied[key] = wire["attributes"][0]["val"]
        return applied()

    async def send(self, url: Any, headers: Any, body: bytes, timeout: float | None) -> Response:
        key = str(__import__("json").loads(body).get("key") or "filter")
        self.in_flight[key] += 1
        self.most_at_once[key] = max(self.most_at_once[key], self.in_flight[key])
        try:
            return await super().send(url, headers, body, timeout)
        finally:
            self.in_flight[key] -= 1


def versions(keys: int, per_key: int, spread: int = 7) -> list[ProfileUpsert]:
    """``per_key`` versions of each key, interleaved a few records apart (version = val)."""
    out = []
    for round_ in range(per_key):
        for k in range(keys):
            key = (k * spread + round_) % keys
            out.append(ProfileUpsert("L", key=f"k{key}", attributes={"v": f"{round_}"}))
    return out


def run(transport: FakeTransport, records: Any, **options: Any) -> tuple[Any, list[RecordResult]]:
    random.seed(4)  # the retry jitter: the same interleaving on every run
    seen: list[RecordResult] = []

    async def main() -> Any:
        client = CampaignClient(
            "http://127.0.0.1:9", api_key="k", transport=transport, max_concurrency=16
        )
        async with client:
            return await client.bulk_upsert(records, on_result=seen.append, **options)

    return run_virtual(main()), seen


def test_records_of_one_key_are_never_in_flight_together_and_the_last_one_wins() -> None:
    transport = KeyWatch()
    report, results = run(transport, versions(keys=50, per_key=4))
    assert report.applied == report.total == 200
    assert max(transport.most_at_once.values()) == 1
    assert all(value == "3" for value in transport.applied.values())  # every key's last version
    assert report.held_back > 0
    by_key: defaultdict[str, list[int]] = defaultdict(list)
    for result in sorted(results, key=lambda r: r.index):
        by_key[str(result.key)].append(result.index)
    ended_at = {r.index: n for n, r in enumerate(results)}
    for indices in by_key.values():  # each key's records ended in input order
        assert [ended_at[i] for i in indices] == sorted(ended_at[i] for i in indices)


def test_unordered_runs_send_one_key_concurrently() -> None:
    transport = KeyWatch()
    report, _ = run(transport, versions(keys=50, per_key=4), ordered=False)
    assert report.applied == 200
    assert report.held_back == 0
    assert max(transport.most_at_once.values()) > 1  # what ordered=True prevents


def test_a_filter_record_is_a_barrier_for_its_list() -> None:
    transport = KeyWatch()
    filt = ProfileUpsert("L", filter=[Condition("tier", val="gold")], attributes={"v": "f"})
    records: list[Any] = [
        ProfileUpsert("L", key=f"k{i}", attributes={"v": f"{i}"}) for i in range(20)
    ]
    records[10:10] = [filt]
    order: list[str] = []

    async def main() -> Any:
        client = CampaignClient("http://127.0.0.1:9", api_key="k", transport=transport)
        async with client:
            return await client.bulk_upsert(records, on_result=lambda r: order.append(str(r.key)))

    report = run_virtual(main())
    assert report.applied == 21
    at = order.index(filt.target)
    assert set(order[:at]) == {f"k{i}" for i in range(10)}  # every earlier record ended first
    assert set(order[at + 1 :]) == {f"k{i}" for i in range(10, 20)}


def test_one_key_a_hundred_thousand_times_runs_one_at_a_time_in_bounded_memory() -> None:
    pulled = ended = most_ahead = 0

    def source() -> Iterator[ProfileUpsert]:
        nonlocal pulled, most_ahead
        for i in range(100_000):
            pulled += 1
            most_ahead = max(most_ahead, pulled - ended)
            yield ProfileUpsert("L", key="same", attributes={"v": str(i)})

    def count(_: RecordResult) -> None:
        nonlocal ended
        ended += 1

    transport = FakeTransport(latency=0.001)

    async def main() -> Any:
        client = CampaignClient(
            "http://127.0.0.1:9", api_key="k", transport=transport, max_concurrency=8
        )
        async with client:
            return await client.bulk_upsert(source(), on_result=count)

    report = run_virtual(main())
    assert report.applied == 100_000
    assert most_ahead <= HOLD_PER_WORKER * 8 + 8 + 1  # held back + in flight: never the input
    sent_at = [t for t, _ in transport.sent]
    assert all(b - a >= 0.001 for a, b in itertools.pairwise(sent_at))  # one at a time
    assert transport.sent[-1][1]["attributes"][0]["val"] == "99999"


class _Forgetful:
    """Answers APPLIED after 1 ms and keeps nothing (so memory shows the engine's own)."""

    async def send(self, url: Any, headers: Any, body: bytes, timeout: float | None) -> Response:
        await asyncio.sleep(0.001)
        return applied()

    async def aclose(self) -> None:
        pass


def _peak_memory(records: int) -> int:
    """Peak bytes traced while one key's ``records`` records run through the engine."""

    def source() -> Iterator[ProfileUpsert]:
        for i in range(records):
            yield ProfileUpsert("L", key="same", attributes={"v": str(i)})

    async def main() -> Any:
        client = CampaignClient(
            "http://127.0.0.1:9", api_key="k", transport=_Forgetful(), max_concurrency=8
        )
        async with client:
            return await client.bulk_upsert(source())

    tracemalloc.start()
    try:
        report = run_virtual(main())
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert report.applied == records
    return peak


def test_one_key_many_times_holds_memory_flat() -> None:
    """Four times the records of one key, the same peak memory (held back: a bounded few)."""
    small, large = _peak_memory(1_000), _peak_memory(4_000)
    assert large < small * 1.2 + 32_000, (small, large)


@pytest.mark.parametrize("how", ["deadline", "stop", "cancel", "abort"])
def test_held_back_records_end_skipped_when_the_run_ends_early(how: str) -> None:
    """Every record read ends once, the ones held back for their key SKIPPED."""
    records = [ProfileUpsert("L", key="same", attributes={"v": str(i)}) for i in range(100)]
    seen: list[RecordResult] = []

    def denied_from_the_eleventh(wire: Any, attempt: int, headers: Any) -> Response:
        if how == "abort" and int(wire["attributes"][0]["val"]) >= 10:
            return answer(401, "430", "Authorization failed.")  # stops the run, like a stop()
        return applied()

    async def main() -> Any:
        client = CampaignClient(
            "http://127.0.0.1:9", api_key="k",
            transport=FakeTransport(denied_from_the_eleventh, latency=0.1), max_concurrency=4,
        )  # fmt: skip
        async with client:
            run = client.stream_upsert(
                records, on_result=seen.append, deadline=1.05 if how == "deadline" else None
            )
            if how in ("deadline", "abort"):
                return await run.complete()
            task = asyncio.ensure_future(run.complete())
            await asyncio.sleep(1.05)
            if how == "stop":
                run.stop()
                return await task
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)
            return run.report()

    report = run_virtual(main())
    assert report.total == len(seen) == sum(report.counts.values())
    assert sorted(r.index for r in seen) == list(range(report.total))
    assert report.applied in (10, 11)  # one at a time, 0.1 s each
    assert report.skipped == report.total - report.applied - report.failed
    assert report.failed == (1 if how == "abort" else 0)  # the 430, and nothing else
    assert report.total > report.applied  # the held-back ones were read and reported
    assert report.held_back > 0


def test_leaving_the_loop_while_held_back_records_are_handed_out_loses_none() -> None:
    """The held-back records end SKIPPED after a stop; a caller that leaves the loop while
    they are handed to it still finds every record read in the report."""
    seen: list[RecordResult] = []
    read = 0

    def records() -> Iterator[ProfileUpsert]:
        nonlocal read
        for i in range(50):
            read += 1
            yield ProfileUpsert("L", key="same", attributes={"v": str(i)})

    async def main() -> tuple[Any, int]:
        client = CampaignClient(
            "http://127.0.0.1:9", api_key="k", transport=FakeTransport(latency=0.01)
        )
        async with client:
            run = client.stream_upsert(records(), concurrency=2, on_result=seen.append)
            async for result in run:
                if result.status is S.APPLIED:
                    run.stop()
                if result.status is S.SKIPPED:
                    break
            for _ in range(20):
                await asyncio.sleep(0)
            others = [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]
            return run.report(), len(others)

    report, leftover_tasks = run_virtual(main())
    assert report.total == read == len(seen) == sum(report.counts.values())
    assert read > 4  # records were held back when the loop was left
    assert sorted(r.index for r in seen) == list(range(report.total))
    assert report.skipped == report.total - report.applied
    assert leftover_tasks == 0


@pytest.mark.parametrize(
    ("marked", "record", "follows"),
    [
        ([], ("p", "k"), False),
        ([("p", "k")], ("p", "k"), True),  # a later record of the same key
        ([("p", "k")], ("p", "k2"), False),  # another key of the list
        ([("p", "k")], ("q", "k"), False),  # the same key in another list
        ([("p", "k")], ("p", None), True),  # a filter record may touch the key's profile
        ([("q", "k")], ("p", None), False),  # ... of its own list only
        ([("p", None)], ("p", "any"), True),  # after a filter record: every record of its list
        ([("p", None)], ("p", None), True),
        ([("p", None)], ("q", "k"), False),
    ],
)
def test_replay_says_which_later_records_follow_one_that_did_not_apply(
    marked: list[tuple[str, str | None]], record: tuple[str, str | None], follows: bool
) -> None:
    replay = Replay()
    for lane, key in marked:
        replay.mark(lane, key)
    assert bool(replay) is bool(marked)
    assert replay.follows(*record) is follows
