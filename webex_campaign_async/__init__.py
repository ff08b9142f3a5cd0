"""Asyncio client for bulk upserts of Webex Campaign contact profiles.

Throttled to the tenant's rate, lossless (every record ends in exactly one `RecordResult`),
with an offline emulator of the API in `webex_campaign_async.emulator`.
"""

from ._bulk import BulkRun, RecordInput
from ._client import DEFAULT_UPSERT_PATH, CampaignClient
from ._convert import converter
from ._models import (
    Attribute,
    Condition,
    LogicalOp,
    ProfileUpsert,
    RelOp,
    UpdateLink,
    UpsertMode,
)
from ._ratecontrol import RateLimit
from ._report import BulkReport, LatencySummary
from ._results import RecordResult, RecordStatus
from ._retry import RetryPolicy
from ._sansio import Response
from ._throttle import AdaptiveThrottle, Throttle
from ._transport import AiohttpTransport, Transport
from ._version import version as __version__
from .exceptions import (
    ApiError,
    AuthError,
    ConfigurationError,
    EndpointError,
    InvalidRecordError,
    NotAppliedError,
    PermissionDeniedError,
    RejectedError,
    RequestTimeoutError,
    ServerError,
    ThrottledError,
    TokenExpiredError,
    TokenProviderError,
    TransportError,
    WebexCampaignError,
)

__all__ = [
    "DEFAULT_UPSERT_PATH",
    "AdaptiveThrottle",
    "AiohttpTransport",
    "ApiError",
    "Attribute",
    "AuthError",
    "BulkReport",
    "BulkRun",
    "CampaignClient",
    "Condition",
    "ConfigurationError",
    "EndpointError",
    "InvalidRecordError",
    "LatencySummary",
    "LogicalOp",
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
    "ServerError",
    "Throttle",
    "ThrottledError",
    "TokenExpiredError",
    "TokenProviderError",
    "Transport",
    "TransportError",
    "UpdateLink",
    "UpsertMode",
    "WebexCampaignError",
    "__version__",
    "converter",
]
