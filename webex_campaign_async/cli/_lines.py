"""The lines of an input file: its encoding (UTF-16 and UTF-32 with or without a byte order
mark), split on the newline as it is written in that encoding, decoded one by one.

A bad byte spoils its own line only; a byte order mark at the start is skipped.
"""

from __future__ import annotations

import codecs
import os
from collections.abc import Iterator
from typing import IO

import attrs

from .. import InputError

__all__ = ["DEFAULT_ENCODING", "Lines", "Source", "check_encoding", "count_lines", "open_source"]

#: A file to read: a path, or a binary file open for reading (read from where it is).
Source = str | os.PathLike[str] | IO[bytes]

#: UTF-8, with or without a byte order mark.
DEFAULT_ENCODING = "utf-8-sig"


@attrs.frozen
class _Encoding:
    """How the lines of a file lie in its bytes: split on ``newline`` at a multiple of
    ``unit`` bytes, then each decoded with ``codec``."""

    codec: str
    newline: bytes
    unit: int
    label: str  # for messages: "not valid UTF-16: ..."


def check_encoding(encoding: str) -> str:
    """The codec's own name if files in ``encoding`` can be read line by line, else raise
    `ValueError` saying why."""
    try:
        info = codecs.lookup(encoding)
    except LookupError:
        raise ValueError(f"unknown encoding {encoding!r}") from None
    if not info._is_text_encoding:  # base64, zlib, rot13: not a text encoding of a file
        raise ValueError(f"{encoding!r} is not a text encoding")
    _layout(info.name, b"")
    return info.name


def _layout(name: str, head: bytes) -> _Encoding:
    """The `_Encoding` of codec ``name`` for a file that starts with ``head``."""
    label = "UTF-8" if name in ("utf-8", "utf-8-sig") else name.upper() if "utf" in name else name
    if name == "utf-8-sig":  # the mark is skipped on the first line, as in any encoding
        name = "utf-8"
    elif name in ("utf-16", "utf-32"):  # the byte order from the mark, else from the header
        if name == "utf-16":
            big = head.startswith(codecs.BOM_UTF16_BE) or (
                not head.startswith(codecs.BOM_UTF16_LE) and _zeros_lead(head)
            )
        else:
            big = head.startswith(codecs.BOM_UTF32_BE) or (
                not head.startswith(codecs.BOM_UTF32_LE) and head[:2] == b"\0\0"
            )
        name += "-be" if big else "-le"
    try:
        newline = "\n".encode(name)
    except (UnicodeError, LookupError) as exc:  # pragma: no cover - every text codec has \n
        raise ValueError(f"{label} cannot encode a newline: {exc}") from None
    unit = len(newline) if name.startswith(("utf-16", "utf-32")) else 1
    if len(newline) != unit:
        raise ValueError(f"files in {label} cannot be read line by line")
    return _Encoding(name, newline, unit, label)


def _split(f: IO[bytes], newline: bytes, unit: int) -> Iterator[bytes]:
    """The lines of ``f``, each with its newline (a last one may have none)."""
    if newline == b"\n":
        yield from f
        return
    buffer = bytearray()
    search = 0  # where the next newline may start
    while chunk := f.read(1 << 16):
        buffer += chunk
        start = 0
        while (at := buffer.find(newline, search)) >= 0:
            if (at - start) % unit:  # the tail of one character and the head of the next
                search = at + 1
                continue
            end = at + len(newline)
            yield bytes(buffer[start:end])
            start = search = end
        search = max(start, len(buffer) - len(newline) + 1)  # a newline cut by the chunk
        del buffer[:start]
        search -= start
    if buffer:
        yield bytes(buffer)


