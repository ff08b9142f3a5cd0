"""Per-key order within one bulk run: which records may be sent now, which wait their turn.

Pure bookkeeping, O(1) per record. A record is not sent while an earlier record (in input
order) of the same profile list and key has not ended; a filter record (it may touch any
profile of its list) is a barrier for its list: it waits for every earlier record of the
list to end, and later records of the list wait for it.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Sequence
from typing import Generic, TypeVar

__all__ = ["KeyOrder"]

T = TypeVar("T")

#: Profile lists whose state is kept while idle (a few in any real input).
_IDLE_LANES = 64


class _Lane(Generic[T]):
    """One profile list: its records admitted and not ended, and those behind a barrier."""

    __slots__ = ("barrier", "running", "waiting")

    def __init__(self) -> None:
        self.running = 0  # key records admitted and not ended (sent, ready, or behind their key)
        self.barrier = False  # a filter record of this list is out and not ended
        self.waiting: deque[tuple[T, str | None]] | None = None  # behind a barrier, in order


class KeyOrder(Generic[T]):
    """Admits records in input order per (profile list, key); holds the rest back.

    ``admit(item, lane, key)`` says whether ``item`` may go now (else it is held); when it
    ends, ``done(lane, key)`` returns the held items that may go now, in input order. ``key``
    None marks a filter record (a barrier for its lane). ``held`` counts the items held now,
    ``waited`` every item that was ever held.
    """

    __slots__ = ("_keys", "_lanes", "held", "waited")

    def __init__(self) -> None:
        self._keys: dict[tuple[str, str], deque[T] | None] = {}
        self._lanes: dict[str, _Lane[T]] = {}
        self.held = 0
        self.waited = 0

    def __repr__(self) -> str:
        return f"<KeyOrder held={self.held} waited={self.waited} keys={len(self._keys)}>"

    def admit(self, item: T, lane: str, key: str | None) -> bool:
        """True: send ``item`` now. False: it is held until an earlier record ends."""
        state = self._lanes.get(lane)
        if state is None:
            state = self._lanes[lane] = _Lane()
        elif state.waiting or state.barrier:  # behind a barrier of its list
            if state.waiting is None:
                state.waiting = deque()
            state.waiting.append((item, key))
            self.held += 1
            self.waited += 1
            return False
        if key is None:
            if state.running:  # a barrier waits for the records of its list before it
                state.waiting = deque([(item, key)])
                self.held += 1
                self.waited += 1
                return False
            state.barrier = True
            return True
        state.running += 1  # the usual case, inline: one dict lookup and one store
        slot = (lane, key)
        keys = self._keys
        if slot in keys:
            self._park(slot, item, counted=False)
            return False
        keys[slot] = None
        return True

    def _park(self, slot: tuple[str, str], item: T, *, counted: bool) -> None:
        queue = self._keys[slot]
        if queue is None:
            queue = self._keys[slot] = deque()
        queue.append(item)
        self.held += 1
        if not counted:
            self.waited += 1

    def _admit_key(self, state: _Lane[T], item: T, lane: str, key: str) -> bool:
        """Admit a key record released from behind a barrier (already counted as waited)."""
        state.running += 1
        slot = (lane, key)
        if slot in self._keys:
            self._park(slot, item, counted=True)
            return False
        self._keys[slot] = None
        return True

    def done(self, lane: str, key: str | None) -> Sequence[T]:
        """The record admitted for (``lane``, ``key``) ended: the held items that may go now."""
        state = self._lanes[lane]
        released: Sequence[T] = ()
        if key is None:
            state.barrier = False
        else:
            slot = (lane, key)
            queue = self._keys.pop(slot)
            if queue:  # the next record of this key goes (it is still counted as running)
                released = [queue.popleft()]
                self.held -= 1
                self._keys[slot] = queue if queue else None
            state.running -= 1
        if not state.running and not state.barrier:
            if state.waiting:
                released = list(released)
                self._release_waiting(state, lane, released)
            elif len(self._lanes) > _IDLE_LANES:
                del self._lanes[lane]  # an input of many lists: forget the idle ones
        return released

    def _release_waiting(self, state: _Lane[T], lane: str, released: list[T]) -> None:
        """Let the records behind a barrier go: up to the next barrier, or the barrier itself."""
        waiting = state.waiting
        assert waiting is not None
        while waiting and not state.barrier:
            item, key = waiting[0]
            if key is None:
                if state.running:
                    break  # this barrier waits for the records released before it
                waiting.popleft()
                self.held -= 1
                state.barrier = True
                released.append(item)
                break
            waiting.popleft()
            self.held -= 1
            if self._admit_key(state, item, lane, key):
                released.append(item)
        if not waiting:
            state.waiting = None

    def drain(self) -> list[T]:
        """Every item held now (the run stopped: they will not be sent); forgets them all."""
        items = [item for queue in self._keys.values() if queue for item in queue]
        items += [
            item for state in self._lanes.values() if state.waiting for item, _ in state.waiting
        ]
        self._keys.clear()
        self._lanes.clear()
        self.held = 0
        return items
