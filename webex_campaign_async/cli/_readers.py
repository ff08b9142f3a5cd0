"""Streaming readers of record files (CSV, JSON lines) for batch jobs and the CLI.

Each yields ``(line, item)``: the 1-based line where the record starts, and a `ProfileUpsert`
or an `InvalidRecordError` naming what is wrong with that line (the run goes on). A file that
cannot be read at all raises `InputError`. Nothing is loaded whole.

Lines are split in the file's encoding (a UTF-16 or UTF-32 newline is two or four bytes)
and decoded one by one, so a bad byte spoils its own line only; a byte order mark at the
start of the file is skipped, in any encoding.
"""

from __future__ import annotations

import csv
import os
from collections import Counter
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
from .._codec import loads_record
from .._files import strip_annotations
from ._lines import DEFAULT_ENCODING, Lines, Source, open_source

__all__ = [
    "CsvOptions",
    "check_delimiter",
    "default_delimiter",
    "detect_format",
    "read_csv",
    "read_jsonl",
]

Item = ProfileUpsert | InvalidRecordError
Path = str | os.PathLike[str]

_INT64 = (-(2**63), 2**63 - 1)


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


def default_delimiter(path: Path) -> str:
    """The CSV delimiter a file name implies: a tab for ``.tsv``, else a comma."""
    return "\t" if os.fspath(path).lower().endswith(".tsv") else ","


def check_delimiter(delimiter: str) -> str:
    """``delimiter`` if CSV can be split on it (``\\t`` and ``tab`` mean a tab), else raise
    `ValueError` saying why."""
    if delimiter in ("\\t", "tab", "TAB"):
        return "\t"
    if len(delimiter) != 1:
        raise ValueError(f"must be one character, not {delimiter!r}")
    if delimiter in ('"', "\r", "\n") or delimiter.isalnum():
        raise ValueError(f"{delimiter!r} cannot separate CSV fields")
    return delimiter


def _invalid(line: int, field: str, reason: str, source: Any) -> InvalidRecordError:
    """The error of one input line: ``line 7: attributes['age'].val: ...``."""
    where = f"line {line}: {field}" if field else f"line {line}"
    return InvalidRecordError(where, reason, source=source)


@attrs.frozen
class CsvOptions:
    """How CSV columns become a profile upsert.

    ``key_column`` holds the profile key; the other columns (or only ``columns``) become
    attributes, renamed by ``rename`` (old name -> attribute name). Empty cells are left out
    unless ``keep_empty``. ``delimiter`` ``None``: a tab for a ``.tsv`` file, else a comma.
    """

    profile_name: str
    key_column: str = "key"
    columns: tuple[str, ...] | None = None
    rename: Mapping[str, str] = attrs.field(factory=dict)
    keep_empty: bool = False
    delimiter: str | None = None
    encoding: str = DEFAULT_ENCODING
    upsert: UpsertMode = UpsertMode.CREATE_OR_UPDATE
    update_link: UpdateLink | None = None


def read_csv(source: Source, options: CsvOptions) -> Iterator[tuple[int, Item]]:
    """Records of a CSV file with a header row.

    Quoting is strict: a quote that is never closed makes its line INVALID, and the lines
    it swallowed are read again as records of their own. A header that names a column it
    uses twice, or uses a column without a name, raises `InputError`.
    """
    f, name, owned = open_source(source)
    try:
        yield from _read_csv(f, name, _path_of(source), options)
    finally:
        if owned:
            f.close()


def _path_of(source: Source) -> str:
    if isinstance(source, (str, os.PathLike)):
        return os.fspath(source)
    name = getattr(source, "name", "")
    return name if isinstance(name, str) else ""


def _read_csv(
    f: IO[bytes], name: str, path: str, options: CsvOptions
) -> Iterator[tuple[int, Item]]:
    given = options.delimiter
    try:
        lines = Lines(f, options.encoding)
    except ValueError as exc:
        raise InputError(f"{name}: {exc}") from None
    try:
        delimiter = check_delimiter(default_delimiter(path) if given is None else given)
    except ValueError as exc:
        raise InputError(f"{name}: the delimiter {exc}") from None
    reader = csv.reader(lines, delimiter=delimiter, strict=True)
    header, picks, key_at = _header(reader, lines, name, options)
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
            why = f"malformed CSV: {exc}"
            if len(taken) <= 1 and "unexpected end of data" in str(exc):  # the last line
                why = "malformed CSV: a quote on this line is not closed before the end of the file"
            elif len(taken) > 1:  # a quote opened here ran on into the lines after it
                why = f"malformed CSV: a quote on this line is not closed ({exc})"
                lines.push_back(taken[1:])  # the lines after the first: records of their own
            if taken:
                lines.bad.pop(taken[0][0], None)
            yield start, _invalid(start, "", why, taken[0][1] if taken else None)
            continue
        if not row or (width > 1 and len(row) == 1 and not row[0].strip()):
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
        spoiled = [lines.bad.pop(n) for n, _ in taken if n in lines.bad]  # memory stays flat
        if spoiled or reason:
            yield start, _invalid(start, "", spoiled[0] if spoiled else str(reason), source)
            continue
        key = row[key_at].strip()
        attributes = {
            attribute: row[at] for at, attribute in picks if options.keep_empty or row[at] != ""
        }
        try:
            yield (
                start,
                ProfileUpsert(
                    options.profile_name,
                    key=key,
                    attributes=attributes,
                    upsert=options.upsert,
                    update_link=options.update_link,
                ),
            )
        except InvalidRecordError as exc:
            wire = _wire(options, key, attributes)  # fix it, then re-run
            yield start, _invalid(start, exc.field, exc.reason, wire)


