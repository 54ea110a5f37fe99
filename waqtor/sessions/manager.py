"""Sessions of this gateway: each an engine driven by the gateway and a monitor that tracks it.

The manager restores every stored session at start (creating `default` on the first run, and switching
its engine when `WAQTOR_ENGINE` changed), starts those that should run, runs the monitor's periodic
write, and stops everything at shutdown. Sessions are created, started, stopped and deleted through it;
each lifecycle change of one session is serialised by that session's lock.
"""

from __future__ import annotations

import asyncio
import logging
import re
from dataclasses import dataclass, field
from typing import Any, Protocol

from waqtor.bus import Bus
from waqtor.config import Settings
from waqtor.engines import engine_class, engine_names
from waqtor.engines.base import Engine, EngineContext, EngineStore
from waqtor.errors import Conflict, InvalidInput, SessionNotFound
from waqtor.messaging.routing import MessageSink, split_events
from waqtor.sessions.monitor import Clock, SessionMonitor, utcnow
from waqtor.sessions.state import SessionState, Status
from waqtor.storage import Storage
from waqtor.storage.records import SessionRecord
from waqtor.storage.sessions import SessionRepository
from waqtor.tasks import TaskSet

log = logging.getLogger(__name__)

DEFAULT_SESSION = "default"
NAME_PATTERN = re.compile(r"^[a-z0-9_-]{1,64}$")
RUNNING, STOPPED = "running", "stopped"


class SessionRunners(Protocol):
    """What runs beside a session's engine on this instance (the campaign runner)."""

    def start_session_runner(self, name: str) -> None: ...

    async def stop_session_runner(self, name: str) -> None: ...

    async def session_deleted(self, name: str) -> None: ...


class _RepositoryStore(EngineStore):
    """An engine's link data, kept in the session's row."""

    def __init__(self, repo: SessionRepository, name: str) -> None:
        self._repo = repo
        self._name = name

    async def load(self) -> dict[str, Any] | None:
        return await self._repo.load_engine_data(self._name)

    async def save(self, data: dict[str, Any] | None) -> None:
        await self._repo.save_engine_data(self._name, data)


@dataclass
class Session:
    record: SessionRecord
    engine: Engine
    monitor: SessionMonitor
    running: bool = False
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)

    @property
    def name(self) -> str:
        return self.record.name


