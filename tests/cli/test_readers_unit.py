"""The CSV and JSON lines readers, in process and table-driven: quoting, blank lines, bad
bytes, field counts, renames, columns, keep-empty, encodings, delimiters, the header's
checks, and JSON lines annotations, defaults and numbers."""

from __future__ import annotations

import codecs
import csv
import io
import json
import re
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from webex_campaign_async import InputError, InvalidRecordError, ProfileUpsert, UpdateLink
from webex_campaign_async.cli._lines import check_encoding, count_lines
from webex_campaign_async.cli._readers import (
    CsvOptions,
    check_delimiter,
    default_delimiter,
    detect_format,
    read_csv,
    read_jsonl,
)

Row = tuple[int, Any]


def _summary(items: list[tuple[int, Any]]) -> list[Row]:
    """``(line, (key, attributes))`` of a record, ``(line, message)`` of an invalid line."""
    out: list[Row] = []
    for line, item in items:
        if isinstance(item, ProfileUpsert):
            out.append((line, (item.key, {a.name: a.val for a in item.attributes})))
        else:
            assert isinstance(item, InvalidRecordError)
            out.append((line, str(item)))
    return out


def csv_rows(data: bytes, **options: Any) -> list[Row]:
    return _summary(list(read_csv(io.BytesIO(data), CsvOptions("p", **options))))


def jsonl_rows(data: bytes, **options: Any) -> list[Row]:
    return _summary(list(read_jsonl(io.BytesIO(data), **options)))


# --- CSV: rows -------------------------------------------------------------------------------

