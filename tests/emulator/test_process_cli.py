"""Serving from the shell (`_serve.main`'s arguments) and from a child process (EmulatorProcess)."""

from __future__ import annotations

import json

import aiohttp
import pytest

from webex_campaign_async.emulator import EmulatorConfig, EmulatorProcess, Faults, Storm
from webex_campaign_async.emulator._config import config_from_json, config_to_json
from webex_campaign_async.emulator._serve import build_parser, config_from_args, main


def _config(*argv: str) -> EmulatorConfig:
    return config_from_args(build_parser().parse_args(argv))


def test_defaults_serve_on_8080() -> None:
    config = _config()
    assert (config.host, config.port, config.rate, config.faults) == (
        "127.0.0.1",
        8080,
        None,
        Faults(),
    )


def test_every_flag_lands_in_the_config() -> None:
    config = _config(
        "--port", "0", "--host", "::1", "--rate", "50", "--burst", "5", "--retry-after", "auto",
        "--latency", "0.02", "--jitter", "0.01", "--fault", "p500=0.02", "--fault",
        "p_drop_after=0.01", "--fault", "slow_seconds=3", "--storm", "10:5", "--storm",
        "30:2:4", "--seed", "9", "--api-key", "k1", "--api-key", "k2", "--forbidden-key", "ro",
        "--profile-list", "customers", "--link", "customers=details", "--lenient",
        "--upsert-path", "/v9/up", "--no-track-keys",
    )  # fmt: skip
    assert (config.host, config.port, config.rate, config.burst) == ("::1", 0, 50.0, 5.0)
    assert config.retry_after == "auto"
    assert config.faults == Faults(
        seed=9,
        latency=0.02,
        jitter=0.01,
        p500=0.02,
        p_drop_after=0.01,
        slow_seconds=3.0,
        storms=(Storm(10, 5), Storm(30, 2, retry_after=4)),
    )
    assert config.api_keys == ("k1", "k2")
    assert config.forbidden_keys == ("ro",)
    assert config.profile_lists == frozenset({"customers"})
    assert dict(config.links) == {"customers": "details"}
    assert config.strict is False
    assert config.upsert_path == "/v9/up"
    assert config.track_keys is False


def test_config_json_round_trip_and_override() -> None:
    config = EmulatorConfig(
        rate=5,
        retry_after=2,
        profile_lists=["a", "b"],
        links={"a": "b"},
        faults=Faults(p500=0.1, storms=[Storm(1, 2, "auto")]),
    )
    data = json.loads(json.dumps(config_to_json(config)))
    assert config_from_json(data) == config
    overridden = _config("--config-json", json.dumps(data), "--rate", "7", "--port", "0")
    assert overridden.rate == 7.0
    assert overridden.faults == config.faults


@pytest.mark.parametrize(
    "argv",
    [
        ["--fault", "p501=0.1"],
        ["--fault", "p500=lots"],
        ["--fault", "p500"],
        ["--storm", "10"],
        ["--retry-after", "soon"],
        ["--rate", "-1"],
        ["--fault", "p500=0.7", "--fault", "p499=0.7"],
    ],
)
def test_bad_arguments_exit_2(argv: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exited:
        main(argv)
    assert exited.value.code == 2
    assert "error" in capsys.readouterr().err


async def test_emulator_process_serves_and_reports() -> None:
    async with EmulatorProcess(api_keys=["bench-key"], rate=1000) as server:
        assert server.api_key == "bench-key"
        assert server.base_url.startswith("http://127.0.0.1:")
        headers = {"Authorization": "Bearer bench-key"}
        attributes = [{"attribute-name": "a", "val": "1"}]
        body = {"profile-name": "p", "key": "K", "attributes": attributes}
        async with aiohttp.ClientSession() as session:
            async with session.post(server.url, json=body, headers=headers) as response:
                assert response.status == 200
                assert (await response.json())["update-count"] == 1
            token = server.issue_token(max_requests=1)
            assert token.startswith("tok_")
            for expected in (200, 401):
                headers = {"Authorization": f"Bearer {token}"}
                async with session.post(server.url, json=body, headers=headers) as response:
                    assert response.status == expected
        stats = await server.astats(keys=True)
        assert stats["requests"] == 3
        assert stats["by_status"] == {"200": 2, "401/498": 1}
        # per key: authenticated requests only
        assert stats["requests_per_key"] == [{"profile-name": "p", "key": "K", "requests": 2}]
        assert server.profiles("p") == {"K": {"a": "1"}}
        server.reset()
        assert server.stats()["requests"] == 0
    assert server.returncode == 0
