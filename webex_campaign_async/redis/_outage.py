"""What `RedisThrottle` tells of a Redis that goes away: one warning when an outage starts,
one when Redis is back, the rest at DEBUG.

After a restart, each connection of the client's pool fails once when it is next used
(it went stale): those failures, and any other within `SETTLE` seconds of Redis coming
back, belong to the outage that just ended. A failure that lasts `SETTLE` seconds is a new
outage, and is warned about then.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Callable

__all__ = ["SETTLE", "Outage"]

#: Seconds after Redis came back during which a failure is taken for the same outage.
SETTLE = 5.0


class Outage:
    """The state of one throttle's link to Redis at ``where``; ``clock`` gives the time."""

    def __init__(self, where: str, clock: Callable[[], float], logger: logging.Logger) -> None:
        self._where = where
        self._clock = clock
        self._logger = logger
        self._since: float | None = None  # when the current outage began (None: none)
        self._told = False  # its start was warned about
        self._back_at = -math.inf

    @property
    def down(self) -> bool:
        return self._since is not None

    def failed(self, exc: BaseException, doing: str) -> None:
        """A call to Redis failed (``doing``: what it was for, for the DEBUG line)."""
        now = self._clock()
        if self._since is None:
            self._since = now
            self._told = False
            quiet = now - self._back_at < SETTLE  # a straggler of the outage just over
        else:
            quiet = self._told or now - self._since < SETTLE
        if quiet:
            self._logger.debug("Redis at %s: %s failed (%s)", self._where, doing, exc)
            return
        self._told = True
        self._logger.warning("lost Redis at %s (%s): sending waits for it", self._where, exc)

    def answered(self) -> None:
        """A call to Redis succeeded."""
        if self._since is None:
            return
        self._since = None
        self._back_at = self._clock()
        if self._told:
            self._logger.warning("Redis at %s is back: sending goes on", self._where)
        else:
            self._logger.debug("Redis at %s answers again", self._where)