CSV_CASES: list[tuple[str, bytes, dict[str, Any], list[Row]]] = [
    ("plain", b"key,a,b\nk1,1,2\n", {}, [(2, ("k1", {"a": "1", "b": "2"}))]),
    ("no newline at the end", b"key,a\nk1,1", {}, [(2, ("k1", {"a": "1"}))]),
    ("crlf", b"key,a\r\nk1,1\r\nk2,2\r\n", {}, [(2, ("k1", {"a": "1"})), (3, ("k2", {"a": "2"}))]),
    (
        "blank and whitespace lines are skipped",
        b"key,a\n\nk1,1\n   \n\t\nk2,2\n",
        {},
        [(3, ("k1", {"a": "1"})), (6, ("k2", {"a": "2"}))],
    ),
    ("values are kept as they are", b"key,a\n k1 , x \n", {}, [(2, ("k1", {"a": " x "}))]),
    ("header names are stripped", b" key , a \nk1,1\n", {}, [(2, ("k1", {"a": "1"}))]),
    ("empty cells are left out", b"key,a,b\nk1,,2\n", {}, [(2, ("k1", {"b": "2"}))]),
    ("--keep-empty", b"key,a,b\nk1,,2\n", {"keep_empty": True}, [(2, ("k1", {"a": "", "b": "2"}))]),
    (
        "a row of empty cells has no attribute",
        b"key,a\nk1,\n",
        {},
        [(2, "line 2: attributes: at least one attribute is required")],
    ),
    (
        "--columns",
        b"key,a,b,c\nk1,1,2,3\n",
        {"columns": ("c", "a")},
        [(2, ("k1", {"c": "3", "a": "1"}))],
    ),
    (
        "--rename",
        b"key,a,b\nk1,1,2\n",
        {"rename": {"a": "first", "b": "second"}},
        [(2, ("k1", {"first": "1", "second": "2"}))],
    ),
    ("--key-column", b"id,a\nk1,1\n", {"key_column": "id"}, [(2, ("k1", {"a": "1"}))]),
    (
        "the key column among --columns is also sent",
        b"id,a\nk1,1\n",
        {"key_column": "id", "columns": ("id", "a")},
        [(2, ("k1", {"id": "k1", "a": "1"}))],
    ),
    (
        "field counts",
        b"key,a,b\nk1,1\nk2,1,2,3\nk3,1,2\n",
        {},
        [
            (2, "line 2: expected 3 fields, got 2"),
            (3, "line 3: expected 3 fields, got 4"),
            (4, ("k3", {"a": "1", "b": "2"})),
        ],
    ),
    (
        "empty and blank keys",
        b"key,a\n,1\n  ,2\n",
        {},
        [(2, "line 2: key: must not be empty"), (3, "line 3: key: must not be empty")],
    ),
    # quoting
    (
        "quoted fields: delimiters, doubled quotes, newlines",
        b'key,a,b\nk1,"x,y","say ""hi"""\nk2,"two\nlines",z\nk4,1,2\n',
        {},
        [
            (2, ("k1", {"a": "x,y", "b": 'say "hi"'})),
            (3, ("k2", {"a": "two\nlines", "b": "z"})),
            (5, ("k4", {"a": "1", "b": "2"})),
        ],
    ),
    (
        "an unclosed quote in the last column does not swallow the file",
        b'key,a,b\nk1,1,"open\nk2,2,2\nk3,3,3\n',
        {},
        [
            (
                2,
                "line 2: malformed CSV: a quote on this line is not closed "
                "(unexpected end of data)",
            ),
            (3, ("k2", {"a": "2", "b": "2"})),
            (4, ("k3", {"a": "3", "b": "3"})),
        ],
    ),
    (
        "an unclosed quote on the last line",
        b'key,a\nk1,1\nk2,"open',
        {},
        [
            (2, ("k1", {"a": "1"})),
            (
                3,
                "line 3: malformed CSV: a quote on this line is not closed before the end of "
                "the file",
            ),
        ],
    ),
    (
        "an unclosed quote ended by a later quote",
        b'key,a,b\nk1,"open,1\nk2,2,2\nk3,"x",3\nk4,4,4\n',
        {},
        [
            (
                2,
                "line 2: malformed CSV: a quote on this line is not closed "
                "(',' expected after '\"')",
            ),
            (3, ("k2", {"a": "2", "b": "2"})),
            (4, ("k3", {"a": "x", "b": "3"})),
            (5, ("k4", {"a": "4", "b": "4"})),
        ],
    ),
    (
        "an unclosed quote whose field count is off",
        b'key,a,b\nk1,"open,1\nk2,2,2\nend"\nk4,4,4\n',
        {},
        [
            (2, "line 2: expected 3 fields, got 2: a quote on this line is not closed"),
            (3, ("k2", {"a": "2", "b": "2"})),
            (4, "line 4: expected 3 fields, got 1"),
            (5, ("k4", {"a": "4", "b": "4"})),
        ],
    ),
    (
        "text after a closing quote",
        b'key,a\nk1,"x"y\nk2,2\n',
        {},
        [(2, "line 2: malformed CSV: ',' expected after '\"'"), (3, ("k2", {"a": "2"}))],
    ),
    ("a quote inside an unquoted field is text", b'key,a\nk1,5"\n', {}, [(2, ("k1", {"a": '5"'}))]),
    # bad bytes
    (
        "a bad byte spoils its own line",
        b"key,a\nk1,Jos\xe9\nk2,ok\n",
        {},
        [
            (2, "line 2: not valid UTF-8: invalid continuation byte at byte 6"),
            (3, ("k2", {"a": "ok"})),
        ],
    ),
    (
        "a bad byte inside a quoted multi-line field",
        b'key,a\nk1,"one\ntw\xff"\nk2,ok\n',
        {},
        [(2, "line 2: not valid UTF-8: invalid start byte at byte 2"), (4, ("k2", {"a": "ok"}))],
    ),
    ("the BOM of UTF-8 is skipped", b"\xef\xbb\xbfkey,a\nk1,1\n", {}, [(2, ("k1", {"a": "1"}))]),
    (
        "latin-1",
        "key,a\nk1,José\n".encode("latin-1"),
        {"encoding": "latin-1"},
        [(2, ("k1", {"a": "José"}))],
    ),
    (
        "cp037 (EBCDIC): another byte is the newline",
        "key,a\nk1,José\n".encode("cp037"),
        {"encoding": "cp037"},
        [(2, ("k1", {"a": "José"}))],
    ),
    # delimiters
    ("a semicolon", b"key;a\nk1;1,5\n", {"delimiter": ";"}, [(2, ("k1", {"a": "1,5"}))]),
    ("a tab", b"key\ta\nk1\t1,5\n", {"delimiter": "\t"}, [(2, ("k1", {"a": "1,5"}))]),
]


