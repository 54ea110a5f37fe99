"""The outermost middleware: a request id, one access-log line and one latency sample per request.

- Request id: the client's `X-Request-ID` when sane, else a new one (`waqtor.logs.accept_request_id`).
  It is set in a context variable for the whole request, so every log line and every error body
  (`error.requestId`) made meanwhile carries it, and it is returned in the `X-Request-ID` header.
  A WebSocket connection gets one too, for its log lines.
- Access log: method, path (never the query string: a key sent as `?apiKey=` must not reach a log
  line), status and duration.
- Latency: observed into the HTTP histogram by route template (`/api/sessions/{name}`), never the raw
  path, so the number of series stays bounded.
- An exception nothing else handled becomes the usual 500 `internal_error` body, with the request id
  and header, and is logged with its traceback.
"""

from __future__ import annotations

import logging
import time
from typing import Protocol

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from waqtor.api.errors import unexpected_error_response
from waqtor.logs import accept_request_id, request_id

log = logging.getLogger("waqtor.access")

UNMATCHED = "unmatched"
ACCESS_LINE = "%s %s %s %d %.1fms"  # client address, method, path, status, milliseconds


class LatencySink(Protocol):
    def observe_request(self, method: str, route: str, status: int, seconds: float) -> None: ...


def route_template(scope: Scope, status: int) -> str:
    """The template of the route that handled the request (`/api/sessions/{name}`); for a mounted
    app its prefix and `/{path}`; `unmatched` when no route matched."""
    route = scope.get("route")
    path = getattr(route, "path", None)
    if isinstance(path, str):
        return path
    if "endpoint" in scope and status != 404:  # a Mount (the dashboard's files)
        return f"{scope.get('root_path', '')}/{{path}}"
    return UNMATCHED


def _offered_id(scope: Scope) -> str | None:
    headers: list[tuple[bytes, bytes]] = scope.get("headers", [])  # ASGI: (name, value) byte pairs
    for name, value in headers:
        if name == b"x-request-id":
            return value.decode("latin-1")
    return None


class AccessLog:
    """Pure ASGI middleware (see the module docstring); `latency` receives one sample per request."""

    def __init__(self, app: ASGIApp, latency: LatencySink | None = None) -> None:
        self.app = app
        self.latency = latency

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        rid = accept_request_id(_offered_id(scope))
        token = request_id.set(rid)
        if scope["type"] == "websocket":
            try:
                await self.app(scope, receive, send)
            finally:
                request_id.reset(token)
            return
        started = time.perf_counter()
        status = 500
        header = (b"x-request-id", rid.encode("latin-1"))
        response_started = False

        async def send_wrapper(message: Message) -> None:
            nonlocal status, response_started
            if message["type"] == "http.response.start":
                status = message["status"]
                response_started = True
                message = {**message, "headers": [*message.get("headers", []), header]}
            await send(message)

        try:
            await self.app(scope, receive, send_wrapper)
        except Exception as exc:
            if response_started:
                raise
            log.error("unhandled error on %s %s", scope["method"], scope["path"], exc_info=exc)
            await unexpected_error_response()(scope, receive, send_wrapper)
        finally:
            elapsed = time.perf_counter() - started
            if self.latency is not None:
                self.latency.observe_request(scope["method"], route_template(scope, status), status, elapsed)
            if log.isEnabledFor(logging.INFO):
                client = scope.get("client")
                args = (client[0] if client else "-", scope["method"], scope["path"], status, elapsed * 1000)
                # What `log.info` does, less its search of the stack for the caller's file and line (a few
                # per cent of a cheap request): the record names this module and the middleware instead.
                log.handle(log.makeRecord(log.name, logging.INFO, __file__, 0, ACCESS_LINE, args, None,
                                          "AccessLog.__call__"))
            request_id.reset(token)
