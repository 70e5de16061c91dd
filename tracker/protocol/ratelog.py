"""Rate-limited warnings for a decoder: a bad packet is logged with its hex, never raised, and a
flood of them (a noisy link sends thousands) does not flood the log.

Both decoders (`stream.StreamDecoder`, `pmd_stream.PmdStreamDecoder`) report malformed and
rejected packets through one of these: the first `first` events of each kind, then at most one
per `interval_s` of host time, each saying how many were suppressed since the last one.
"""

from __future__ import annotations

import logging
from typing import Any


class RateLimitedLog:
    """WARNING lines per kind of event, limited by count and by host time."""

    def __init__(self, logger: logging.Logger, first: int = 5, interval_s: float = 10.0) -> None:
        self.logger = logger
        self.first = int(first)
        self.interval_s = float(interval_s)
        self._count: dict[str, int] = {}
        self._last: dict[str, float] = {}
        self._suppressed: dict[str, int] = {}

    def warning(self, kind: str, host_time_s: float, msg: str, *args: Any) -> None:
        """Log `msg % args` at WARNING unless this kind was logged too often lately."""
        seen = self._count.get(kind, 0) + 1
        self._count[kind] = seen
        last = self._last.get(kind)
        if seen <= self.first or last is None or host_time_s - last >= self.interval_s:
            suppressed = self._suppressed.pop(kind, 0)
            more = f" ({suppressed} more since the last report)" if suppressed else ""
            self.logger.warning(msg + "%s", *args, more)
            self._last[kind] = host_time_s
        else:
            self._suppressed[kind] = self._suppressed.get(kind, 0) + 1
