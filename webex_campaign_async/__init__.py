"""Asyncio client for bulk upserts of Webex Campaign contact profiles.

Throttled to the tenant's rate, lossless (every record ends in exactly one `RecordResult`),
with an offline emulator of the API in `webex_campaign_async.emulator`.
"""

from ._adaptive import AdaptiveThrottle
from ._client import CampaignClient
from ._clock import Clock, LoopClock
from ._convert import profile_from_wire, profile_to_wire
from ._credentials import TokenProvider
from ._endpoint import DEFAULT_UPSERT_PATH
from ._engine import HOLD_PER_WORKER, BulkRun
from ._enums import LogicalOp, RelOp, UpdateLink, UpsertMode
from ._files import Target, write_failures
from ._models import Attribute, Condition, ProfileUpsert
from ._ratelimit import RateLimit
from ._records import RecordInput
from ._report import BulkReport, LatencySummary
from ._results import FAILURE_STATUSES, RecordResult, RecordStatus
from ._retry import RetryPolicy
from ._sansio import Response
from ._sender import SendCounts, Sender
from ._stop import StopSignal
from ._throttle import Throttle
from ._transport import AiohttpTransport, Transport
from ._version import version as __version__
from .exceptions import (
    ApiError,
    AuthError,
    ConfigurationError,
    ConnectError,
    ConnectionLostError,
    EndpointError,
    InputError,
    InvalidRecordError,
    NotAppliedError,
    PermissionDeniedError,
    RejectedError,
    RequestTimeoutError,
    ServerError,
    ThrottledError,
    TLSVerificationError,
    TokenExpiredError,
    TokenProviderError,
    TransportError,
    UnreachableError,
    WebexCampaignError,
)

__all__ = [
    "DEFAULT_UPSERT_PATH",
    "FAILURE_STATUSES",
    "HOLD_PER_WORKER",
    "AdaptiveThrottle",
    "AiohttpTransport",
    "ApiError",
    "Attribute",
    "AuthError",
    "BulkReport",
    "BulkRun",
    "CampaignClient",
    "Clock",
    "Condition",
    "ConfigurationError",
    "ConnectError",
    "ConnectionLostError",
    "EndpointError",
    "InputError",
    "InvalidRecordError",
    "LatencySummary",
    "LogicalOp",
    "LoopClock",
    "NotAppliedError",
    "PermissionDeniedError",
    "ProfileUpsert",
    "RateLimit",
    "RecordInput",
    "RecordResult",
    "RecordStatus",
    "RejectedError",
    "RelOp",
    "RequestTimeoutError",
    "Response",
    "RetryPolicy",
    "SendCounts",
    "Sender",
    "ServerError",
    "StopSignal",
    "TLSVerificationError",
    "Target",
    "Throttle",
    "ThrottledError",
    "TokenExpiredError",
    "TokenProvider",
    "TokenProviderError",
    "Transport",
    "TransportError",
    "UnreachableError",
    "UpdateLink",
    "UpsertMode",
    "WebexCampaignError",
    "__version__",
    "profile_from_wire",
    "profile_to_wire",
    "write_failures",
]
