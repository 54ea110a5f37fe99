"""Scopes and identities (pure): what a key may do, and on which sessions.

    read     everything a route or the WebSocket shows: state, QR, messages, campaigns, media
    send     sending messages, and creating a campaign (a campaign is a bulk send)
    control  running sessions (create, start, stop, restart, logout, pair, delete, reset counters), a
             campaign's lifecycle (start, pause, resume, cancel, delete), the sandbox's controls
    admin    API keys and webhooks; an admin key may also do everything above

A key may be limited to a list of sessions: it then reaches only them (403 `forbidden_session` for any
other) and sees only their events. An admin key cannot be limited (it could make itself an unlimited
key). The gateway's own key (`WAQTOR_API_KEY`, or the one generated on first start) is an admin key.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from waqtor.errors import Forbidden, InvalidInput

READ = "read"
SEND = "send"
CONTROL = "control"
ADMIN = "admin"
SCOPES: tuple[str, ...] = (READ, SEND, CONTROL, ADMIN)


def normalize_scopes(scopes: Iterable[str]) -> tuple[str, ...]:
    """The scopes in their canonical order, without repeats; InvalidInput naming an unknown one."""
    given = list(scopes)
    unknown = [scope for scope in given if scope not in SCOPES]
    if unknown:
        raise InvalidInput(f"unknown scope {unknown[0]!r}; choose among: {', '.join(SCOPES)}", code="invalid_scope")
    if not given:
        raise InvalidInput("a key needs at least one scope", code="invalid_scope")
    return tuple(scope for scope in SCOPES if scope in given)


@dataclass(frozen=True, slots=True)
class Identity:
    """Who is calling: a key's id (None for the gateway's own key), its scopes and its sessions
    (None: every session)."""

    key_id: str | None
    name: str
    scopes: frozenset[str]
    sessions: frozenset[str] | None = None

    @classmethod
    def gateway(cls) -> Identity:
        return GATEWAY

    def has(self, scope: str) -> bool:
        return scope in self.scopes or ADMIN in self.scopes

    def require(self, scope: str) -> None:
        """Forbidden (`insufficient_scope`) unless this identity has `scope`."""
        if not self.has(scope):
            raise Forbidden(f"this API key lacks the {scope!r} scope this request needs "
                            f"(it has: {', '.join(sorted(self.scopes))})", code="insufficient_scope")

    def may_see(self, session: str | None) -> bool:
        """Whether an event or a record about `session` is visible to this identity; a gateway-wide one
        (no session) only to an identity that is not limited to sessions."""
        if self.sessions is None:
            return True
        return session is not None and session in self.sessions

    def covers(self, other: Identity) -> bool:
        """Whether this identity reaches every session `other` reaches (so may see what `other` does)."""
        if self.sessions is None:
            return True
        return other.sessions is not None and other.sessions <= self.sessions

    def check_session(self, session: str) -> None:
        """Forbidden (`forbidden_session`) when this identity is limited to other sessions."""
        if self.sessions is not None and session not in self.sessions:
            raise Forbidden(f"this API key is limited to the sessions {', '.join(sorted(self.sessions))}; "
                            f"it may not reach session {session!r}", code="forbidden_session")

    def listing_session(self, session: str | None) -> str | None:
        """The session a list (messages, campaigns) is narrowed to: `session` when this identity may
        reach it; for a key limited to one session, that one when none is named. Forbidden
        (`forbidden_session`) for a session it may not reach, or none named by a key limited to several."""
        if self.sessions is None:
            return session
        if session is not None:
            self.check_session(session)
            return session
        if len(self.sessions) == 1:
            return next(iter(self.sessions))
        raise Forbidden(f"this API key is limited to the sessions {', '.join(sorted(self.sessions))}; "
                        "name one with ?session=", code="forbidden_session")


# The gateway's own key: immutable, so one shared object rather than a new one on every request.
GATEWAY = Identity(key_id=None, name="gateway key", scopes=frozenset(SCOPES))
