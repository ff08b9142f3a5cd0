"""Pure parts without a server: comparison, the store, configuration validation, the core."""

from __future__ import annotations

import json
from typing import Any

import pytest

from webex_campaign_async._models import Condition, ProfileUpsert, RelOp
from webex_campaign_async.emulator import (
    DEFAULT_UPSERT_PATH,
    EmulatorConfig,
    EmulatorCore,
    Faults,
    ProfileStore,
    Storm,
)
from webex_campaign_async.emulator._store import StoreError, compare, matches
from webex_campaign_async.exceptions import ConfigurationError


@pytest.mark.parametrize(
    ("op", "left", "right", "expected"),
    [
        (RelOp.EQUALS, "10", 10, True),
        (RelOp.EQUALS, "1e1", "10.0", True),
        (RelOp.EQUALS, " 7 ", "7", True),
        (RelOp.EQUALS, "Oslo", "oslo", False),
        (RelOp.EQUALS, True, "true", True),
        (RelOp.NOT_EQUALS, "abc", "abd", True),
        (RelOp.GREATER_THAN, "10", "9", True),  # numeric
        (RelOp.GREATER_THAN, "10", "9a", False),  # string: "1" < "9"
        (RelOp.LESS_THAN, -1.5, "-1", True),
        (RelOp.LESS_THAN_EQUALS, "9223372036854775807", 9223372036854775806, False),
        (RelOp.GREATER_THAN_EQUALS, "nan", "nan", True),  # not numbers: equal strings
        (RelOp.GREATER_THAN, "1_000", "2", False),  # underscores are not numbers here
    ],
)
def test_compare(op: RelOp, left: Any, right: Any, expected: bool) -> None:
    assert compare(op, left, right) is expected


def test_matches_empty_name_is_the_key_and_chaining_is_left_to_right() -> None:
    row = {"a": "1", "b": "2"}
    cond = Condition
    assert matches((cond("", val="K"),), "K", row)
    assert not matches((cond("", val="K"),), "L", row)
    a_or = cond("a", val="9", logical_op="or")
    b_and = cond("b", val="2", logical_op="and")
    never = cond("a", val="0")
    assert not matches((a_or, b_and, never), "K", row)  # (F or T) and F
    assert matches((a_or, b_and), "K", row)
    assert matches((cond(id="5", val="x"),), "K", {"id:5": "x"})


def test_store_apply_and_errors() -> None:
    store = ProfileStore(frozenset({"contacts"}), {"contacts": "details"})
    assert store.is_known("details")
    profile = ProfileUpsert("contacts", key="K", attributes={"a": 1}, update_link="3")
    with pytest.raises(StoreError) as error:
        store.apply(profile)
    assert error.value.code == "1010"
    assert store.count() == 0
    with pytest.raises(StoreError) as error:
        store.apply(ProfileUpsert("other", key="K", attributes={"a": 1}))
    assert error.value.code == "3005"
    assert store.apply(ProfileUpsert("contacts", key="K", attributes={"a": 1})) == 1
    assert sorted(store) == [("contacts", "K", {"a": 1}), ("details", "K", {})]
    copy = store.get("contacts", "K")
    assert copy is not None
    copy["a"] = 2
    assert store.get("contacts", "K") == {"a": 1}, "get returns a copy"


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
        ({"profile_ids": {"a": "1", "b": "1"}}, "profile id"),
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
    body = json.dumps({"profile-name": "p", "key": "K", "attributes": []}).encode()
    decision = core.handle("POST", DEFAULT_UPSERT_PATH, headers, body, now=5.0)
    assert (decision.status, decision.code) == (200, "1001")
    assert b"attributes: at least one attribute is required" in decision.body
    ok = json.dumps(
        {"profile-name": "p", "key": "K", "attributes": [{"attribute-name": "a", "val": 1}]}
    )
    decision = core.handle("POST", DEFAULT_UPSERT_PATH, headers, ok.encode(), now=5.0)
    assert decision.status == 200
    assert json.loads(decision.body)["update-count"] == 1
    assert not decision.dropped
    assert decision.delay == 0
    assert core.started_at == 5.0