@pytest.mark.parametrize(
    ("data", "options", "expected"),
    [case[1:] for case in CSV_CASES],
    ids=[case[0] for case in CSV_CASES],
)
def test_csv(data: bytes, options: dict[str, Any], expected: list[Row]) -> None:
    assert csv_rows(data, **options) == expected


def test_an_invalid_row_keeps_its_source() -> None:
    items = list(read_csv(io.BytesIO(b"key,a\n,1\nk2\n"), CsvOptions("p")))
    errors = [item for _, item in items]
    assert isinstance(errors[0], InvalidRecordError)
    assert errors[0].source == {
        "profile-name": "p",
        "key": "",
        "attributes": [{"attribute-name": "a", "val": "1"}],
        "upsert": "1",
    }  # the wire JSON of the row: fix it in the failures file, then re-run it
    assert isinstance(errors[1], InvalidRecordError)
    assert errors[1].source == {"key": "k2"}


def test_update_link_and_upsert_reach_the_record() -> None:
    options = CsvOptions("p", update_link=UpdateLink.FAIL)
    [(_, item)] = read_csv(io.BytesIO(b"key,a\nk1,1\n"), options)
    assert isinstance(item, ProfileUpsert)
    assert item.update_link is UpdateLink.FAIL


def test_a_path_is_opened_and_a_tsv_is_read_with_tabs(tmp_path: Path) -> None:
    path = tmp_path / "in.tsv"
    path.write_bytes(b"key\ta,b\nk1\t1,2\n")
    [(_, item)] = read_csv(path, CsvOptions("p"))
    assert isinstance(item, ProfileUpsert)
    assert {a.name: a.val for a in item.attributes} == {"a,b": "1,2"}
    with pytest.raises(InputError, match=r"no key column 'key'; its columns are 'key\\ta', 'b'"):
        list(read_csv(str(path), CsvOptions("p", delimiter=",")))  # given: it wins


# --- CSV: the header -------------------------------------------------------------------------

HEADER_CASES = [
    ("empty file", b"", {}, "'<input>' is empty: expected a header row"),
    ("no key column", b"id,a\n", {}, "has no key column 'key'; its columns are 'id', 'a'"),
    ("missing --columns", b"key,a\n", {"columns": ("a", "b")}, "has no column(s) 'b'"),
    ("missing --rename", b"key,a\n", {"rename": {"b": "c"}}, "has no column(s) 'b'"),
    (
        "a duplicate column",
        b"key,a,b,a\nk1,1,2,3\n",
        {},
        "column 'a' appears 2 times in the header row (columns 2, 4)",
    ),
    ("a duplicate once stripped", b"key,a, a\n", {}, "column 'a' appears 2 times"),
    ("a duplicate key column", b"key,a,key\n", {}, "column 'key' appears 2 times"),
    ("a column without a name", b"key,a,\n", {}, "column 3 of the header row has no name"),
    ("two without a name", b"key,,\n", {}, "a column without a name appears 2 times"),
    (
        "two columns renamed to one attribute",
        b"key,a,b\n",
        {"rename": {"a": "b"}},
        "columns 'a' and 'b' would both be sent as attribute 'b'",
    ),
    (
        "a rename of a column not sent",
        b"key,a,b\n",
        {"columns": ("a",), "rename": {"b": "c"}},
        "--rename b=...: column 'b' is not sent",
    ),
    (
        "an unclosed quote in the header",
        b'key,"a\nk1,1\n',
        {},
        "a quote in the header row is not closed",
    ),
    ("a bad byte in the header", b"key,\xff\nk1,1\n", {}, "the header row is not valid UTF-8"),
    ("an unknown encoding", b"key,a\n", {"encoding": "nope"}, "unknown encoding 'nope'"),
    ("not a text encoding", b"key,a\n", {"encoding": "base64"}, "'base64' is not a text encoding"),
    ("a long delimiter", b"key,a\n", {"delimiter": ";;"}, "the delimiter must be one character"),
    ("a quote as delimiter", b"key,a\n", {"delimiter": '"'}, "the delimiter '\"' cannot separate"),
]


@pytest.mark.parametrize(
    ("data", "options", "message"),
    [case[1:] for case in HEADER_CASES],
    ids=[case[0] for case in HEADER_CASES],
)
def test_a_header_the_options_cannot_use(
    data: bytes, options: dict[str, Any], message: str
) -> None:
    with pytest.raises(InputError) as caught:
        csv_rows(data, **options)
    assert message in str(caught.value)


