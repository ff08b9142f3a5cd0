"""Streaming readers of record files (CSV, JSON lines) for batch jobs and the CLI.

Each yields ``(line, item)``: the 1-based line where the record starts, and a `ProfileUpsert`
or an `InvalidRecordError` naming what is wrong with that line (the run goes on). A file that
cannot be read at all raises `InputError`. Nothing is loaded whole.
"""

from __future__ import annotations

import csv
import os
from collections.abc import Iterator, Mapping
from typing import IO, Any

import attrs

from .. import (
    InputError,
    InvalidRecordError,
    ProfileUpsert,
    UpdateLink,
    UpsertMode,
    profile_from_wire,
)
from .._convert import loads
from .._files import strip_annotations

__all__ = ["CsvOptions", "count_lines", "detect_format", "read_csv", "read_jsonl"]

Item = ProfileUpsert | InvalidRecordError
Path = str | os.PathLike[str]


def detect_format(path: Path, given: str | None = None) -> str:
    """``"csv"`` or ``"jsonl"``: ``given``, or from the file name's extension."""
    if given:
        return given
    name = os.fspath(path).lower()
    if name.endswith((".csv", ".tsv", ".txt")):
        return "csv"
    if name.endswith((".jsonl", ".ndjson", ".json")):
        return "jsonl"
    raise InputError(f"cannot tell the format of {os.fspath(path)!r}: pass --format csv|jsonl")


def count_lines(path: Path) -> int:
    """Lines in the file, a last one without a newline included (fast, for a progress total)."""
    lines = 0
    last = b"\n"
    with open(path, "rb") as f:
        while chunk := f.read(1 << 20):
            lines += chunk.count(b"\n")
            last = chunk[-1:]
    return lines + (last != b"\n")


def _open(path: Path) -> IO[bytes]:
    try:
        return open(path, "rb")
    except OSError as exc:
        raise InputError(f"cannot read {os.fspath(path)!r}: {exc.strerror or exc}") from None


class _Lines:
    """Decoded lines of a file, numbered from 1, for `csv.reader`.

    A bad byte spoils its own line, not the file (``bad``: line -> reason). ``taken`` holds
    the lines of the record being read; `push_back` hands lines to the reader again (to read
    on after a quote that was never closed swallowed them).
    """

    def __init__(self, lines: IO[bytes], encoding: str) -> None:
        self._lines = lines
        self._encoding = encoding
        self._label = (
            "UTF-8" if encoding.lower().replace("_", "-") in ("utf-8", "utf-8-sig") else encoding
        )
        self._read = 0
        self._again: list[tuple[int, str]] = []
        self.bad: dict[int, str] = {}
        self.taken: list[tuple[int, str]] = []

    def __iter__(self) -> _Lines:
        return self

    def __next__(self) -> str:
        if self._again:
            number, text = self._again.pop()
        else:
            raw = next(self._lines)
            self._read += 1
            number = self._read
            try:
                text = raw.decode(self._encoding)
            except UnicodeDecodeError as exc:
                self.bad[number] = f"not valid {self._label}: {exc.reason} at byte {exc.start}"
                text = raw.decode(self._encoding, "replace")
        self.taken.append((number, text))
        return text

    def push_back(self, lines: list[tuple[int, str]]) -> None:
        self._again.extend(reversed(lines))


def _invalid(line: int, field: str, reason: str, source: Any) -> InvalidRecordError:
    """The error of one input line: ``line 7: attributes['age'].val: ...``."""
    where = f"line {line}: {field}" if field else f"line {line}"
    return InvalidRecordError(where, reason, source=source)


@attrs.frozen
class CsvOptions:
    """How CSV columns become a profile upsert.

    ``key_column`` holds the profile key; the other columns (or only ``columns``) become
    attributes, renamed by ``rename`` (old name -> attribute name). Empty cells are left out
    unless ``keep_empty``.
    """

    profile_name: str
    key_column: str = "key"
    columns: tuple[str, ...] | None = None
    rename: Mapping[str, str] = attrs.field(factory=dict)
    keep_empty: bool = False
    delimiter: str = ","
    encoding: str = "utf-8-sig"
    upsert: UpsertMode = UpsertMode.CREATE_OR_UPDATE
    update_link: UpdateLink | None = None


