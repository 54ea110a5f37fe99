"""Rate windows over the `limits` library, shared by the REST rate limit and the per-session send rate.

A rate is written `<count>/<period>` (`120/minute`, `5/second`, `1000 per hour`); `0` or an empty
string means no limit. A `RateWindow` counts hits per key in a moving window (no burst at a window
edge) and says how many are left and when the next slot frees. Where the counters live is a URL:
`memory://` keeps them in this process; `redis://host:port/db?prefix=name` keeps them in Redis (through
`limits`' async Redis storage on the redis-py client, keys under `<prefix>:limits`), so every instance
of the gateway counts against the same window. A store that cannot be reached raises Unavailable.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from dataclasses import dataclass

from limits import RateLimitItem, parse
from limits.aio.strategies import MovingWindowRateLimiter
from limits.errors import ConfigurationError, StorageError
from limits.storage import StorageTypes, storage_from_string

from waqtor.errors import ConfigError, Unavailable
from waqtor.redis_conn import parse_url

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
    """`rate` hits per key in a moving window; `hit` counts a hit only when it is allowed. Keys live
    under `namespace`, so windows of different rates can share one store. `hit` and `peek` raise
    Unavailable (`rate_limit_store_unreachable`) when the store cannot be reached."""

    def __init__(self, rate: RateLimitItem, storage_url: str = "memory://", namespace: str = "") -> None:
        self.rate = rate
        self.shared = storage_url.split("://", 1)[0].lower() in ("redis", "rediss")
        self._namespace = f"{namespace}:" if namespace else ""
        self._storage = _storage(storage_url)
        self._limiter = MovingWindowRateLimiter(self._storage)

    async def hit(self, key: str) -> Decision:
        key = self._namespace + key
        try:
            allowed = await self._limiter.hit(self.rate, key)
            stats = await self._limiter.get_window_stats(self.rate, key)
        except (StorageError, OSError) as exc:
            raise _unreachable(exc) from None
        return Decision(allowed, self.rate.amount, max(0, stats.remaining), stats.reset_time)

    async def peek(self, key: str) -> Decision:
        """The window as it stands, without counting a hit."""
        try:
            stats = await self._limiter.get_window_stats(self.rate, self._namespace + key)
        except (StorageError, OSError) as exc:
            raise _unreachable(exc) from None
        return Decision(stats.remaining > 0, self.rate.amount, max(0, stats.remaining), stats.reset_time)

    async def close(self) -> None:
        """Stop the in-memory store's expiry task, or close the Redis client."""
        timer = getattr(self._storage, "timer", None)
        if isinstance(timer, asyncio.Task) and not timer.done():
            timer.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await timer
        client = getattr(getattr(self._storage, "bridge", None), "storage", None)
        if client is not None and hasattr(client, "aclose"):
            await client.aclose()


def _unreachable(exc: BaseException) -> Unavailable:
    return Unavailable(f"the rate-limit store cannot be reached ({exc})", code="rate_limit_store_unreachable")


def _storage(url: str) -> StorageTypes:
    if "://" not in url:
        raise ConfigError(f"invalid rate-limit storage URL {url!r}; use memory:// or redis://")
    scheme = url.split("://", 1)[0].lower()
    options: dict[str, str | float | bool] = {"wrap_exceptions": True}
    if scheme in ("redis", "rediss"):
        plain, prefix = parse_url(url)
        url = plain
        # redis-py is installed already (the bus uses it); short socket timeouts keep a Redis outage
        # from holding requests.
        options.update(implementation="redispy", key_prefix=f"{prefix}:limits",
                       socket_connect_timeout=2.0, socket_timeout=2.0)
    async_url = url if url.startswith("async+") else "async+" + url
    try:
        return storage_from_string(async_url, **options)
    except ConfigurationError as exc:
        raise ConfigError(f"rate-limit storage {url!r} is not usable: {exc}; use memory:// or redis://") from None
