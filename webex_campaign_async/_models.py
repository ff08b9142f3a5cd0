"""Request and response values of the Create / Update contact profile API, validated at
construction with errors that name the field.

Python names only: ``_convert.py`` maps them to the hyphenated wire names. The enumerations
the models hold are in ``_enums.py``.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Mapping
from types import MappingProxyType

import attrs

from ._enums import LogicalOp, RelOp, UpdateLink, UpsertMode, parse_enum
from .exceptions import InvalidRecordError

#: A value a model accepts for ``val`` (and ``exparam``); the wire carries it as a JSON string
#: (``_convert.wire_text`` says how numbers and booleans are written).
Scalar = str | int | float | bool

MAX_EXPARAM = 10

_INT_MIN, _INT_MAX = -(2**63), 2**63 - 1


_SURROGATE = re.compile("[\ud800-\udfff]")


def check_text(value: str, field: str) -> None:
    """Raise `InvalidRecordError` naming ``field`` if ``value`` holds a lone surrogate (not
    Unicode text: no UTF-8 encoder takes it). ASCII, the usual case, is told in O(1)."""
    if not value.isascii() and (found := _SURROGATE.search(value)) is not None:
        raise InvalidRecordError(
            field,
            f"holds a lone surrogate (U+{ord(found.group()):04X} at character {found.start()}), "
            "which is not Unicode text",
        )


def check_scalar(value: object, field: str) -> Scalar:
    """``value`` as a plain JSON scalar, or raise `InvalidRecordError` naming ``field``.

    Subclasses (a numpy float, an IntEnum, a str enum) come back as the plain type, which
    every JSON encoder takes.
    """
    kind = type(value)
    if kind is bool:
        return value  # type: ignore[return-value]
    if kind is str:
        check_text(value, field)  # type: ignore[arg-type]
        return value  # type: ignore[return-value]
    if isinstance(value, bool):
        return bool(value)
    if isinstance(value, int):
        if not _INT_MIN <= value <= _INT_MAX:
            raise InvalidRecordError(field, "integer out of the 64-bit range: send it as a string")
        return value if kind is int else int(value)
    if isinstance(value, float):
        if not math.isfinite(value):
            raise InvalidRecordError(field, f"value must be a finite number, not {value!r}")
        return value if kind is float else float(value)
    if isinstance(value, str):
        check_text(value, field)
        return str.__str__(value)
    raise InvalidRecordError(
        field, f"value must be a str, int, float or bool, not {type(value).__name__}"
    )


def _plain_val(instance: Attribute | Condition) -> None:
    """Check ``instance.val``; store the plain scalar if it was a subclass."""
    plain = check_scalar(instance.val, "val")
    if plain is not instance.val:
        object.__setattr__(instance, "val", plain)


def _check_name_or_id(name: str | None, id: str | None, *, empty_name: bool) -> None:
    """Exactly one of ``name`` and ``id``, a str; only a condition's name may be empty."""
    if (name is None) == (id is None):
        raise InvalidRecordError("name", "give exactly one of an attribute name or an attribute id")
    given, field = (name, "name") if name is not None else (id, "id")
    if not isinstance(given, str):
        raise InvalidRecordError(field, f"must be a str, not {type(given).__name__}")
    if not given.strip() and not (empty_name and field == "name"):
        raise InvalidRecordError(field, "must not be empty")
    check_text(given, field)


def _rel_op(value: object) -> RelOp:
    return parse_enum(RelOp, value, "rel_op")


def _logical_op(value: object) -> LogicalOp:
    return parse_enum(LogicalOp, value, "logical_op")


def _upsert_mode(value: object) -> UpsertMode:
    return parse_enum(UpsertMode, value, "upsert")


def _update_link(value: object) -> UpdateLink | None:
    return None if value is None else parse_enum(UpdateLink, value, "update_link")


@attrs.frozen
class Attribute:
    """One attribute to set: by ``name`` (``attribute-name``) or by ``id`` (``attribute-id``)."""

    name: str | None = None
    val: Scalar = attrs.field(kw_only=True)  # required: an empty value is val=""
    id: str | None = attrs.field(default=None, kw_only=True)

    def __attrs_post_init__(self) -> None:
        name = self.name
        # fast path first: a plain non-blank name and a string value
        if (
            type(name) is not str
            or self.id is not None
            or not name
            or name.isspace()
            or not name.isascii()  # O(1): a name that may hold a lone surrogate
        ):
            _check_name_or_id(name, self.id, empty_name=False)
        if type(self.val) is not str or not self.val.isascii():
            _plain_val(self)

    @property
    def label(self) -> str:
        """The name, or ``id:<id>`` for an attribute given by id."""
        return self.name if self.name is not None else f"id:{self.id}"


@attrs.frozen
class Condition:
    """One filter condition; conditions chain left to right through ``logical_op``.

    The vendor's own example filters on an empty ``attribute-name``, so an empty name is
    accepted here; a missing one is not, nor an empty id. ``val`` is required (an empty
    value is ``val=""``).
    """

    name: str | None = None
    rel_op: RelOp = attrs.field(default=RelOp.EQUALS, converter=_rel_op, kw_only=True)
    val: Scalar = attrs.field(kw_only=True)
    logical_op: LogicalOp = attrs.field(default=LogicalOp.AND, converter=_logical_op, kw_only=True)
    id: str | None = attrs.field(default=None, kw_only=True)

    def __attrs_post_init__(self) -> None:
        _check_name_or_id(self.name, self.id, empty_name=True)
        _plain_val(self)


AttributesInput = Mapping[str, Scalar] | Iterable[Attribute]


