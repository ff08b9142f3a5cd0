"""Pure parts without a server: comparison, the store, configuration validation, the core."""

from __future__ import annotations

import json
from typing import Any

import pytest

from webex_campaign_async.emulator import (
    DEFAULT_UPSERT_PATH,
    EmulatorConfig,
    EmulatorCore,
    Faults,
    ProfileStore,
    Storm,
)
from webex_campaign_async.emulator._store import StoreError, compare, matches
from webex_campaign_async.emulator._validate import WireCondition, validate
from webex_campaign_async.exceptions import ConfigurationError


@pytest.mark.parametrize(
    ("op", "left", "right", "expected"),
    [
        ("Equals", "10", "10.0", True),
        ("Equals", "1e1", "10.0", True),
        ("Equals", " 7 ", "7", True),
        ("Equals", "Oslo", "oslo", False),
        ("Equals", "true", "True", False),  # strings, case-sensitive
        ("NotEquals", "abc", "abd", True),
        ("GreaterThan", "10", "9", True),  # numeric
        ("GreaterThan", "10", "9a", False),  # string: "1" < "9"
        ("LessThan", "-1.5", "-1", True),
        ("LessThanEquals", "9223372036854775807", "9223372036854775806", False),
        ("GreaterThanEquals", "nan", "nan", True),  # not numbers: equal strings
        ("GreaterThan", "1_000", "2", False),  # underscores are not numbers here
    ],
)
def test_compare(op: str, left: str, right: str, expected: bool) -> None:
    assert compare(op, left, right) is expected


def _cond(label: str, val: str, logical_op: str = "and") -> WireCondition:
    return WireCondition(label, "Equals", val, logical_op)


def test_matches_empty_name_is_the_key_and_chaining_is_left_to_right() -> None:
    row = {"a": "1", "b": "2"}
    assert matches((_cond("", "K"),), "K", row)
    assert not matches((_cond("", "K"),), "L", row)
    a_or = _cond("a", "9", "or")
    b_and = _cond("b", "2", "and")
    never = _cond("a", "0")
    assert not matches((a_or, b_and, never), "K", row)  # (F or T) and F
    assert matches((a_or, b_and), "K", row)
    assert matches((_cond("id:5", "x"),), "K", {"id:5": "x"})


def _request(name: str, **fields: Any) -> Any:
    body = {"profile-name": name, "key": "K", "attributes": [{"attribute-name": "a", "val": "1"}]}
    return validate({**body, **fields})


def test_store_apply_and_errors() -> None:
    store = ProfileStore(frozenset({"contacts"}), {"contacts": "details"})
    assert store.is_known("details")
    with pytest.raises(StoreError) as error:
        store._apply(_request("contacts", **{"update-link": "3"}))
    assert error.value.code == "1010"
    assert store.count() == 0
    with pytest.raises(StoreError) as error:
        store._apply(_request("other"))
    assert error.value.code == "3005"
    assert store._apply(_request("contacts")) == 1
    assert sorted(store) == [("contacts", "K", {"a": "1"}), ("details", "K", {})]
    copy = store.get("contacts", "K")
    assert copy is not None
    copy["a"] = "2"
    assert store.get("contacts", "K") == {"a": "1"}, "get returns a copy"
    with pytest.raises(TypeError, match="values are strings"):
        store.put("contacts", "L", {"a": 1})  # type: ignore[dict-item]


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"rate": 0}, "rate"),
        ({"burst": 0.5}, "burst"),
        ({"retry_after": "later"}, "retry_after"),
        ({"retry_after": -1}, "retry_after"),
        ({"upsert_path": "no/slash"}, "upsert_path"),
        ({"api_keys": ["k"], "forbidden_keys": ["k"]}, "both"),
        ({"api_keys": [" "]}, "api_keys"),
        ({"faults": Faults(p500=0.5)}, None),
    ],
)
def test_config_validation(kwargs: dict[str, Any], message: str | None) -> None:
    if message is None:
        EmulatorConfig(**kwargs)
        return
    with pytest.raises(ConfigurationError, match=message):
        EmulatorConfig(**kwargs)


@pytest.mark.parametrize(
    "kwargs",
    [{"p500": 1.5}, {"p500": -0.1}, {"p500": 0.6, "p_slow": 0.6}, {"latency": -1}, {"seed": 1.5}],
)
def test_faults_validation(kwargs: dict[str, Any]) -> None:
    with pytest.raises(ConfigurationError):
        Faults(**kwargs)


def test_storm_validation() -> None:
    with pytest.raises(ConfigurationError):
        Storm(-1, 1)
    assert Storm(1, 2, "3").retry_after == 3.0
    assert Storm(1, 2).end == 3


def test_core_answers_without_any_io() -> None:
    core = EmulatorCore(EmulatorConfig(api_keys=["k"]))
    headers = {"authorization": "Bearer k"}  # any header case
    headers["content-type"] = "application/json; charset=utf-8"
    body = json.dumps({"profile-name": "p", "key": "K", "attributes": []}).encode()
    decision = core.handle("POST", DEFAULT_UPSERT_PATH, headers, body, now=5.0)
    assert (decision.status, decision.code) == (200, "1001")
    assert b"attributes: must not be empty" in decision.body
    ok = json.dumps(
        {"profile-name": "p", "key": "K", "attributes": [{"attribute-name": "a", "val": "1"}]}
    )
    decision = core.handle("POST", DEFAULT_UPSERT_PATH, headers, ok.encode(), now=5.0)
    assert decision.status == 200
    assert json.loads(decision.body)["update-count"] == 1
    assert not decision.dropped
    assert decision.delay == 0
    assert core.started_at == 5.0
