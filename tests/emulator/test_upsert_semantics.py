"""Upsert semantics over HTTP: modes, filters (rel-ops, chaining), attribute-id, update-link."""

from __future__ import annotations

from typing import Any

import aiohttp
import pytest

from webex_campaign_async.emulator import Emulator

from .conftest import post, upsert_body

pytestmark = pytest.mark.campaign_emulator(links={"contacts": "contact_details"})


def _attrs(**values: Any) -> list[dict[str, Any]]:
    return [{"attribute-name": name, "val": val} for name, val in values.items()]


def _cond(name: str, op: str, val: Any, logical: str = "and") -> dict[str, Any]:
    return {"attribute-name": name, "rel-op": op, "val": val, "logical-op": logical}


# --- key-based modes --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("mode", "exists", "count", "after"),
    [
        ("0", False, 1, {"firstname": "Ann"}),
        ("0", True, 0, {"firstname": "Old", "city": "Oslo"}),
        ("1", False, 1, {"firstname": "Ann"}),
        ("1", True, 1, {"firstname": "Ann", "city": "Oslo"}),
        ("2", False, 0, None),
        ("2", True, 1, {"firstname": "Ann", "city": "Oslo"}),
        (None, True, 1, {"firstname": "Ann", "city": "Oslo"}),  # default: create or update
        (None, False, 1, {"firstname": "Ann"}),
    ],
)
async def test_key_upsert_modes(
    session: aiohttp.ClientSession,
    campaign_emulator: Emulator,
    mode: str | None,
    exists: bool,
    count: int,
    after: dict[str, Any] | None,
) -> None:
    emulator = campaign_emulator
    if exists:
        emulator.store.put("customers", "C-1", {"firstname": "Old", "city": "Oslo"})
    body: dict[str, Any] = {
        "profile-name": "customers",
        "key": "C-1",
        "attributes": _attrs(firstname="Ann"),
    }
    if mode is not None:
        body["upsert"] = mode
    answer = await post(session, emulator, body)
    assert answer.status == 200
    assert answer.update_count == count
    assert isinstance(answer.json["transaction-id"], str)
    assert emulator.store.get("customers", "C-1") == after
    assert emulator.stats.applied == count


async def test_values_are_stored_as_the_strings_sent(
    session: aiohttp.ClientSession, campaign_emulator: Emulator
) -> None:
    body = {
        "profile-name": "customers",
        "key": "42",
        "attributes": _attrs(age="30", ratio="0.5", vip="true", zip="0150", empty=""),
    }
    assert (await post(session, campaign_emulator, body)).update_count == 1
    assert campaign_emulator.store.get("customers", "42") == {
        "age": "30",
        "ratio": "0.5",
        "vip": "true",
        "zip": "0150",
        "empty": "",
    }


@pytest.mark.campaign_emulator(strict=False)
async def test_a_lenient_emulator_stores_numbers_as_their_json_text(
    session: aiohttp.ClientSession, campaign_emulator: Emulator
) -> None:
    body = {
        "profile-name": "customers",
        "key": 42,
        "upsert": 1,
        "attributes": _attrs(age=30, ratio=0.5, vip=True, zip="0150"),
    }
    assert (await post(session, campaign_emulator, body, content_type="text/plain")).update_count
    assert campaign_emulator.store.get("customers", "42") == {
        "age": "30",
        "ratio": "0.5",
        "vip": "true",
        "zip": "0150",
    }


async def test_transaction_ids_are_unique(
    session: aiohttp.ClientSession, campaign_emulator: Emulator
) -> None:
    ids = set()
    for i in range(20):
        answer = await post(session, campaign_emulator, upsert_body(f"K-{i % 3}", "customers"))
        ids.add(answer.json["transaction-id"])
    assert len(ids) == 20


async def test_attribute_id_is_stored_as_id_prefixed_name(
    session: aiohttp.ClientSession, campaign_emulator: Emulator
) -> None:
    body = {
        "profile-name": "customers",
        "key": "C-1",
        "attributes": [{"attribute-id": "17", "val": "gold"}, {"attribute-name": "a", "val": "1"}],
    }
    assert (await post(session, campaign_emulator, body)).update_count == 1
    assert campaign_emulator.store.get("customers", "C-1") == {"id:17": "gold", "a": "1"}
    # and a filter can address it by id too
    body = {
        "profile-name": "customers",
        "filter": [{"attribute-id": "17", "rel-op": "Equals", "val": "gold"}],
        "attributes": _attrs(tier="top"),
        "upsert": "2",
    }
    assert (await post(session, campaign_emulator, body)).update_count == 1
    assert campaign_emulator.store.get("customers", "C-1") == {
        "id:17": "gold",
        "a": "1",
        "tier": "top",
    }


