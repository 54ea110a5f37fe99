"""The session monitor (spec section 2): one session's live state, kept in the database and published.

`SessionMonitor.handle` is the sink an engine emits into. Every change goes through `_commit`, the one
place that persists the state, logs the move and publishes `session_update`.
"""

from __future__ import annotations

import asyncio
import logging
from datetime import datetime
from typing import Any

from waqtor import events
from waqtor.bus import Bus
from waqtor.clock import Clock, iso_ms, utcnow
from waqtor.engines.base import (
    Authenticated,
    Connecting,
    Disconnected,
    EngineEvent,
    LoggedOut,
    MessageIn,
    MessageStatus,
    PresenceUpdate,
    Problem,
    QRCode,
    Ready,
    Solved,
)
from waqtor.errors import IllegalTransition
from waqtor.sessions.state import SessionState, Status, move, public_view
from waqtor.storage.faults import storage_error
from waqtor.storage.sessions import SessionRepository

log = logging.getLogger(__name__)

class SessionMonitor:
    """Tracks one session; safe to call from several tasks (changes are serialised)."""

    def __init__(self, state: SessionState, repo: SessionRepository, bus: Bus, clock: Clock = utcnow) -> None:
        self.state = state
        self._repo = repo
        self._bus = bus
        self._clock = clock
        self._lock = asyncio.Lock()
        # Counter additions not written yet (see `count`).
        self._pending_sent = 0
        self._pending_received = 0
        # Set when this instance no longer holds the session's lease: another instance writes its state now.
        self.detached = False

    @property
    def name(self) -> str:
        return self.state.session

    def view(self) -> dict[str, Any]:
        """The spec's state object as of now."""
        return public_view(self.state, self._clock())

    # ---- the engine's sink ------------------------------------------------------------------------

    async def handle(self, event: EngineEvent) -> None:
        """Apply an engine event. A move the state machine refuses is logged and ignored, never raised
        into the engine."""
        try:
            await self._apply(event)
        except IllegalTransition as exc:
            log.warning("session %s: ignored %s from the engine: %s", self.name, type(event).__name__, exc)

    async def _apply(self, event: EngineEvent) -> None:
        now = self._clock()
        match event:
            case Connecting():
                await self._move(Status.CONNECTING, now)
            case QRCode(code=code, expires_at=expires_at):
                await self._move(Status.QR, now, qr_code=code, qr_expires_at=expires_at)
                await self._bus.publish(
                    events.QR_CODE,
                    {"hasQR": True, "qr": code, "expiresAt": iso_ms(expires_at)},
                    session=self.name,
                )
            case Authenticated():
                await self._move(Status.AUTHENTICATED, now)
            case Ready(account=account):
                await self._move(
                    Status.CONNECTED, now, phone=account.phone, pushname=account.pushname, platform=account.platform,
                    platform_raw=account.platform_raw,
                )
            case Disconnected(code=code, message=message, details=details):
                await self._move(Status.DISCONNECTED, now, last_error=_error(code, message, now, details))
            case LoggedOut(code=code, message=message, details=details):
                await self._move(
                    Status.DISCONNECTED,
                    now,
                    authenticated=False,
                    phone=None,
                    pushname=None,
                    platform=None,
                    platform_raw=None,
                    last_error=_error(code, message, now, details),
                )
            case Problem(code=code, message=message, details=details):
                # The error that keeps a session down says more than a problem beside it.
                if self.state.status is Status.CONNECTED or self.state.last_error is None:
                    await self._note(now, _error(code, message, now, details))
            case Solved(code=code):
                if self.state.last_error is not None and self.state.last_error.get("code") == code:
                    await self._note(now, None)
            case PresenceUpdate():
                # Not state: published as it comes, by the instance that runs the session.
                if not self.detached:
                    await self._bus.publish(events.PRESENCE_UPDATE, presence_view(self.name, event), session=self.name)
            case MessageIn() | MessageStatus():
                # The message service logs, counts (through `count`) and publishes messages; the
                # session registry routes these events to it (waqtor.sessions.engine_events).
                pass

    # ---- changes --------------------------------------------------------------------------------

    async def _move(self, to: Status, now: datetime, **changes: Any) -> None:
        async with self._lock:
            if to is self.state.status and to is not Status.QR:
                return
            previous = self.state.status
            await self._commit(move(self.state, to, now, **changes), now)
            log.info("session %s: %s -> %s", self.name, previous, to)

    async def _note(self, now: datetime, last_error: dict[str, Any] | None) -> None:
        """Set or clear `lastError` without moving the session."""
        async with self._lock:
            await self._commit(self.state.replace(last_error=last_error, last_update=now), now)
        if last_error is not None:
            log.warning("session %s: %s", self.name, last_error["message"])

    async def count(self, *, sent: int = 0, received: int = 0) -> None:
        """Take in messages the log has counted: the counters in the database moved in the same
        transaction as the log (`MessageRepository.insert(count=...)`, `mark_sent`), so this only
        updates the state here and publishes it.

        Additions that wait for the lock together are published together: the first to get it
        publishes every addition pending by then (one `session_update` for all of them), and the
        others find theirs done. Under load that is one update per burst instead of one per message."""
        self._pending_sent += sent
        self._pending_received += received
        async with self._lock:
            sent, received = self._pending_sent, self._pending_received
            if not (sent or received):
                return  # a caller before us published our addition
            self._pending_sent = self._pending_received = 0
            now = self._clock()
            self.state = self.state.replace(
                messages_sent=self.state.messages_sent + sent,
                messages_received=self.state.messages_received + received,
                last_update=now,
            )
            if not self.detached:
                await self._bus.publish(events.SESSION_UPDATE, public_view(self.state, now), session=self.name)

    async def reset_stats(self) -> None:
        """Zero the message counters, in the database too."""
        async with self._lock:
            now = self._clock()
            await self._repo.reset_counters(self.name, now)
            await self._commit(self.state.replace(messages_sent=0, messages_received=0, last_update=now), now)
            log.info("session %s: statistics reset", self.name)

    async def tick(self) -> None:
        """The periodic write: refresh uptime and lastUpdate in the row and publish the state."""
        async with self._lock:
            now = self._clock()
            await self._commit(self.state.replace(last_update=now), now)

    async def stopped(self) -> None:
        """The gateway stopped the engine: the session is disconnected, with no error to report."""
        await self._move(Status.DISCONNECTED, self._clock())

    def detach(self) -> None:
        """Stop writing and publishing: the session's lease was lost, so its state is another instance's
        to write. Changes after this only update `state` here."""
        self.detached = True

    async def _commit(self, state: SessionState, now: datetime) -> None:
        if self.detached:
            self.state = state
            return
        try:
            await self._repo.save_state(state, now)
        except Exception as exc:
            fault = storage_error(exc)
            if fault is None:
                raise
            # The database is out of reach: what the engine reports still counts (and is published);
            # the row is written whole by the next change or periodic write that reaches it.
            log.warning("session %s: its state could not be written (%s); kept here until the database is back",
                        self.name, fault.code)
        self.state = state
        await self._bus.publish(events.SESSION_UPDATE, public_view(state, now), session=self.name)


def presence_view(session: str, event: PresenceUpdate) -> dict[str, Any]:
    """The `presence_update` event: `from` (a JID) is online, offline (`lastSeen` when known) or typing,
    recording or paused in `chat`."""
    return {
        "session": session,
        "chat": event.chat,
        "from": event.sender,
        "state": event.state,
        "lastSeen": iso_ms(event.last_seen) if event.last_seen is not None else None,
        "timestamp": iso_ms(event.timestamp),
    }


def _error(code: str, message: str, now: datetime, details: dict[str, Any]) -> dict[str, Any]:
    return {"code": code, "message": message, "at": iso_ms(now), "details": details}