@pytest.mark.parametrize(
    ("data", "options"),
    [
        (b"key,a,b,b\nk1,1,2,3\n", {"columns": ("a",)}),  # the duplicate is not sent
        (b"key,a,\nk1,1,\n", {"columns": ("a",)}),  # nor the column without a name
    ],
)
def test_unused_columns_may_be_odd(data: bytes, options: dict[str, Any]) -> None:
    assert csv_rows(data, **options) == [(2, ("k1", {"a": "1"}))]


# --- CSV: encodings --------------------------------------------------------------------------

TEXT = 'key,name,note\nk1,José,"two\nlines"\nk2,€ 5,😀\n'
EXPECTED = [
    (2, ("k1", {"name": "José", "note": "two\nlines"})),
    (4, ("k2", {"name": "€ 5", "note": "😀"})),
]

ENCODED = [
    ("utf-8", "utf-8", b""),
    ("utf-8", "utf-8", codecs.BOM_UTF8),
    ("utf-8-sig", "utf-8", codecs.BOM_UTF8),
    ("utf-8-sig", "utf-8", b""),
    ("utf-16", "utf-16-le", codecs.BOM_UTF16_LE),
    ("utf-16", "utf-16-be", codecs.BOM_UTF16_BE),
    ("utf-16", "utf-16-le", b""),
    ("utf-16", "utf-16-be", b""),
    ("utf-16-le", "utf-16-le", b""),
    ("utf-16-le", "utf-16-le", codecs.BOM_UTF16_LE),
    ("utf-16-be", "utf-16-be", codecs.BOM_UTF16_BE),
    ("utf-32", "utf-32-le", codecs.BOM_UTF32_LE),
    ("utf-32", "utf-32-be", codecs.BOM_UTF32_BE),
    ("utf-32", "utf-32-le", b""),
    ("utf-32", "utf-32-be", b""),
    ("utf-32-be", "utf-32-be", b""),
]


@pytest.mark.parametrize(("given", "written", "bom"), ENCODED)
@pytest.mark.parametrize("newline", ["\n", "\r\n"])
def test_utf_16_and_32_with_and_without_a_bom(
    given: str, written: str, bom: bytes, newline: str
) -> None:
    data = bom + TEXT.replace("\n", newline).encode(written)
    expected = [
        (line, (key, {k: v.replace("\n", newline) for k, v in attributes.items()}))
        for line, (key, attributes) in EXPECTED
    ]
    assert csv_rows(data, encoding=given) == expected


def test_a_bad_utf_16_line_spoils_only_itself() -> None:
    good = "key,a\nk1,1\n".encode("utf-16-le")
    bad = "k2,".encode("utf-16-le") + b"\x00\xdc" + "\n".encode("utf-16-le")  # a lone surrogate
    tail = "k3,3\nk4,4".encode("utf-16-le") + b"x"  # an odd byte at the end
    assert csv_rows(good + bad + tail, encoding="utf-16") == [
        (2, ("k1", {"a": "1"})),
        (3, "line 3: not valid UTF-16: illegal encoding at byte 6"),
        (4, ("k3", {"a": "3"})),
        (5, "line 5: not valid UTF-16: truncated data at byte 8"),
    ]


def test_a_utf_16_newline_is_found_only_on_a_character_boundary() -> None:
    # U+0A0A encodes as 0a 0a: a newline byte that is not a newline
    data = "key,a\nk1,\u0a0a\u000a\u0a00x\n".encode("utf-16-le")
    assert csv_rows(data, encoding="utf-16-le") == [
        (2, ("k1", {"a": "\u0a0a"})),
        (3, "line 3: expected 2 fields, got 1"),
    ]


