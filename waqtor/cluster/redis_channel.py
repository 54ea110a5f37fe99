"""Commands between instances through the shared Redis (the bus's Redis, with the bus's key prefix).

Each instance pops the requests sent to it from its own list `<prefix>:cmd:<instance>` and pushes each
answer onto the list named in the request, `<prefix>:cmd-reply:<random>`, which the caller pops with a
timeout. Lists rather than pub/sub: a request waits for its instance even while that instance is
reconnecting, and an answer waits for its caller. A request carries its deadline; one found after it
is dropped unanswered (the caller has given up). Both lists expire, so requests to an instance that
died do not pile up. Requests are answered concurrently, at most `concurrency` at once.

Sending a request is retried once on a connection error (a pooled connection that died with a Redis
restart fails on first use); the receiving side drops a request it has already seen (by its reply
list, unique per request), so a retry never runs a command twice.
"""

from __future__ import annotations

import asyncio
import json
import logging
import math
import secrets
import time
from collections import OrderedDict
from typing import Any

import redis.asyncio as aioredis
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import RedisError

from waqtor.cluster.channel import CommandChannel, Handler, error_from_json, error_to_json
from waqtor.errors import Unavailable, WaqtorError
from waqtor.redis_conn import Reconnect, parse_url
from waqtor.tasks import TaskSet

log = logging.getLogger(__name__)

REPLY_TTL = 60
# Blocking pops wait longer than redis-py's default socket timeout (5 s), so the client has none and
# each call is bounded here instead: the pop's own timeout plus this much.
SLACK = 5.0
SEEN = 10_000  # request ids remembered to drop a request sent twice
FAILED = "the instance that runs the session failed to carry out the command; see its logs"


class RedisChannel(CommandChannel):
    def __init__(self, url: str, instance: str, timeout: float, concurrency: int = 64) -> None:
        self._url, self._prefix = parse_url(url)
        self.instance = instance
        self.timeout = timeout
        self._redis: aioredis.Redis | None = None
        self._handler: Handler | None = None
        self._slots = asyncio.Semaphore(concurrency)
        self._tasks = TaskSet("command-channel")
        self._stopping = False
        self._seen: OrderedDict[str, None] = OrderedDict()

    def _inbox(self, instance: str) -> str:
        return f"{self._prefix}:cmd:{instance}"

    @property
    def redis(self) -> aioredis.Redis:
        if self._redis is None:
            self._redis = aioredis.from_url(self._url, socket_connect_timeout=5, socket_timeout=None,
                                            health_check_interval=15)
        return self._redis

    async def start(self, handler: Handler) -> None:
        self._handler = handler
        self._tasks.spawn(self._serve(), "serve")

    async def stop(self) -> None:
        self._stopping = True
        await self._tasks.close()
        if self._redis is not None:
            await self._redis.aclose()
            self._redis = None

    async def healthy(self) -> bool:
        try:
            return bool(await asyncio.wait_for(self.redis.ping(), SLACK))
        except (RedisError, OSError, TimeoutError):
            return False

    # ---- answering ---------------------------------------------------------------------------------

    async def _serve(self) -> None:
        link = Reconnect("command channel")
        inbox = self._inbox(self.instance)
        while not self._stopping:
            try:
                item = await asyncio.wait_for(self.redis.brpop([inbox], timeout=1), 1 + SLACK)
            except (RedisError, OSError, TimeoutError) as exc:
                await link.failed(exc)
                continue
            link.succeeded()
            if item is None:
                continue
            await self._slots.acquire()
            self._tasks.spawn(self._answer(item[1]), "answer")

    async def _answer(self, raw: bytes | str) -> None:
        try:
            request = json.loads(raw)
            if request["reply"] in self._seen:
                return
            self._seen[request["reply"]] = None
            while len(self._seen) > SEEN:
                self._seen.popitem(last=False)
            if time.time() > float(request["deadline"]):
                log.warning("command channel: dropped a request from %s that waited past its deadline",
                            request.get("from"))
                return
            assert self._handler is not None
            try:
                reply: dict[str, Any] = {"ok": await self._handler(request["body"])}
            except WaqtorError as exc:
                reply = {"error": error_to_json(exc)}
            except Exception:
                log.exception("command channel: a command from %s failed", request.get("from"))
                reply = {"error": error_to_json(WaqtorError(FAILED))}
            async with asyncio.timeout(SLACK):
                await self._push(request["reply"], json.dumps(reply, separators=(",", ":")), REPLY_TTL)
        except (RedisError, OSError, TimeoutError) as exc:
            log.error("command channel: could not answer a request: %s", exc)
        except (ValueError, KeyError, TypeError) as exc:
            log.error("command channel: skipped a malformed request: %s", exc)
        finally:
            self._slots.release()

    # ---- asking ------------------------------------------------------------------------------------

    async def call(self, instance: str, request: dict[str, Any], *, timeout: float | None = None) -> dict[str, Any]:
        timeout = self.timeout if timeout is None else timeout
        reply_key = f"{self._prefix}:cmd-reply:{secrets.token_hex(12)}"
        message = json.dumps({"body": request, "reply": reply_key, "from": self.instance,
                              "deadline": time.time() + timeout}, separators=(",", ":"))
        inbox = self._inbox(instance)
        try:
            async with asyncio.timeout(timeout + SLACK):
                await self._push(inbox, message, math.ceil(timeout) + REPLY_TTL)
                item = await self.redis.brpop([reply_key], timeout=timeout)
        except (RedisError, OSError, TimeoutError) as exc:
            raise Unavailable(f"the shared Redis cannot be reached ({exc})", code="redis_unreachable") from None
        if item is None:
            raise Unavailable(f"instance {instance}, which runs the session, did not answer within "
                              f"{timeout:g} s", code="instance_unreachable")
        reply = json.loads(item[1])
        if "error" in reply:
            raise error_from_json(reply["error"])
        answer: dict[str, Any] = reply["ok"]  # what the other instance's Handler returned
        return answer

    async def _push(self, key: str, message: str, ttl: int) -> None:
        """LPUSH `message` onto `key` and let the list expire in `ttl` s; once more on a connection error
        (a request pushed twice is carried out once, an answer pushed twice is popped once)."""
        for attempt in (1, 2):
            try:
                async with self.redis.pipeline(transaction=False) as pipe:
                    pipe.lpush(key, message)
                    pipe.expire(key, ttl)
                    await pipe.execute()
                return
            except RedisConnectionError:
                if attempt == 2:
                    raise
