"""The emulator's in-memory profile lists and the upsert semantics applied to them (pure).

Choices where the vendor's page is silent (the README repeats them):

- A profile list is a mapping of profile key to attributes. Lists are created on first
  write unless the known lists are declared; then an unknown list is code 3005. A list that
  is the target of a link is always known.
- Values are strings, as the page types ``val`` (a lenient emulator stores a number as its
  JSON text); an attribute addressed by ``attribute-id`` is stored under the name
  ``id:<id>``. An update merges the given attributes into the profile; a create starts
  from them alone.
- Key-based: ``upsert`` "0" creates only (existing key: update-count 0), "1" creates or
  updates, "2" updates only (missing key: update-count 0). update-count is 1 when the
  profile was created or updated, even if no value changed.
- Filter-based: every profile of the list is tested; modes "1" and "2" update every match
  (update-count = profiles updated; a filter never creates); mode "0" updates nothing (0).
  Conditions chain left to right without precedence, each condition's ``logical-op``
  joining it to the NEXT one (``a or b and c`` is ``(a or b) and c``); the last condition's
  logical-op is unused. An empty ``attribute-name`` refers to the profile key (the vendor's
  own example filters on it). A profile without the attribute matches no condition on it,
  NotEquals included.
- Comparison: numeric when both sides read as decimal numbers (``"30"``, ``"30.0"``,
  ``"3e1"`` are equal), else as strings, case-sensitively.
- Links: ``links`` maps a list to its linked list; the linked profile of key k is the
  profile k of the linked list. For each profile written: update-link "1" ignores the link,
  "2" (the default) creates an empty linked profile k when missing, "3" fails the whole
  update with code 1010 (nothing applied) when any linked profile k is missing. Lists
  without a link ignore update-link.
"""

from __future__ import annotations

import operator
import re
from collections.abc import Callable, Iterator, Mapping
from decimal import Decimal
from types import MappingProxyType
from typing import Any

import attrs

from ._validate import UpsertRequest, WireCondition

__all__ = ["ProfileStore", "StoreError", "compare", "matches"]

Row = dict[str, str]


class StoreError(Exception):
    """A business error of the store; ``code`` is the API code ("3005", "1010")."""

    def __init__(self, code: str) -> None:
        super().__init__(code)
        self.code = code


_NUMBER = re.compile(r"\s*[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?\s*")

#: The table's spelling of each rel-op (as `_validate` hands it over) to its comparison.
_OPS: Mapping[str, Callable[[Any, Any], bool]] = MappingProxyType(
    {
        "Equals": operator.eq,
        "NotEquals": operator.ne,
        "GreaterThan": operator.gt,
        "GreaterThanEquals": operator.ge,
        "LessThan": operator.lt,
        "LessThanEquals": operator.le,
    }
)


def _number(value: str) -> Decimal | None:
    return Decimal(value.strip()) if _NUMBER.fullmatch(value) else None


def compare(op: str, left: str, right: str) -> bool:
    """``left op right``: numerically when both read as decimal numbers, else as strings."""
    a, b = _number(left), _number(right)
    if a is not None and b is not None:
        return _OPS[op](a, b)
    return _OPS[op](left, right)


def _attribute(condition: WireCondition, key: str, row: Row) -> str | None:
    label = condition.label
    return key if label == "" else row.get(label)


def matches(conditions: tuple[WireCondition, ...], key: str, row: Row) -> bool:
    """Whether profile ``key`` with attributes ``row`` matches the chained ``conditions``."""
    result: bool | None = None
    join = "and"
    for condition in conditions:
        value = _attribute(condition, key, row)
        hit = value is not None and compare(condition.rel_op, value, condition.val)
        if result is None:
            result = hit
        elif join == "and":
            result = result and hit
        else:
            result = result or hit
        join = condition.logical_op
    return bool(result)


