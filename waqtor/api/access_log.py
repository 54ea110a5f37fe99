"""Access log without query strings: a key sent as `?apiKey=` must never reach a log line."""

from __future__ import annotations

import logging
import time
from typing import Any

log = logging.getLogger("waqtor.access")


class AccessLog:
    """Pure ASGI middleware: one line per HTTP request with method, path, status and duration."""

    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500

        async def send_wrapper(message: dict[str, Any]) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, send_wrapper)
        finally:
            client = scope.get("client")
            log.info(
                "%s %s %s %d %.1fms",
                client[0] if client else "-",
                scope["method"],
                scope["path"],
                status,
                (time.perf_counter() - started) * 1000,
            )
