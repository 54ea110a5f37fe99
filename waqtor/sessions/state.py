"""Session states and the moves allowed between them. Pure: data in, data out, no I/O.

    disconnected ──► connecting ──► qr ──► authenticated ──► connected
         ▲               │  ▲        │            │              │
         └───────────────┴──┴────────┴────────────┴──────────────┘
    (any state may fall back to disconnected; a logout goes back to qr; a restored link skips qr)
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any

from waqtor.clock import iso_ms
from waqtor.errors import IllegalTransition


class Status(StrEnum):
    DISCONNECTED = "disconnected"
    CONNECTING = "connecting"
    QR = "qr"
    AUTHENTICATED = "authenticated"
    CONNECTED = "connected"


ALLOWED: dict[Status, frozenset[Status]] = {
    Status.DISCONNECTED: frozenset({Status.CONNECTING, Status.QR}),
    Status.CONNECTING: frozenset({Status.QR, Status.AUTHENTICATED, Status.CONNECTED, Status.DISCONNECTED}),
    Status.QR: frozenset({Status.QR, Status.AUTHENTICATED, Status.CONNECTING, Status.DISCONNECTED}),
    Status.AUTHENTICATED: frozenset({Status.CONNECTED, Status.QR, Status.CONNECTING, Status.DISCONNECTED}),
    Status.CONNECTED: frozenset({Status.QR, Status.CONNECTING, Status.DISCONNECTED}),
}


@dataclass(frozen=True, slots=True)
class SessionState:
    """Everything the monitor knows about one session; persisted as one `session_state` row."""

    session: str
    engine: str
    last_update: datetime
    status: Status = Status.DISCONNECTED
    authenticated: bool = False
    qr_code: str | None = None
    qr_expires_at: datetime | None = None
    phone: str | None = None
    pushname: str | None = None
    platform: str | None = None
    platform_raw: str | None = None
    ready_since: datetime | None = None
    messages_sent: int = 0
    messages_received: int = 0
    last_error: dict[str, Any] | None = None

    @property
    def ready(self) -> bool:
        return self.status is Status.CONNECTED

    @property
    def has_qr(self) -> bool:
        return self.status is Status.QR and self.qr_code is not None

    def uptime(self, now: datetime) -> int:
        """Whole seconds since the session last became ready; 0 while it is not ready."""
        if not self.ready or self.ready_since is None:
            return 0
        return max(0, int((now - self.ready_since).total_seconds()))

    def replace(self, **changes: Any) -> SessionState:
        return dataclasses.replace(self, **changes)


def move(state: SessionState, to: Status, now: datetime, **changes: Any) -> SessionState:
    """Return `state` moved to `to` with `changes` applied; IllegalTransition if the move is not allowed.

    Leaving `qr` clears the QR; reaching `connected` starts the uptime clock; leaving it stops it;
    falling back to `qr` (a logout) forgets the account and its error-free link.
    """
    if to not in ALLOWED[state.status]:
        raise IllegalTransition(f"session {state.session!r} cannot move from {state.status} to {to}")
    fields: dict[str, Any] = {"status": to, "last_update": now}
    if to is not Status.QR:
        fields.update(qr_code=None, qr_expires_at=None)
    if to is Status.CONNECTED:
        fields.update(authenticated=True, last_error=None)
        if state.status is not Status.CONNECTED:
            fields["ready_since"] = now
    else:
        fields["ready_since"] = None
    if to is Status.AUTHENTICATED:
        fields["authenticated"] = True
    if to is Status.QR:
        fields.update(authenticated=False, phone=None, pushname=None, platform=None, platform_raw=None)
    fields.update(changes)
    return dataclasses.replace(state, **fields)


def mask_phone(phone: str | None) -> str | None:
    """`***` and the last four digits; None when there is no phone."""
    if not phone:
        return None
    digits = "".join(ch for ch in phone if ch.isdigit())
    return "***" + digits[-4:]


def public_view(state: SessionState, now: datetime) -> dict[str, Any]:
    """The spec's session state object (GET /api/session/state, `session_state`, `session_update`)."""
    return {
        "session": state.session,
        "engine": state.engine,
        "status": str(state.status),
        "ready": state.ready,
        "authenticated": state.authenticated,
        "hasQR": state.has_qr,
        "info": {
            "pushname": state.pushname,
            "platform": state.platform,
            "phoneMasked": mask_phone(state.phone),
        },
        "uptime": state.uptime(now),
        "stats": {"messagesSent": state.messages_sent, "messagesReceived": state.messages_received},
        "lastError": state.last_error,
        "lastUpdate": iso_ms(state.last_update),
    }


def client_view(state: SessionState, now: datetime) -> dict[str, Any]:
    """The full client status for an authenticated caller: the public view plus the whole phone."""
    view = public_view(state, now)
    view["info"] = {
        "phone": state.phone,
        "pushname": state.pushname,
        "platform": state.platform,
        "platformRaw": state.platform_raw,
        "phoneMasked": mask_phone(state.phone),
    }
    view["qrExpiresAt"] = iso_ms(state.qr_expires_at) if state.qr_expires_at and state.has_qr else None
    view["readySince"] = iso_ms(state.ready_since) if state.ready_since and state.ready else None
    return view