def _header(
    reader: Any, lines: Lines, name: str, options: CsvOptions
) -> tuple[list[str], list[tuple[int, str]], int]:
    """The header row's names, the ``(column, attribute name)`` pairs to send, and the key's
    column; raises `InputError` for a header the options cannot use."""
    try:
        header = [column.strip() for column in next(reader)]
    except StopIteration:
        raise InputError(f"{name} is empty: expected a header row") from None
    except csv.Error as exc:
        if len(lines.taken) > 1:
            raise InputError(f"{name}: a quote in the header row is not closed ({exc})") from None
        raise InputError(f"{name}: cannot read the header row: {exc}") from None
    spoiled = [lines.bad[n] for n, _ in lines.taken if n in lines.bad]
    if spoiled:
        raise InputError(f"{name}: the header row is {spoiled[0]}{lines.hint}")
    key_column = options.key_column
    if key_column not in header:
        raise InputError(
            f"{name} has no key column {key_column!r}; its columns "
            f"are {', '.join(map(repr, header))} (choose one with --key-column){lines.hint}"
        )
    wanted = options.columns or tuple(h for h in header if h != key_column)
    missing = [c for c in dict.fromkeys((*wanted, *options.rename)) if c not in header]
    if missing:
        raise InputError(f"{name} has no column(s) {', '.join(map(repr, missing))}")
    used = {key_column, *wanted}
    counts = Counter(header)
    for column in header:
        if column in used and counts[column] > 1:
            where = [str(i) for i, h in enumerate(header, 1) if h == column]
            what = f"column {column!r}" if column else "a column without a name"
            raise InputError(
                f"{name}: {what} appears {counts[column]} times in the header row (columns "
                f"{', '.join(where)}): name them apart, or choose the columns with --columns"
            )
    if "" in used:
        at = header.index("") + 1
        raise InputError(
            f"{name}: column {at} of the header row has no name: name it, or choose the "
            "columns to send with --columns"
        )
    unsent = [old for old in options.rename if old not in wanted]
    if unsent:
        raise InputError(
            f"{name}: --rename {unsent[0]}=...: column {unsent[0]!r} is not sent (see --columns)"
        )
    picks = [(header.index(c), options.rename.get(c, c)) for c in dict.fromkeys(wanted)]
    sent: dict[str, str] = {}
    for column, attribute in ((header[at], attribute) for at, attribute in picks):
        if attribute in sent:
            raise InputError(
                f"{name}: columns {sent[attribute]!r} and {column!r} would both be sent as "
                f"attribute {attribute!r} (see --rename)"
            )
        sent[attribute] = column
    return header, picks, header.index(key_column)


def _wire(options: CsvOptions, key: str, attributes: Mapping[str, str]) -> dict[str, Any]:
    """The wire JSON a CSV row stands for (of a row that is not a valid record)."""
    wire: dict[str, Any] = {"profile-name": options.profile_name, "key": key}
    wire["attributes"] = [{"attribute-name": k, "val": v} for k, v in attributes.items()]
    wire["upsert"] = options.upsert.value
    if options.update_link is not None:
        wire["update-link"] = options.update_link.value
    return wire


def read_jsonl(
    source: Source,
    *,
    profile_name: str | None = None,
    upsert: UpsertMode | None = None,
    update_link: UpdateLink | None = None,
    encoding: str = DEFAULT_ENCODING,
) -> Iterator[tuple[int, Item]]:
    """Records of a JSON lines file: one wire-JSON object per line (the failures format).

    ``profile_name``, ``upsert`` and ``update_link`` fill in what a line leaves out; keys
    starting with ``_`` (annotations of a failures file) are ignored. Numbers are read
    exactly (with or without orjson): an integer ``val`` beyond 64 bits is sent as the text
    of its digits; any other integer beyond 64 bits makes its line INVALID.
    """
    defaults: dict[str, str] = {}
    if profile_name:
        defaults["profile-name"] = profile_name
    if upsert is not None:
        defaults["upsert"] = upsert.value
    if update_link is not None:
        defaults["update-link"] = update_link.value
    f, name, owned = open_source(source)
    try:
        try:
            lines = Lines(f, encoding)
        except ValueError as exc:
            raise InputError(f"{name}: {exc}") from None
        for line, text in lines.numbered():
            if not text.strip():
                continue
            if line in lines.bad:
                bad = lines.bad.pop(line)
                if line == 1 and lines.hint:  # the whole file is in another encoding
                    raise InputError(f"{name}: line 1 is {bad}{lines.hint}")
                yield line, _invalid(line, "", bad, text.strip()[:200])
                continue
            try:
                obj = loads_record(text)
            except ValueError as exc:
                if line == 1 and lines.hint:
                    raise InputError(f"{name}: line 1 is not JSON{lines.hint}") from None
                yield line, _invalid(line, "", f"not valid JSON: {exc}", text.strip())
                continue
            obj = _long_vals_as_text(strip_annotations(obj))
            if defaults and isinstance(obj, dict):
                obj = {**defaults, **obj}
            try:
                yield line, profile_from_wire(obj)
            except InvalidRecordError as exc:
                yield line, _invalid(line, exc.field, exc.reason, obj)
    finally:
        if owned:
            f.close()


def _long_vals_as_text(obj: Any) -> Any:
    """``obj`` with each integer ``val`` of its attributes and filter that does not fit in
    64 bits as the text of its digits (sent as it was written, not rounded)."""
    if not isinstance(obj, dict):
        return obj
    for member in ("attributes", "filter"):
        items = obj.get(member)
        if not isinstance(items, list):
            continue
        for item in items:
            if isinstance(item, dict):
                val = item.get("val")
                if type(val) is int and not _INT64[0] <= val <= _INT64[1]:
                    item["val"] = str(val)
    return obj
