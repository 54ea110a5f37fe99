"""What the API asks of sessions: create, delete, start, stop, restart, log out, pair, reset counters.

Each action runs on the instance that runs the session (`SessionManager.command` carries it there); the
`_here` half is what that instance does, the `_unowned` half what any instance does for a session no
instance runs (a stopped one, or one between two owners).
"""

from __future__ import annotations

import dataclasses
import logging
from typing import TYPE_CHECKING, Any

from sqlalchemy.exc import IntegrityError

from waqtor import events
from waqtor.engines import engine_class, engine_names
from waqtor.errors import Conflict, InvalidInput, SessionNotFound
from waqtor.sessions.session import DEFAULT_SESSION, NAME_PATTERN, RUNNING, STOPPED, Session
from waqtor.sessions.snapshot import Snapshot
from waqtor.sessions.state import public_view
from waqtor.storage.records import SessionRecord

if TYPE_CHECKING:
    from waqtor.sessions.manager import SessionManager

log = logging.getLogger(__name__)


async def _ignore(_event: object) -> None:
    return None


class SessionActions:
    """Mixed into `SessionManager`, whose state these methods use."""

    def _register_actions(self: SessionManager) -> None:
        for op, handler in (("start", self._start_here), ("stop", self._stop_here), ("restart", self._restart_here),
                            ("delete", self._delete_here), ("logout", self._logout_here), ("pair", self._pair_here),
                            ("reset_stats", self._reset_here)):
            self.handle(op, handler)

    def _check_sandbox(self: SessionManager, engine: str) -> None:
        if engine == "sandbox" and not self._settings.sandbox_offered:
            raise InvalidInput("the sandbox is not enabled on this gateway (set WAQTOR_SANDBOX_ENABLED=true)",
                               code="sandbox_disabled")

    async def create(self: SessionManager, name: str, engine: str, config: dict[str, Any]) -> Snapshot:
        """Store a new session and start it on the instance that runs the fewest. InvalidInput for a bad
        name, engine or engine settings; Conflict (`session_exists`) when the name is taken."""
        if not NAME_PATTERN.match(name):
            raise InvalidInput("a session name is 1 to 64 of a-z, 0-9, _ and -", code="invalid_session_name")
        if engine not in engine_names():
            raise InvalidInput(f"unknown engine {engine!r}; choose one of: {', '.join(engine_names())}",
                               code="unknown_engine")
        self._check_sandbox(engine)
        checked = engine_class(engine).validate_config(config)
        exists = Conflict(f"session {name!r} already exists", code="session_exists")
        if await self._storage.sessions.get(name) is not None:
            raise exists
        try:
            record = await self._insert(name, engine, checked)
        except IntegrityError:
            raise exists from None
        await self._place(record)
        log.info("session %s created on the %s engine", name, engine)
        return await self.snapshot(name)

    async def delete(self: SessionManager, name: str) -> None:
        """Stop the session and remove it with everything it kept; `default` cannot be deleted."""
        if name == DEFAULT_SESSION:
            raise Conflict("the default session cannot be deleted (log it out instead)", code="default_session")
        await self.command(name, "delete", unowned=self._delete_unowned)
        log.info("session %s deleted", name)

    async def _delete_here(self: SessionManager, session: Session, _args: dict[str, Any]) -> dict[str, Any]:
        async with self._locks[session.name]:
            await self._leave(session.name, release=False)
            await session.engine.forget()
            await self._storage.sessions.delete(session.name)
        await self.deleted(session.name)
        return {}

    async def _delete_unowned(self: SessionManager, record: SessionRecord) -> dict[str, Any]:
        await self._engine_for(record, _ignore).forget()
        await self._storage.sessions.delete(record.name)
        await self.deleted(record.name)
        return {}

    async def start_session(self: SessionManager, name: str) -> None:
        """Start the session (and keep it running). InvalidInput (`sandbox_disabled`) for a sandbox
        session while the sandbox is off."""
        await self._startable(name)
        await self.command(name, "start", unowned=self._start_unowned)

    async def _startable(self: SessionManager, name: str) -> None:
        record = await self._storage.sessions.get(name)
        if record is None:
            raise SessionNotFound(name)
        self._check_sandbox(record.engine)

    async def _start_here(self: SessionManager, session: Session, _args: dict[str, Any]) -> dict[str, Any]:
        async with self._locks[session.name]:
            await self._set_desired(session, RUNNING)
            await self._start_engine(session)
        return {}

    async def _start_unowned(self: SessionManager, record: SessionRecord) -> dict[str, Any] | None:
        if record.desired != RUNNING:
            await self._storage.sessions.set_desired(record.name, RUNNING)
        return {} if await self._place(dataclasses.replace(record, desired=RUNNING)) else None

    async def stop_session(self: SessionManager, name: str) -> None:
        """Stop the session (and keep it stopped); its instance releases it."""
        await self.command(name, "stop", unowned=self._stop_unowned)

    async def _stop_here(self: SessionManager, session: Session, _args: dict[str, Any]) -> dict[str, Any]:
        await self._set_desired(session, STOPPED)
        await self.give_up(session.name)
        return {}

    async def _stop_unowned(self: SessionManager, record: SessionRecord) -> dict[str, Any]:
        await self._storage.sessions.set_desired(record.name, STOPPED)
        return {}

    async def restart(self: SessionManager, name: str) -> None:
        """Stop and start the session, keeping its link (a stopped one just starts)."""
        await self._startable(name)
        await self.command(name, "restart", unowned=self._start_unowned)

    async def _restart_here(self: SessionManager, session: Session, _args: dict[str, Any]) -> dict[str, Any]:
        async with self._locks[session.name]:
            await self._stop_engine(session)
            await self._set_desired(session, RUNNING)
            await self._start_engine(session)
        return {}

    async def _set_desired(self: SessionManager, session: Session, desired: str) -> None:
        if session.record.desired != desired:
            await self._storage.sessions.set_desired(session.name, desired)
            session.record = dataclasses.replace(session.record, desired=desired)

    async def logout(self: SessionManager, name: str) -> str:
        """Unlink the session's account; it goes back to offering a QR code. Returns its status after."""
        return str((await self.command(name, "logout"))["status"])

    async def _logout_here(self: SessionManager, session: Session, _args: dict[str, Any]) -> dict[str, Any]:
        async with session.lock:
            await session.engine.logout()
        return {"status": str(session.monitor.state.status)}

    async def pair(self: SessionManager, name: str, phone: str) -> str:
        """A pairing code to link `phone` (digits) to the session, instead of scanning its QR code."""
        return str((await self.command(name, "pair", {"phone": phone}))["code"])

    async def _pair_here(self: SessionManager, session: Session, args: dict[str, Any]) -> dict[str, Any]:
        return {"code": await session.engine.pair(str(args["phone"]))}

    async def reset_stats(self: SessionManager, name: str) -> dict[str, Any]:
        """Zero the session's message counters; its `stats` after."""
        return await self.command(name, "reset_stats", unowned=self._reset_unowned)

    async def _reset_here(self: SessionManager, session: Session, _args: dict[str, Any]) -> dict[str, Any]:
        await session.monitor.reset_stats()
        return {"stats": session.monitor.view()["stats"]}

    async def _reset_unowned(self: SessionManager, record: SessionRecord) -> dict[str, Any]:
        now = self._clock()
        state = await self._storage.sessions.reset_counters(record.name, now)
        if state is None:
            raise SessionNotFound(record.name)
        view = public_view(state, now)
        await self._bus.publish(events.SESSION_UPDATE, view, session=record.name)
        return {"stats": view["stats"]}
