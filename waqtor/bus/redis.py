"""Redis bus: every gateway instance on the same Redis shares one stream of events.

Ids come from one Redis counter, so they are global: a client may resume on any instance. The
events live in a Redis Stream whose entry ids are `<event id>-1`, trimmed to exactly `replay` entries
(so `replay_gap` names the true oldest id); each instance reads the stream and delivers every event to
its local subscribers, in id order.

The counter is seeded from the clock (`epoch ms * 1000`) when it is missing, e.g. after a Redis
restart without persistence, so ids keep increasing and an old id gets an honest `replay_gap`.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from typing import Any, cast

import redis.asyncio as aioredis
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import RedisError
from redis.exceptions import TimeoutError as RedisTimeoutError

from waqtor.bus.base import BusBackend, Deliver, ReplayGap
from waqtor.events import Event
from waqtor.redis_conn import Reconnect, parse_url
from waqtor.tasks import TaskSet

log = logging.getLogger(__name__)

# KEYS: counter, stream. ARGV: seed, maxlen, type, session, timestamp, data-json.
_PUBLISH = """
if redis.call('EXISTS', KEYS[1]) == 0 then
  redis.call('SET', KEYS[1], ARGV[1])
end
local id = redis.call('INCR', KEYS[1])
redis.call('XADD', KEYS[2], 'MAXLEN', ARGV[2], string.format('%.0f-1', id),
           't', ARGV[3], 's', ARGV[4], 'ts', ARGV[5], 'd', ARGV[6])
return id
"""


# A stream entry as XRANGE, XREVRANGE and XREAD answer it: (entry id, {field: value}). redis-py's own
# StreamEntry also allows (None, None), which only XCLAIM/XAUTOCLAIM answer (for a deleted entry).
_Entry = tuple[bytes | str, dict[bytes | str, bytes | str]]


def _seed() -> int:
    return int(time.time() * 1000) * 1000


def _event(entry_id: bytes | str, fields: dict[bytes | str, bytes | str]) -> Event:
    def text(key: str) -> str:
        value = fields.get(key.encode(), fields.get(key))
        return value.decode() if isinstance(value, bytes) else str(value)

    raw_id = entry_id.decode() if isinstance(entry_id, bytes) else entry_id
    session = text("s")
    return Event(
        id=int(raw_id.split("-", 1)[0]),
        type=text("t"),
        session=session or None,
        timestamp=int(text("ts")),
        data=json.loads(text("d")),
    )


class RedisBus(BusBackend):
    def __init__(self, url: str, replay: int, *, retry_for: float = 30.0) -> None:
        self.url = url
        self._url, prefix = parse_url(url)
        self._counter = f"{prefix}:bus:seq"
        self._stream = f"{prefix}:bus:events"
        self._replay = max(replay, 1)
        self._retry_for = retry_for
        self._redis: aioredis.Redis | None = None
        self._script: Any = None
        self._tasks = TaskSet("redis-bus")
        self._deliver: Deliver | None = None
        self._stopping = False

    @property
    def redis(self) -> aioredis.Redis:
        if self._redis is None:
            raise RuntimeError("redis bus is not started")
        return self._redis

    async def start(self, deliver: Deliver) -> None:
        self._redis = aioredis.from_url(self._url, socket_connect_timeout=5, health_check_interval=15)
        self._script = self._redis.register_script(_PUBLISH)
        self._deliver = deliver
        # Deliver from the current end of the stream: a subscriber sees what is published after it.
        start_id = await self._retry(self._current_end)
        self._tasks.spawn(self._read(start_id), "read")

    async def stop(self) -> None:
        # redis-py may turn a cancelled blocking read into a connection error; the flag ends the loop.
        self._stopping = True
        await self._tasks.close()
        if self._redis is not None:
            await self._redis.aclose()
            self._redis = None

    async def healthy(self) -> bool:
        try:
            return bool(await self.redis.ping())
        except (RedisError, OSError):
            return False

    async def _current_end(self) -> str:
        last = cast("list[_Entry] | None", await self.redis.xrevrange(self._stream, count=1))
        if last:
            entry_id = last[0][0]
            return entry_id.decode() if isinstance(entry_id, bytes) else entry_id
        return "0-0"

    async def _retry(self, call: Any, *args: Any) -> Any:
        """Run a Redis call, retrying with backoff while Redis is unreachable for up to `retry_for` s."""
        deadline = time.monotonic() + self._retry_for
        delay = 0.05
        while True:
            try:
                return await call(*args)
            except (RedisConnectionError, RedisTimeoutError, OSError) as exc:
                if time.monotonic() + delay > deadline:
                    raise
                log.warning("redis bus: %s; retrying in %.2fs", exc, delay)
                await asyncio.sleep(delay)
                delay = min(delay * 2, 2.0)

    async def publish(self, type: str, session: str | None, data: dict[str, Any]) -> Event:
        timestamp = int(time.time() * 1000)
        payload = json.dumps(data, separators=(",", ":"), ensure_ascii=False)

        async def call() -> int:
            return int(await self._script(
                keys=[self._counter, self._stream],
                args=[_seed(), self._replay, type, session or "", timestamp, payload],
            ))

        event_id = await self._retry(call)
        return Event(id=event_id, type=type, session=session, timestamp=timestamp, data=data)

    async def _read(self, last_id: str) -> None:
        link = Reconnect("redis bus")
        while not self._stopping:
            try:
                reply = await self.redis.xread({self._stream: last_id}, block=1000, count=500)
                link.succeeded()
            except (RedisError, OSError) as exc:
                await link.failed(exc)
                continue
            # The RESP2 shape (this client's protocol): [[stream, [(entry id, fields), ...]], ...].
            streams = cast("list[list[Any]]", reply)
            entries: list[_Entry]
            for _stream, entries in streams or []:
                for entry_id, fields in entries:
                    last_id = entry_id.decode() if isinstance(entry_id, bytes) else entry_id
                    try:
                        event = _event(entry_id, fields)
                    except (ValueError, KeyError) as exc:
                        log.error("redis bus: skipped malformed entry %s: %s", last_id, exc)
                        continue
                    if self._deliver is not None:
                        self._deliver(event)

    async def history(self, after: int) -> list[Event]:
        first = await self._retry(self.redis.xrange, self._stream, "-", "+", 1)
        if first:
            oldest = _event(*first[0]).id
            if after < oldest - 1:
                raise ReplayGap(after, oldest)
        else:
            last = await self.last_id()
            if after < last:
                raise ReplayGap(after, last + 1)
            return []
        entries = await self._retry(self.redis.xrange, self._stream, f"{after + 1}-0", "+")
        return [_event(entry_id, fields) for entry_id, fields in entries]

    async def last_id(self) -> int:
        # Seed the counter if it is missing, so the id answered here is the one the next event follows.
        async def seeded() -> int:
            while True:
                await self.redis.set(self._counter, _seed(), nx=True)
                value = await self.redis.get(self._counter)
                if value is not None:  # None only when the counter vanished in between (Redis lost its data)
                    return int(value)

        return int(await self._retry(seeded))
