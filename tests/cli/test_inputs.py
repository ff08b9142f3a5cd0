"""CSV and JSON lines input: what the emulator holds afterwards is exactly what the file says."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from .conftest import Cli, summary_counts, wire, write_csv, write_jsonl

HEADER = ["id", "first", "last", "age"]
ROWS = [
    ["C-1", "Ann", "Lee", "30"],
    ["C-2", "Bob", "", "41"],
    ["C-3", "Eve", "Ng", ""],
]


@pytest.mark.parametrize(
    ("flags", "expected"),
    [
        pytest.param(
            [],
            {
                "C-1": {"first": "Ann", "last": "Lee", "age": "30"},
                "C-2": {"first": "Bob", "age": "41"},
                "C-3": {"first": "Eve", "last": "Ng"},
            },
            id="all-columns-empty-cells-left-out",
        ),
        pytest.param(
            ["--keep-empty"],
            {
                "C-1": {"first": "Ann", "last": "Lee", "age": "30"},
                "C-2": {"first": "Bob", "last": "", "age": "41"},
                "C-3": {"first": "Eve", "last": "Ng", "age": ""},
            },
            id="keep-empty",
        ),
        pytest.param(
            ["--columns", "first, age"],
            {"C-1": {"first": "Ann", "age": "30"}, "C-2": {"first": "Bob", "age": "41"},
             "C-3": {"first": "Eve"}},
            id="columns",
        ),
        pytest.param(
            ["--columns", "first,last", "--rename", "first=firstname", "--rename", "last=surname"],
            {
                "C-1": {"firstname": "Ann", "surname": "Lee"},
                "C-2": {"firstname": "Bob"},
                "C-3": {"firstname": "Eve", "surname": "Ng"},
            },
            id="columns-and-rename",
        ),
    ],
)  # fmt: skip
def test_csv_options_shape_the_profiles(
    cli: Cli, tmp_path: Path, flags: list[str], expected: dict[str, Any]
) -> None:
    source = write_csv(tmp_path / "people.csv", HEADER, ROWS)
    args = ["upsert", str(source), "--profile-name", "people", "--key-column", "id"]
    done = cli.run(*args, *flags, "--progress", "none")
    assert done.returncode == 0, done.stderr + done.stdout
    assert cli.emulator.profiles("people") == expected
    assert cli.emulator.stats()["requests"] == len(ROWS)


def test_csv_with_other_delimiter_crlf_and_a_bom(cli: Cli, tmp_path: Path) -> None:
    source = tmp_path / "people.txt"
    source.write_bytes(b'\xef\xbb\xbfkey;city\r\nk1;Oslo\r\nk2;"Gda\xc5\x84sk; PL"\r\n\r\n')
    done = cli.run(
        "upsert", str(source), "--profile-name", "p", "--delimiter", ";", "--progress", "none"
    )
    assert done.returncode == 0, done.stderr + done.stdout
    assert cli.emulator.profiles("p") == {"k1": {"city": "Oslo"}, "k2": {"city": "Gdańsk; PL"}}


def test_update_only_rows_that_match_nothing_are_not_applied(cli: Cli, tmp_path: Path) -> None:
    write_csv(tmp_path / "seed.csv", ["key", "a"], [["k1", "old"]])
    seeded = cli.run("upsert", "seed.csv", "--profile-name", "p", "--progress", "none")
    assert seeded.returncode == 0
    write_csv(tmp_path / "update.csv", ["key", "a"], [["k1", "new"], ["k2", "new"]])
    done = cli.run(
        "upsert", "update.csv", "--profile-name", "p", "--upsert", "update-only", "--progress",
        "none", "--failures", "failed.jsonl",
    )  # fmt: skip
    assert done.returncode == 1
    assert cli.emulator.profiles("p") == {"k1": {"a": "new"}}
    assert summary_counts(done.stdout)["not_applied"] == 1
    # NOT_APPLIED records ended: they are not in the failures file
    assert (tmp_path / "failed.jsonl").read_text() == ""


def test_jsonl_lines_and_profile_name_default(cli: Cli, tmp_path: Path) -> None:
    source = write_jsonl(
        tmp_path / "people.jsonl",
        [
            wire("explicit", "k1", a="1"),
            {"key": "k2", "attributes": [{"attribute-name": "a", "val": "2"}]},
            "",  # a blank line is no record
            {"key": "k3", "attributes": [{"attribute-name": "n", "val": 3}], "upsert": "1"},
            {"profile-name": "explicit", "key": "k4", "attributes": [{"attribute-name": "b",
             "val": True}], "_result": {"status": "failed"}, "_line": 9},
        ],
    )  # fmt: skip
    done = cli.run("upsert", str(source), "--profile-name", "default", "--progress", "none")
    assert done.returncode == 0, done.stderr + done.stdout
    # numbers and booleans in the input go out as strings, as the page types val
    assert cli.emulator.profiles("explicit") == {"k1": {"a": "1"}, "k4": {"b": "true"}}
    assert cli.emulator.profiles("default") == {"k2": {"a": "2"}, "k3": {"n": "3"}}


@pytest.mark.parametrize("name", ["records.ndjson", "records.data"])
def test_jsonl_by_extension_or_format_flag(cli: Cli, tmp_path: Path, name: str) -> None:
    write_jsonl(tmp_path / name, [wire("p", "k1", a="x")])
    extra = ["--format", "jsonl"] if name.endswith(".data") else []
    done = cli.run("upsert", name, *extra, "--progress", "none")
    assert done.returncode == 0, done.stderr + done.stdout
    assert cli.emulator.profiles("p") == {"k1": {"a": "x"}}