@given(
    lines=st.lists(
        st.text(st.characters(exclude_categories=["Cs"], exclude_characters="\ufeff"), max_size=30),
        max_size=8,
    )
)
@settings(max_examples=150, deadline=None)
def test_lines_split_the_same_in_every_utf(lines: list[str]) -> None:
    from webex_campaign_async.cli._lines import Lines as _Lines

    text = "\n".join(lines)
    parts = text.split("\n")
    expected = [part + "\n" for part in parts[:-1]] + ([parts[-1]] if parts[-1] else [])
    for encoding in ("utf-8", "utf-16-le", "utf-16-be", "utf-32-le", "utf-32-be"):
        # small chunks: a newline cut in two by a read
        reader = _Lines(_Trickle(text.encode(encoding)), encoding)
        assert [t for _, t in reader.numbered()] == expected, encoding
        assert not reader.bad


class _Trickle(io.BytesIO):
    """A file whose reads return at most 3 bytes."""

    def read(self, size: int | None = -1) -> bytes:
        return super().read(3 if size is None or size < 0 else min(size, 3))


@pytest.mark.parametrize(
    ("data", "encoding", "lines"),
    [
        (b"", "utf-8", 0),
        (b"a", "utf-8", 1),
        (b"a\n", "utf-8", 1),
        (b"a\nb", "utf-8", 2),
        ("a\nb\n".encode("utf-16"), "utf-16", 2),
        ("\u0a0a\n".encode("utf-16-le"), "utf-16", 1),
        ("a\nb".encode("utf-32-be"), "utf-32", 2),
    ],
)
def test_count_lines(tmp_path: Path, data: bytes, encoding: str, lines: int) -> None:
    (tmp_path / "f").write_bytes(data)
    assert count_lines(tmp_path / "f", encoding) == lines


# --- CSV: a round trip through csv.writer ----------------------------------------------------

_cells = st.text(st.characters(exclude_categories=["Cs"]), max_size=20)
_keys = _cells.filter(lambda k: k.strip() != "")


@given(
    rows=st.lists(st.tuples(_keys, _cells, _cells), max_size=6),
    delimiter=st.sampled_from([",", ";", "\t", "|"]),
    encoding=st.sampled_from(["utf-8", "utf-16", "utf-32-be"]),
)
@settings(max_examples=300, deadline=None)
def test_what_csv_writer_writes_is_read_back(
    rows: list[tuple[str, str, str]], delimiter: str, encoding: str
) -> None:
    out = io.StringIO(newline="")
    writer = csv.writer(out, delimiter=delimiter)  # \r\n: it quotes a \r or a \n in a cell
    writer.writerow(["key", "a", "b"])
    writer.writerows(rows)
    items = list(
        read_csv(
            io.BytesIO(out.getvalue().encode(encoding)),
            CsvOptions("p", delimiter=delimiter, encoding=encoding, keep_empty=True),
        )
    )
    got = [(item.key, {a.name: a.val for a in item.attributes}) for _, item in items]  # type: ignore[union-attr]
    assert got == [(key.strip(), {"a": a, "b": b}) for key, a, b in rows]


# --- JSON lines ------------------------------------------------------------------------------


def _wire(key: str = "k1", val: object = "1", **more: object) -> dict[str, Any]:
    return {
        "profile-name": "p",
        "key": key,
        "attributes": [{"attribute-name": "a", "val": val}],
        **more,
    }


def _line(obj: object) -> bytes:
    return json.dumps(obj).encode() + b"\n"


