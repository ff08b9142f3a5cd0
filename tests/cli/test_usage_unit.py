"""Bad option values are usage errors: exit 2 and one line on stderr, checked before anything
is read, written or sent. In process, through `main()`; `test_exit_codes.py` runs a few of
them through the console script too."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from webex_campaign_async.cli import main
from webex_campaign_async.cli._args import build_parser, job_options


@pytest.fixture
def workdir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("WEBEX_CAMPAIGN_API_KEY", "key-for-the-tests")
    monkeypatch.setenv("WEBEX_CAMPAIGN_BASE_URL", "http://127.0.0.1:9")  # nothing listens
    (tmp_path / "in.csv").write_text("key,a,b\nk1,1,2\n")
    (tmp_path / "in.tsv").write_text("key\ta\nk1\t1\n")
    (tmp_path / "dup.csv").write_text("key,a,a\nk1,1,2\n")
    (tmp_path / "in.jsonl").write_text(
        json.dumps({"profile-name": "p", "key": "k1", "attributes": []}) + "\n"
    )
    return tmp_path


CSV = ["upsert", "in.csv", "--profile-name", "p"]

USAGE_ERRORS = [
    # argparse: the value does not parse
    ([*CSV, "--rate", "abc"], "argument --rate: expected a number, got 'abc'"),
    ([*CSV, "--rate", "0"], "argument --rate: must be a finite number > 0, got '0'"),
    ([*CSV, "--rate", "inf"], "argument --rate: must be a finite number > 0, got 'inf'"),
    ([*CSV, "--rate", "nan"], "argument --rate: must be a finite number > 0, got 'nan'"),
    ([*CSV, "--timeout", "inf"], "argument --timeout: must be a finite number > 0"),
    ([*CSV, "--deadline", "-1"], "argument --deadline: must be a finite number > 0"),
    ([*CSV, "--progress-interval", "1e999"], "argument --progress-interval: must be a finite"),
    ([*CSV, "--concurrency", "0"], "argument --concurrency: must be >= 1, got '0'"),
    ([*CSV, "--concurrency", "2.5"], "argument --concurrency: expected a whole number, got '2.5'"),
    ([*CSV, "--concurrency", "100001"], "argument --concurrency: must be <= 10,000"),
    ([*CSV, "--attempts", "x"], "argument --attempts: expected a whole number, got 'x'"),
    ([*CSV, "--rename", "a"], "argument --rename: expected OLD=NEW, got 'a'"),
    ([*CSV, "--rename", "a= "], "argument --rename: expected OLD=NEW, got 'a= '"),
    ([*CSV, "--upsert", "sometimes"], "argument --upsert: 'sometimes' is not one of"),
    ([*CSV, "--progress", "loud"], "argument --progress: invalid choice: 'loud'"),
    (["upsert"], "the following arguments are required: INPUT"),
    (["demo", "--records", "0"], "argument --records: must be >= 1, got '0'"),
    # checked into the job's options
    ([*CSV, "--encoding", "nope"], "--encoding: unknown encoding 'nope'"),
    ([*CSV, "--encoding", "base64"], "--encoding: 'base64' is not a text encoding"),
    ([*CSV, "--encoding", "unicode_escape"], "--encoding: files in unicode-escape cannot be"),
    ([*CSV, "--delimiter", ";;"], "--delimiter: must be one character, not ';;'"),
    ([*CSV, "--delimiter", ""], "--delimiter: must be one character, not ''"),
    ([*CSV, "--delimiter", '"'], "--delimiter: '\"' cannot separate CSV fields"),
    (["upsert", "in.csv", "--profile-name", " "], "--profile-name must not be empty"),
    ([*CSV, "--key-column", " "], "--key-column must not be empty"),
    ([*CSV, "--columns", "a,,b"], "--columns 'a,,b': a column name is empty"),
    ([*CSV, "--columns", "a,b,a"], "--columns names 'a' twice"),
    ([*CSV, "--rename", "a=x", "--rename", "a=y"], "--rename a=...: given twice for column 'a'"),
    ([*CSV, "--burst", "5"], "--burst needs --rate"),
    (["upsert", "in.jsonl", "--delimiter", ";"], "--delimiter: only for CSV input"),
    (["upsert", "in.jsonl", "--rename", "a=b", "--keep-empty"], "--rename, --keep-empty: only"),
    # checked against the file's header
    (["upsert", "dup.csv", "--profile-name", "p"],
     "'dup.csv': column 'a' appears 2 times in the header row (columns 2, 3)"),
    ([*CSV, "--rename", "a=b"], "columns 'a' and 'b' would both be sent as attribute 'b'"),
    ([*CSV, "--columns", "a", "--rename", "b=c"], "column 'b' is not sent (see --columns)"),
]  # fmt: skip


CASES = [
    (argv, message, dry_run)
    for argv, message in USAGE_ERRORS
    for dry_run in (False, True)
    if not (dry_run and argv[0] == "demo")  # the demo has no --dry-run
]


@pytest.mark.parametrize(
    ("argv", "message", "dry_run"),
    CASES,
    ids=[f"{m}-{'dry-run' if d else 'run'}" for _, m, d in CASES],
)
def test_a_bad_option_value_is_a_one_line_usage_error(
    workdir: Path,
    capsys: pytest.CaptureFixture[str],
    argv: list[str],
    message: str,
    dry_run: bool,
) -> None:
    try:
        code = main([*argv, *(["--dry-run"] if dry_run else [])])
    except SystemExit as exc:  # argparse's own exit
        code = exc.code  # type: ignore[assignment]
    assert code == 2
    out, err = capsys.readouterr()
    assert out == ""
    assert err.count("\n") == 1, err  # one line
    assert err.startswith(("webex-campaign: error: ", "webex-campaign upsert: error: ",
                           "webex-campaign demo: error: "))  # fmt: skip
    assert message in err
    assert sorted(p.name for p in workdir.iterdir()) == [
        "dup.csv", "in.csv", "in.jsonl", "in.tsv"
    ]  # fmt: skip  # nothing written: no journal, no report


def _options(*argv: str) -> object:
    return job_options(build_parser().parse_args(["upsert", *argv]))


@pytest.mark.parametrize(
    ("argv", "delimiter"),
    [
        (["in.csv"], ","),
        (["in.tsv"], "\t"),
        (["in.tsv", "--delimiter", ";"], ";"),
        (["in.csv", "--delimiter", "\\t"], "\t"),
        (["in.csv", "--delimiter", "tab"], "\t"),
    ],
)
def test_the_delimiter(argv: list[str], delimiter: str) -> None:
    options = _options(*argv, "--profile-name", "p")
    assert options.csv.delimiter == delimiter  # type: ignore[attr-defined]


@pytest.mark.parametrize(
    ("given", "codec"),
    [(None, "utf-8-sig"), ("UTF16", "utf-16"), ("latin1", "iso8859-1")],
)
def test_the_encoding_applies_to_csv_and_json_lines(given: str | None, codec: str) -> None:
    flags = [] if given is None else ["--encoding", given]
    assert _options("in.jsonl", *flags).encoding == codec  # type: ignore[attr-defined]
    csv_options = _options("in.csv", "--profile-name", "p", *flags).csv  # type: ignore[attr-defined]
    assert csv_options.encoding == codec


def test_columns_and_renames_are_stripped() -> None:
    options = _options(
        "in.csv", "--profile-name", "p", "--columns", " a , b", "--rename", " a =x", "--key-column",
        " id ",
    )  # fmt: skip
    csv_options = options.csv  # type: ignore[attr-defined]
    assert csv_options.columns == ("a", "b")
    assert dict(csv_options.rename) == {"a": "x"}
    assert csv_options.key_column == "id"
