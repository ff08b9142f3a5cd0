"""Golden tests: the converter writes exactly the vendor's documented request JSON."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from webex_campaign_async import (
    Attribute,
    Condition,
    InvalidRecordError,
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
    wire_text,
)

SAMPLES = Path(__file__).parent / "samples"

#: The request example of the vendor's page, built from models.
VENDOR_EXAMPLE = ProfileUpsert(
    "profile_test",
    upsert=UpsertMode.CREATE_OR_UPDATE,
    attributes={"firstname": "Matt", "lastname": "Adam"},
    filter=[
        Condition("", rel_op=RelOp.EQUALS, val="1"),
        Condition("atbname1", rel_op=RelOp.EQUALS, val="1"),
    ],
)


def vendor_example() -> Any:
    return json.loads((SAMPLES / "vendor-request-example.json").read_text())


def test_vendor_example_byte_for_byte() -> None:
    """Same field names, order and value types; rel-op in the documented spelling."""
    documented = vendor_example()
    for condition in documented["filter"]:
        assert condition["rel-op"] == "equals"  # the page's own example, lower case
        condition["rel-op"] = "Equals"  # the spelling its parameter table documents
    expected = json.dumps(documented, separators=(",", ":"), ensure_ascii=False).encode()
    assert encode_profile(VENDOR_EXAMPLE) == expected


def test_vendor_example_parses_with_its_lower_case_rel_op() -> None:
    assert profile_from_wire(vendor_example()) == VENDOR_EXAMPLE


def test_every_value_is_sent_as_a_json_string_like_the_vendor_example() -> None:
    wire = json.loads(encode_profile(VENDOR_EXAMPLE))
    assert isinstance(wire["upsert"], str)
    for item in wire["attributes"] + wire["filter"]:
        assert all(isinstance(value, str) for value in item.values())


@pytest.mark.parametrize(
    ("profile", "wire"),
    [
        (
            ProfileUpsert("p", key="42", attributes={"a": "x"}),
            {
                "profile-name": "p",
                "upsert": "1",
                "attributes": [{"attribute-name": "a", "val": "x"}],
                "key": "42",
            },
        ),
        (
            ProfileUpsert(
                "p",
                key="42",
                attributes=[Attribute(id="1001", val=7)],
                upsert=UpsertMode.UPDATE_ONLY,
                update_link=UpdateLink.FAIL,
                exparam={"source": "crm", "batch": 3},
            ),
            {
                "profile-name": "p",
                "upsert": "2",
                "attributes": [{"attribute-id": "1001", "val": "7"}],
                "key": "42",
                "update-link": "3",
                "exparam": {"source": "crm", "batch": "3"},
            },
        ),
        (
            ProfileUpsert(
                "p",
                filter=[
                    Condition("age", rel_op="greaterthan", val=30, logical_op="or"),
                    Condition(id="77", rel_op=RelOp.LESS_THAN_EQUALS, val=1.5),
                ],
                attributes={"vip": True},
                upsert=UpsertMode.CREATE_ONLY,
                update_link=UpdateLink.IGNORE,
            ),
            {
                "profile-name": "p",
                "upsert": "0",
                "attributes": [{"attribute-name": "vip", "val": "true"}],
                "filter": [
                    {
                        "attribute-name": "age",
                        "rel-op": "GreaterThan",
                        "val": "30",
                        "logical-op": "or",
                    },
                    {
                        "attribute-id": "77",
                        "rel-op": "LessThanEquals",
                        "val": "1.5",
                        "logical-op": "and",
                    },
                ],
                "update-link": "1",
            },
        ),
    ],
)
def test_wire_shapes(profile: ProfileUpsert, wire: dict[str, Any]) -> None:
    assert profile_to_wire(profile) == wire
    assert list(profile_to_wire(profile)) == list(wire)  # key order too
    assert converter.unstructure(profile) == wire  # the converter uses the same hook
    assert profile_to_wire(profile_from_wire(wire)) == wire  # the wire reads back unchanged


class _Money(float):
    """A float subclass, as numpy's float64 is."""


@pytest.mark.parametrize(
    ("value", "text"),
    [
        ("Matt", "Matt"),
        ("", ""),
        (True, "true"),
        (False, "false"),
        (7, "7"),
        (-42, "-42"),
        (2**63 - 1, "9223372036854775807"),
        (0.5, "0.5"),
        (30.0, "30.0"),
        (-0.0, "-0.0"),
        (0.1 + 0.2, "0.30000000000000004"),
        (1e16, "10000000000000000.0"),
        (1.5e-7, "0.00000015"),
        (-2.5e-5, "-0.000025"),
        (_Money(9.99), "9.99"),
    ],
)
def test_val_and_exparam_values_are_sent_as_json_strings(value: Any, text: str) -> None:
    """The page types val as String: numbers and booleans go out as the user would type them."""
    profile = ProfileUpsert(
        "p",
        filter=[Condition("x", val=value)],
        attributes=[Attribute("a", val=value), Attribute(id="9", val=value)],
        exparam={"audit": value},
    )
    wire = json.loads(encode_profile(profile))
    assert wire["attributes"] == [
        {"attribute-name": "a", "val": text},
        {"attribute-id": "9", "val": text},
    ]
    assert wire["filter"][0]["val"] == text
    assert wire["exparam"] == {"audit": text}
    assert wire_text(profile.attributes[0].val) == text
    assert profile.attributes[0].val == value  # the model keeps the user's value