JSONL_CASES: list[tuple[str, bytes, dict[str, Any], list[Row]]] = [
    ("plain", _line(_wire()), {}, [(1, ("k1", {"a": "1"}))]),
    ("blank lines", b"\n  \n" + _line(_wire()) + b"\n", {}, [(3, ("k1", {"a": "1"}))]),
    ("no newline at the end", _line(_wire()).rstrip(), {}, [(1, ("k1", {"a": "1"}))]),
    ("a BOM", codecs.BOM_UTF8 + _line(_wire()), {}, [(1, ("k1", {"a": "1"}))]),
    (
        "annotations of a failures file are dropped",
        _line({**_wire(), "_result": {"status": "failed"}, "_line": 7}),
        {},
        [(1, ("k1", {"a": "1"}))],
    ),
    (
        "defaults fill in what a line leaves out",
        _line({"key": "k1", "attributes": [{"attribute-name": "a", "val": 1}]}),
        {"profile_name": "p"},
        [(1, ("k1", {"a": 1}))],
    ),
    (
        "a line's own value wins over a default",
        _line(_wire()),
        {"profile_name": "other"},
        [(1, ("k1", {"a": "1"}))],
    ),
    (
        "without a default the profile name is required",
        _line({"key": "k1", "attributes": [{"attribute-name": "a", "val": 1}]}),
        {},
        [(1, "line 1: profile-name: is required")],
    ),
    ("not JSON", b"{\n", {}, [(1, "line 1: not valid JSON: ")]),
    ("not an object", b"[1]\n", {}, [(1, "line 1: expected a JSON object, not an array")]),
    (
        "a bad byte",
        b'{"key": "\xff"}\n' + _line(_wire()),
        {},
        [(1, "line 1: not valid UTF-8: invalid start byte at byte 9"), (2, ("k1", {"a": "1"}))],
    ),
    ("utf-16", "\n".join([json.dumps(_wire(val="é"))]).encode("utf-16"), {"encoding": "utf-16"},
     [(1, ("k1", {"a": "é"}))]),
    # numbers: read exactly, whatever the JSON parser
    ("an integer val", _line(_wire(val=12)), {}, [(1, ("k1", {"a": 12}))]),
    ("a float val", _line(_wire(val=1.5)), {}, [(1, ("k1", {"a": 1.5}))]),
    ("the largest 64-bit val", _line(_wire(val=2**63 - 1)), {}, [(1, ("k1", {"a": 2**63 - 1}))]),
    (
        "a val beyond 64 bits is sent as its digits",
        b'{"profile-name":"p","key":"k1","attributes":[{"attribute-name":"a",'
        b'"val":123456789012345678901234567890}]}\n',
        {},
        [(1, ("k1", {"a": "123456789012345678901234567890"}))],
    ),
    (
        "a negative one too",
        _line(_wire(val=-(2**63) - 1)),
        {},
        [(1, ("k1", {"a": str(-(2**63) - 1)}))],
    ),
    (
        "a key beyond 64 bits is invalid",
        b'{"profile-name":"p","key":123456789012345678901234567890,'
        b'"attributes":[{"attribute-name":"a","val":"1"}]}\n',
        {},
        [(1, "line 1: key: integer out of the 64-bit range: send it as a string")],
    ),
    (
        "an exparam beyond 64 bits is invalid",
        _line(_wire(exparam={"x": 2**64})),
        {},
        [(1, "line 1: exparam['x']: integer out of the 64-bit range: send it as a string")],
    ),
    ("an infinite number", b'{"key": 1e400}\n', {}, [(1, "line 1: not valid JSON: ")]),
    ("NaN", b'{"key": NaN}\n', {}, [(1, "line 1: not valid JSON: ")]),
]  # fmt: skip


@pytest.mark.parametrize(
    ("data", "options", "expected"),
    [case[1:] for case in JSONL_CASES],
    ids=[case[0] for case in JSONL_CASES],
)
def test_jsonl(data: bytes, options: dict[str, Any], expected: list[Row]) -> None:
    got = jsonl_rows(data, **options)
    assert len(got) == len(expected), got
    for (line, item), (want_line, want) in zip(got, expected, strict=True):
        assert line == want_line
        if isinstance(want, str) and want.endswith(": "):
            assert isinstance(item, str)
            assert item.startswith(want)
        else:
            assert item == want


def test_an_invalid_json_line_keeps_its_source() -> None:
    [(_, bad), (_, wrong)] = read_jsonl(io.BytesIO(b"{oops\n" + _line(_wire(key=""))))
    assert isinstance(bad, InvalidRecordError)
    assert bad.source == "{oops"
    assert isinstance(wrong, InvalidRecordError)
    assert wrong.source == _wire(key="")


def test_jsonl_reads_a_path_and_refuses_a_missing_one(tmp_path: Path) -> None:
    (tmp_path / "in.jsonl").write_bytes(_line(_wire()))
    assert [line for line, _ in read_jsonl(tmp_path / "in.jsonl")] == [1]
    with pytest.raises(InputError, match=r"cannot read .*missing\.jsonl"):
        list(read_jsonl(tmp_path / "missing.jsonl"))
    with pytest.raises(InputError, match="unknown encoding"):
        list(read_jsonl(tmp_path / "in.jsonl", encoding="nope"))


