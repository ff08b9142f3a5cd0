"""One number policy for every JSON parser: `_convert.loads` reads the same values with
orjson (the ``speedups`` extra) as without it (`_exact_loads`, the standard library), and a
JSON lines file means the same records either way."""

from __future__ import annotations

import io
import json
import math
import subprocess
import sys
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from webex_campaign_async import InvalidRecordError, ProfileUpsert
from webex_campaign_async._codec import _exact_loads, loads
from webex_campaign_async.cli import _readers

PARSERS = {"loads": loads, "stdlib": _exact_loads}

#: (JSON text, the value read, or the exception's type when it is refused)
CASES: list[tuple[str, Any]] = [
    ("0", 0),
    ("-0", 0),
    ("12", 12),
    ("9223372036854775807", 2**63 - 1),
    ("-9223372036854775808", -(2**63)),
    ("18446744073709551615", 2**64 - 1),
    ("18446744073709551616", 2**64),
    ("123456789012345678901234567890", 123456789012345678901234567890),
    ("-123456789012345678901234567890", -123456789012345678901234567890),
    ("1" + "0" * 400, 10**400),
    ("[1, 123456789012345678901234567890]", [1, 123456789012345678901234567890]),
    ('{"a": 123456789012345678901234567890}', {"a": 123456789012345678901234567890}),
    ("1.5", 1.5),
    ("-0.0", -0.0),
    ("1e300", 1e300),
    ("1e-400", 0.0),
    ("0.1000000000000000055511151231257827", 0.1),
    ("123456789012345678901234567890.0", 1.2345678901234568e29),
    ("1.7976931348623157e308", 1.7976931348623157e308),
    ("1e400", ValueError),
    ("-1e400", ValueError),
    ("1.7976931348623159e308", ValueError),
    ("1" * 400 + ".0", ValueError),  # beyond a double
    ("NaN", ValueError),
    ("Infinity", ValueError),
    ("-Infinity", ValueError),
    ('"\\ud83d\\ude00"', "\U0001f600"),
    ('"\\ud800"', ValueError),
    ('["\\udc00", 12345678901234567890123]', ValueError),
    ('{"\\ud800": 1}', ValueError),
    ('"\\\\ud800"', "\\ud800"),  # an escaped backslash: not a surrogate
    ("\ufeff{}", ValueError),
    ("[" * 100_000 + "]" * 100_000, ValueError),
    ("1" * 5000, ValueError),  # beyond the digits Python converts
    ('{"a": 1, "a": 2}', {"a": 2}),
]


@pytest.mark.parametrize("parser", PARSERS.values(), ids=list(PARSERS))
@pytest.mark.parametrize(("text", "expected"), CASES, ids=[c[0][:40] for c in CASES])
@pytest.mark.parametrize("as_bytes", [False, True], ids=["str", "bytes"])
def test_the_same_values_with_and_without_orjson(
    parser: Any, text: str, expected: Any, as_bytes: bool
) -> None:
    data: str | bytes = text.encode("utf-8", "surrogatepass") if as_bytes else text
    if expected is ValueError:
        with pytest.raises(ValueError):  # noqa: PT011 - the message is the parser's own
            parser(data)
    else:
        got = parser(data)
        assert got == expected
        assert type(got) is type(expected)
        if isinstance(expected, float):
            assert math.copysign(1, got) == math.copysign(1, expected)


def test_bytes_that_are_not_utf8_are_refused() -> None:
    for parser in PARSERS.values():
        with pytest.raises(ValueError):  # noqa: PT011
            parser(b'"caf\xe9"')


_numbers = st.one_of(
    st.integers(min_value=-(10**60), max_value=10**60).map(str),
    st.tuples(
        st.integers(min_value=-(10**25), max_value=10**25),
        st.integers(min_value=0, max_value=10**25),
        st.integers(min_value=-400, max_value=400),
    ).map(lambda t: f"{t[0]}.{t[1]}e{t[2]}"),
    st.floats(allow_nan=False, allow_infinity=False).map(repr),
)


@given(number=_numbers)
@settings(max_examples=500, deadline=None)
def test_any_number_reads_the_same(number: str) -> None:
    text = f'{{"val": {number}}}'
    try:
        expected = _exact_loads(text)
    except ValueError:
        with pytest.raises(ValueError):  # noqa: PT011
            loads(text)
        return
    got = loads(text)
    assert got == expected
    assert type(got["val"]) is type(expected["val"])


# --- a JSON lines file: the same records with either parser -----------------------------------


def _line(val: str, key: str = '"k1"', exparam: str = "") -> str:
    extra = f', "exparam": {{"x": {exparam}}}' if exparam else ""
    return (
        f'{{"profile-name": "p", "key": {key}, '
        f'"attributes": [{{"attribute-name": "a", "val": {val}}}]{extra}}}'
    )


