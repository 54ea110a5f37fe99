"""What the API asks of sessions: create, delete, start, stop, restart, log out, pair, reset counters.

Each action runs on the instance that runs the session (`CommandRouter.command` carries it there); the
`_here` half is what that instance does, the `_unowned` half what any instance does for a session no
instance runs (a stopped one, or one between two owners).
"""

from __future__ import annotations

import contextlib
import dataclasses
import logging
from typing import Any

from sqlalchemy.exc import IntegrityError

from waqtor import events
from waqtor.bus import Bus
from waqtor.clock import Clock, iso_ms
from waqtor.config import ENGINE_NAMES, Settings
from waqtor.engines import engine_class
from waqtor.errors import Conflict, InvalidInput, SessionNotFound
from waqtor.sessions.registry import SessionRegistry
from waqtor.sessions.router import CommandRouter
from waqtor.sessions.session import DEFAULT_SESSION, NAME_PATTERN, RUNNING, STOPPED, Session
from waqtor.sessions.state import SessionState, public_view
from waqtor.storage import Storage
from waqtor.storage.records import SessionRecord

log = logging.getLogger(__name__)


async def _ignore(_event: object) -> None:
    return None


class SessionActions:
    """The actions, each registered with the router as the command it runs where the session runs."""

    def __init__(self, settings: Settings, storage: Storage, bus: Bus, clock: Clock, registry: SessionRegistry,
                 router: CommandRouter) -> None:
        self._settings = settings
        self._storage = storage
        self._bus = bus
        self._clock = clock
        self._registry = registry
        self._router = router
        for op, handler in (("start", self._start_here), ("stop", self._stop_here), ("restart", self._restart_here),
                            ("delete", self._delete_here), ("logout", self._logout_here), ("pair", self._pair_here),
                            ("reset_stats", self._reset_here)):
            router.handle(op, handler)

    async def ensure_default(self) -> None:
        """Create `default` on the first run; switch its engine when `WAQTOR_ENGINE` changed (unless
        another instance runs it on the old one: every instance needs the same settings)."""
        repo = self._storage.sessions
        default = await repo.get(DEFAULT_SESSION)
        if default is None:
            with contextlib.suppress(IntegrityError):  # another instance created it at the same moment
                await self._insert(DEFAULT_SESSION, self._settings.engine, {})
        elif default.engine != self._settings.engine:
            owner = await self._storage.cluster.owner(DEFAULT_SESSION)
            if owner is not None and owner != self._registry.instance:
                log.error("session default runs the %s engine on instance %s but WAQTOR_ENGINE is %s here: every "
                          "instance needs the same settings; left on %s", default.engine, owner,
                          self._settings.engine, default.engine)
                return
            log.warning("session default switches from the %s engine to %s (WAQTOR_ENGINE); its old link is dropped",
                        default.engine, self._settings.engine)
            await repo.switch_engine(DEFAULT_SESSION, self._settings.engine)

    async def _insert(self, name: str, engine: str, config: dict[str, Any]) -> SessionRecord:
        now = self._clock()
        record = SessionRecord(name=name, engine=engine, created_at=now, config=config, desired=RUNNING)
        await self._storage.sessions.create(record, SessionState(session=name, engine=engine, last_update=now))
        return record

    def _check_sandbox(self, engine: str) -> None:
        if engine == "sandbox" and not self._settings.sandbox_offered:
            raise InvalidInput("the sandbox is not enabled on this gateway (set WAQTOR_SANDBOX_ENABLED=true)",
                               code="sandbox_disabled")

    async def create(self, name: str, engine: str, config: dict[str, Any]) -> None:
        """Store a new session and start it on the instance that runs the fewest. InvalidInput for a bad
        name, engine or engine settings; Conflict (`session_exists`) when the name is taken."""
        if not NAME_PATTERN.match(name):
            raise InvalidInput("a session name is 1 to 64 of a-z, 0-9, _ and -", code="invalid_session_name")
        if engine not in ENGINE_NAMES:
            raise InvalidInput(f"unknown engine {engine!r}; choose one of: {', '.join(ENGINE_NAMES)}",
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
        await self._router.place(record)
        log.info("session %s created on the %s engine", name, engine)

    async def delete(self, name: str) -> None:
        """Stop the session and remove it with everything it kept; `default` cannot be deleted."""
        if name == DEFAULT_SESSION:
            raise Conflict("the default session cannot be deleted (log it out instead)", code="default_session")
        await self._router.command(name, "delete", unowned=self._delete_unowned)
        log.info("session %s deleted", name)

    async def _delete_here(self, session: Session, _args: dict[str, Any]) -> dict[str, Any]:
        async with self._registry.lock(session.name):
            await self._registry.leave(session.name, release=False)
            await session.engine.forget()
            await self._storage.sessions.delete(session.name)
        await self._registry.deleted(session.name)
        return {}

    async def _delete_unowned(self, record: SessionRecord) -> dict[str, Any]:
        await self._registry.new_engine(record, _ignore).forget()
        await self._storage.sessions.delete(record.name)
        await self._registry.deleted(record.name)
        return {}

    async def start_session(self, name: str) -> None:
        """Start the session (and keep it running). InvalidInput (`sandbox_disabled`) for a sandbox
        session while the sandbox is off."""
        await self._startable(name)
        await self._router.command(name, "start", unowned=self._start_unowned)

    async def _startable(self, name: str) -> None:
        record = await self._storage.sessions.get(name)
        if record is None:
            raise SessionNotFound(name)
        self._check_sandbox(record.engine)

    async def _start_here(self, session: Session, _args: dict[str, Any]) -> dict[str, Any]:
        async with self._registry.lock(session.name):
            await self._set_desired(session, RUNNING)
            await self._registry.start_engine(session)
        return {}

    async def _start_unowned(self, record: SessionRecord) -> dict[str, Any] | None:
        if record.desired != RUNNING:
            await self._storage.sessions.set_desired(record.name, RUNNING)
        return {} if await self._router.place(dataclasses.replace(record, desired=RUNNING)) else None

    async def stop_session(self, name: str) -> None:
        """Stop the session (and keep it stopped); its instance releases it."""
        await self._router.command(name, "stop", unowned=self._stop_unowned)

    async def _stop_here(self, session: Session, _args: dict[str, Any]) -> dict[str, Any]:
        await self._set_desired(session, STOPPED)
        await self._registry.give_up(session.name)
        return {}

    async def _stop_unowned(self, record: SessionRecord) -> dict[str, Any]:
        await self._storage.sessions.set_desired(record.name, STOPPED)
        return {}

    async def restart(self, name: str) -> None:
        """Stop and start the session, keeping its link (a stopped one just starts)."""
        await self._startable(name)
        await self._router.command(name, "restart", unowned=self._start_unowned)

    async def _restart_here(self, session: Session, _args: dict[str, Any]) -> dict[str, Any]:
        async with self._registry.lock(session.name):
            await self._registry.stop_engine(session)
            await self._set_desired(session, RUNNING)
            await self._registry.start_engine(session)
        return {}

    async def _set_desired(self, session: Session, desired: str) -> None:
        if session.record.desired != desired:
            await self._storage.sessions.set_desired(session.name, desired)
            session.record = dataclasses.replace(session.record, desired=desired)

    async def logout(self, name: str) -> str:
        """Unlink the session's account; it goes back to offering a QR code. Returns its status after."""
        return str((await self._router.command(name, "logout"))["status"])

    async def _logout_here(self, session: Session, _args: dict[str, Any]) -> dict[str, Any]:
        async with session.lock:
            await session.engine.logout()
        return {"status": str(session.monitor.state.status)}

    async def pair(self, name: str, phone: str) -> dict[str, Any]:
        """A pairing code to link `phone` (digits) to the session, instead of scanning its QR code:
        `{"code", "expiresAt"}` (ISO time, or None when the engine cannot tell)."""
        answer = await self._router.command(name, "pair", {"phone": phone})
        return {"code": str(answer["code"]), "expiresAt": answer.get("expiresAt")}

    async def _pair_here(self, session: Session, args: dict[str, Any]) -> dict[str, Any]:
        pairing = await session.engine.pair(str(args["phone"]))
        expires = iso_ms(pairing.expires_at) if pairing.expires_at is not None else None
        return {"code": pairing.code, "expiresAt": expires}

    async def reset_stats(self, name: str) -> dict[str, Any]:
        """Zero the session's message counters; its `stats` after."""
        return await self._router.command(name, "reset_stats", unowned=self._reset_unowned)

    async def _reset_here(self, session: Session, _args: dict[str, Any]) -> dict[str, Any]:
        await session.monitor.reset_stats()
        return {"stats": session.monitor.view()["stats"]}

    async def _reset_unowned(self, record: SessionRecord) -> dict[str, Any]:
        now = self._clock()
        state = await self._storage.sessions.reset_counters(record.name, now)
        if state is None:
            raise SessionNotFound(record.name)
        view = public_view(state, now)
        await self._bus.publish(events.SESSION_UPDATE, view, session=record.name)
        return {"stats": view["stats"]}