@attrs.define
class ProfileStore:
    """Profile lists in memory: ``{profile-name: {key: {attribute: value}}}``.

    Inspect it with `get`, `profiles`, `count` and `names`; seed it with `put`.
    """

    known: frozenset[str] | None = None
    links: Mapping[str, str] = attrs.field(factory=dict)
    _lists: dict[str, dict[str, Row]] = attrs.field(factory=dict, init=False, repr=False)

    def __attrs_post_init__(self) -> None:
        if self.known is not None:
            self.known = self.known | frozenset(self.links.values())

    # --- inspection --------------------------------------------------------------------

    def get(self, profile_name: str, key: str) -> dict[str, str] | None:
        """A copy of the attributes of profile ``key`` in list ``profile_name``, or None."""
        row = self._lists.get(profile_name, {}).get(key)
        return None if row is None else dict(row)

    def profiles(self, profile_name: str) -> dict[str, dict[str, str]]:
        """A copy of one list: ``{key: {attribute: value}}`` (empty when unknown)."""
        return {key: dict(row) for key, row in self._lists.get(profile_name, {}).items()}

    def count(self, profile_name: str | None = None) -> int:
        """Profiles in one list, or in all lists."""
        if profile_name is not None:
            return len(self._lists.get(profile_name, ()))
        return sum(len(rows) for rows in self._lists.values())

    def names(self) -> list[str]:
        """The lists that hold at least one profile, sorted."""
        return sorted(name for name, rows in self._lists.items() if rows)

    def __iter__(self) -> Iterator[tuple[str, str, dict[str, str]]]:
        """Every profile as (profile-name, key, attributes copy)."""
        for name, rows in list(self._lists.items()):
            for key, row in list(rows.items()):
                yield name, key, dict(row)

    # --- changes -------------------------------------------------------------------------

    def put(self, profile_name: str, key: str, attributes: Mapping[str, str]) -> None:
        """Create or replace one profile (to seed a test), bypassing every rule but one:
        values are strings, as the API's are."""
        for name, value in attributes.items():
            if type(value) is not str:
                raise TypeError(f"attribute {name!r}: values are strings, not {value!r}")
        self._lists.setdefault(profile_name, {})[key] = dict(attributes)

    def clear(self) -> None:
        """Forget every profile."""
        self._lists.clear()

    def is_known(self, profile_name: str) -> bool:
        """Whether requests may address ``profile_name``."""
        return self.known is None or profile_name in self.known

    def _apply(self, request: UpsertRequest) -> int:
        """Apply one upsert `EmulatorCore` validated; return its update-count, or raise
        `StoreError` (nothing applied)."""
        name = request.profile_name
        if not self.is_known(name):
            raise StoreError("3005")
        rows = self._lists.get(name)
        mode = request.upsert
        if request.key is not None:
            key = request.key
            exists = rows is not None and key in rows
            if (mode == "0" and exists) or (mode == "2" and not exists):
                return 0
            targets = [key]
        else:
            conditions = request.filter
            assert conditions is not None
            if mode == "0" or not rows:
                return 0
            targets = [key for key, row in rows.items() if matches(conditions, key, row)]
            if not targets:
                return 0
        linked = self.links.get(name)
        if linked is not None:
            self._follow_link(linked, request.update_link, targets)
        if rows is None:
            rows = self._lists[name] = {}
        values = request.attributes
        for key in targets:
            row = rows.get(key)
            if row is None:
                rows[key] = dict(values)
            else:
                row.update(values)
        return len(targets)

    def _follow_link(self, linked: str, mode: str, keys: list[str]) -> None:
        if mode == "1":  # ignore the link
            return
        rows = self._lists.get(linked, {})
        if mode == "3":  # fail the whole update when a linked profile is missing
            if any(key not in rows for key in keys):
                raise StoreError("1010")
            return
        missing = [key for key in keys if key not in rows]
        if missing:
            rows = self._lists.setdefault(linked, {})
            for key in missing:
                rows[key] = {}
