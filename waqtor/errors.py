"""One exception tree for the whole gateway, and the one table of how each error reaches a caller.

    WaqtorError                      code                  HTTP  WebSocket
    ├── InvalidInput                 invalid_input         400   error frame (a caller's malformed or
    │                                                            impossible value)
    ├── Unauthorized                 unauthorized          401   close 1008
    ├── Forbidden                    forbidden             403   error frame
    ├── NotFound                     not_found             404   error frame
    │   └── SessionNotFound          session_not_found     404   error frame
    ├── Conflict                     conflict              409   error frame
    │   ├── SessionNotReady          session_not_ready     409   error frame
    │   └── IllegalTransition        illegal_transition    409   error frame
    ├── PayloadTooLarge              payload_too_large     413   close 1009 (media over its size limit:
    │                                                            media_too_large)
    ├── UnsupportedMediaType         unsupported_media_type 415  error frame (content not of the kind asked for)
    ├── NotSupportedByEngine         not_supported_by_engine 422 error frame (the session's engine cannot do
    │                                                            this: a message template on neonize, say)
    ├── RateLimited                  rate_limited          429   error frame (also send_queue_full)
    │   └── ThrottledByWhatsApp      rate_limited_by_whatsapp 429 error frame (Meta's own rate limit; the
    │                                                            send queue backs off and retries first)
    ├── EngineError                  engine_error          502   error frame (the engine or WhatsApp refused or
    │                                                            failed)
    ├── Unavailable                  unavailable           503   error frame (a shared service or the session's
    │                                                            instance cannot be reached now, or the session
    │                                                            is moving; retry later)
    ├── InsufficientStorage          insufficient_storage  507   error frame (the data disk or the database is full)
    └── ConfigError                  config_error          (raised at start-up, never on the wire)

`WIRE` below is that table; the classes take their `code`, `status` and `ws` from it, and nothing else
says how an error reaches a caller. Routes raise these; `waqtor.api.errors` turns them into HTTP answers
(`{"success": false, "error": {"code", "message"}}` with `status`), and the WebSocket bridge into an
error frame (`{"type": "error", "error": {"code", "message"}}`, the connection stays open) or, where `ws`
is a close code, into closing the connection with it. A raiser may give a more precise, stable `code`.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import IntEnum
from typing import Any


class Close(IntEnum):
    """WebSocket close codes the gateway uses (RFC 6455), with what each means here."""

    NORMAL = 1000  # the client closed, or was closed without a fault
    GOING_AWAY = 1001  # the gateway is shutting down: reconnect with ?after= to resume
    LOST = 1006  # the connection went (never sent: what a vanished client is recorded as)
    POLICY = 1008  # refused: a missing, wrong, revoked or expired key or ticket, or too many failures
    TOO_BIG = 1009  # a client frame over WAQTOR_WS_MAX_FRAME
    INTERNAL = 1011  # the gateway failed to send to this client: reconnect with ?after= to resume
    TRY_AGAIN = 1013  # too slow, or the gateway overloaded: reconnect with ?after= to resume


FRAME = None  # `Wire.ws` of an error a WebSocket client is told in an error frame, its connection kept


@dataclass(frozen=True, slots=True)
class Wire:
    code: str  # the stable code, unless the raiser names a more precise one
    status: int  # the HTTP status of the answer
    ws: Close | None  # on a WebSocket: the close code, or FRAME


class WaqtorError(Exception):
    """Base of every gateway error: a stable `code`, a human `message` and optional `details`. `code`,
    `status` and `ws` come from `WIRE`."""

    code: str
    status: int
    ws: Close | None

    def __init__(self, message: str, *, code: str | None = None, details: Any = None) -> None:
        super().__init__(message)
        self.message = message
        if code is not None:
            self.code = code
        self.details = details


class InvalidInput(WaqtorError):
    pass


class Unauthorized(WaqtorError):
    pass


class Forbidden(WaqtorError):
    pass


class NotFound(WaqtorError):
    pass


class SessionNotFound(NotFound):
    def __init__(self, name: str) -> None:
        super().__init__(f"session {name!r} does not exist")


class Conflict(WaqtorError):
    pass


class SessionNotReady(Conflict):
    pass


class IllegalTransition(Conflict):
    pass


class PayloadTooLarge(WaqtorError):
    pass


class UnsupportedMediaType(WaqtorError):
    pass


class NotSupportedByEngine(WaqtorError):
    """The session's engine cannot do what was asked (`what`, e.g. "send message templates (Cloud API
    only)"), whatever the session's state: a feature one engine offers and another cannot."""

    def __init__(self, engine: str, what: str) -> None:
        super().__init__(f"the {engine} engine cannot {what}", details={"engine": engine})
        self.engine = engine