def open_source(source: Source) -> tuple[IO[bytes], str, bool]:
    """``(file, name for messages, owned)``: a path is opened here (and closed by the caller)."""
    if not isinstance(source, (str, os.PathLike)):
        return source, repr(getattr(source, "name", "<input>")), False
    try:
        return open(source, "rb"), repr(os.fspath(source)), True
    except OSError as exc:
        raise InputError(f"cannot read {os.fspath(source)!r}: {exc.strerror or exc}") from None


def _zeros_lead(head: bytes) -> bool:
    """True when UTF-16 without a mark looks big-endian: its ASCII characters (newlines,
    commas, digits) put their zero byte first, at even offsets (a first character outside
    ASCII, such as Cyrillic, has no zero byte to tell by)."""
    even = head[0::2].count(0)
    odd = head[1::2].count(0)
    return even > odd


#: Bytes looked at to tell the layout of a file (the byte order of UTF-16 without a mark).
_HEAD = 512


def _peek(f: IO[bytes]) -> bytes:
    """The first bytes of ``f`` (up to `_HEAD`), left to be read again."""
    peek = getattr(f, "peek", None)
    if peek is not None:
        head: bytes = peek(_HEAD)[:_HEAD]
        return head
    if f.seekable():
        at = f.tell()
        head = f.read(_HEAD)
        f.seek(at)
        return head
    return b""  # pragma: no cover - files and BytesIO can do one or the other


def count_lines(path: str | os.PathLike[str], encoding: str = DEFAULT_ENCODING) -> int:
    """Lines in the file, a last one without a newline included (fast, for a progress total)."""
    with open(path, "rb") as f:
        layout = _layout(check_encoding(encoding), _peek(f))
        if layout.newline != b"\n":
            return sum(1 for _ in _split(f, layout.newline, layout.unit))
        lines = 0
        last = b"\n"
        while chunk := f.read(1 << 20):
            lines += chunk.count(b"\n")
            last = chunk[-1:]
    return lines + (last != b"\n")


class Lines:
    """Decoded lines of a file, numbered from 1, for `csv.reader`.

    A bad byte spoils its own line, not the file (``bad``: line -> reason). ``taken`` holds
    the lines of the record being read; `push_back` hands lines to the reader again (to read
    on after a quote that was never closed swallowed them).
    """

    def __init__(self, f: IO[bytes], encoding: str) -> None:
        head = _peek(f)
        layout = _layout(check_encoding(encoding), head)
        self._raw = _split(f, layout.newline, layout.unit)
        #: A hint for an error of the first line when the file looks UTF-16 or UTF-32.
        self.hint = ""
        wide = head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)) or b"\0" in head
        if layout.unit == 1 and wide:
            self.hint = " (a UTF-16 or UTF-32 file? pass --encoding utf-16 or utf-32)"
        self._codec = layout.codec
        self._label = layout.label
        self._read = 0
        self._again: list[tuple[int, str]] = []
        self.bad: dict[int, str] = {}
        self.taken: list[tuple[int, str]] = []

    def __iter__(self) -> Lines:
        return self

    def __next__(self) -> str:
        if self._again:
            number, text = self._again.pop()
        else:
            number, text = self.decode(next(self._raw))
        self.taken.append((number, text))
        return text

    def decode(self, raw: bytes) -> tuple[int, str]:
        """The next line's number and text (a bad byte noted in ``bad``, shown as U+FFFD)."""
        self._read += 1
        number = self._read
        try:
            text = raw.decode(self._codec)
        except UnicodeDecodeError as exc:
            self.bad[number] = f"not valid {self._label}: {exc.reason} at byte {exc.start}"
            text = raw.decode(self._codec, "replace")
        if number == 1 and text.startswith("\ufeff"):  # a byte order mark
            text = text[1:]
        return number, text

    def numbered(self) -> Iterator[tuple[int, str]]:
        """Every line as ``(number, text)`` (for line-oriented formats)."""
        for raw in self._raw:
            yield self.decode(raw)

    def push_back(self, lines: list[tuple[int, str]]) -> None:
        self._again.extend(reversed(lines))
