"""The WebSocket protocol's client commands, parsed without touching a socket.

`parse_command(raw)` turns one client frame into a `Command`, or raises `ProtocolError` with the stable
code the bridge sends back in `{"type": "error", "error": {"code", "message"}}` (`error_frame`).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from waqtor.errors import InvalidInput, WaqtorError
from waqtor.events import EVENT_TYPES

COMMANDS = ("ping", "get_state", "get_qr", "subscribe", "unsubscribe", "resume")
ALL = "all"


class ProtocolError(InvalidInput):
    """A frame that is not a valid command; `extra` goes into the error frame beside code and message."""

    def __init__(self, code: str, message: str, **extra: Any) -> None:
        super().__init__(message, code=code)
        self.extra = extra


def error_frame(exc: WaqtorError, timestamp: int) -> dict[str, Any]:
    """The frame that tells a client an error, its connection kept: `{"type": "error", "error": {"code",
    "message"}, "timestamp"}`, with a ProtocolError's `extra` beside code and message."""
    extra = exc.extra if isinstance(exc, ProtocolError) else {}
    return {"type": "error", "error": {"code": exc.code, "message": exc.message, **extra}, "timestamp": timestamp}


@dataclass(frozen=True, slots=True)
class Command:
    type: str
    events: tuple[str, ...] = ()
    sessions: tuple[str, ...] | None = None
    after: int | None = None
    session: str | None = None
    raw: dict[str, Any] = field(default_factory=dict, compare=False)


def _names(value: Any, field_name: str, known: tuple[str, ...] | None) -> tuple[str, ...]:
    if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
        raise ProtocolError("invalid_field", f"`{field_name}` must be a list of strings")
    if not value:
        raise ProtocolError("invalid_field", f"`{field_name}` must name at least one entry")
    if known is not None:
        unknown = [name for name in value if name not in known and name != ALL]
        if unknown:
            raise ProtocolError(
                "unknown_event",
                f"unknown event {unknown[0]!r}; known events: {', '.join((ALL, *known))}",
                events=unknown,
            )
    return tuple(dict.fromkeys(value))


def parse_command(raw: str | bytes) -> Command:
    """Parse one client frame; ProtocolError (`invalid_json`, `invalid_command`, `unknown_command`,
    `invalid_field`, `unknown_event`) when it is not a valid command."""
    try:
        obj = json.loads(raw)
    except (ValueError, UnicodeDecodeError, RecursionError):
        # RecursionError: nested deeper than the parser goes (a thousand arrays); ValueError also covers
        # a number of more digits than Python converts.
        raise ProtocolError("invalid_json", "frame is not valid JSON") from None
    if not isinstance(obj, dict):
        raise ProtocolError("invalid_command", "a command is a JSON object with a `type`")
    kind = obj.get("type")
    if not isinstance(kind, str):
        raise ProtocolError("invalid_command", "a command needs a string `type`")
    if kind not in COMMANDS:
        raise ProtocolError("unknown_command", f"unknown command {kind[:64]!r}; commands: {', '.join(COMMANDS)}")
    session = obj.get("session")
    if session is not None and not isinstance(session, str):
        raise ProtocolError("invalid_field", "`session` must be a string")
    if kind in ("subscribe", "unsubscribe"):
        events = _names(obj.get("events"), "events", EVENT_TYPES) if "events" in obj else ()
        sessions = _names(obj["sessions"], "sessions", None) if "sessions" in obj else None
        if not events and sessions is None:
            raise ProtocolError("invalid_field", f"`{kind}` needs `events` (a list of event names)")
        return Command(kind, events=events, sessions=sessions, raw=obj)
    if kind == "resume":
        after = obj.get("after")
        if isinstance(after, bool) or not isinstance(after, int) or after < 0:
            raise ProtocolError("invalid_field", "`after` must be a non-negative integer event id")
        return Command(kind, after=after, raw=obj)
    return Command(kind, session=session, raw=obj)


@dataclass
class Subscriptions:
    """What one client wants: event types (`all` or a set) and, optionally, only some sessions."""

    events: set[str] | None = None  # None means all
    sessions: set[str] | None = None  # None means every session but the excluded ones
    excluded: set[str] = field(default_factory=set)

    def wants(self, type: str, session: str | None) -> bool:
        if self.events is not None and type not in self.events:
            return False
        if session is not None:
            if self.sessions is not None and session not in self.sessions:
                return False
            if session in self.excluded:
                return False
        return True

    def subscribe(self, events: tuple[str, ...], sessions: tuple[str, ...] | None) -> None:
        if events:
            if ALL in events:
                self.events = None
            elif self.events is None:
                self.events = set(events)
            else:
                self.events |= set(events)
        if sessions is not None:
            self.excluded -= set(sessions)
            if ALL in sessions:
                self.sessions = None
                self.excluded.clear()
            elif self.sessions is None and not self.excluded:
                self.sessions = set(sessions)
            elif self.sessions is not None:
                self.sessions |= set(sessions)

    def unsubscribe(self, events: tuple[str, ...], sessions: tuple[str, ...] | None) -> None:
        if events:
            if ALL in events:
                self.events = set()
            else:
                self.events = (set(EVENT_TYPES) if self.events is None else self.events) - set(events)
        if sessions is not None:
            if ALL in sessions:
                self.sessions = set()
            elif self.sessions is not None:
                self.sessions -= set(sessions)
            else:
                self.excluded |= set(sessions)

    def event_list(self) -> list[str]:
        return [ALL] if self.events is None else [name for name in EVENT_TYPES if name in self.events]

    def session_list(self) -> list[str]:
        if self.sessions is not None:
            return sorted(self.sessions)
        return [ALL, *(f"-{name}" for name in sorted(self.excluded))]
