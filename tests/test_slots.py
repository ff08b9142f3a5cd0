"""The client's concurrency bound: a free slot is taken without waiting, a full pool queues."""

from __future__ import annotations

import asyncio

import pytest

from webex_campaign_async._slots import Slots

from .vtime import run_virtual


def test_free_slots_are_taken_without_waiting() -> None:
    slots = Slots(2)
    assert slots.try_take()
    assert slots.try_take()
    assert not slots.try_take()
    assert slots.free == 0
    slots.give()
    assert slots.free == 1
    assert "free=1" in repr(slots)


def test_never_more_holders_than_slots_and_first_come_first_served() -> None:
    async def main() -> tuple[int, list[int]]:
        slots = Slots(3)
        holding = peak = 0
        order: list[int] = []

        async def user(n: int) -> None:
            nonlocal holding, peak
            await slots.take()
            order.append(n)
            holding += 1
            peak = max(peak, holding)
            await asyncio.sleep(0.01)
            holding -= 1
            slots.give()

        await asyncio.gather(*(user(n) for n in range(20)))
        assert slots.free == 3
        return peak, order

    peak, order = run_virtual(main())
    assert peak == 3
    assert order == list(range(20))


async def held_with_waiters(n: int) -> tuple[Slots, list[asyncio.Future[None]]]:
    """A pool of one slot, held, and ``n`` waiters in line for it."""
    slots = Slots(1)
    assert slots.try_take()
    waiters = [asyncio.ensure_future(slots.take()) for _ in range(n)]
    await asyncio.sleep(0)
    return slots, waiters


def test_a_waiter_cancelled_before_its_turn_does_not_block_the_pool() -> None:
    async def main() -> None:
        slots, (waiter,) = await held_with_waiters(1)
        waiter.cancel()
        with pytest.raises(asyncio.CancelledError):
            await waiter
        slots.give()
        assert slots.free == 1
        assert slots.try_take()  # no stale waiter in line

    run_virtual(main())


def test_a_slot_handed_to_a_waiter_cancelled_at_that_moment_is_passed_on() -> None:
    async def main() -> None:
        slots, (first, second) = await held_with_waiters(2)
        slots.give()  # handed to ``first``...
        first.cancel()  # ...which is cancelled before it runs again
        with pytest.raises(asyncio.CancelledError):
            await first
        await asyncio.wait_for(second, 1)  # the slot went on to ``second``
        slots.give()
        assert slots.free == 1

    run_virtual(main())


def test_a_stale_waiter_already_skipped_is_not_removed_twice() -> None:
    async def main() -> None:
        slots, (waiter,) = await held_with_waiters(1)
        waiter.cancel()
        slots.give()  # skips the cancelled waiter before it ran its clean-up
        with pytest.raises(asyncio.CancelledError):
            await waiter
        assert slots.free == 1

    run_virtual(main())