# --- filters ----------------------------------------------------------------------------------

PEOPLE: dict[str, dict[str, str]] = {
    "P-1": {"age": "9", "city": "Bergen"},
    "P-2": {"age": "10", "city": "Oslo"},
    "P-3": {"age": "30.0", "city": "oslo"},
    "P-4": {"city": "Trondheim"},  # no age
}


def _seed(emulator: Emulator) -> None:
    for key, row in PEOPLE.items():
        emulator.store.put("people", key, row)


async def _filter_update(
    session: aiohttp.ClientSession,
    emulator: Emulator,
    conditions: list[dict[str, Any]],
    mode: str = "2",
) -> set[str]:
    body = {
        "profile-name": "people",
        "filter": conditions,
        "attributes": _attrs(hit="yes"),
        "upsert": mode,
    }
    answer = await post(session, emulator, body)
    assert answer.status == 200, answer
    touched = {k for k, row in emulator.store.profiles("people").items() if row.get("hit")}
    assert answer.update_count == len(touched)
    return touched


@pytest.mark.parametrize(
    ("rel_op", "val", "expected"),
    [
        # numeric: both sides read as numbers ("9" < "10" as numbers, not as strings)
        ("Equals", "10", {"P-2"}),
        ("Equals", "30", {"P-3"}),
        ("NotEquals", "10", {"P-1", "P-3"}),
        ("GreaterThan", "9", {"P-2", "P-3"}),
        ("GreaterThanEquals", "10", {"P-2", "P-3"}),
        ("LessThan", "10", {"P-1"}),
        ("LessThanEquals", "1e1", {"P-1", "P-2"}),
        # rel-op in the table's spelling or all in lower case, as the vendor's own example
        ("equals", "9", {"P-1"}),
        ("greaterthan", "10", {"P-3"}),
    ],
)
async def test_numeric_rel_ops(
    session: aiohttp.ClientSession,
    campaign_emulator: Emulator,
    rel_op: str,
    val: Any,
    expected: set[str],
) -> None:
    _seed(campaign_emulator)
    touched = await _filter_update(session, campaign_emulator, [_cond("age", rel_op, val)])
    assert touched == expected


@pytest.mark.parametrize(
    ("rel_op", "val", "expected"),
    [
        # strings compare case-sensitively, in code point order ("O" < "T" < "o")
        ("Equals", "Oslo", {"P-2"}),
        ("NotEquals", "Oslo", {"P-1", "P-3", "P-4"}),
        ("GreaterThan", "Oslo", {"P-3", "P-4"}),
        ("GreaterThanEquals", "Oslo", {"P-2", "P-3", "P-4"}),
        ("LessThan", "Oslo", {"P-1"}),
        ("LessThanEquals", "Oslo", {"P-1", "P-2"}),
        # one side not a number: the ages compare as strings ("10" < "30.0" < "9" < "x")
        ("LessThan", "x", {"P-1", "P-2", "P-3"}),
        ("GreaterThan", "1a", {"P-3", "P-1"}),
    ],
)
async def test_string_rel_ops(
    session: aiohttp.ClientSession,
    campaign_emulator: Emulator,
    rel_op: str,
    val: str,
    expected: set[str],
) -> None:
    _seed(campaign_emulator)
    name = "city" if val in ("Oslo",) else "age"
    touched = await _filter_update(session, campaign_emulator, [_cond(name, rel_op, val)])
    assert touched == expected


@pytest.mark.parametrize(
    ("conditions", "expected"),
    [
        ([_cond("city", "Equals", "Oslo", "and"), _cond("age", "Equals", "10")], {"P-2"}),
        ([_cond("city", "Equals", "Oslo", "and"), _cond("age", "Equals", "9")], set()),
        ([_cond("city", "Equals", "Oslo", "or"), _cond("age", "Equals", "9")], {"P-1", "P-2"}),
        # left to right, no precedence: (Bergen or Oslo) and age > 9 -> only P-2.
        # With "and" binding tighter it would be Bergen or (Oslo and age > 9) -> P-1 and P-2.
        (
            [
                _cond("city", "Equals", "Bergen", "or"),
                _cond("city", "Equals", "Oslo", "and"),
                _cond("age", "GreaterThan", "9"),
            ],
            {"P-2"},
        ),
        # the logical-op of a condition joins it to the NEXT one; the last one's is unused
        ([_cond("age", "Equals", "9", "or")], {"P-1"}),
        # an empty attribute-name is the profile key (the vendor's own example)
        ([_cond("", "equals", "P-3", "and"), _cond("city", "equals", "oslo")], {"P-3"}),
        # a profile without the attribute matches no condition on it, NotEquals included
        ([_cond("age", "NotEquals", "nothing")], {"P-1", "P-2", "P-3"}),
    ],
)
async def test_condition_chaining(
    session: aiohttp.ClientSession,
    campaign_emulator: Emulator,
    conditions: list[dict[str, Any]],
    expected: set[str],
) -> None:
    _seed(campaign_emulator)
    assert await _filter_update(session, campaign_emulator, conditions) == expected