LINES = [
    (_line("123456789012345678901234567890"), ("k1", "123456789012345678901234567890")),
    (_line("-9223372036854775809"), ("k1", "-9223372036854775809")),
    (_line("18446744073709551616"), ("k1", "18446744073709551616")),
    (_line("9223372036854775807"), ("k1", 9223372036854775807)),
    (_line("12"), ("k1", 12)),
    (_line("1.25"), ("k1", 1.25)),
    (_line('"123456789012345678901234567890"'), ("k1", "123456789012345678901234567890")),
    (_line("1", key="123456789012345678901234567890"),
     "line 1: key: integer out of the 64-bit range: send it as a string"),
    (_line("1", key="12"), ("12", 1)),
    (_line("1", exparam="123456789012345678901234567890"),
     "line 1: exparam['x']: integer out of the 64-bit range: send it as a string"),
    (_line("1e400"), "line 1: not valid JSON: "),
    (_line("NaN"), "line 1: not valid JSON: "),
    (_line('"\\ud800"'), "line 1: not valid JSON: "),
    (_line('"\\ud800"') + " " * 3 + "12345678901234567890", "line 1: not valid JSON: "),
    # a decimal with more digits than a float holds keeps them (val is sent as a string)
    (_line("12345678901234567890.5"), ("k1", "12345678901234567890.5")),
    (_line("0.10000000000000000555"), ("k1", "0.10000000000000000555")),
    (_line("0.1"), ("k1", 0.1)),
    # a name twice in one object: which one is meant?
    ('{"profile-name": "p", "key": "K14", "key": "K14b", "attributes": []}',
     "line 1: not valid JSON: the name 'key' appears twice in one object"),
]  # fmt: skip


def _records(text: str) -> list[Any]:
    """What the JSON lines reader makes of ``text`` (it reads records with the strict
    `loads_record`, the same with and without orjson)."""
    out: list[Any] = []
    for _, item in _readers.read_jsonl(io.BytesIO(text.encode())):
        if isinstance(item, ProfileUpsert):
            out.append((item.key, item.attributes[0].val))
        else:
            assert isinstance(item, InvalidRecordError)
            out.append(str(item))
    return out


@pytest.mark.parametrize(("text", "expected"), LINES, ids=[t[0][60:100] for t in LINES])
def test_a_json_lines_file_reads_every_number_as_written(text: str, expected: Any) -> None:
    [got] = _records(text + "\n")
    if isinstance(expected, str) and expected.endswith(": "):
        assert isinstance(got, str)
        assert got.startswith(expected)
    else:
        assert got == expected


_PROBE = """
import io, json, sys
sys.modules["orjson"] = None  # the speedups extra is not installed
from webex_campaign_async import ProfileUpsert
from webex_campaign_async import _codec
from webex_campaign_async.cli._readers import read_jsonl
assert _codec.loads is _codec._exact_loads
out = []
for _, item in read_jsonl(io.BytesIO(sys.stdin.buffer.read())):
    out.append([item.key, item.attributes[0].val] if isinstance(item, ProfileUpsert)
               else str(item))
print(json.dumps(out))
"""


def test_without_orjson_installed() -> None:
    """The module as it is loaded without orjson reads the lines as the tests above do."""
    text = "".join(line + "\n" for line, _ in LINES)
    done = subprocess.run(  # noqa: S603 - this interpreter
        [sys.executable, "-c", _PROBE], input=text.encode(), capture_output=True, check=True
    )
    got = json.loads(done.stdout)
    assert len(got) == len(LINES)
    for number, (item, (_, expected)) in enumerate(zip(got, LINES, strict=True), 1):
        if isinstance(expected, str):
            assert item.startswith(expected.replace("line 1:", f"line {number}:"))
        else:
            assert item == list(expected)


_documents = st.recursive(
    st.one_of(
        st.integers(min_value=-(10**40), max_value=10**40),
        st.text(alphabet="0123456789-:, ab", max_size=30),
        st.booleans(),
        st.none(),
    ),
    lambda children: st.one_of(
        st.lists(children, max_size=4),
        st.dictionaries(st.text(alphabet="0123456789ab", max_size=25), children, max_size=4),
    ),
    max_leaves=12,
)


def _same(a: Any, b: Any) -> bool:
    if type(a) is not type(b):
        return False
    if isinstance(a, dict):
        return a.keys() == b.keys() and all(_same(a[k], b[k]) for k in a)
    if isinstance(a, list):
        return len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b, strict=True))
    return bool(a == b)


@given(
    document=_documents,
    indent=st.sampled_from([None, 0, 2]),
    separators=st.sampled_from([(",", ":"), (", ", ": "), (" ,\t", " :\n")]),
)
@settings(max_examples=300, deadline=None)
def test_every_long_integer_anywhere_is_read_exactly(
    document: Any, indent: int | None, separators: tuple[str, str]
) -> None:
    text = json.dumps(document, indent=indent, separators=separators)
    assert _same(loads(text), document)
    assert _same(loads(text.encode()), document)


@pytest.mark.parametrize(
    "text",
    [c[0] for c in CASES if c[1] is ValueError] + ["{", '{"a": }', "[1,]", "01", '"\\x"', ""],
)
def test_a_refusal_reads_the_same_with_and_without_orjson(text: str) -> None:
    messages = []
    for parser in PARSERS.values():
        with pytest.raises(ValueError) as caught:  # noqa: PT011
            parser(text)
        messages.append(str(caught.value))
    assert messages[0] == messages[1]
