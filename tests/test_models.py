"""Models: validation names the field; valid models survive the wire round trip."""

from __future__ import annotations

import json
import pickle
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from webex_campaign_async import (
    Attribute,
    Condition,
    InvalidRecordError,
    LogicalOp,
    ProfileUpsert,
    RelOp,
    UpdateLink,
    UpsertMode,
)
from webex_campaign_async._convert import (
    converter,
    encode_profile,
    profile_from_wire,
    profile_to_wire,
)

from .strategies import profiles, scalars

ATTRS = {"firstname": "Matt"}


def make(**overrides: Any) -> ProfileUpsert:
    fields: dict[str, Any] = {"key": "k1", "attributes": ATTRS}
    fields.update(overrides)
    name = fields.pop("profile_name", "contacts")
    return ProfileUpsert(name, **fields)


@pytest.mark.parametrize(
    ("overrides", "field", "reason"),
    [
        ({"profile_name": ""}, "profile_name", "non-empty"),
        ({"profile_name": "   "}, "profile_name", "non-empty"),
        ({"profile_name": None}, "profile_name", "non-empty"),
        ({"key": None}, "key", "key or a non-empty filter"),
        ({"key": None, "filter": []}, "filter", "must not be empty"),
        ({"filter": []}, "filter", "must not be empty"),  # not "not both": it is empty
        ({"filter": [Condition("a", val="1")]}, "key", "not both"),
        ({"key": ""}, "key", "must not be empty"),
        ({"key": 1.5}, "key", "must be a str"),
        ({"attributes": {}}, "attributes", "at least one"),
        ({"attributes": []}, "attributes", "at least one"),
        ({"attributes": "firstname"}, "attributes", "mapping or Attribute"),
        ({"attributes": [{"firstname": "x"}]}, "attributes[0]", "expected an Attribute"),
        ({"attributes": {"age": [1]}}, "attributes['age'].val", "str, int, float or bool"),
        ({"attributes": {"age": None}}, "attributes['age'].val", "str, int, float or bool"),
        ({"attributes": {"age": {"a": 1}}}, "attributes['age'].val", "not dict"),
        ({"attributes": {"age": float("nan")}}, "attributes['age'].val", "finite"),
        ({"attributes": {"age": 2**64}}, "attributes['age'].val", "64-bit"),
        ({"attributes": {"": "x"}}, "attributes[''].name", "must not be empty"),
        (
            {"attributes": [Attribute("a", val=1), Attribute("a", val=2)]},
            "attributes",
            "given twice",
        ),
        ({"upsert": "9"}, "upsert", "not one of"),
        ({"update_link": "0"}, "update_link", "not one of"),
        ({"exparam": {f"p{i}": i for i in range(11)}}, "exparam", "at most 10"),
        ({"exparam": {"p": [1]}}, "exparam['p']", "str, int, float or bool"),
        ({"exparam": ["p"]}, "exparam", "expected a mapping or a str"),
        ({"exparam": "a\ud800"}, "exparam", "surrogate"),
        ({"filter": "a=1", "key": None}, "filter", "sequence of Condition"),
    ],
)
def test_invalid_profile_names_the_field(
    overrides: dict[str, Any], field: str, reason: str
) -> None:
    with pytest.raises(InvalidRecordError) as info:
        make(**overrides)
    assert info.value.field == field
    assert reason in info.value.reason
    assert field in str(info.value)
    assert isinstance(info.value, ValueError)


@pytest.mark.parametrize(
    ("build", "field"),
    [
        (lambda: Attribute(val="x"), "name"),
        (lambda: Attribute("a", id="1", val="x"), "name"),
        (lambda: Attribute("  ", val="x"), "name"),
        (lambda: Attribute(id="", val="x"), "id"),
        (lambda: Attribute("a", val=object()), "val"),
        (lambda: Condition(val="x"), "name"),
        (lambda: Condition(id="", val="x"), "id"),  # only a name may be empty
        (lambda: Condition(id="  ", val="x"), "id"),
        (lambda: Condition("a", rel_op="Like", val="x"), "rel_op"),
        (lambda: Condition("a", logical_op="xor", val="x"), "logical_op"),
        (lambda: Condition("a", val=[1]), "val"),
    ],
)
def test_invalid_parts_name_the_field(build: Any, field: str) -> None:
    with pytest.raises(InvalidRecordError) as info:
        build()
    assert info.value.field == field


@pytest.mark.parametrize("part", [Attribute, Condition])
def test_val_is_required_never_an_empty_string_by_default(part: Any) -> None:
    with pytest.raises(TypeError, match="val"):
        part("x")
    assert part("x", val="").val == ""  # an empty value is said out loud
    assert Condition("", val="K").name == ""  # the vendor's example: a condition on the key


