"""The HTTP protocol the gateway runs under uvicorn: uvicorn's own (httptools), with a deadline and a size
limit for a request's headers.

uvicorn closes a connection left idle for `timeout_keep_alive` seconds after an answer, but it waits for
a request's headers for ever, and its httptools parser takes headers of any size: a client could hold a
connection, and the memory of its headers, by sending nothing or a byte now and then. Here:

- a connection that has not sent the complete headers of a request within WAQTOR_HEADER_TIMEOUT seconds
  (from when it opened, or from the first byte of a later request on it) is closed; if part of a request
  came, it is first answered `408` with the code `header_timeout`;
- a request whose headers pass `MAX_HEADER_BYTES` is answered `431` with the code `headers_too_large`,
  and the connection closed.

Both answers carry the usual error body and an `X-Request-ID`. Neither a request's body nor its answer is
timed here, and a WebSocket, once its handshake is read, is no longer this protocol's business.
"""

from __future__ import annotations

import asyncio
import json
import logging
from http import HTTPStatus

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

from waqtor.logs import accept_request_id

log = logging.getLogger(__name__)

MAX_HEADER_BYTES = 65_536


class GuardedHttpProtocol(HttpToolsProtocol):
    """uvicorn's httptools protocol with the header deadline and size limit of the module docstring;
    `http_protocol` makes the subclass with the deadline of the settings."""

    header_timeout: float = 10.0

    _deadline: asyncio.TimerHandle | None = None
    _started = False  # a byte of the awaited request came
    _header_bytes = 0

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._await_headers()

    def connection_lost(self, exc: Exception | None) -> None:
        self._stop_waiting()
        super().connection_lost(exc)

    def data_received(self, data: bytes) -> None:
        super().data_received(data)  # calls on_message_begin and on_headers_complete below
        if self._deadline is None or self.transport.is_closing():
            return
        self._header_bytes += len(data)
        if self._header_bytes > MAX_HEADER_BYTES:
            self._refuse(HTTPStatus.REQUEST_HEADER_FIELDS_TOO_LARGE, "headers_too_large",
                         f"Request headers over {MAX_HEADER_BYTES} bytes.")

    def on_message_begin(self) -> None:
        super().on_message_begin()
        if self._deadline is None:  # a later request on a kept-alive connection: its own deadline
            self._await_headers()
        self._started = True

    def on_headers_complete(self) -> None:
        self._stop_waiting()  # before the app is started, which may answer at once
        super().on_headers_complete()

    def _await_headers(self) -> None:
        self._started = False
        self._header_bytes = 0
        self._deadline = self.loop.call_later(self.header_timeout, self._too_slow)

    def _stop_waiting(self) -> None:
        if self._deadline is not None:
            self._deadline.cancel()
            self._deadline = None

    def _too_slow(self) -> None:
        self._deadline = None
        if self.transport.is_closing() or self.transport.get_protocol() is not self:
            return
        if not self._started:  # nothing came: closed like an idle kept-alive connection, without an answer
            self.transport.close()
            return
        self._refuse(HTTPStatus.REQUEST_TIMEOUT, "header_timeout",
                     f"Request headers not received within {self.header_timeout:g} s.")

    def _refuse(self, status: HTTPStatus, code: str, message: str) -> None:
        self._stop_waiting()
        rid = accept_request_id(None)
        client = self.client[0] if self.client else "-"
        log.info("%s: %d %s, connection closed", client, status, code, extra={"request_id": rid})
        body = json.dumps({"success": False, "error": {"code": code, "message": message, "requestId": rid}})
        head = (f"HTTP/1.1 {status.value} {status.phrase}\r\ncontent-type: application/json\r\n"
                f"content-length: {len(body)}\r\nx-request-id: {rid}\r\nconnection: close\r\n\r\n")
        self.transport.write(head.encode("latin-1") + body.encode())
        self.transport.close()


def http_protocol(header_timeout: float) -> type[GuardedHttpProtocol]:
    """The protocol class for uvicorn's `http` option, with `header_timeout` seconds for the headers."""

    class Protocol(GuardedHttpProtocol):
        pass

    Protocol.header_timeout = header_timeout
    return Protocol
