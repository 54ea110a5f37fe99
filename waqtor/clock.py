"""Time as the gateway tells it: the clock every part is given, and the one way times go on the wire.

Every part that needs the time takes a `Clock` (tests pass their own), never calls `datetime.now` itself.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import UTC, datetime

Clock = Callable[[], datetime]


def utcnow() -> datetime:
    """The default clock: now, in UTC."""
    return datetime.now(UTC)


def iso_ms(value: datetime) -> str:
    """ISO 8601 in UTC with milliseconds and a `Z`, as the spec's `lastUpdate`."""
    return value.strftime("%Y-%m-%dT%H:%M:%S.") + f"{value.microsecond // 1000:03d}Z"


def now_ms() -> int:
    """Milliseconds since the epoch, the `timestamp` of every WebSocket frame."""
    return int(time.time() * 1000)