def test_an_exparam_string_is_sent_as_it_is_and_read_back() -> None:
    """The page types exparam String: a str is the user's choice of shape, kept verbatim."""
    profile = ProfileUpsert("p", key="k", attributes={"a": "1"}, exparam="src=crm;batch=7")
    wire = json.loads(encode_profile(profile))
    assert wire["exparam"] == "src=crm;batch=7"
    assert converter.structure(wire, ProfileUpsert) == profile


@given(st.floats(allow_nan=False, allow_infinity=False))
def test_a_float_is_written_positionally_and_reads_back_the_same(value: float) -> None:
    text = wire_text(value)
    assert float(text) == value
    assert "e" not in text.lower()
    assert "." in text


def test_unicode_is_sent_as_utf8_not_escaped() -> None:
    body = encode_profile(ProfileUpsert("p", key="k", attributes={"name": "Zoë 東京"}))
    assert "Zoë 東京".encode() in body


@pytest.mark.parametrize(
    ("wire", "field"),
    [
        ([], ""),
        ({"key": "k", "attributes": [{"attribute-name": "a", "val": 1}]}, "profile-name"),
        ({"profile-name": None, "key": "k", "attributes": []}, "profile-name"),
        ({"profile-name": 3, "key": "k", "attributes": []}, "profile-name"),
        (
            {"profile-name": "", "key": "k", "attributes": [{"attribute-name": "a", "val": 1}]},
            "profile-name",
        ),
        ({"profile-name": "p", "key": "k"}, "attributes"),
        ({"profile-name": "p", "key": "k", "attributes": {"a": 1}}, "attributes"),
        (
            {"profile-name": "p", "key": [1], "attributes": [{"attribute-name": "a", "val": 1}]},
            "key",
        ),
        ({"profile-name": "p", "key": "k", "profile_name": "x", "attributes": []}, ""),
        (
            {"profile-name": "p", "key": "k", "attributes": [{"attribute-name": "a"}]},
            "attributes[0].val",
        ),
        ({"profile-name": "p", "key": "k", "attributes": [{"val": 1}]}, "attributes[0].name"),
        (
            {"profile-name": "p", "key": "k", "attributes": [{"attribute-name": 5, "val": 1}]},
            "attributes[0].attribute-name",
        ),
        (
            {"profile-name": "p", "key": "k", "attributes": [{"attribute-name": "a", "val": {}}]},
            "attributes[0].val",
        ),
        ({"profile-name": "p", "key": "k", "attributes": ["a"]}, "attributes[0]"),
        (
            {
                "profile-name": "p",
                "filter": [{"attribute-name": "a", "val": 1}],
                "attributes": [{"attribute-name": "a", "val": 1}],
            },
            "filter[0].rel-op",
        ),
        (
            {
                "profile-name": "p",
                "filter": [{"attribute-name": "a", "rel-op": "Like", "val": 1}],
                "attributes": [{"attribute-name": "a", "val": 1}],
            },
            "filter[0].rel-op",
        ),
        (
            {
                "profile-name": "p",
                "filter": [
                    {"attribute-name": "a", "rel-op": "Equals", "val": 1, "logical-op": "xor"}
                ],
                "attributes": [{"attribute-name": "a", "val": 1}],
            },
            "filter[0].logical-op",
        ),
        (
            {"profile-name": "p", "filter": {}, "attributes": [{"attribute-name": "a", "val": 1}]},
            "filter",
        ),
        (
            {
                "profile-name": "p",
                "key": "k",
                "upsert": "5",
                "attributes": [{"attribute-name": "a", "val": 1}],
            },
            "upsert",
        ),
        (
            {
                "profile-name": "p",
                "key": "k",
                "update-link": 9,
                "attributes": [{"attribute-name": "a", "val": 1}],
            },
            "update-link",
        ),
        (
            {
                "profile-name": "p",
                "key": "k",
                "exparam": [1],
                "attributes": [{"attribute-name": "a", "val": 1}],
            },
            "exparam",
        ),
    ],
)
def test_strict_parsing_names_the_wire_field(wire: Any, field: str) -> None:
    with pytest.raises(InvalidRecordError) as info:
        profile_from_wire(wire)
    assert info.value.field == field, str(info.value)
