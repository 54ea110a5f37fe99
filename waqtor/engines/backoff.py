"""How long an engine waits before it reconnects. Pure: the caller supplies the random draw."""

from __future__ import annotations


def backoff_delay(attempt: int, *, minimum: float, maximum: float, draw: float) -> float:
    """Seconds to wait before reconnect attempt `attempt` (1 is the first retry).

    The ceiling doubles from `minimum` with each attempt and never passes `maximum`; `draw` (in [0, 1))
    then places the wait between half the ceiling and all of it, so that many sessions failing at
    the same moment do not come back in step.
    """
    if attempt < 1:
        raise ValueError("attempt counts from 1")
    if not 0.0 <= draw < 1.0:
        raise ValueError("draw must be in [0, 1)")
    # 2**attempt overflows a float long before it matters; past 64 doublings the cap has won anyway.
    ceiling = min(maximum, minimum * 2.0 ** min(attempt - 1, 64))
    return ceiling / 2.0 + ceiling / 2.0 * draw
