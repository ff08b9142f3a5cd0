"""The API's enumerations (``upsert``, ``update-link``, ``rel-op``, ``logical-op``), each
member's value its wire spelling, and how a value given by a user is read as one.

A member is found from its wire value or its name, in any case, or from an int (``2`` is
``UpsertMode.UPDATE_ONLY``); `parse_enum` raises an `InvalidRecordError` that names the
field and lists the choices.
"""

from __future__ import annotations

import enum
from typing import TypeVar

from .exceptions import InvalidRecordError

__all__ = ["LogicalOp", "RelOp", "UpdateLink", "UpsertMode", "WireEnum", "parse_enum"]


class WireEnum(str, enum.Enum):
    """A string enum parsed from its wire value, case-insensitively, or from an int."""

    @classmethod
    def _missing_(cls, value: object) -> WireEnum | None:
        if isinstance(value, int) and not isinstance(value, bool):
            value = str(value)
        if isinstance(value, str):
            folded = value.strip().casefold()
            for member in cls:
                if member.value.casefold() == folded or member.name.casefold() == folded:
                    return member
        return None

    def __str__(self) -> str:
        return str(self.value)


class UpsertMode(WireEnum):
    """What the API does when the profile does (not) exist (``upsert``)."""

    CREATE_ONLY = "0"
    CREATE_OR_UPDATE = "1"
    UPDATE_ONLY = "2"


class UpdateLink(WireEnum):
    """What the API does with a linked profile (``update-link``)."""

    IGNORE = "1"
    CREATE_EMPTY = "2"
    FAIL = "3"


class RelOp(WireEnum):
    """Relational operator of a filter condition; sent in the documented spelling."""

    EQUALS = "Equals"
    GREATER_THAN = "GreaterThan"
    GREATER_THAN_EQUALS = "GreaterThanEquals"
    NOT_EQUALS = "NotEquals"
    LESS_THAN = "LessThan"
    LESS_THAN_EQUALS = "LessThanEquals"


class LogicalOp(WireEnum):
    """How a filter condition chains to the next one."""

    AND = "and"
    OR = "or"


_E = TypeVar("_E", bound=WireEnum)


def parse_enum(enum_type: type[_E], value: object, field: str) -> _E:
    """``enum_type(value)``, raising `InvalidRecordError` that lists the choices."""
    if isinstance(value, enum_type):
        return value
    try:
        return enum_type(value)
    except ValueError:
        choices = ", ".join(f"{m.value!r} ({m.name})" for m in enum_type)
        raise InvalidRecordError(field, f"{value!r} is not one of {choices}") from None