@pytest.mark.parametrize(
    ("text", "member"),
    [
        ("Equals", RelOp.EQUALS),
        ("equals", RelOp.EQUALS),
        ("EQUALS", RelOp.EQUALS),
        ("greaterthanequals", RelOp.GREATER_THAN_EQUALS),
        ("LessThan", RelOp.LESS_THAN),
        ("notequals", RelOp.NOT_EQUALS),
        ("NOT_EQUALS", RelOp.NOT_EQUALS),
        ("AND", LogicalOp.AND),
        ("Or", LogicalOp.OR),
        (0, UpsertMode.CREATE_ONLY),
        ("2", UpsertMode.UPDATE_ONLY),
        ("update_only", UpsertMode.UPDATE_ONLY),
        (3, UpdateLink.FAIL),
    ],
)
def test_enums_parse_any_case_and_ints(text: object, member: Any) -> None:
    assert type(member)(text) is member


def test_wire_values_are_the_documented_ones() -> None:
    assert [m.value for m in RelOp] == [
        "Equals",
        "GreaterThan",
        "GreaterThanEquals",
        "NotEquals",
        "LessThan",
        "LessThanEquals",
    ]
    assert [m.value for m in LogicalOp] == ["and", "or"]
    assert [(m.name, m.value) for m in UpsertMode] == [
        ("CREATE_ONLY", "0"),
        ("CREATE_OR_UPDATE", "1"),
        ("UPDATE_ONLY", "2"),
    ]
    assert [(m.name, m.value) for m in UpdateLink] == [
        ("IGNORE", "1"),
        ("CREATE_EMPTY", "2"),
        ("FAIL", "3"),
    ]


def test_defaults() -> None:
    profile = make()
    assert profile.upsert is UpsertMode.CREATE_OR_UPDATE
    assert profile.update_link is None
    assert profile.attributes == (Attribute("firstname", val="Matt"),)


def test_int_key_becomes_a_string() -> None:
    assert make(key=42).key == "42"


def test_models_are_immutable() -> None:
    profile = make()
    with pytest.raises(AttributeError):
        profile.key = "other"  # type: ignore[misc]
    with pytest.raises(TypeError):
        profile.exparam["x"] = 1  # type: ignore[index]


def test_invalid_record_error_pickles() -> None:
    error = InvalidRecordError("attributes['a'].val", "bad", index=3, key="k")
    clone = pickle.loads(pickle.dumps(error))
    assert (clone.field, clone.reason, clone.index, clone.key) == (
        "attributes['a'].val",
        "bad",
        3,
        "k",
    )
    assert str(clone) == "record 3 key 'k': attributes['a'].val: bad"


@given(profiles())
def test_round_trip_through_the_wire(profile: ProfileUpsert) -> None:
    """The wire reads back as a model that sends the same wire (values then are strings)."""
    wire = profile_to_wire(profile)
    read = profile_from_wire(json.loads(encode_profile(profile)))
    assert profile_to_wire(read) == wire
    assert converter.structure(wire, ProfileUpsert) == read
    assert converter.unstructure(profile) == wire
    if (
        all(type(a.val) is str for a in profile.attributes)
        and not profile.exparam
        and all(type(c.val) is str for c in profile.filter or ())
    ):
        assert read == profile


@given(profiles())
def test_wire_never_holds_nulls_and_enums_are_strings(profile: ProfileUpsert) -> None:
    wire = json.loads(encode_profile(profile))
    assert not list(_nulls(wire))
    assert isinstance(wire["upsert"], str)
    assert isinstance(wire.get("update-link", ""), str)
    for condition in wire.get("filter") or []:
        assert condition["rel-op"] in {m.value for m in RelOp}
        assert condition["logical-op"] in {"and", "or"}


def _nulls(value: Any, path: str = "$") -> Any:
    """Paths of every JSON null in ``value``."""
    if value is None:
        yield path
    elif isinstance(value, dict):
        for key, item in value.items():
            yield from _nulls(item, f"{path}.{key}")
    elif isinstance(value, list):
        for i, item in enumerate(value):
            yield from _nulls(item, f"{path}[{i}]")


@given(
    profiles(), st.sampled_from(["attributes", "exparam"]), st.one_of(st.lists(scalars), st.none())
)
def test_non_scalar_values_are_refused_naming_the_field(
    profile: ProfileUpsert, where: str, bad: Any
) -> None:
    wire = profile_to_wire(profile)
    if where == "attributes":
        wire["attributes"][0]["val"] = bad
        expected = "attributes[0].val"
    else:
        wire["exparam"] = {"audit": bad}
        expected = "exparam['audit']"
    with pytest.raises(InvalidRecordError) as info:
        profile_from_wire(wire)
    assert info.value.field == expected
