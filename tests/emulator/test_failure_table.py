"""Every row of the vendor's failure table the emulator answers: the exact HTTP status, code
and description. 7031 ("Profile Id and Profile name do not match.") is not among them: the
page's request table has no profile id to send (the library classifies it from a sample)."""

from __future__ import annotations

from typing import Any

import aiohttp
import pytest

from webex_campaign_async.emulator import Emulator, EmulatorConfig, Faults

from .conftest import post, upsert_body

TEXT_1010 = "The request was not processed."
TEXT_1001_NAME = "Invalid input JSON - One of 'ProfileID' or 'ProfileName' parameter is mandatory. "
TEXT_430 = "Authorization failed. This resource is not allowed to access using this TOKEN or KEY"
TEXT_498 = "Invalid token or Access token expired"
TEXT_429 = "Too many requests. Throttle limit reached for the time window."
TEXT_499 = (
    "Request failed. Check the exact reason of failure in application code and description "
    "of error stream."
)

# (id, config, request keyword arguments, HTTP status, code, description)
ROWS: list[tuple[str, EmulatorConfig, dict[str, Any], int, str, str]] = [
    (
        "200/1010 linked profile missing with update-link 3",
        EmulatorConfig(links={"contacts": "contact_details"}),
        {"body": upsert_body(update_link="3")},
        200,
        "1010",
        TEXT_1010,
    ),
    (
        "200/1010 injected",
        EmulatorConfig(faults=Faults(p1010=1.0)),
        {"body": upsert_body()},
        200,
        "1010",
        TEXT_1010,
    ),
    (
        "200/1001 profile-name missing",
        EmulatorConfig(),
        {"body": {"key": "K-1", "attributes": [{"attribute-name": "a", "val": "1"}]}},
        200,
        "1001",
        TEXT_1001_NAME,
    ),
    (
        "200/1001 profile-name empty",
        EmulatorConfig(),
        {"body": upsert_body(profile_name=" ")},
        200,
        "1001",
        TEXT_1001_NAME,
    ),
    (
        "200/3005 unknown profile list",
        EmulatorConfig(profile_lists=["customers"]),
        {"body": upsert_body(profile_name="contacts")},
        200,
        "3005",
        "Invalid Profile ID",
    ),
    (
        "401/430 no authorization header",
        EmulatorConfig(),
        {"body": upsert_body(), "headers": {}},
        401,
        "430",
        TEXT_430,
    ),
    (
        "401/430 malformed authorization header",
        EmulatorConfig(),
        {"body": upsert_body(), "headers": {"Authorization": "Basic dXNlcjpwYXNz"}},
        401,
        "430",
        TEXT_430,
    ),
    (
        "401/430 forbidden key",
        EmulatorConfig(forbidden_keys=["read-only-key"]),
        {"body": upsert_body(), "key": "read-only-key"},
        401,
        "430",
        TEXT_430,
    ),
    (
        "401/498 unknown token",
        EmulatorConfig(),
        {"body": upsert_body(), "key": "tok_unknown"},
        401,
        "498",
        TEXT_498,
    ),
    (
        "405/405 GET",
        EmulatorConfig(),
        {"method": "GET"},
        405,
        "405",
        "Method not supported",
    ),
    (
        "405/405 PUT",
        EmulatorConfig(),
        {"method": "PUT", "body": upsert_body()},
        405,
        "405",
        "Method not supported",
    ),
    (
        "429/429 throttled",
        EmulatorConfig(rate=0.001, burst=1),
        {"body": upsert_body(), "repeat": 2},
        429,
        "429",
        TEXT_429,
    ),
    (
        "499/499 injected",
        EmulatorConfig(faults=Faults(p499=1.0)),
        {"body": upsert_body()},
        499,
        "499",
        TEXT_499,
    ),
    (
        "500/500 injected",
        EmulatorConfig(faults=Faults(p500=1.0)),
        {"body": upsert_body()},
        500,
        "500",
        "Internal server error",
    ),
    (
        "500/1001 body not JSON",
        EmulatorConfig(),
        {"raw": b"profile-name=contacts&key=K-1"},
        500,
        "1001",
        "Invalid input JSON",
    ),
    (
        "500/1001 empty body",
        EmulatorConfig(),
        {"raw": b""},
        500,
        "1001",
        "Invalid input JSON",
    ),
    (
        "500/1001 no Content-Type",
        EmulatorConfig(),
        {"body": upsert_body(), "content_type": None},
        500,
        "1001",
        "Invalid input JSON - Content-Type: expected application/json, missing",
    ),
]


@pytest.mark.parametrize(
    ("config", "request_kwargs", "status", "code", "description"),
    [pytest.param(*row[1:], id=row[0]) for row in ROWS],
)
async def test_failure_row(
    session: aiohttp.ClientSession,
    config: EmulatorConfig,
    request_kwargs: dict[str, Any],
    status: int,
    code: str,
    description: str,
) -> None:
    kwargs = dict(request_kwargs)
    repeat = kwargs.pop("repeat", 1)
    async with Emulator(config) as emulator:
        for _ in range(repeat):
            answer = await post(session, emulator, **kwargs)
        assert answer.status == status
        assert answer.json == {"code": code, "description": description}
        assert answer.headers["Content-Type"].startswith("application/json")
        assert emulator.stats.count(status, code) == 1
        if code not in ("500", "499") and status != 429:
            assert emulator.store.count() == 0, "a failed request must not write"


async def test_unknown_path_is_a_plain_404(
    session: aiohttp.ClientSession, campaign_emulator: Emulator
) -> None:
    answer = await post(session, campaign_emulator, upsert_body(), path="/campaignapi/v2/nope")
    assert answer.status == 404
    assert answer.code is None
    assert campaign_emulator.stats.count(404) == 1
    assert campaign_emulator.store.count() == 0


async def test_405_names_the_allowed_method(
    session: aiohttp.ClientSession, campaign_emulator: Emulator
) -> None:
    answer = await post(session, campaign_emulator, method="DELETE")
    assert answer.status == 405
    assert answer.headers["Allow"] == "POST"
