"""JSON in and out: compact UTF-8 bytes out, numbers read exactly in, with or without orjson.

orjson (the ``speedups`` extra) is used when installed; every number means the same either
way (a long integer is never rounded to a float), and the same texts are refused.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Callable
from decimal import Decimal
from typing import Any

__all__ = ["dumps", "loads", "loads_quick", "loads_record"]


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a JSON number")


def _finite(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise ValueError(f"the number {text} is beyond the range of a double")
    return value


_decoder = json.JSONDecoder(parse_float=_finite, parse_constant=_no_constant)
_SURROGATE_ESCAPE = re.compile(r"\\u[dD][89a-fA-F]")
_SURROGATE = re.compile("[\ud800-\udfff]")


def _exact_loads(data: bytes | str) -> Any:
    """JSON with every integer read exactly, whatever its size.

    Refused (`ValueError`), as orjson refuses them: NaN and Infinity, a number beyond the
    range of a double, a string with a lone surrogate, bytes that are not UTF-8.
    """
    return _decode(_decoder, data)


def _decode(decoder: json.JSONDecoder, data: bytes | str) -> Any:
    text = data if isinstance(data, str) else data.decode()
    try:
        obj = decoder.decode(text)
    except RecursionError:
        raise ValueError("JSON nested too deeply") from None
    if _SURROGATE_ESCAPE.search(text) and _has_lone_surrogate(obj):
        raise ValueError("a string holds a lone surrogate (an escape such as \\ud800)")
    return obj


def _unique(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    obj = dict(pairs)
    if len(obj) != len(pairs):
        names = [name for name, _ in pairs]
        twice = next(name for name in names if names.count(name) > 1)
        raise ValueError(f"the name {twice!r} appears twice in one object")
    return obj


def _exact_decimal(text: str) -> float | str:
    """A float, or the number's own text when a float cannot hold its digits (a ``val`` is
    sent as a string: it keeps every digit it was written with)."""
    value = _finite(text)
    return value if Decimal(text) == Decimal(repr(value)) else text


_record_decoder = json.JSONDecoder(
    object_pairs_hook=_unique, parse_float=_exact_decimal, parse_constant=_no_constant
)


def loads_record(data: bytes | str) -> Any:
    """An input record, read strictly: as `loads` (every integer exact, the same texts
    refused), and also a name given twice in one object is refused (which one would be
    meant?) and a decimal with more digits than a float holds is kept as its text."""
    return _decode(_record_decoder, data)


def _has_lone_surrogate(obj: object) -> bool:
    if isinstance(obj, str):
        return _SURROGATE.search(obj) is not None
    if isinstance(obj, dict):
        return any(_has_lone_surrogate(k) or _has_lone_surrogate(v) for k, v in obj.items())
    if isinstance(obj, list):
        return any(_has_lone_surrogate(item) for item in obj)
    return False


try:  # orjson is an optional speed-up (the ``speedups`` extra): ~15x faster on request bodies.
    import orjson

    def dumps(obj: Any) -> bytes:
        """Compact UTF-8 JSON."""
        return orjson.dumps(obj)

    # orjson reads an integer beyond 64 bits as a float (rounded, at least 2**63 in size),
    # and refuses one beyond a double: such a text is read again exactly, so that numbers
    # mean the same with and without orjson (and errors read the same). A flat object (an
    # API answer: the hot path) is told by its values; anything nested by a number of 19
    # digits or more in its text (after [ , : or a space).
    _BIG = float(2**63)
    _LONG_NUMBER = re.compile(rb"(?:^|[\[,:\s])-?[0-9]{19}")
    _LONG_NUMBER_TEXT = re.compile(r"(?:^|[\[,:\s])-?[0-9]{19}")

    #: The hot path's parser (an API answer): a number beyond 64 bits may come back rounded,
    #: so its caller must accept only what cannot be (an int count, a str id).
    loads_quick: Callable[[bytes | str], Any] = orjson.loads

    def loads(data: bytes | str) -> Any:
        """Parsed JSON, numbers read exactly: see `_exact_loads`."""
        try:
            obj = orjson.loads(data)
        except orjson.JSONDecodeError:
            return _exact_loads(data)  # raises as it would without orjson, or reads a big int
        kind = type(obj)
        if kind is dict:
            for value in obj.values():
                kind = type(value)
                if kind is float:
                    if not -_BIG < value < _BIG:
                        return _exact_loads(data)
                elif kind is dict or kind is list:
                    break
            else:
                return obj
        elif kind is float:
            return obj if -_BIG < obj < _BIG else _exact_loads(data)
        elif kind is not list:
            return obj
        if isinstance(data, str):
            long = _LONG_NUMBER_TEXT.search(data) is not None
        else:
            long = _LONG_NUMBER.search(data) is not None
        return _exact_loads(data) if long else obj

except ImportError:  # pragma: no cover - exercised when the extra is not installed
    _encode = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"), allow_nan=False).encode

    def dumps(obj: Any) -> bytes:
        """Compact UTF-8 JSON."""
        return _encode(obj).encode()

    loads = _exact_loads
    loads_quick = json.loads
