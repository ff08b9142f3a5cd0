"""Per-key order within one bulk run: which records may be sent now, which wait their turn.

Pure bookkeeping, O(1) per record. A record is not sent while an earlier record (in input
order) of the same profile list and key has not ended; a filter record (it may touch any
profile of its list) is a barrier for its list: it waits for every earlier record of the
list to end, and later records of the list wait for it.

The usual record (a key, in a list no filter record is pending for) costs one dictionary
lookup and one store to admit, and one pop to end. A list gets its own count of records out
only while a barrier of it is pending or running (counted from the keys when it comes).
"""

from __future__ import annotations

from collections import deque
from collections.abc import Sequence
from typing import Generic, TypeVar

__all__ = ["KeyOrder", "Replay"]

T = TypeVar("T")

_NONE: tuple[()] = ()


class _Lane(Generic[T]):
    """A list with a barrier pending or running: its key records out, and those behind."""

    __slots__ = ("barrier", "running", "waiting")

    def __init__(self, running: int) -> None:
        self.running = running  # key records admitted, not ended (sent, ready, or parked)
        self.barrier = False  # a filter record of this list is out and not ended
        self.waiting: deque[tuple[T, str | None]] = deque()  # behind a barrier, in order


class KeyOrder(Generic[T]):
    """Admits records in input order per (profile list, key); holds the rest back.

    ``admit(item, lane, key)`` says whether ``item`` may go now (else it is held); when it
    ends, ``done(lane, key)`` returns the held items that may go now, in input order. ``key``
    None marks a filter record (a barrier for its lane). ``held`` counts the items held now,
    ``held_back`` every item that was ever held.
    """

    __slots__ = ("_barred", "_keys", "held", "held_back")

    def __init__(self) -> None:
        # (list, key) of every key record out -> the later records of that key, parked
        self._keys: dict[tuple[str, str], deque[T] | None] = {}
        self._barred: dict[str, _Lane[T]] = {}  # lists with a barrier pending or running
        self.held = 0
        self.held_back = 0

    def __repr__(self) -> str:
        return f"<KeyOrder held={self.held} held_back={self.held_back} keys={len(self._keys)}>"

    def admit(self, item: T, lane: str, key: str | None) -> bool:
        """True: send ``item`` now. False: it is held until an earlier record ends."""
        if key is None or (self._barred and lane in self._barred):
            return self._admit_barred(item, lane, key)
        slot = (lane, key)
        keys = self._keys
        if slot in keys:
            self._park(slot, item)
            self.held_back += 1
            return False
        keys[slot] = None
        return True

    def done(self, lane: str, key: str | None) -> Sequence[T]:
        """The record admitted for (``lane``, ``key``) ended: the held items that may go now."""
        if key is None or (self._barred and lane in self._barred):
            return self._done_barred(lane, key)
        slot = (lane, key)
        queue = self._keys.pop(slot)
        if not queue:
            return _NONE
        self.held -= 1  # the next record of this key goes
        released = [queue.popleft()]
        self._keys[slot] = queue if queue else None
        return released

    # --- lists with a barrier ----------------------------------------------------------------

    def _park(self, slot: tuple[str, str], item: T) -> None:
        queue = self._keys[slot]
        if queue is None:
            queue = self._keys[slot] = deque()
        queue.append(item)
        self.held += 1

    def _out(self, lane: str) -> int:
        """Key records of ``lane`` admitted and not ended (a barrier comes: count them)."""
        return sum(1 + (len(q) if q else 0) for (name, _), q in self._keys.items() if name == lane)

    def _admit_barred(self, item: T, lane: str, key: str | None) -> bool:
        state = self._barred.get(lane)
        if state is None:  # the first filter record of an idle-or-busy list
            state = self._barred[lane] = _Lane(self._out(lane))
        if state.waiting or state.barrier or (key is None and state.running):
            state.waiting.append((item, key))  # behind a barrier, or a barrier that waits
            self.held += 1
            self.held_back += 1
            return False
        if key is None:
            state.barrier = True
            return True
        return self._admit_key(state, item, lane, key, waited=False)

    def _admit_key(self, state: _Lane[T], item: T, lane: str, key: str, *, waited: bool) -> bool:
        state.running += 1
        slot = (lane, key)
        if slot in self._keys:
            self._park(slot, item)
            if not waited:
                self.held_back += 1
            return False
        self._keys[slot] = None
        return True

    def _done_barred(self, lane: str, key: str | None) -> Sequence[T]:
        state = self._barred[lane]
        released: list[T] = []
        if key is None:
            state.barrier = False
        else:
            slot = (lane, key)
            queue = self._keys.pop(slot)
            if queue:  # the next record of this key goes (it is still counted as out)
                released.append(queue.popleft())
                self.held -= 1
                self._keys[slot] = queue if queue else None
            state.running -= 1
        if not state.running and not state.barrier:
            self._release_waiting(state, lane, released)
            if not state.barrier and not state.waiting:
                del self._barred[lane]  # back to the usual path (its records counted if need be)
        return released

    def _release_waiting(self, state: _Lane[T], lane: str, released: list[T]) -> None:
        """Let the records behind a barrier go: up to the next barrier, or the barrier itself."""
        waiting = state.waiting
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
            if self._admit_key(state, item, lane, key, waited=True):
                released.append(item)

    def drain(self) -> list[T]:
        """Every item held now (the run stopped: they will not be sent); forgets them all."""
        items = [item for queue in self._keys.values() if queue for item in queue]
        items += [item for state in self._barred.values() for item, _ in state.waiting]
        self._keys.clear()
        self._barred.clear()
        self.held = 0
        return items


class Replay:
    """The profiles a re-run must replay in input order: those with an earlier record that
    did not apply where the input put it (it failed, was rejected or skipped, or is sent again
    by a resumed job).

    Re-running only that record would let it overwrite what a later record of its profile
    applied; so every later record of the profile goes with it, applied or not. A filter
    record may touch any profile of its list: after it, every later record of the list goes
    too, and a filter record goes after any record of its list. Keys are kept only for the
    records `mark`\\ ed (they are few: what did not apply).
    """

    __slots__ = ("_keyed", "_keys", "_lists")

    def __init__(self) -> None:
        self._keys: set[tuple[str, str]] = set()
        self._lists: set[str] = set()  # a filter record of the list was marked
        self._keyed: set[str] = set()  # a key record of the list was marked

    def __bool__(self) -> bool:
        return bool(self._keyed or self._lists)

    def mark(self, lane: str, key: str | None) -> None:
        """A record of ``lane`` (list) and ``key`` (None: a filter record) is replayed."""
        if key is None:
            self._lists.add(lane)
        else:
            self._keys.add((lane, key))
            self._keyed.add(lane)

    def follows(self, lane: str, key: str | None) -> bool:
        """True when an earlier `mark`\\ ed record may touch this record's profile."""
        if not (self._keyed or self._lists):
            return False
        if lane in self._lists:
            return True
        if key is None:
            return lane in self._keyed
        return (lane, key) in self._keys
