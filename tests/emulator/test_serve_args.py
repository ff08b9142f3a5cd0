"""``webex-campaign emulator``'s arguments: a bad one is one line and exit 2, never a port
the user did not ask for."""

from __future__ import annotations

import pytest

from webex_campaign_async.emulator._serve import main


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--port", "99999"], "argument --port: must be a port number from 0 to 65535"),
        (["--port", "-1"], "argument --port: must be a port number from 0 to 65535"),
        (["--rate", "abc"], "argument --rate: invalid float value: 'abc'"),
        (["--fault", "nope=1"], "unknown fault 'nope'"),
    ],
)
def test_a_bad_argument_is_one_line_and_exit_2(
    argv: list[str], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as info:
        main(argv, prog="webex-campaign emulator")
    assert info.value.code == 2
    err = capsys.readouterr().err
    assert err.startswith("webex-campaign emulator: error: ")
    assert message in err
    assert err.count("\n") == 1
