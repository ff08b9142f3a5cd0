"""The one converter between models and the API's JSON: the only place that knows the wire names.

Request bodies (model -> wire) are built by hand-written hooks registered on the converter,
because one runs per record; the small response and error bodies use cattrs-generated
functions. Requests structured back from JSON (input files, the emulator) go through strict
hand-written hooks, because user input must fail loudly, naming the field, where cattrs
would coerce (``None`` to ``"None"``) or report Python names.
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal
from typing import Any, TypeVar

import cattrs
from cattrs.gen import make_dict_unstructure_fn, override

from ._codec import dumps
from ._enums import LogicalOp, RelOp, UpdateLink, UpsertMode, WireEnum, parse_enum
from ._models import Attribute, Condition, ErrorBody, ProfileUpsert, Scalar, UpsertResponse
from .exceptions import InvalidRecordError

__all__ = [
    "as_profile",
    "converter",
    "encode_profile",
    "error_from_wire",
    "profile_from_wire",
    "profile_to_wire",
    "response_from_wire",
    "wire_text",
]

_E = TypeVar("_E", bound=WireEnum)


converter = cattrs.Converter(unstruct_collection_overrides={tuple: list})
"""The converter: ``converter.unstructure(profile)`` is the wire dict, and
``converter.structure(obj, ProfileUpsert)`` reads one back (raising `InvalidRecordError`)."""

# --- model -> wire ----------------------------------------------------------------------


def wire_text(value: Scalar) -> str:
    """The JSON string sent for a ``val`` (or an ``exparam`` value): the page types it String.

    A str as it is; a bool as ``"true"``/``"false"``; an int in decimal (``str(int)``); a
    float as Python's shortest repr that reads back as the same float, written without an
    exponent and always with a decimal point (``0.5`` -> ``"0.5"``, ``30.0`` -> ``"30.0"``,
    ``1e16`` -> ``"10000000000000000.0"``, ``1.5e-07`` -> ``"0.00000015"``). Models hold
    plain scalars (`check_scalar`), so the type tests are exact.
    """
    kind = type(value)
    if kind is str:
        return value  # type: ignore[return-value]
    if kind is bool:
        return "true" if value else "false"
    if kind is int:
        return str(value)
    text = repr(value)
    if "e" in text:  # 1e+16, 1.5e-07: the same digits, positional
        text = format(Decimal(text), "f")
        if "." not in text:
            text += ".0"
    return text


# Written by hand: the name (or id) comes first, as in the vendor's example, and the
# request body is built once per record. Every value is a JSON string, as the page types it.
def _attribute_to_wire(attribute: Attribute) -> dict[str, Any]:
    val = attribute.val
    text = val if type(val) is str else wire_text(val)
    if attribute.name is not None:
        return {"attribute-name": attribute.name, "val": text}
    return {"attribute-id": attribute.id, "val": text}


def _condition_to_wire(condition: Condition) -> dict[str, Any]:
    head: dict[str, Any] = (
        {"attribute-name": condition.name}
        if condition.name is not None
        else {"attribute-id": condition.id}
    )
    head["rel-op"] = condition.rel_op.value
    head["val"] = wire_text(condition.val)
    head["logical-op"] = condition.logical_op.value
    return head


def profile_to_wire(profile: ProfileUpsert) -> dict[str, Any]:
    """The wire dict of a profile upsert (JSON-ready), keys in the vendor example's order.

    Written by hand because it runs once per record: the attributes are built inline
    (the same dicts as `_attribute_to_wire`), optional members only when set. Values are
    JSON strings (`wire_text`), so `profile_from_wire` of the result holds strings where
    the model may have held numbers; the wire itself round-trips unchanged.
    """
    wire: dict[str, Any] = {
        "profile-name": profile.profile_name,
        "upsert": profile.upsert,
        "attributes": [
            {"attribute-name": a.name, "val": a.val}
            if a.name is not None and type(a.val) is str
            else _attribute_to_wire(a)
            for a in profile.attributes
        ],
    }
    if profile.key is not None:
        wire["key"] = profile.key
    if profile.filter is not None:
        wire["filter"] = [_condition_to_wire(c) for c in profile.filter]
    if profile.update_link is not None:
        wire["update-link"] = profile.update_link
    exparam = profile.exparam
    if isinstance(exparam, str):
        wire["exparam"] = exparam
    elif exparam is not None:
        wire["exparam"] = {name: wire_text(val) for name, val in exparam.items()}
    return wire


converter.register_unstructure_hook(Attribute, _attribute_to_wire)
converter.register_unstructure_hook(Condition, _condition_to_wire)
converter.register_unstructure_hook(ProfileUpsert, profile_to_wire)


def encode_profile(profile: ProfileUpsert) -> bytes:
    """The exact request body for one profile upsert."""
    return dumps(profile_to_wire(profile))


def as_profile(record: ProfileUpsert | Mapping[str, Any]) -> ProfileUpsert:
    """A `ProfileUpsert` from itself or from its wire JSON object (raises InvalidRecordError)."""
    if isinstance(record, ProfileUpsert):
        return record
    return profile_from_wire(record)


# --- API responses -> models (lenient: the server's numbers may come as strings) ------------


def response_from_wire(obj: Mapping[str, Any]) -> UpsertResponse:
    """A success body as a typed value; numbers may come as strings (``"2"``)."""
    count = obj["update-count"]
    if type(count) is not int:
        if isinstance(count, bool) or not isinstance(count, (int, str)):
            raise ValueError(f"update-count is not a number: {count!r}")
        count = int(count)
    transaction_id = obj.get("transaction-id")
    if transaction_id is not None and type(transaction_id) is not str:
        transaction_id = str(transaction_id)
    return UpsertResponse(count, transaction_id)


converter.register_structure_hook(UpsertResponse, lambda obj, _: response_from_wire(obj))


def error_from_wire(obj: Mapping[str, Any]) -> ErrorBody:
    """A failure body as a typed value; the code as sent (number or string), as text."""
    description = obj.get("description")
    transaction_id = obj.get("transaction-id")
    return ErrorBody(
        str(obj["code"]),
        "" if description is None else str(description),
        None if transaction_id is None else str(transaction_id),
    )


converter.register_structure_hook(ErrorBody, lambda obj, _: error_from_wire(obj))
converter.register_unstructure_hook(
    UpsertResponse,
    make_dict_unstructure_fn(
        UpsertResponse,
        converter,
        update_count=override(rename="update-count"),
        transaction_id=override(rename="transaction-id"),
    ),
)
converter.register_unstructure_hook(
    ErrorBody,
    make_dict_unstructure_fn(
        ErrorBody,
        converter,
        _cattrs_omit_if_default=True,
        transaction_id=override(rename="transaction-id"),
    ),
)

# --- wire -> models (strict: requests from files and in the emulator) ----------------------

_PROFILE_KEYS = frozenset(
    {"profile-name", "key", "filter", "attributes", "upsert", "update-link", "exparam"}
)
_ATTRIBUTE_KEYS = frozenset({"attribute-name", "attribute-id", "val"})
_CONDITION_KEYS = frozenset({"attribute-name", "attribute-id", "rel-op", "val", "logical-op"})


def _object(obj: object, field: str, allowed: frozenset[str]) -> Mapping[str, Any]:
    if not isinstance(obj, Mapping):
        raise InvalidRecordError(field, f"expected a JSON object, not {_json_type(obj)}")
    unknown = [k for k in obj if k not in allowed]
    if unknown:
        names = ", ".join(sorted(map(repr, map(str, unknown))))
        raise InvalidRecordError(
            field, f"unknown field(s) {names}; expected some of {', '.join(sorted(allowed))}"
        )
    return obj


def _json_type(obj: object) -> str:
    names = {dict: "an object", list: "an array", str: "a string", bool: "a boolean"}
    if obj is None:
        return "null"
    if isinstance(obj, (int, float)) and not isinstance(obj, bool):
        return "a number"
    return names.get(type(obj), type(obj).__name__)


def _string(obj: Mapping[str, Any], name: str, path: str, *, required: bool) -> str | None:
    value = obj.get(name)
    if value is None:
        if required:
            raise InvalidRecordError(path + name, "is required")
        return None
    if not isinstance(value, str):
        raise InvalidRecordError(path + name, f"expected a string, not {_json_type(value)}")
    return value


def _enum(enum_type: type[_E], obj: Mapping[str, Any], name: str, path: str) -> _E | None:
    value = obj.get(name)
    if value is None:
        return None
    try:
        return parse_enum(enum_type, value, path + name)
    except InvalidRecordError as exc:  # wire names, without the Python member names
        choices = ", ".join(repr(m.value) for m in enum_type)
        raise InvalidRecordError(exc.field, f"{value!r} is not one of {choices}") from None


def _list(obj: Mapping[str, Any], name: str) -> list[Any] | None:
    value = obj.get(name)
    if value is not None and not isinstance(value, list):
        raise InvalidRecordError(name, f"expected an array, not {_json_type(value)}")
    return value


def _has(obj: Mapping[str, Any], name: str, path: str) -> Any:
    if name not in obj:
        raise InvalidRecordError(path + name, "is required")
    return obj[name]


def _attribute(obj: object, path: str) -> Attribute:
    item = _object(obj, path, _ATTRIBUTE_KEYS)
    name = _string(item, "attribute-name", path + ".", required=False)
    id_ = _string(item, "attribute-id", path + ".", required=False)
    val = _has(item, "val", path + ".")
    try:
        return Attribute(name, id=id_, val=val)
    except InvalidRecordError as exc:
        raise exc.within(path) from None


def _condition(obj: object, path: str) -> Condition:
    item = _object(obj, path, _CONDITION_KEYS)
    here = path + "."
    name = _string(item, "attribute-name", here, required=False)
    id_ = _string(item, "attribute-id", here, required=False)
    rel_op = _enum(RelOp, item, "rel-op", here)
    if rel_op is None:
        raise InvalidRecordError(here + "rel-op", "is required")
    val = _has(item, "val", here)
    logical_op = _enum(LogicalOp, item, "logical-op", here) or LogicalOp.AND
    try:
        return Condition(name, id=id_, rel_op=rel_op, val=val, logical_op=logical_op)
    except InvalidRecordError as exc:
        raise exc.within(path) from None


def profile_from_wire(obj: object) -> ProfileUpsert:
    """Read one profile upsert from its wire JSON (a parsed object), strictly.

    Raises `InvalidRecordError` naming the field with its wire name and path
    (``attributes[2].val``) for anything the API would not accept.
    """
    body = _object(obj, "", _PROFILE_KEYS)
    profile_name = _string(body, "profile-name", "", required=True)
    key = body.get("key")
    if key is not None and (not isinstance(key, str) and type(key) is not int):
        raise InvalidRecordError("key", f"expected a string, not {_json_type(key)}")
    attributes_in = _list(body, "attributes")
    if attributes_in is None:
        raise InvalidRecordError("attributes", "is required")
    attributes = [_attribute(a, f"attributes[{i}]") for i, a in enumerate(attributes_in)]
    filter_in = _list(body, "filter")
    conditions = (
        None
        if filter_in is None
        else [_condition(c, f"filter[{i}]") for i, c in enumerate(filter_in)]
    )
    upsert = _enum(UpsertMode, body, "upsert", "") or UpsertMode.CREATE_OR_UPDATE
    update_link = _enum(UpdateLink, body, "update-link", "")
    exparam = body.get("exparam")
    if exparam is not None and not isinstance(exparam, (Mapping, str)):
        raise InvalidRecordError(
            "exparam", f"expected an object or a string, not {_json_type(exparam)}"
        )
    try:
        return ProfileUpsert(
            profile_name,  # type: ignore[arg-type]  # checked by _string(required=True)
            key=key,
            attributes=attributes,
            filter=conditions,
            upsert=upsert,
            update_link=update_link,
            exparam=exparam,
        )
    except InvalidRecordError as exc:
        if exc.field == "profile_name":
            raise InvalidRecordError("profile-name", exc.reason) from None
        raise exc.with_traceback(None) from None


converter.register_structure_hook(ProfileUpsert, lambda obj, _: profile_from_wire(obj))
converter.register_structure_hook(Attribute, lambda obj, _: _attribute(obj, "attribute"))
converter.register_structure_hook(Condition, lambda obj, _: _condition(obj, "condition"))
