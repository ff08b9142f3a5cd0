"""The emulator's own JSON encoding and decoding (orjson when installed, else the stdlib).

The emulator does not use the library's converter: what it reads is checked against the
vendor's page by `_validate`, not by the code under test. Both decoders refuse what is not
JSON (``NaN``, ``Infinity``, bad UTF-8).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

__all__ = ["dumps", "loads"]


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


try:  # the ``speedups`` extra
    import orjson

    def dumps(obj: Any) -> bytes:
        """Compact UTF-8 JSON."""
        return orjson.dumps(obj)

    loads: Callable[[bytes | str], Any] = orjson.loads

except ImportError:  # pragma: no cover - exercised when the extra is not installed
    _encode = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"), allow_nan=False).encode
    _decode = json.JSONDecoder(parse_constant=_no_constant).decode

    def dumps(obj: Any) -> bytes:
        """Compact UTF-8 JSON."""
        return _encode(obj).encode()

    def _loads(data: bytes | str) -> Any:
        """Parse JSON text (UTF-8 when bytes); raises ValueError when it is not JSON."""
        text = data.decode("utf-8") if isinstance(data, (bytes, bytearray)) else data
        return _decode(text)

    loads = _loads
