"""One exception tree for the whole gateway.

    WaqtorError                      code            HTTP
    ├── InvalidInput                 invalid_input   400  (a caller's malformed or impossible value)
    ├── Unauthorized                 unauthorized    401
    ├── Forbidden                    forbidden       403
    ├── NotFound                     not_found       404
    │   └── SessionNotFound          session_not_found
    ├── Conflict                     conflict        409
    │   ├── SessionNotReady          session_not_ready
    │   └── IllegalTransition        illegal_transition
    ├── PayloadTooLarge              payload_too_large 413 (media over its size limit: media_too_large)
    ├── UnsupportedMediaType         unsupported_media_type 415 (content not of the kind asked for)
    ├── RateLimited                  rate_limited    429  (also send_queue_full)
    ├── EngineError                  engine_error    502  (the engine or WhatsApp refused or failed)
    ├── Unavailable                  unavailable     503  (a shared service or the session's instance cannot be
    │                                                     reached now, or the session is moving; retry later)
    ├── InsufficientStorage          insufficient_storage 507 (the data disk or the database is full)
    └── ConfigError                  config_error    (raised at start-up, never over HTTP)

Routes raise these; `waqtor.api.errors` is the only place that turns them into HTTP responses or
WebSocket frames. Each subclass may override `code` for a more precise, stable error code.
"""

from __future__ import annotations

from typing import Any


class WaqtorError(Exception):
    """Base of every gateway error: a stable `code`, a human `message` and optional `details`."""

    code: str = "internal_error"
    status: int = 500

    def __init__(self, message: str, *, code: str | None = None, details: Any = None) -> None:
        super().__init__(message)
        self.message = message
        if code is not None:
            self.code = code
        self.details = details


class InvalidInput(WaqtorError):
    code = "invalid_input"
    status = 400


class Unauthorized(WaqtorError):
    code = "unauthorized"
    status = 401


class Forbidden(WaqtorError):
    code = "forbidden"
    status = 403


class NotFound(WaqtorError):
    code = "not_found"
    status = 404


class SessionNotFound(NotFound):
    code = "session_not_found"

    def __init__(self, name: str) -> None:
        super().__init__(f"session {name!r} does not exist")


class Conflict(WaqtorError):
    code = "conflict"
    status = 409


class SessionNotReady(Conflict):
    code = "session_not_ready"


class IllegalTransition(Conflict):
    code = "illegal_transition"


class PayloadTooLarge(WaqtorError):
    code = "payload_too_large"
    status = 413


class UnsupportedMediaType(WaqtorError):
    code = "unsupported_media_type"
    status = 415


class RateLimited(WaqtorError):
    code = "rate_limited"
    status = 429

    def __init__(self, message: str, *, retry_after: float, code: str | None = None) -> None:
        super().__init__(message, code=code)
        self.retry_after = retry_after


class EngineError(WaqtorError):
    code = "engine_error"
    status = 502


class Unavailable(WaqtorError):
    """Something this request needs cannot be reached right now; `retry_after` says when to try again."""

    code = "unavailable"
    status = 503

    def __init__(self, message: str, *, retry_after: float = 1.0, code: str | None = None, details: Any = None) -> None:
        super().__init__(message, code=code, details=details)
        self.retry_after = retry_after


class InsufficientStorage(WaqtorError):
    """The data disk (or the database's) has no room left: nothing of the request was kept."""

    code = "insufficient_storage"
    status = 507


class ConfigError(WaqtorError):
    code = "config_error"
