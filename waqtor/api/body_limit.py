"""Bounded request bodies: a body over its route's limit is answered 413 `payload_too_large`.

Most routes take small JSON bodies and get `WAQTOR_MAX_BODY`; the two upload routes take files and get
room for the largest one they accept. A `Content-Length` over the limit is refused before anything is
read; a body sent without one (chunked) is counted as it arrives and cut off at the limit. A request
with neither header has no body, and one with a `Content-Length` under the limit cannot send more.

An answer given before the body was read to its end (a refused key, a file over its kind's limit)
says `Connection: close`: the server then closes the connection instead of reading, and throwing
away, the rest of an upload nobody will use.
"""

from __future__ import annotations

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from waqtor.api.errors import error_response
from waqtor.errors import PayloadTooLarge


class BodyLimit:
    """Pure ASGI middleware; `limits` maps (method, path) to a larger limit than `default`."""

    def __init__(self, app: ASGIApp, default: int, limits: dict[tuple[str, str], int]) -> None:
        self.app = app
        self.default = default
        self.limits = limits

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit = self.limits.get((scope["method"], scope["path"].rstrip("/")), self.default)
        length: bytes | None = None
        chunked = False
        for name, value in scope.get("headers", []):
            if name == b"content-length" and length is None:
                length = value
            elif name == b"transfer-encoding":
                chunked = True
        if length is not None and length.isdigit() and int(length) > limit:
            await self._refuse(limit, scope, receive, send)
            return
        if not chunked and (length is None or length in (b"", b"0")):
            # HTTP/1.1 framing: without Transfer-Encoding or Content-Length the body is empty; nothing
            # to count or leave unread, so no wrappers on every GET.
            await self.app(scope, receive, send)
            return
        received = 0
        read_to_end = False
        too_big = False
        answered = False
        replaced = False

        async def counted_receive() -> Message:
            nonlocal received, read_to_end, too_big
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                read_to_end = not message.get("more_body", False)
                if received > limit:
                    too_big = True
                    raise PayloadTooLarge(f"the request body is over {limit} bytes", code="payload_too_large")
            return message

        async def watched_send(message: Message) -> None:
            # Whatever the route made of the interrupted body (FastAPI turns it into a 400), the answer
            # is the 413.
            nonlocal answered, replaced
            if replaced:
                return
            if message["type"] == "http.response.start":
                answered = True
                if too_big:
                    replaced = True
                    await self._refuse(limit, scope, receive, send)
                    return
                if not read_to_end:
                    message = {**message, "headers": [*message.get("headers", []), (b"connection", b"close")]}
            await send(message)

        try:
            await self.app(scope, counted_receive, watched_send)
        except PayloadTooLarge:
            if answered:
                raise
            await self._refuse(limit, scope, receive, send)

    @staticmethod
    async def _refuse(limit: int, scope: Scope, receive: Receive, send: Send) -> None:
        response = error_response(413, "payload_too_large", f"The request body is over {limit} bytes.",
                                  headers={"Connection": "close"})
        await response(scope, receive, send)
