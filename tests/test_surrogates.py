"""A lone surrogate is not Unicode text (no UTF-8 encoder takes it): a value holding one is
INVALID where it is made, naming the field, instead of a bare TypeError in `upsert()`."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from webex_campaign_async import (
    Attribute,
    CampaignClient,
    Condition,
    InvalidRecordError,
    ProfileUpsert,
    RecordStatus,
)
from webex_campaign_async._convert import encode_profile, profile_from_wire
from webex_campaign_async._records import prepare

BAD = "caf\udce9"  # what a Latin-1 byte decoded with surrogateescape looks like
HIGH = "\ud83d"  # half of an emoji


def _attrs(**kwargs: Any) -> Callable[[], object]:
    return lambda: ProfileUpsert("p", key="k", **kwargs)


CASES: list[tuple[str, Callable[[], object], str, str]] = [
    ("attribute value", lambda: Attribute("a", val=BAD), "val", "U+DCE9 at character 3"),
    ("attribute name", lambda: Attribute(BAD, val="x"), "name", "U+DCE9"),
    ("attribute id", lambda: Attribute(id=HIGH, val="x"), "id", "U+D83D at character 0"),
    ("a value in a mapping", _attrs(attributes={"a": BAD}), "attributes['a'].val", "U+DCE9"),
    ("a name in a mapping", _attrs(attributes={HIGH: "x"}), "attributes['\\ud83d'].name", ""),
    ("condition value", lambda: Condition("a", val=HIGH), "val", "U+D83D"),
    ("condition name", lambda: Condition(HIGH, val="x"), "name", "U+D83D"),
    ("key", lambda: ProfileUpsert("p", key=BAD, attributes={"a": "1"}), "key", "U+DCE9"),
    ("profile name", lambda: ProfileUpsert(BAD, key="k", attributes={"a": "1"}),
     "profile_name", "U+DCE9"),
    ("exparam value", _attrs(attributes={"a": "1"}, exparam={"x": BAD}), "exparam['x']", ""),
    ("exparam name", _attrs(attributes={"a": "1"}, exparam={BAD: "x"}), "exparam", ""),
    ("a str subclass", lambda: Attribute("a", val=type("S", (str,), {})(BAD)), "val", ""),
]  # fmt: skip


@pytest.mark.parametrize(
    ("make", "field", "where"), [c[1:] for c in CASES], ids=[c[0] for c in CASES]
)
def test_a_lone_surrogate_is_invalid_where_it_is_made(
    make: Callable[[], object], field: str, where: str
) -> None:
    with pytest.raises(InvalidRecordError) as caught:
        make()
    assert caught.value.field == field
    assert "holds a lone surrogate" in caught.value.reason
    assert where in caught.value.reason


@pytest.mark.parametrize(
    "text",
    ["", "plain", "café", "\U0001f600", "日本語", "\ud7ff\ue000", "\x00", "a" * 10_000 + "é"],
)
def test_real_text_passes(text: str) -> None:
    record = ProfileUpsert(
        "p", key="k" + text, attributes={"a" + text: text or "x"}, exparam={"e": text}
    )
    assert encode_profile(record)  # every JSON encoder takes it


def test_the_wire_form_names_the_path() -> None:
    wire = {
        "profile-name": "p",
        "key": "k",
        "attributes": [{"attribute-name": "a", "val": "ok"}, {"attribute-name": "b", "val": BAD}],
    }
    with pytest.raises(InvalidRecordError) as caught:
        profile_from_wire(wire)
    assert caught.value.field == "attributes[1].val"


def test_a_bulk_input_item_ends_invalid_not_in_a_crash() -> None:
    wire = {"profile-name": "p", "key": "k", "attributes": [{"attribute-name": "a", "val": BAD}]}
    result = prepare(3, wire)
    assert not isinstance(result, tuple)
    assert result.status is RecordStatus.INVALID
    assert "attributes[0].val: holds a lone surrogate" in result.message


async def test_upsert_of_a_mapping_raises_the_invalid_record_error() -> None:
    wire = {"profile-name": "p", "key": BAD, "attributes": [{"attribute-name": "a", "val": "1"}]}
    async with CampaignClient("http://127.0.0.1:9", api_key="k") as client:
        with pytest.raises(InvalidRecordError, match="key: holds a lone surrogate"):
            await client.upsert(wire)  # type: ignore[arg-type]
