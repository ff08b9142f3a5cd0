"""The `RecordResult` of each way a send can end: pure functions of what happened."""

from __future__ import annotations

from ._models import ProfileUpsert
from ._results import RecordResult, RecordStatus
from ._sansio import Outcome, Verdict
from .exceptions import (
    EndpointError,
    PermissionDeniedError,
    TLSVerificationError,
    TokenExpiredError,
    TokenProviderError,
    UnreachableError,
    WebexCampaignError,
)

__all__ = [
    "AMBIGUOUS_NOTE",
    "APPLIED",
    "FINAL",
    "GATEWAY",
    "abort_reason",
    "ended",
    "gave_up",
    "no_answer",
    "stopped",
]

AMBIGUOUS_NOTE = (
    "; an earlier attempt lost its connection after sending, so it may be that attempt "
    "which applied the record"
)


APPLIED = RecordStatus.APPLIED
GATEWAY = frozenset({502, 503, 504})

#: Verdicts that end a record at once (the rest are retried).
FINAL = {
    Verdict.NOT_APPLIED: RecordStatus.NOT_APPLIED,
    Verdict.REJECTED: RecordStatus.REJECTED,
    Verdict.FATAL: RecordStatus.FAILED,
    Verdict.TOKEN_EXPIRED: RecordStatus.FAILED,
}


def gave_up(
    index: int,
    record: ProfileUpsert,
    outcome: Outcome | None,
    error: WebexCampaignError,
    attempts: int,
    latency: float,
    *,
    stayed_unprocessed: bool = False,
) -> RecordResult:
    """FAILED: the retry policy gave up; REJECTED if it gave up because 1010 stayed (its
    own budget used up), which says the record itself cannot be processed."""
    return RecordResult(
        index,
        RecordStatus.REJECTED if stayed_unprocessed else RecordStatus.FAILED,
        record.target,
        code=outcome.code if outcome is not None else None,
        http_status=outcome.http_status if outcome is not None else None,
        message=str(error),
        attempts=attempts,
        latency=latency,
        record=record,
    )


def no_answer(
    index: int, record: ProfileUpsert, error: WebexCampaignError, attempts: int
) -> RecordResult:
    """FAILED with no answer to read, and not retried: the token provider failed (for the
    first token, or for a new one after a 498), or the server's certificate is not trusted."""
    error.attempts = attempts
    return RecordResult(
        index,
        RecordStatus.FAILED,
        record.target,
        message=str(error),
        attempts=attempts,
        record=record,
    )


def stopped(
    index: int,
    record: ProfileUpsert,
    reason: str,
    attempts: int,
    error: WebexCampaignError | None,
) -> RecordResult:
    if attempts == 0 or error is None:
        return RecordResult(
            index, RecordStatus.SKIPPED, record.target, message=reason, record=record
        )
    return RecordResult(
        index,
        RecordStatus.FAILED,
        record.target,
        code=getattr(error, "code", None),
        http_status=getattr(error, "http_status", None),
        message=f"{reason} before retrying; last error: {error}",
        attempts=attempts,
        record=record,
    )


def ended(
    index: int,
    record: ProfileUpsert,
    status: RecordStatus,
    outcome: Outcome,
    attempts: int,
    latency: float,
    note: str = "",
) -> RecordResult:
    return RecordResult(  # positional: this runs once per record
        index,
        status,
        record.target,
        outcome.update_count,
        outcome.transaction_id,
        outcome.code,
        outcome.http_status,
        outcome.description + note if note else outcome.description,
        attempts,
        latency,
        record,
    )


def abort_reason(error: WebexCampaignError) -> str | None:
    """Errors after which no request of the run can succeed."""
    if isinstance(error, PermissionDeniedError):
        return f"permission denied, the key may not call this API ({error})"
    if isinstance(error, EndpointError):
        return f"the API refused the endpoint; check base_url and upsert_path ({error})"
    if isinstance(error, TokenExpiredError):
        return f"the token expired and no fresh one was accepted ({error})"
    if isinstance(error, TokenProviderError):
        return str(error)
    if isinstance(error, (TLSVerificationError, UnreachableError)):
        return str(error)
    return None
