"""The REST rate limit: `WAQTOR_RATE_LIMIT` requests per API key on every route under /api.

Each caller is counted by the SHA-256 of the key it presents (never the key itself), or by its
address when it presents none. Every /api answer carries `X-RateLimit-Limit`, `X-RateLimit-Remaining`
and `X-RateLimit-Reset` (seconds since the epoch when a slot frees); past the limit the answer is 429
`rate_limited` with `Retry-After`. /health, the docs and the WebSocket are not counted.

With a shared store (Redis) every instance counts against the same window. When that store cannot be
reached the limit fails open: requests pass without the headers and a warning is logged (at most every
`WARN_EVERY` seconds), because refusing every request while Redis restarts would turn a counter
outage into a gateway outage.
"""

from __future__ import annotations

import logging
import math
import time
from typing import Any
from urllib.parse import parse_qs

from waqtor.access.gateway_key import hash_key
from waqtor.api.errors import error_response
from waqtor.errors import Unavailable
from waqtor.rate_window import Decision, RateWindow

log = logging.getLogger(__name__)

WARN_EVERY = 10.0


def caller(scope: dict[str, Any]) -> str:
    """Who is counted: `key:<sha256 of the key>` (header first, as for authentication), else
    `addr:<client address>`."""
    key = None
    for name, value in scope.get("headers", []):
        if name == b"x-api-key":
            key = value.decode("latin-1")
            break
    if not key:
        query = parse_qs(scope.get("query_string", b"").decode("latin-1"))
        key = (query.get("apiKey") or [None])[0]
    if key:
        return "key:" + hash_key(key)
    client = scope.get("client")
    return "addr:" + (client[0] if client else "unknown")


def _headers(decision: Decision) -> list[tuple[bytes, bytes]]:
    return [
        (b"x-ratelimit-limit", str(decision.limit).encode()),
        (b"x-ratelimit-remaining", str(decision.remaining).encode()),
        (b"x-ratelimit-reset", str(math.ceil(decision.reset_at)).encode()),
    ]


class RateLimit:
    """Pure ASGI middleware; with no window (the limit is disabled) it only passes requests on."""

    def __init__(self, app: Any, window: RateWindow | None, rate: str = "") -> None:
        self.app = app
        self.window = window
        self.rate = rate
        self._warned_at = float("-inf")

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        path = scope.get("path", "")
        if scope["type"] != "http" or self.window is None or not (path == "/api" or path.startswith("/api/")):
            await self.app(scope, receive, send)
            return
        try:
            decision = await self.window.hit(caller(scope))
        except Unavailable as exc:
            now = time.monotonic()
            if now - self._warned_at >= WARN_EVERY:
                self._warned_at = now
                log.warning("REST rate limit not applied: %s", exc.message)
            await self.app(scope, receive, send)
            return
        extra = _headers(decision)
        if not decision.allowed:
            retry = max(1, math.ceil(decision.retry_after()))
            response = error_response(
                429,
                "rate_limited",
                f"Too many requests: this API key may make {self.rate} requests; retry in {retry} s.",
                headers={"Retry-After": str(retry), **{k.decode(): v.decode() for k, v in extra}},
            )
            await response(scope, receive, send)
            return

        async def send_with_headers(message: dict[str, Any]) -> None:
            if message["type"] == "http.response.start":
                message = {**message, "headers": [*message.get("headers", []), *extra]}
            await send(message)

        await self.app(scope, receive, send_with_headers)
