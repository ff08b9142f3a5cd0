"""What a bulk input may yield, and how one item becomes a record to send or a result.

Pure: validation and encoding of one input item, and the results of records a run read but
did not send.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ._convert import as_profile, encode_profile
from ._models import ProfileUpsert
from ._results import RecordResult, RecordStatus
from .exceptions import InvalidRecordError

__all__ = ["RecordInput", "check_record", "prepare", "unsent"]

#: What a bulk input may yield: a model, its wire JSON object, or an `InvalidRecordError`
#: standing for an input record that could not be read (it is reported INVALID).
RecordInput = ProfileUpsert | Mapping[str, Any] | InvalidRecordError


def key_of(raw: object) -> str | None:
    """The profile key of an input item, as far as it can be told."""
    if isinstance(raw, ProfileUpsert):
        return raw.target
    if isinstance(raw, Mapping):
        key = raw.get("key")
        return key if isinstance(key, str) else None
    return None


def check_record(index: int, raw: object) -> ProfileUpsert | RecordResult:
    """The validated record, or its INVALID result (whatever went wrong validating it)."""
    if isinstance(raw, InvalidRecordError):  # a reader could not make a record of its input
        return RecordResult(
            index, RecordStatus.INVALID, raw.key, message=str(raw), source=raw.source
        )
    try:
        if not isinstance(raw, (ProfileUpsert, Mapping)):
            raise InvalidRecordError(
                "", f"expected a ProfileUpsert or a mapping, not {type(raw).__name__}"
            )
        return as_profile(raw)
    except InvalidRecordError as exc:
        error = exc.for_record(index, key_of(raw))
    except Exception as exc:  # a mapping that misbehaves, a number too big for str(): invalid
        error = InvalidRecordError("", f"{type(exc).__name__}: {exc}", index=index)
    return RecordResult(index, RecordStatus.INVALID, error.key, message=str(error), source=raw)


def prepare(index: int, raw: object) -> tuple[ProfileUpsert, bytes] | RecordResult:
    """The validated record and its request body, or its INVALID result."""
    # a ProfileUpsert was validated when it was made: only other inputs need checking
    checked = raw if type(raw) is ProfileUpsert else check_record(index, raw)
    if isinstance(checked, RecordResult):
        return checked
    try:
        return checked, encode_profile(checked)
    except (TypeError, ValueError) as exc:
        return RecordResult(
            index,
            RecordStatus.INVALID,
            checked.target,
            message=f"record {index}: cannot be encoded as JSON: {exc}",
            record=checked,
            source=raw,
        )


def unsent(
    index: int,
    raw: object,
    status: RecordStatus,
    message: str,
    record: ProfileUpsert | None = None,
) -> RecordResult:
    """The result of a record the run read but did not (or could not) finish."""
    if record is None and isinstance(raw, ProfileUpsert):
        record = raw
    key = record.target if record is not None else key_of(raw)
    return RecordResult(index, status, key, message=message, record=record, source=raw)
