"""Bad input lines: each reported INVALID with its line number, and the run goes on."""

from __future__ import annotations

import re

from .conftest import Cli, read_jsonl, summary_counts


def _problems(stdout: str) -> dict[int, str]:
    """The summary's ``line N: invalid: reason`` lines."""
    found = re.findall(r"^    line (\d+): invalid: (.*)$", stdout, re.MULTILINE)
    return {int(line): reason for line, reason in found}


def _run(cli: Cli, name: str, *flags: str) -> tuple[dict[int, str], dict[str, int]]:
    done = cli.run("upsert", name, *flags, "--failures", "failed.jsonl", "--progress", "none")
    assert done.returncode == 1, done.stdout + done.stderr
    assert "Traceback" not in done.stderr
    problems = _problems(done.stdout)
    failed = {line["_line"]: line["_result"] for line in read_jsonl(cli.cwd / "failed.jsonl")}
    assert {line: result["status"] for line, result in failed.items()} == dict.fromkeys(
        problems, "invalid"
    )  # the failures file names the same lines
    journal = read_jsonl(cli.cwd / f"{name}.journal")
    assert {e["line"] for e in journal if e["status"] == "invalid"} == set(problems)
    return problems, summary_counts(done.stdout)


CSV = b"".join(
    line + b"\n"
    for line in [
        b"key,first,age",
        b"k1,Ann,30",
        b"k2,Bob",  # 3: too few fields
        b"k3,Cy,33,extra",  # 4: too many
        b",Dee,40",  # 5: no key
        b"  ,Eve,41",  # 6: a blank key
        b"k6,Jos\xe9,42",  # 7: Latin-1 in a UTF-8 file
        b'k7,"Un,closed,43',  # 8: a quote never closed
        b"k8,Gus,44",
        b"",
        b'k10,"multi',  # a quoted field over two lines: fine
        b'line",45',
        b'k12,"bad""",46',
        b"k13,Ida,47",
        b'k14,Jo,"48',  # 15: a quote in the last column, never closed
        b"k15,Kim,49",
    ]
)

EXPECTED_CSV = {
    3: "expected 3 fields, got 2",
    4: "expected 3 fields, got 4",
    5: "key: must not be empty",
    6: "key: must not be empty",
    7: "not valid UTF-8: invalid continuation byte at byte 6",
    8: "malformed CSV: a quote on this line is not closed (',' expected after '\"')",
    15: "malformed CSV: a quote on this line is not closed (unexpected end of data)",
}


def test_bad_csv_rows(cli: Cli) -> None:
    (cli.cwd / "in.csv").write_bytes(CSV)
    problems, counts = _run(cli, "in.csv", "--profile-name", "p")
    assert problems == EXPECTED_CSV
    assert counts["applied"] == 6
    # the rows after the unclosed quote were read on as records of their own
    assert cli.emulator.profiles("p") == {
        "k1": {"first": "Ann", "age": "30"},
        "k8": {"first": "Gus", "age": "44"},
        "k10": {"first": "multi\nline", "age": "45"},
        "k12": {"first": 'bad"', "age": "46"},
        "k13": {"first": "Ida", "age": "47"},
        "k15": {"first": "Kim", "age": "49"},
    }


JSONL = b"""{"profile-name": "p", "key": "k1", "attributes": [{"attribute-name": "a", "val": "1"}]}
{"profile-name": "p", "key": "k2", "attributes": [{"attribute-name": "a", "val": "2"}
[{"profile-name": "p"}]
"just a string"
{"profile-name": "p", "key": "k5", "colour": "red", "attributes": []}
{"profile-name": "p", "key": "", "attributes": [{"attribute-name": "a", "val": "6"}]}
{"profile-name": "p", "key": "k7", "attributes": [{"attribute-name": "a", "val": "caf\xe9"}]}
{"profile-name": "p", "key": "k8", "attributes": [{"attribute-name": "a", "val": {"x": 1}}]}
{"profile-name": "p", "key": "k9"}

{"profile-name": "p", "key": "k11", "attributes": [{"attribute-name": "a", "val": 11}]}
"""


def test_bad_json_lines(cli: Cli) -> None:
    (cli.cwd / "in.jsonl").write_bytes(JSONL)
    problems, counts = _run(cli, "in.jsonl")
    assert set(problems) == {2, 3, 4, 5, 6, 7, 8, 9}
    assert problems[2].startswith("not valid JSON: ")
    assert problems[3] == "expected a JSON object, not an array"
    assert problems[4] == "expected a JSON object, not a string"
    assert problems[5].startswith("unknown field(s) 'colour'")
    assert problems[6] == "key: must not be empty"
    assert problems[7] == "not valid UTF-8: invalid continuation byte at byte 85"
    assert problems[8].startswith("attributes[0].val: ")
    assert problems[9] == "attributes: is required"
    assert counts == {
        "applied": 2, "not_applied": 0, "rejected": 0, "invalid": 8, "failed": 0, "skipped": 0
    }  # fmt: skip
    # a number in the input goes out as a string, as the page types val
    assert cli.emulator.profiles("p") == {"k1": {"a": "1"}, "k11": {"a": "11"}}