def _to_attributes(value: AttributesInput) -> tuple[Attribute, ...]:
    if isinstance(value, Mapping):  # names are unique in a mapping
        attributes = []
        for name, val in value.items():
            try:
                attributes.append(Attribute(name, val=val))
            except InvalidRecordError as exc:
                raise exc.within(f"attributes[{name!r}]") from None
        return tuple(attributes)
    if isinstance(value, (str, bytes)) or not isinstance(value, Iterable):  # type: ignore[unreachable]
        raise InvalidRecordError(
            "attributes", f"expected a mapping or Attribute values, not {type(value).__name__}"
        )
    items = tuple(value)
    seen: set[str] = set()
    for i, item in enumerate(items):
        if not isinstance(item, Attribute):
            raise InvalidRecordError(
                f"attributes[{i}]", f"expected an Attribute, not {type(item).__name__}"
            )
        if item.label in seen:
            raise InvalidRecordError("attributes", f"attribute {item.label!r} is given twice")
        seen.add(item.label)
    return items


def _to_filter(value: Iterable[Condition] | None) -> tuple[Condition, ...] | None:
    if value is None:
        return None
    if isinstance(value, (str, bytes, Mapping)) or not isinstance(value, Iterable):
        raise InvalidRecordError(
            "filter", f"expected a sequence of Condition values, not {type(value).__name__}"
        )
    items = tuple(value)
    for i, item in enumerate(items):
        if not isinstance(item, Condition):
            raise InvalidRecordError(
                f"filter[{i}]", f"expected a Condition, not {type(item).__name__}"
            )
    return items


def _to_exparam(value: Mapping[str, Scalar] | str | None) -> Mapping[str, Scalar] | str | None:
    if value is None:
        return None
    if isinstance(value, str):  # sent as it is: the page types exparam String
        check_text(value, "exparam")
        return str.__str__(value)
    if not isinstance(value, Mapping):
        raise InvalidRecordError(
            "exparam", f"expected a mapping or a str, not {type(value).__name__}"
        )
    if len(value) > MAX_EXPARAM:
        raise InvalidRecordError("exparam", f"at most {MAX_EXPARAM} entries, got {len(value)}")
    plain: dict[str, Scalar] = {}
    for name, val in value.items():
        if not isinstance(name, str) or not name:
            raise InvalidRecordError("exparam", "names must be non-empty strings")
        check_text(name, "exparam")
        plain[name] = check_scalar(val, f"exparam[{name!r}]")
    return MappingProxyType(plain)


def _to_key(value: str | int | None) -> str | None:
    if value is None or type(value) is str:
        return value
    if isinstance(value, str):
        return str.__str__(value)
    if isinstance(value, int) and not isinstance(value, bool):
        if not _INT_MIN <= value <= _INT_MAX:
            raise InvalidRecordError("key", "integer out of the 64-bit range: send it as a string")
        return str(int(value))
    raise InvalidRecordError("key", f"key must be a str, not {type(value).__name__}")


@attrs.frozen(hash=False)
class ProfileUpsert:
    """One create/update of a contact profile, by ``key`` or by ``filter`` (exactly one).

    ``attributes`` may be a mapping of attribute name to value, or `Attribute` values
    (to address attributes by id). ``exparam`` (audit parameters) is a mapping of up to 10
    names to values, sent as a JSON object of strings, or a str sent as it is (the page types
    it String and shows no shape: use what your tenant takes). Invalid values raise
    `InvalidRecordError` naming the field.
    """

    profile_name: str
    upsert: UpsertMode = attrs.field(
        default=UpsertMode.CREATE_OR_UPDATE, converter=_upsert_mode, kw_only=True
    )
    key: str | None = attrs.field(default=None, converter=_to_key, kw_only=True)
    attributes: tuple[Attribute, ...] = attrs.field(converter=_to_attributes, kw_only=True)
    filter: tuple[Condition, ...] | None = attrs.field(
        default=None, converter=_to_filter, kw_only=True
    )
    update_link: UpdateLink | None = attrs.field(default=None, converter=_update_link, kw_only=True)
    exparam: Mapping[str, Scalar] | str | None = attrs.field(
        default=None, converter=_to_exparam, kw_only=True
    )

    def __attrs_post_init__(self) -> None:
        name = self.profile_name
        if not isinstance(name, str) or not name.strip():
            raise InvalidRecordError("profile_name", "must be a non-empty string")
        check_text(name, "profile_name")
        if self.filter is not None and not self.filter:
            raise InvalidRecordError(
                "filter", "must not be empty (an empty filter matches nothing; omit it to use key)"
            )
        if self.key is None and self.filter is None:
            raise InvalidRecordError("key", "give a key or a non-empty filter")
        if self.key is not None and self.filter is not None:
            raise InvalidRecordError("key", "give a key or a filter, not both")
        if self.key is not None and (not self.key or self.key.isspace()):
            raise InvalidRecordError("key", "must not be empty")
        if self.key is not None:
            check_text(self.key, "key")
        if not self.attributes:
            raise InvalidRecordError("attributes", "at least one attribute is required")

    @property
    def target(self) -> str:
        """A short label of which profile(s) this record addresses, for results and logs."""
        if self.key is not None:
            return self.key
        assert self.filter is not None
        return "filter:" + " ".join(
            f"{c.name if c.name is not None else 'id:' + str(c.id)} {c.rel_op.value} {c.val!r}"
            for c in self.filter
        )


@attrs.frozen
class UpsertResponse:
    """A success body: ``{"update-count": n, "transaction-id": "..."}``."""

    update_count: int
    transaction_id: str | None = None


@attrs.frozen
class ErrorBody:
    """A failure body: ``{"code": ..., "description": ...}`` (any HTTP status)."""

    code: str  #: as sent (a number or a string); `classify` reads it as an int
    description: str = ""
    transaction_id: str | None = None
