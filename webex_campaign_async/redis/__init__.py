"""A throttle shared by several processes and hosts of one tenant, through Redis.

Needs redis-py: ``pip install 'webex-campaign-async[redis]'``.
"""

try:
    import redis.asyncio  # noqa: F401 - the one dependency this module adds
except ImportError:  # pragma: no cover - exercised without the extra
    raise ImportError(
        "webex_campaign_async.redis needs redis-py: pip install 'webex-campaign-async[redis]'"
    ) from None

from ._state import tenant_name
from ._throttle import RedisThrottle

__all__ = ["RedisThrottle", "tenant_name"]
