"""Rate windows over the `limits` library, shared by the REST rate limit and the per-session send rate.

A rate is written `<count>/<period>` (`120/minute`, `5/second`, `1000 per hour`); `0` or an empty
string means no limit. A `RateWindow` counts hits per key in a moving window (no burst at a window
edge) and says how many are left and when the next slot frees. Where the counters live is a URL:
`memory://` keeps them in this process; the URL is handed to `limits` (as its async variant), so a
shared store such as Redis is a change of URL once its driver is installed.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from dataclasses import dataclass

from limits import RateLimitItem, parse
from limits.aio.strategies import MovingWindowRateLimiter
from limits.errors import ConfigurationError
from limits.storage import storage_from_string

from waqtor.errors import ConfigError

__all__ = ["Decision", "RateWindow", "parse_rate"]

RATE_FORM = "write it as <count>/<period>, e.g. 120/minute or 5/second; 0 or empty disables it"


def parse_rate(value: str) -> RateLimitItem | None:
    """The rate `value` names, or None for no limit (`""` or `"0"`); ValueError saying the form."""
    text = value.strip()
    if text in ("", "0"):
        return None
    try:
        item = parse(text)
    except ValueError:
        raise ValueError(f"invalid rate {value!r}: {RATE_FORM}") from None
    if item.amount < 1:
        raise ValueError(f"invalid rate {value!r}: the count must be at least 1 ({RATE_FORM})")
    return item


@dataclass(frozen=True, slots=True)
class Decision:
    """The outcome of one hit: allowed or not, the limit, what is left, and when a slot frees
    (`reset_at`, seconds since the epoch)."""

    allowed: bool
    limit: int
    remaining: int
    reset_at: float

    def retry_after(self, now: float | None = None) -> float:
        """Seconds until the next slot frees (0 when one is free now)."""
        return max(0.0, self.reset_at - (time.time() if now is None else now))


class RateWindow:
    """`rate` hits per key in a moving window; `hit` counts a hit only when it is allowed."""

    def __init__(self, rate: RateLimitItem, storage_url: str = "memory://") -> None:
        self.rate = rate
        self._storage = _storage(storage_url)
        self._limiter = MovingWindowRateLimiter(self._storage)

    async def hit(self, key: str) -> Decision:
        allowed = await self._limiter.hit(self.rate, key)
        stats = await self._limiter.get_window_stats(self.rate, key)
        return Decision(allowed, self.rate.amount, max(0, stats.remaining), stats.reset_time)

    async def peek(self, key: str) -> Decision:
        """The window as it stands, without counting a hit."""
        stats = await self._limiter.get_window_stats(self.rate, key)
        return Decision(stats.remaining > 0, self.rate.amount, max(0, stats.remaining), stats.reset_time)

    async def close(self) -> None:
        """Stop the in-memory store's expiry task, if one is running."""
        timer = getattr(self._storage, "timer", None)
        if isinstance(timer, asyncio.Task) and not timer.done():
            timer.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await timer


def _storage(url: str):  # type: ignore[no-untyped-def]
    if "://" not in url:
        raise ConfigError(f"invalid rate-limit storage URL {url!r}; use memory://")
    async_url = url if url.startswith("async+") else "async+" + url
    try:
        return storage_from_string(async_url)
    except ConfigurationError as exc:
        raise ConfigError(f"rate-limit storage {url!r} is not usable: {exc}; use memory://") from None