@pytest.mark.parametrize(
    ("mode", "expected"), [("0", set()), ("1", {"P-2", "P-3"}), ("2", {"P-2", "P-3"})]
)
async def test_filter_modes(
    session: aiohttp.ClientSession, campaign_emulator: Emulator, mode: str, expected: set[str]
) -> None:
    _seed(campaign_emulator)
    conditions = [_cond("age", "GreaterThanEquals", "10")]
    assert await _filter_update(session, campaign_emulator, conditions, mode) == expected
    assert campaign_emulator.store.count("people") == 4, "a filter never creates profiles"


async def test_filter_matching_nothing_answers_0(
    session: aiohttp.ClientSession, campaign_emulator: Emulator
) -> None:
    _seed(campaign_emulator)
    assert await _filter_update(session, campaign_emulator, [_cond("age", "Equals", "99")]) == set()
    body = {
        "profile-name": "nobody-here",
        "filter": [_cond("", "Equals", "x")],
        "attributes": _attrs(a="1"),
    }
    assert (await post(session, campaign_emulator, body)).update_count == 0


# --- update-link ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("update_link", "linked_exists", "count", "linked_after"),
    [
        ("1", False, 1, None),  # ignore the link
        ("2", False, 1, {}),  # create an empty linked profile
        (None, False, 1, {}),  # "2" is the default
        ("2", True, 1, {"phone": "+47"}),  # an existing linked profile is left as is
        ("3", True, 1, {"phone": "+47"}),
        ("3", False, None, None),  # fail the whole update: 1010, nothing applied
    ],
)
async def test_update_link(
    session: aiohttp.ClientSession,
    campaign_emulator: Emulator,
    update_link: str | None,
    linked_exists: bool,
    count: int | None,
    linked_after: dict[str, Any] | None,
) -> None:
    emulator = campaign_emulator
    if linked_exists:
        emulator.store.put("contact_details", "K-1", {"phone": "+47"})
    fields = {} if update_link is None else {"update_link": update_link}
    answer = await post(session, emulator, upsert_body("K-1", "contacts", **fields))
    assert answer.status == 200
    if count is None:
        assert answer.json == {"code": "1010", "description": "The request was not processed."}
        assert emulator.store.get("contacts", "K-1") is None
    else:
        assert answer.update_count == count
        assert emulator.store.get("contacts", "K-1") == {"firstname": "Matt"}
    assert emulator.store.get("contact_details", "K-1") == linked_after


async def test_update_link_3_with_a_filter_fails_if_any_link_is_missing(
    session: aiohttp.ClientSession, campaign_emulator: Emulator
) -> None:
    emulator = campaign_emulator
    emulator.store.put("contacts", "A", {"city": "Oslo"})
    emulator.store.put("contacts", "B", {"city": "Oslo"})
    emulator.store.put("contact_details", "A", {})
    body = {
        "profile-name": "contacts",
        "filter": [_cond("city", "Equals", "Oslo")],
        "attributes": _attrs(hit="1"),
        "update-link": "3",
    }
    assert (await post(session, emulator, body)).code == "1010"
    assert emulator.store.get("contacts", "A") == {"city": "Oslo"}, "nothing applied"
    emulator.store.put("contact_details", "B", {})
    assert (await post(session, emulator, body)).update_count == 2


async def test_lists_without_a_link_ignore_update_link(
    session: aiohttp.ClientSession, campaign_emulator: Emulator
) -> None:
    answer = await post(
        session, campaign_emulator, upsert_body("K-1", "customers", update_link="3")
    )
    assert answer.update_count == 1
    assert campaign_emulator.store.names() == ["customers"]


# --- known lists and profile ids ------------------------------------------------------------


@pytest.mark.campaign_emulator(profile_lists=["customers"], links={"customers": "customer_details"})
async def test_declared_lists(session: aiohttp.ClientSession, campaign_emulator: Emulator) -> None:
    assert (await post(session, campaign_emulator, upsert_body("K", "customers"))).update_count == 1
    # a link target is known too
    answer = await post(session, campaign_emulator, upsert_body("K", "customer_details"))
    assert answer.update_count == 1
    unknown = await post(session, campaign_emulator, upsert_body("K", "contacts"))
    assert unknown.json == {"code": "3005", "description": "Invalid Profile ID"}
    assert campaign_emulator.store.count("contacts") == 0
