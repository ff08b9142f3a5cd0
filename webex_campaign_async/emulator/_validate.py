"""Request bodies checked against the vendor's page, by the emulator's own code (pure).

Written from the page's request table and example, never from the library's parser, so
the emulator can catch what the library gets wrong. Strict (the default) reads the page
literally; where the page is ambiguous the choice is listed here and in the README:

- Every field the page types String is a JSON string: ``profile-name``, ``key``,
  ``upsert``, ``update-link``, and in the items ``attribute-name``, ``attribute-id``,
  ``rel-op``, ``val``, ``logical-op``. A number or a boolean (``"upsert": 2``,
  ``"val": 30``) is refused, so is ``null`` for any field (a null ``profile-name`` counts
  as missing).
- ``attributes`` and ``filter`` are arrays of objects, as the page's example shows them
  (its type column says "String"). ``attributes`` is required and not empty; ``filter``,
  when given, is not empty.
- Either ``key`` or ``filter``, not both (the page: "Either 'key', or 'filter' is
  mandatory"); a key is not blank.
- Enums in the page's spellings: ``upsert`` "0", "1", "2"; ``update-link`` "1", "2", "3";
  ``logical-op`` "and", "or"; ``rel-op`` as the table writes it (``Equals``,
  ``GreaterThan``, ``GreaterThanEquals``, ``NotEquals``, ``LessThan``,
  ``LessThanEquals``) or all in lower case, as the page's own example writes ``"equals"``.
  Anything else (``GREATERTHAN``, ``greater_than``, ``Like``) is refused.
- An item names its attribute by ``attribute-name`` or ``attribute-id`` (the page: "At
  least one parameter is mandatory"); with both, the name is used. ``attribute-id`` (shown
  only in the filter's description) is accepted in ``attributes`` too. Only a condition's
  ``attribute-name`` may be empty (the page's example: it addresses the profile key).
- A condition has ``rel-op`` and ``val``; its ``logical-op`` joins it to the next one, so
  it is required on every condition but the last ("Conditionally Mandatory").
- ``exparam`` (typed String, "up to 10 extra parameters", shape not shown): a string as it
  is, or an object of at most 10 members, names not empty, values strings.
- Unknown fields are refused, at the top and in the items (``profile-id`` included: the
  page's failure table mentions a "ProfileID", its request table has no such field).
- The request needs ``Content-Type: application/json`` (parameters such as ``charset``
  allowed), as the page's header table says.

Every refusal names the field: `InvalidRequest` (HTTP 200, code 1001, "Invalid input
JSON - <field>: <reason>"); a missing or empty ``profile-name`` gets the page's own 1001
text. ``strict=False`` (for experiments, never the library's tests) also takes numbers and
booleans where the page says String (``30`` is read as ``"30"``, ``true`` as ``"true"``),
enums in any case and any ``Content-Type``; structure and unknown fields are checked
either way.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any, NamedTuple

__all__ = [
    "MISSING_NAME",
    "InvalidRequest",
    "UpsertRequest",
    "WireCondition",
    "content_type_error",
    "validate",
]

#: The page's 1001 text for a request without a profile name (its stray quote left out).
MISSING_NAME = "Invalid input JSON - One of 'ProfileID' or 'ProfileName' parameter is mandatory. "

_FIELDS = frozenset(
    {"profile-name", "key", "filter", "attributes", "upsert", "update-link", "exparam"}
)
_ATTRIBUTE_FIELDS = frozenset({"attribute-name", "attribute-id", "val"})
_CONDITION_FIELDS = frozenset({"attribute-name", "attribute-id", "rel-op", "val", "logical-op"})
_TABLE_REL_OPS = (
    "Equals",
    "GreaterThan",
    "GreaterThanEquals",
    "NotEquals",
    "LessThan",
    "LessThanEquals",
)
#: The table's spelling and the example's lower case, each to the table's spelling.
_REL_OPS = {**{op: op for op in _TABLE_REL_OPS}, **{op.lower(): op for op in _TABLE_REL_OPS}}
_LOWER_REL_OPS = {op.lower(): op for op in _TABLE_REL_OPS}
_LOGICAL_OPS = frozenset({"and", "or"})
_UPSERT = frozenset({"0", "1", "2"})
_UPDATE_LINK = frozenset({"1", "2", "3"})
MAX_EXPARAM = 10


class InvalidRequest(Exception):
    """A request the API refuses with HTTP 200, code 1001 and ``description``."""

    def __init__(self, description: str) -> None:
        super().__init__(description)
        self.description = description


class WireCondition(NamedTuple):
    """One condition: ``label`` "" is the profile key, ``id:<id>`` an attribute by id."""

    label: str
    rel_op: str  #: the table's spelling
    val: str
    logical_op: str  #: "and" or "or"


class UpsertRequest(NamedTuple):
    """A valid request, as the emulator reads it. Values are strings."""

    profile_name: str
    key: str | None
    filter: tuple[WireCondition, ...] | None
    attributes: dict[str, str]  #: label (name, or ``id:<id>``) -> value
    upsert: str  #: "0", "1" or "2"
    update_link: str  #: "1", "2" or "3"
    exparam: dict[str, str] | str | None


def _invalid(field: str, reason: str) -> InvalidRequest:
    return InvalidRequest(f"Invalid input JSON - {field}: {reason}")


def _kind(value: object) -> str:
    if value is None:
        return "null"
    if value is True or value is False:
        return "a boolean"
    if isinstance(value, (int, float)):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list):
        return "an array"
    if isinstance(value, dict):
        return "an object"
    return type(value).__name__  # pragma: no cover - JSON has no other types


def _lenient_text(value: object) -> str | None:
    """A number or boolean as the text a lenient server would read; None otherwise."""
    if value is True or value is False:
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float) and math.isfinite(value):
        return repr(value)
    return None


def _string(value: object, field: str, strict: bool) -> str:
    if type(value) is str:
        return value
    if not strict:
        text = _lenient_text(value)
        if text is not None:
            return text
    raise _invalid(field, f"expected a string, not {_kind(value)}")


def _choice(value: object, field: str, choices: frozenset[str], strict: bool) -> str:
    text = _string(value, field, strict)
    if text in choices:
        return text
    if not strict and text.strip() in choices:
        return text.strip()
    if not strict and text.strip().lower() in choices:
        return text.strip().lower()
    shown = ", ".join(f'"{c}"' for c in sorted(choices))
    raise _invalid(field, f"{value!r} is not one of {shown}")


def _rel_op(value: object, field: str, strict: bool) -> str:
    text = _string(value, field, strict)
    op = _REL_OPS.get(text)
    if op is None and not strict:
        op = _LOWER_REL_OPS.get(text.strip().lower())
    if op is None:
        raise _invalid(
            field, f"{text!r} is not one of {', '.join(_TABLE_REL_OPS)} (or the same in lower case)"
        )
    return op


def _unknown(item: Mapping[str, Any], allowed: frozenset[str], field: str) -> None:
    for name in item:
        if name not in allowed:
            unknown = sorted(repr(n) for n in item if n not in allowed)
            where = f"{field}: " if field else ""
            raise InvalidRequest(
                f"Invalid input JSON - {where}unknown field(s) {', '.join(unknown)}; "
                f"the page documents {', '.join(sorted(allowed))}"
            )


def _label(item: Mapping[str, Any], path: str, strict: bool, *, empty_name: bool) -> str:
    name = item.get("attribute-name")
    if name is not None or "attribute-name" in item:
        text = _string(name, path + ".attribute-name", strict)
        if not text.strip() and not (empty_name and text == ""):
            raise _invalid(path + ".attribute-name", "must not be empty")
        return text
    if "attribute-id" not in item:
        raise _invalid(path, "give attribute-name or attribute-id")
    ident = _string(item["attribute-id"], path + ".attribute-id", strict)
    if not ident.strip():
        raise _invalid(path + ".attribute-id", "must not be empty")
    return "id:" + ident


def _items(body: Mapping[str, Any], name: str) -> list[Any]:
    value = body[name]
    if type(value) is not list:
        raise _invalid(name, f"expected an array of objects, not {_kind(value)}")
    if not value:
        raise _invalid(name, "must not be empty")
    return value


def _attributes(body: Mapping[str, Any], strict: bool) -> dict[str, str]:
    if "attributes" not in body:
        raise _invalid("attributes", "is required")
    values: dict[str, str] = {}
    for i, item in enumerate(_items(body, "attributes")):
        if type(item) is not dict:
            raise _invalid(f"attributes[{i}]", f"expected an object, not {_kind(item)}")
        if len(item) > 2 or "val" not in item:
            path = f"attributes[{i}]"
            _unknown(item, _ATTRIBUTE_FIELDS, path)
            if "val" not in item:
                raise _invalid(path + ".val", "is required")
        # the usual item, {"attribute-name": str, "val": str}, without building a path
        name = item.get("attribute-name")
        val = item["val"]
        if type(name) is str and type(val) is str and name.strip():
            values[name] = val
            continue
        path = f"attributes[{i}]"
        _unknown(item, _ATTRIBUTE_FIELDS, path)
        values[_label(item, path, strict, empty_name=False)] = _string(val, path + ".val", strict)
    return values


def _filter(body: Mapping[str, Any], strict: bool) -> tuple[WireCondition, ...]:
    items = _items(body, "filter")
    last = len(items) - 1
    conditions = []
    for i, item in enumerate(items):
        path = f"filter[{i}]"
        if type(item) is not dict:
            raise _invalid(path, f"expected an object, not {_kind(item)}")
        _unknown(item, _CONDITION_FIELDS, path)
        label = _label(item, path, strict, empty_name=True)
        if "rel-op" not in item:
            raise _invalid(path + ".rel-op", "is required")
        rel_op = _rel_op(item["rel-op"], path + ".rel-op", strict)
        if "val" not in item:
            raise _invalid(path + ".val", "is required")
        val = _string(item["val"], path + ".val", strict)
        if "logical-op" in item:
            logical = _choice(item["logical-op"], path + ".logical-op", _LOGICAL_OPS, strict)
        elif i < last:
            raise _invalid(path + ".logical-op", "is required when another condition follows")
        else:
            logical = "and"
        conditions.append(WireCondition(label, rel_op, val, logical))
    return tuple(conditions)


def _exparam(value: object, strict: bool) -> dict[str, str] | str:
    if type(value) is str:
        return value
    if type(value) is not dict:
        raise _invalid("exparam", f"expected a string or an object, not {_kind(value)}")
    if len(value) > MAX_EXPARAM:
        raise _invalid("exparam", f"at most {MAX_EXPARAM} parameters, not {len(value)}")
    params = {}
    for name, item in value.items():
        if not name:
            raise _invalid("exparam", "names must not be empty")
        params[name] = _string(item, f"exparam.{name}", strict)
    return params


def validate(obj: Any, *, strict: bool = True) -> UpsertRequest:
    """The request ``obj`` (parsed JSON) asks for, or raise `InvalidRequest` naming the field."""
    if type(obj) is not dict:
        raise InvalidRequest(f"Invalid input JSON - expected a JSON object, not {_kind(obj)}")
    name = obj.get("profile-name")
    if name is None or (type(name) is str and not name.strip()):
        raise InvalidRequest(MISSING_NAME)
    profile_name = _string(name, "profile-name", strict)
    _unknown(obj, _FIELDS, "")
    key: str | None = None
    conditions: tuple[WireCondition, ...] | None = None
    if "key" in obj:
        if "filter" in obj:
            raise _invalid("key", "give key or filter, not both")
        key = _string(obj["key"], "key", strict)
        if not key.strip():
            raise _invalid("key", "must not be empty")
    elif "filter" in obj:
        conditions = _filter(obj, strict)
    else:
        raise _invalid("key", "give key or filter (one of them is mandatory)")
    attributes = _attributes(obj, strict)
    upsert = obj.get("upsert", "1")
    if type(upsert) is not str or upsert not in _UPSERT:
        upsert = _choice(upsert, "upsert", _UPSERT, strict)
    update_link = obj.get("update-link", "2")
    if type(update_link) is not str or update_link not in _UPDATE_LINK:
        update_link = _choice(update_link, "update-link", _UPDATE_LINK, strict)
    exparam = _exparam(obj["exparam"], strict) if "exparam" in obj else None
    return UpsertRequest(profile_name, key, conditions, attributes, upsert, update_link, exparam)


def content_type_error(value: str | None) -> str | None:
    """None when ``value`` is ``application/json`` (with any parameters), else the reason."""
    if value is not None and value.partition(";")[0].strip().lower() == "application/json":
        return None
    got = "missing" if value is None else f"not {value!r}"
    return f"Invalid input JSON - Content-Type: expected application/json, {got}"
