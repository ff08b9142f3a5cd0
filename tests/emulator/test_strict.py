"""Conformance: the strict emulator refuses what the vendor's page does not allow, naming the
field, and everything the library sends passes it."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from hypothesis import given
from hypothesis import strategies as st

from webex_campaign_async import ProfileUpsert
from webex_campaign_async._convert import encode_profile, wire_text
from webex_campaign_async.emulator import (
    DEFAULT_UPSERT_PATH,
    Emulator,
    EmulatorConfig,
    EmulatorCore,
)
from webex_campaign_async.emulator._validate import (
    MISSING_NAME,
    InvalidRequest,
    validate,
)

from ..strategies import profiles
from .conftest import post, upsert_body

ATTRS = [{"attribute-name": "firstname", "val": "Matt"}]


def _cond(**fields: Any) -> dict[str, Any]:
    return {"attribute-name": "age", "rel-op": "Equals", "val": "30", **fields}


def _by_filter(*conditions: dict[str, Any], **fields: Any) -> dict[str, Any]:
    return {"profile-name": "contacts", "filter": list(conditions), "attributes": ATTRS, **fields}


# (id, body, the end of the description after "Invalid input JSON - ")
REFUSED: list[tuple[str, Any, str]] = [
    ("upsert a number", upsert_body(upsert=2), "upsert: expected a string, not a number"),
    ("upsert a name", upsert_body(upsert="create_only"), "upsert: 'create_only' is not one of"),
    ("upsert null", upsert_body(upsert=None), "upsert: expected a string, not null"),
    ("update-link a number", upsert_body(update_link=3), "update-link: expected a string"),
    ("update-link 0", upsert_body(update_link="0"), "update-link: '0' is not one of"),
    (
        "val a number",
        upsert_body(attributes=[{"attribute-name": "age", "val": 30}]),
        "attributes[0].val: expected a string, not a number",
    ),
    (
        "val a boolean",
        upsert_body(attributes=[{"attribute-name": "vip", "val": True}]),
        "attributes[0].val: expected a string, not a boolean",
    ),
    (
        "val missing",
        upsert_body(attributes=[{"attribute-name": "vip"}]),
        "attributes[0].val: is required",
    ),
    (
        "condition val a number",
        _by_filter(_cond(val=30)),
        "filter[0].val: expected a string, not a number",
    ),
    ("key a number", upsert_body(key=42), "key: expected a string, not a number"),
    ("key blank", upsert_body(key=" "), "key: must not be empty"),
    ("profile-name a number", upsert_body(profile_name=7), "profile-name: expected a string"),
    (
        "rel-op upper case",
        _by_filter(_cond(**{"rel-op": "GREATERTHAN"})),
        "filter[0].rel-op: 'GREATERTHAN' is not one of Equals, GreaterThan",
    ),
    (
        "rel-op snake case",
        _by_filter(_cond(**{"rel-op": "greater_than"})),
        "filter[0].rel-op: 'greater_than' is not one of",
    ),
    ("rel-op unknown", _by_filter(_cond(**{"rel-op": "Like"})), "filter[0].rel-op: 'Like'"),
    ("rel-op missing", _by_filter({"attribute-name": "a", "val": "1"}), "filter[0].rel-op: is"),
    (
        "logical-op upper case",
        _by_filter(_cond(**{"logical-op": "AND"}), _cond()),
        "filter[0].logical-op: 'AND' is not one of",
    ),
    (
        "logical-op missing before another condition",
        _by_filter(_cond(), _cond()),
        "filter[0].logical-op: is required when another condition follows",
    ),
    ("unknown field", upsert_body(colour="red"), "unknown field(s) 'colour'"),
    (
        "profile-id: not in the page's request table",
        upsert_body(profile_id="P-1"),
        "unknown field(s) 'profile-id'",
    ),
    (
        "unknown field in an attribute",
        upsert_body(attributes=[{"attribute-name": "a", "val": "1", "type": "text"}]),
        "attributes[0]: unknown field(s) 'type'",
    ),
    (
        "unknown field in a condition",
        _by_filter(_cond(op="=")),
        "filter[0]: unknown field(s) 'op'",
    ),
    ("key and filter", upsert_body(filter=[_cond()]), "key: give key or filter, not both"),
    ("neither key nor filter", upsert_body(key=None), "key: give key or filter"),
    ("empty filter", _by_filter(), "filter: must not be empty"),
    ("filter an object", _by_filter(filter=_cond()), "filter: expected an array of obj"),
    (
        "attributes an object",
        upsert_body(attributes={"firstname": "Matt"}),
        "attributes: expected an array of objects, not an object",
    ),
    ("attributes missing", {"profile-name": "p", "key": "K"}, "attributes: is required"),
    ("attributes empty", upsert_body(attributes=[]), "attributes: must not be empty"),
    (
        "attribute without a name",
        upsert_body(attributes=[{"val": "x"}]),
        "attributes[0]: give attribute-name or attribute-id",
    ),
    (
        "attribute with an empty name",
        upsert_body(attributes=[{"attribute-name": "", "val": "x"}]),
        "attributes[0].attribute-name: must not be empty",
    ),
    (
        "condition with an empty attribute-id",
        _by_filter({"attribute-id": "", "rel-op": "Equals", "val": "1"}),
        "filter[0].attribute-id: must not be empty",
    ),
    ("exparam an array", upsert_body(exparam=["a"]), "exparam: expected a string or an object"),
    (
        "exparam a number",
        upsert_body(exparam={"batch": 3}),
        "exparam.batch: expected a string, not a number",
    ),
    (
        "exparam of 11",
        upsert_body(exparam={f"p{i}": "x" for i in range(11)}),
        "exparam: at most 10 parameters, not 11",
    ),
    ("an array", ["not", "an", "object"], "expected a JSON object, not an array"),
]


@pytest.mark.parametrize(("body", "reason"), [pytest.param(*r[1:], id=r[0]) for r in REFUSED])
async def test_the_strict_emulator_refuses_with_200_1001_naming_the_field(
    session: aiohttp.ClientSession, campaign_emulator: Emulator, body: Any, reason: str
) -> None:
    answer = await post(session, campaign_emulator, body)
    assert answer.status == 200
    assert answer.code == "1001"
    description = answer.json["description"]
    assert description.startswith("Invalid input JSON - " + reason), description
    assert campaign_emulator.store.count() == 0
    assert campaign_emulator.stats.count(200, "1001") == 1


@pytest.mark.parametrize(
    ("content_type", "accepted"),
    [
        ("application/json", True),
        ("application/json; charset=utf-8", True),
        ("Application/JSON", True),
        (None, False),
        ("text/plain", False),
        ("application/x-www-form-urlencoded", False),
    ],
)
async def test_content_type_must_be_json(
    session: aiohttp.ClientSession,
    campaign_emulator: Emulator,
    content_type: str | None,
    accepted: bool,
) -> None:
    answer = await post(session, campaign_emulator, upsert_body(), content_type=content_type)
    if accepted:
        assert (answer.status, answer.update_count) == (200, 1)
        return
    assert (answer.status, answer.code) == (500, "1001")
    assert answer.json["description"].startswith(
        "Invalid input JSON - Content-Type: expected application/json, "
    )
    assert campaign_emulator.store.count() == 0


@pytest.mark.parametrize(
    "body",
    [
        pytest.param(upsert_body(profile_name=None), id="null"),
        pytest.param({"key": "K", "attributes": ATTRS}, id="missing"),
        pytest.param(upsert_body(profile_name=""), id="empty"),
    ],
)
def test_a_missing_profile_name_gets_the_pages_own_text(body: Any) -> None:
    with pytest.raises(InvalidRequest) as info:
        validate(body)
    assert info.value.description is MISSING_NAME


@pytest.mark.parametrize(
    ("rel_op", "canonical"),
    [(op, op) for op in ("Equals", "GreaterThan", "LessThanEquals")]
    + [
        ("equals", "Equals"),
        ("greaterthanequals", "GreaterThanEquals"),
        ("notequals", "NotEquals"),
    ],
)
def test_rel_op_in_the_tables_spelling_or_the_examples_lower_case(
    rel_op: str, canonical: str
) -> None:
    request = validate(_by_filter(_cond(**{"rel-op": rel_op})))
    assert request.filter is not None
    assert request.filter[0].rel_op == canonical


def test_the_vendors_own_example_passes() -> None:
    path = Path(__file__).parents[1] / "samples" / "vendor-request-example.json"
    request = validate(json.loads(path.read_text(encoding="utf-8")))
    assert request.profile_name == "profile_test"
    assert request.attributes == {"firstname": "Matt", "lastname": "Adam"}
    assert request.filter is not None
    assert [(c.label, c.rel_op, c.val) for c in request.filter] == [
        ("", "Equals", "1"),  # an empty attribute-name: the profile key
        ("atbname1", "Equals", "1"),
    ]
    assert (request.upsert, request.update_link, request.key) == ("1", "2", None)


def test_the_last_conditions_logical_op_may_be_left_out() -> None:
    request = validate(_by_filter(_cond(**{"logical-op": "or"}), _cond()))
    assert request.filter is not None
    assert [c.logical_op for c in request.filter] == ["or", "and"]


@pytest.mark.parametrize(
    ("exparam", "read"),
    [("batch=7;src=crm", "batch=7;src=crm"), ({"batch": "7"}, {"batch": "7"})],
)
def test_exparam_as_the_pages_string_or_as_an_object(exparam: Any, read: Any) -> None:
    assert validate(upsert_body(exparam=exparam)).exparam == read


def test_attribute_id_is_read_in_attributes_too_and_a_name_wins_over_an_id() -> None:
    body = upsert_body(
        attributes=[
            {"attribute-id": "17", "val": "gold"},
            {"attribute-name": "tier", "attribute-id": "18", "val": "top"},
        ]
    )
    assert validate(body).attributes == {"id:17": "gold", "tier": "top"}


def test_a_lenient_emulator_reads_numbers_and_any_case() -> None:
    body = _by_filter(
        _cond(val=30, **{"rel-op": "GREATERTHAN", "logical-op": "OR"}),
        _cond(val=True),
        upsert=2,
        attributes=[{"attribute-name": "age", "val": 30.5}],
        exparam={"batch": 3},
    )
    with pytest.raises(InvalidRequest):
        validate(body)
    request = validate(body, strict=False)
    assert request.upsert == "2"
    assert request.attributes == {"age": "30.5"}
    assert request.exparam == {"batch": "3"}
    assert request.filter is not None
    assert [(c.rel_op, c.val, c.logical_op) for c in request.filter] == [
        ("GreaterThan", "30", "or"),
        ("Equals", "true", "and"),
    ]
    with pytest.raises(InvalidRequest, match="unknown field"):  # structure: checked either way
        validate(upsert_body(colour="red"), strict=False)


def test_a_lenient_core_takes_a_body_without_content_type() -> None:
    body = json.dumps(upsert_body(upsert=1)).encode()
    for strict, status in ((True, 500), (False, 200)):
        core = EmulatorCore(EmulatorConfig(strict=strict))
        headers = {"Authorization": f"Bearer {core.api_key}"}
        decision = core.handle("POST", DEFAULT_UPSERT_PATH, headers, body, now=0.0)
        assert decision.status == status


# --- the library against the validator ---------------------------------------------------


@given(profiles())
def test_every_body_the_library_sends_passes_the_strict_validator(profile: ProfileUpsert) -> None:
    request = validate(json.loads(encode_profile(profile)))
    assert request.profile_name == profile.profile_name
    assert request.key == profile.key
    assert request.upsert == profile.upsert.value
    assert request.update_link == (profile.update_link or "2")
    assert request.attributes == {a.label: wire_text(a.val) for a in profile.attributes}
    if profile.filter is None:
        assert request.filter is None
    else:
        assert request.filter is not None
        assert [(c.rel_op, c.val, c.logical_op) for c in request.filter] == [
            (c.rel_op.value, wire_text(c.val), c.logical_op.value) for c in profile.filter
        ]
    exparam = profile.exparam
    expected_exparam = (
        exparam
        if exparam is None or isinstance(exparam, str)
        else {name: wire_text(val) for name, val in exparam.items()}
    )
    assert request.exparam == expected_exparam


def _string_leaves(value: Any, path: str = "") -> list[tuple[str, list[Any]]]:
    """(field path as the validator names it, the path of keys to it) of every string leaf."""
    found: list[tuple[str, list[Any]]] = []

    def walk(node: Any, name: str, keys: list[Any]) -> None:
        if isinstance(node, str):
            found.append((name, keys))
        elif isinstance(node, dict):
            for key, item in node.items():
                sep = "." if name else ""
                walk(item, f"{name}{sep}{key}", [*keys, key])
        elif isinstance(node, list):
            for i, item in enumerate(node):
                walk(item, f"{name}[{i}]", [*keys, i])

    walk(value, path, [])
    return found


@given(profiles(), st.data(), st.sampled_from([7, 2.5, True, None, ["x"], {"x": "y"}]))
def test_a_non_string_where_the_page_says_string_is_refused_naming_it(
    profile: ProfileUpsert, data: st.DataObject, bad: Any
) -> None:
    body = json.loads(encode_profile(profile))
    name, keys = data.draw(st.sampled_from(_string_leaves(body)))
    target = body
    for key in keys[:-1]:
        target = target[key]
    target[keys[-1]] = bad
    with pytest.raises(InvalidRequest) as info:
        validate(body)
    if name == "profile-name" and bad is None:
        assert info.value.description is MISSING_NAME
    else:
        assert info.value.description.startswith(f"Invalid input JSON - {name}: "), (
            info.value.description
        )