def read_csv(path: Path, options: CsvOptions) -> Iterator[tuple[int, Item]]:
    """Records of a CSV file with a header row."""
    with _open(path) as f:
        lines = _Lines(f, options.encoding)
        reader = csv.reader(lines, delimiter=options.delimiter)
        try:
            header = next(reader)
        except StopIteration:
            raise InputError(f"{os.fspath(path)!r} is empty: expected a header row") from None
        except csv.Error as exc:
            raise InputError(f"{os.fspath(path)!r}: cannot read the header row: {exc}") from None
        if lines.bad.get(1):
            raise InputError(f"{os.fspath(path)!r}: the header row is {lines.bad[1]}")
        header = [name.strip() for name in header]
        if options.key_column not in header:
            raise InputError(
                f"{os.fspath(path)!r} has no key column {options.key_column!r}; its columns "
                f"are {', '.join(map(repr, header))} (choose one with --key-column)"
            )
        wanted = options.columns or tuple(h for h in header if h != options.key_column)
        missing = [c for c in (*wanted, *options.rename) if c not in header]
        if missing:
            raise InputError(
                f"{os.fspath(path)!r} has no column(s) {', '.join(map(repr, missing))}"
            )
        key_at = header.index(options.key_column)
        picks = [(header.index(c), options.rename.get(c, c)) for c in wanted]
        width = len(header)
        while True:
            lines.taken.clear()
            try:
                row = next(reader)
            except StopIteration:
                return
            except csv.Error as exc:
                taken = list(lines.taken)
                start = taken[0][0] if taken else reader.line_num
                lines.push_back(taken[1:])  # the lines after the first: records of their own
                yield start, _invalid(start, "", f"malformed CSV: {exc}", None)
                continue
            if not row:
                continue  # a blank line
            taken = list(lines.taken)
            start = taken[0][0]
            source: Any = dict(zip(header, row, strict=False))
            reason = None
            if len(row) != width:
                reason = f"expected {width} fields, got {len(row)}"
                if any("\n" in cell for cell in row):  # a quote never closed swallowed lines
                    reason += ": a quote on this line is not closed"
                    lines.push_back(taken[1:])  # read them again as records of their own
                    source, taken = taken[0][1], taken[:1]
            spoiled = [lines.bad[n] for n, _ in taken if n in lines.bad]
            if spoiled or reason:
                yield start, _invalid(start, "", spoiled[0] if spoiled else str(reason), source)
                continue
            attributes = {
                name: row[at] for at, name in picks if options.keep_empty or row[at] != ""
            }
            try:
                yield (
                    start,
                    ProfileUpsert(
                        options.profile_name,
                        key=row[key_at].strip(),
                        attributes=attributes,
                        upsert=options.upsert,
                        update_link=options.update_link,
                    ),
                )
            except InvalidRecordError as exc:
                wire = _wire(options, row[key_at].strip(), attributes)  # fix it, then re-run
                yield start, _invalid(start, exc.field, exc.reason, wire)


def _wire(options: CsvOptions, key: str, attributes: Mapping[str, str]) -> dict[str, Any]:
    """The wire JSON a CSV row stands for (of a row that is not a valid record)."""
    wire: dict[str, Any] = {"profile-name": options.profile_name, "key": key}
    wire["attributes"] = [{"attribute-name": k, "val": v} for k, v in attributes.items()]
    wire["upsert"] = options.upsert.value
    if options.update_link is not None:
        wire["update-link"] = options.update_link.value
    return wire


def read_jsonl(
    path: Path,
    *,
    profile_name: str | None = None,
    upsert: UpsertMode | None = None,
    update_link: UpdateLink | None = None,
) -> Iterator[tuple[int, Item]]:
    """Records of a JSON lines file: one wire-JSON object per line (the failures format).

    ``profile_name``, ``upsert`` and ``update_link`` fill in what a line leaves out; keys
    starting with ``_`` (annotations of a failures file) are ignored.
    """
    defaults: dict[str, str] = {}
    if profile_name:
        defaults["profile-name"] = profile_name
    if upsert is not None:
        defaults["upsert"] = upsert.value
    if update_link is not None:
        defaults["update-link"] = update_link.value
    with _open(path) as f:
        for line, raw in enumerate(f, 1):
            if not raw.strip():
                continue
            try:
                text = raw.decode("utf-8-sig" if line == 1 else "utf-8")
            except UnicodeDecodeError as exc:
                reason = f"not valid UTF-8: {exc.reason} at byte {exc.start}"
                yield line, _invalid(line, "", reason, raw[:200])
                continue
            try:
                obj = loads(text)
            except ValueError as exc:
                yield line, _invalid(line, "", f"not valid JSON: {exc}", text.strip())
                continue
            obj = strip_annotations(obj)
            if defaults and isinstance(obj, dict):
                obj = {**defaults, **obj}
            try:
                yield line, profile_from_wire(obj)
            except InvalidRecordError as exc:
                yield line, _invalid(line, exc.field, exc.reason, obj)
