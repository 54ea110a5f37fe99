"""Telling every instance at once that a key was revoked.

With one instance (`memory://` bus) there is nobody to tell. With a Redis bus, revocations go out on a
Redis pub/sub channel (`<prefix>:keys:revoked`), separate from the event stream so that no WebSocket
client or webhook ever sees them. Pub/sub keeps nothing for a listener that is away, so after every
(re)connection the listener asks its owner to reload the keys from the database, which is the truth;
the owner also reloads on a timer.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable

from redis import asyncio as aioredis
from redis.exceptions import RedisError

from waqtor.redis_conn import Reconnect, parse_url
from waqtor.tasks import TaskSet

log = logging.getLogger(__name__)

OnRevoked = Callable[[str], Awaitable[None]]
OnResync = Callable[[], Awaitable[None]]


class Notices:
    """No other instance: publishing does nothing."""

    async def start(self, on_revoked: OnRevoked, on_resync: OnResync) -> None:
        return None

    async def publish(self, key_id: str) -> None:
        return None

    async def stop(self) -> None:
        return None


class RedisNotices(Notices):
    def __init__(self, url: str) -> None:
        self._url, prefix = parse_url(url)
        self._channel = f"{prefix}:keys:revoked"
        self._redis: aioredis.Redis | None = None
        self._tasks = TaskSet("key-notices")

    async def start(self, on_revoked: OnRevoked, on_resync: OnResync) -> None:
        self._redis = aioredis.from_url(self._url, socket_connect_timeout=5, health_check_interval=15)
        subscribed = asyncio.Event()
        self._tasks.spawn(self._listen(on_revoked, on_resync, subscribed), "listen")
        # A revocation published right after start-up must not slip past this instance.
        try:
            await asyncio.wait_for(subscribed.wait(), timeout=5)
        except TimeoutError:
            log.warning("key revocations: not yet subscribed to Redis; keys are reloaded when it is")

    async def _listen(self, on_revoked: OnRevoked, on_resync: OnResync, subscribed: asyncio.Event) -> None:
        assert self._redis is not None
        link = Reconnect("key revocations", minimum=1.0, maximum=1.0)
        first = True
        while True:
            try:
                async with self._redis.pubsub() as pubsub:
                    await pubsub.subscribe(self._channel)
                    link.succeeded()
                    subscribed.set()
                    if not first:
                        await on_resync()  # revocations sent while we were away are in the database
                    first = False
                    async for message in pubsub.listen():
                        if message.get("type") == "message":
                            data = message["data"]
                            await on_revoked(data.decode() if isinstance(data, bytes) else str(data))
            except (RedisError, OSError) as exc:
                first = False
                await link.failed(exc)

    async def publish(self, key_id: str) -> None:
        if self._redis is None:
            return
        try:
            await self._redis.publish(self._channel, key_id)
        except (RedisError, OSError) as exc:
            log.warning("key revocations: could not tell the other instances (%s); they learn it at "
                        "their next reload", exc)

    async def stop(self) -> None:
        await self._tasks.close()
        if self._redis is not None:
            await self._redis.aclose()
            self._redis = None


def notices_for(bus_url: str) -> Notices:
    if bus_url.split("://", 1)[0].lower() in ("redis", "rediss"):
        return RedisNotices(bus_url)
    return Notices()
