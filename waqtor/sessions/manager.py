"""Sessions of this gateway: each an engine driven by the gateway and a monitor that tracks it.

The manager restores every stored session at start (creating `default` on the first run), starts
their engines, runs the monitor's periodic write, and stops everything at shutdown.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from typing import Any

from waqtor.bus import Bus
from waqtor.config import Settings
from waqtor.engines import engine_class
from waqtor.engines.base import Engine, EngineContext, EngineStore
from waqtor.errors import SessionNotFound
from waqtor.messaging.routing import MessageSink, split_events
from waqtor.sessions.monitor import Clock, SessionMonitor, utcnow
from waqtor.sessions.state import SessionState, Status
from waqtor.storage import Storage
from waqtor.storage.records import SessionRecord
from waqtor.storage.sessions import SessionRepository
from waqtor.tasks import TaskSet

log = logging.getLogger(__name__)

DEFAULT_SESSION = "default"


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

    async def start(self) -> None:
        """Restore every stored session and start its engine; create `default` on the first run."""
        repo = self._storage.sessions
        if await repo.get(DEFAULT_SESSION) is None:
            now = self._clock()
            record = SessionRecord(name=DEFAULT_SESSION, engine=self._settings.engine, created_at=now)
            await repo.create(record, SessionState(session=DEFAULT_SESSION, engine=record.engine, last_update=now))
        for record in await repo.list():
            await self._open(record)
        self._tasks.spawn(self._periodic_write(), "monitor")

    async def _open(self, record: SessionRecord) -> Session:
        repo = self._storage.sessions
        stored = await repo.load_state(record.name)
        now = self._clock()
        if stored is None:
            stored = SessionState(session=record.name, engine=record.engine, last_update=now)
        # What the last run saw is stale: the engine reports the live state from here on.
        state = stored.replace(status=Status.DISCONNECTED, qr_code=None, qr_expires_at=None, ready_since=None)
        monitor = SessionMonitor(state, repo, self._bus, self._clock)
        ctx = EngineContext(
            session=record.name,
            emit=split_events(record.name, monitor.handle, self.message_sink),
            store=_RepositoryStore(repo, record.name),
            settings=self._settings,
            config=record.config,
        )
        session = Session(record=record, engine=engine_class(record.engine)(ctx), monitor=monitor)
        self._sessions[record.name] = session
        await monitor.tick()
        await session.engine.start()
        return session

    async def _periodic_write(self) -> None:
        while True:
            await asyncio.sleep(self._settings.monitor_interval)
            for session in list(self._sessions.values()):
                try:
                    await session.monitor.tick()
                except Exception:
                    log.exception("session %s: periodic state write failed", session.name)

    async def stop(self) -> None:
        """Stop the periodic write and every engine; each row is left saying `disconnected`."""
        await self._tasks.close()
        for session in list(self._sessions.values()):
            try:
                await session.engine.stop()
                await session.monitor.stopped()
            except Exception:
                log.exception("session %s: did not stop cleanly", session.name)
        self._sessions.clear()

    def get(self, name: str) -> Session:
        try:
            return self._sessions[name]
        except KeyError:
            raise SessionNotFound(name) from None

    def all(self) -> list[Session]:
        return list(self._sessions.values())

    async def logout(self, name: str) -> None:
        """Unlink the session's account; it goes back to offering a QR code."""
        await self.get(name).engine.logout()