# --- option checks ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("given", "expected"),
    [(",", ","), (";", ";"), ("\t", "\t"), ("\\t", "\t"), ("tab", "\t"), ("|", "|"), (" ", " ")],
)
def test_check_delimiter(given: str, expected: str) -> None:
    assert check_delimiter(given) == expected


@pytest.mark.parametrize("given", ["", ",,", '"', "\n", "\r", "a", "1"])
def test_check_delimiter_refuses(given: str) -> None:
    with pytest.raises(ValueError, match=r"must be one character|cannot separate"):
        check_delimiter(given)


@pytest.mark.parametrize(
    ("given", "expected"),
    [("utf8", "utf-8"), ("UTF-16", "utf-16"), ("latin1", "iso8859-1"), ("cp1252", "cp1252")],
)
def test_check_encoding(given: str, expected: str) -> None:
    assert check_encoding(given) == expected


@pytest.mark.parametrize(
    ("given", "message"),
    [
        ("nope", "unknown encoding 'nope'"),
        ("base64", "'base64' is not a text encoding"),
        ("rot13", "'rot13' is not a text encoding"),
        ("unicode_escape", "cannot be read line by line"),
    ],
)
def test_check_encoding_refuses(given: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        check_encoding(given)


@pytest.mark.parametrize(
    ("path", "fmt", "delimiter"),
    [
        ("in.csv", "csv", ","),
        ("IN.TSV", "csv", "\t"),
        ("in.txt", "csv", ","),
        ("in.jsonl", "jsonl", ","),
        ("in.ndjson", "jsonl", ","),
        ("failed.json", "jsonl", ","),
    ],
)
def test_format_and_delimiter_from_the_name(path: str, fmt: str, delimiter: str) -> None:
    assert detect_format(path) == fmt
    assert default_delimiter(path) == delimiter


def test_an_unknown_extension_needs_format() -> None:
    assert detect_format("in.xml", "csv") == "csv"
    with pytest.raises(InputError, match=r"pass --format csv\|jsonl"):
        detect_format("in.xml")


@pytest.mark.parametrize("bom", [codecs.BOM_UTF16_LE, b""], ids=["bom", "no-bom"])
def test_a_utf_16_file_read_as_utf_8_says_so(bom: bytes) -> None:
    hint = "(a UTF-16 or UTF-32 file? pass --encoding utf-16 or utf-32)"
    with pytest.raises(InputError, match=re.escape(hint)):
        csv_rows(bom + "key,a\nk1,1\n".encode("utf-16-le"))
    line = json.dumps({"profile-name": "p", "key": "k", "attributes": []}) + "\n"
    with pytest.raises(InputError, match=re.escape(hint)):
        jsonl_rows(bom + line.encode("utf-16-le"))


@pytest.mark.parametrize("fmt", ["csv", "jsonl"])
def test_bad_lines_are_not_remembered(monkeypatch: pytest.MonkeyPatch, fmt: str) -> None:
    """Memory stays flat in a file of bad lines (a Latin-1 file read as UTF-8)."""
    from webex_campaign_async.cli import _readers

    made: list[_readers.Lines] = []

    class Remembered(_readers.Lines):
        def __init__(self, f: Any, encoding: str) -> None:
            super().__init__(f, encoding)
            made.append(self)

    monkeypatch.setattr(_readers, "Lines", Remembered)
    data = b"".join(b"k%d,Jos\xe9\n" % i for i in range(1000))
    if fmt == "csv":
        items = list(read_csv(io.BytesIO(b"key,a\n" + data), CsvOptions("p")))
    else:
        items = list(read_jsonl(io.BytesIO(data)))
    assert len(items) == 1000
    assert all(isinstance(item, InvalidRecordError) for _, item in items)
    assert made[0].bad == {}


@pytest.mark.parametrize("written", ["utf-16-le", "utf-16-be"])
def test_utf_16_without_a_mark_and_a_header_outside_ascii(written: str) -> None:
    """No mark, and a first character with no zero byte (Cyrillic): the byte order is told
    by the zero bytes of the ASCII characters that follow (commas, digits, newlines)."""
    data = "ключ,имя\nk1,Анна\nk2,Борис\n".encode(written)
    assert csv_rows(data, encoding="utf-16", key_column="ключ") == [
        (2, ("k1", {"имя": "Анна"})),
        (3, ("k2", {"имя": "Борис"})),
    ]