class RateLimited(WaqtorError):
    def __init__(self, message: str, *, retry_after: float, code: str | None = None) -> None:
        super().__init__(message, code=code)
        self.retry_after = retry_after


class ThrottledByWhatsApp(RateLimited):
    """WhatsApp (Meta's Graph API) refused a send for its own rate limit; `hint` is the pause it asked
    for (Retry-After), when it gave one. The send queue pauses and tries the message again."""

    def __init__(self, message: str, *, hint: float | None = None) -> None:
        super().__init__(message, retry_after=hint if hint is not None else 1.0)
        self.hint = hint


class EngineError(WaqtorError):
    pass


class Unavailable(WaqtorError):
    """Something this request needs cannot be reached right now; `retry_after` says when to try again."""

    def __init__(self, message: str, *, retry_after: float = 1.0, code: str | None = None, details: Any = None) -> None:
        super().__init__(message, code=code, details=details)
        self.retry_after = retry_after


class InsufficientStorage(WaqtorError):
    """The data disk (or the database's) has no room left: nothing of the request was kept."""


class ConfigError(WaqtorError):
    pass


WIRE: dict[type[WaqtorError], Wire] = {
    WaqtorError: Wire("internal_error", 500, Close.INTERNAL),
    InvalidInput: Wire("invalid_input", 400, FRAME),
    Unauthorized: Wire("unauthorized", 401, Close.POLICY),
    Forbidden: Wire("forbidden", 403, FRAME),
    NotFound: Wire("not_found", 404, FRAME),
    SessionNotFound: Wire("session_not_found", 404, FRAME),
    Conflict: Wire("conflict", 409, FRAME),
    SessionNotReady: Wire("session_not_ready", 409, FRAME),
    IllegalTransition: Wire("illegal_transition", 409, FRAME),
    PayloadTooLarge: Wire("payload_too_large", 413, Close.TOO_BIG),
    UnsupportedMediaType: Wire("unsupported_media_type", 415, FRAME),
    NotSupportedByEngine: Wire("not_supported_by_engine", 422, FRAME),
    RateLimited: Wire("rate_limited", 429, FRAME),
    ThrottledByWhatsApp: Wire("rate_limited_by_whatsapp", 429, FRAME),
    EngineError: Wire("engine_error", 502, FRAME),
    Unavailable: Wire("unavailable", 503, FRAME),
    InsufficientStorage: Wire("insufficient_storage", 507, FRAME),
    ConfigError: Wire("config_error", 500, Close.INTERNAL),
}

for _kind, _wire in WIRE.items():
    _kind.code, _kind.status, _kind.ws = _wire.code, _wire.status, _wire.ws


def kind_for_status(status: int) -> type[WaqtorError]:
    """The most general error answered with HTTP `status` (how an error carried from another instance is
    raised again here); WaqtorError for a status no kind has."""
    for kind, wire in WIRE.items():
        if wire.status == status and (kind is WaqtorError or kind.__base__ is WaqtorError):
            return kind
    return WaqtorError