class SessionManager:
    def __init__(self, settings: Settings, storage: Storage, bus: Bus, clock: Clock = utcnow) -> None:
        self._settings = settings
        self._storage = storage
        self._bus = bus
        self._clock = clock
        self._sessions: dict[str, Session] = {}
        self._tasks = TaskSet("sessions")
        # Set by the app before start(): where engines' message events go (the message service).
        self.message_sink: MessageSink | None = None
        # Set by the app before start(): started after a session's engine, stopped before it.
        self.runners: SessionRunners | None = None

    # ---- start and stop of the gateway -------------------------------------------------------------

    async def start(self) -> None:
        """Restore every stored session and start those that should run; create `default` on the first run."""
        repo = self._storage.sessions
        default = await repo.get(DEFAULT_SESSION)
        if default is None:
            await self._insert(DEFAULT_SESSION, self._settings.engine, {})
        elif default.engine != self._settings.engine:
            log.warning("session default switches from the %s engine to %s (WAQTOR_ENGINE); its old link is dropped",
                        default.engine, self._settings.engine)
            await repo.switch_engine(DEFAULT_SESSION, self._settings.engine)
        for record in await repo.list():
            session = await self._open(record)
            if record.desired == RUNNING:
                if record.engine == "sandbox" and not self._settings.sandbox_offered:
                    log.warning("session %s runs on the sandbox, which is not enabled (WAQTOR_SANDBOX_ENABLED): "
                                "left stopped", record.name)
                    continue
                await self._start_engine(session)
        self._tasks.spawn(self._periodic_write(), "monitor")

    async def stop(self) -> None:
        """Stop the periodic write and every engine; each row is left saying `disconnected`."""
        await self._tasks.close()
        for session in list(self._sessions.values()):
            try:
                await self._stop_engine(session)
            except Exception:
                log.exception("session %s: did not stop cleanly", session.name)
        self._sessions.clear()

    async def _periodic_write(self) -> None:
        while True:
            await asyncio.sleep(self._settings.monitor_interval)
            for session in list(self._sessions.values()):
                try:
                    await session.monitor.tick()
                except Exception:
                    log.exception("session %s: periodic state write failed", session.name)

    # ---- one session's parts -----------------------------------------------------------------------

    async def _insert(self, name: str, engine: str, config: dict[str, Any]) -> SessionRecord:
        now = self._clock()
        record = SessionRecord(name=name, engine=engine, created_at=now, config=config, desired=RUNNING)
        await self._storage.sessions.create(record, SessionState(session=name, engine=engine, last_update=now))
        return record

    async def _open(self, record: SessionRecord) -> Session:
        repo = self._storage.sessions
        stored = await repo.load_state(record.name)
        now = self._clock()
        if stored is None:
            stored = SessionState(session=record.name, engine=record.engine, last_update=now)
        # What the last run saw is stale: the engine reports the live state from here on.
        state = stored.replace(engine=record.engine, status=Status.DISCONNECTED, qr_code=None, qr_expires_at=None,
                               ready_since=None)
        monitor = SessionMonitor(state, repo, self._bus, self._clock)
        session = Session(record=record, engine=self._engine_for(record, monitor), monitor=monitor)
        self._sessions[record.name] = session
        await monitor.tick()
        return session

    def _engine_for(self, record: SessionRecord, monitor: SessionMonitor) -> Engine:
        # The default session's engine settings come from the gateway's settings and are never stored.
        config = self._settings.default_engine_config() if record.name == DEFAULT_SESSION else record.config
        ctx = EngineContext(session=record.name, emit=split_events(record.name, monitor.handle, self.message_sink),
                            store=_RepositoryStore(self._storage.sessions, record.name),
                            settings=self._settings, config=config)
        return engine_class(record.engine)(ctx)

    async def _start_engine(self, session: Session) -> None:
        if session.running:
            return
        # A fresh engine each time: an engine object runs once, from start to stop.
        session.engine = self._engine_for(session.record, session.monitor)
        session.running = True
        try:
            await session.engine.start()
        except Exception:
            session.running = False
            raise
        if self.runners is not None:
            self.runners.start_session_runner(session.name)

    async def _stop_engine(self, session: Session) -> None:
        if not session.running:
            return
        session.running = False
        if self.runners is not None:
            await self.runners.stop_session_runner(session.name)
        await session.engine.stop()
        await session.monitor.stopped()

    # ---- what the API drives -----------------------------------------------------------------------

    def get(self, name: str) -> Session:
        try:
            return self._sessions[name]
        except KeyError:
            raise SessionNotFound(name) from None

    def all(self) -> list[Session]:
        return list(self._sessions.values())

    async def create(self, name: str, engine: str, config: dict[str, Any]) -> Session:
        """Store a new session and start it. InvalidInput for a bad name, engine or engine settings;
        Conflict (`session_exists`) when the name is taken."""
        if not NAME_PATTERN.match(name):
            raise InvalidInput("a session name is 1 to 64 of a-z, 0-9, _ and -", code="invalid_session_name")
        if engine not in engine_names():
            raise InvalidInput(f"unknown engine {engine!r}; choose one of: {', '.join(engine_names())}",
                               code="unknown_engine")
        if engine == "sandbox" and not self._settings.sandbox_offered:
            raise InvalidInput("the sandbox is not enabled on this gateway (set WAQTOR_SANDBOX_ENABLED=true)",
                               code="sandbox_disabled")
        checked = engine_class(engine).validate_config(config)
        if name in self._sessions or await self._storage.sessions.get(name) is not None:
            raise Conflict(f"session {name!r} already exists", code="session_exists")
        record = await self._insert(name, engine, checked)
        session = await self._open(record)
        async with session.lock:
            await self._start_engine(session)
        log.info("session %s created on the %s engine", name, engine)
        return session

    async def delete(self, name: str) -> None:
        """Stop the session and remove it with everything it kept; `default` cannot be deleted."""
        if name == DEFAULT_SESSION:
            raise Conflict("the default session cannot be deleted (log it out instead)", code="default_session")
        session = self.get(name)
        async with session.lock:
            await self._stop_engine(session)
            await session.engine.forget()
            await self._storage.sessions.delete(name)
            self._sessions.pop(name, None)
        if self.runners is not None:
            await self.runners.session_deleted(name)
        log.info("session %s deleted", name)

    async def start_session(self, name: str) -> Session:
        session = self.get(name)
        if session.record.engine == "sandbox" and not self._settings.sandbox_offered:
            raise InvalidInput("the sandbox is not enabled on this gateway (set WAQTOR_SANDBOX_ENABLED=true)",
                               code="sandbox_disabled")
        async with session.lock:
            await self._set_desired(session, RUNNING)
            await self._start_engine(session)
        return session

    async def stop_session(self, name: str) -> Session:
        session = self.get(name)
        async with session.lock:
            await self._set_desired(session, STOPPED)
            await self._stop_engine(session)
        return session

    async def restart(self, name: str) -> Session:
        session = self.get(name)
        async with session.lock:
            await self._stop_engine(session)
        return await self.start_session(name)

    async def _set_desired(self, session: Session, desired: str) -> None:
        if session.record.desired != desired:
            await self._storage.sessions.set_desired(session.name, desired)
            session.record = SessionRecord(name=session.record.name, engine=session.record.engine,
                                           created_at=session.record.created_at, config=session.record.config,
                                           desired=desired)

    def _running(self, name: str) -> Session:
        session = self.get(name)
        if not session.running:
            raise Conflict(f"session {name!r} is stopped; start it first", code="session_stopped")
        return session

    async def logout(self, name: str) -> None:
        """Unlink the session's account; it goes back to offering a QR code."""
        session = self._running(name)
        async with session.lock:
            await session.engine.logout()

    async def pair(self, name: str, phone: str) -> str:
        """A pairing code to link `phone` (digits) to the session, instead of scanning its QR code."""
        return await self._running(name).engine.pair(phone)
