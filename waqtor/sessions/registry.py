"""The sessions this instance runs: the bottom layer of `waqtor.sessions`.

A session runs here while this instance holds its lease (`waqtor.cluster.leases`): its engine, its
monitor (which writes its state row and publishes its events) and whatever the hooks start for it. The
registry takes a session (lease, then engine), starts and stops its engine, and lets it go again; each
lifecycle change of one session is serialised by that session's lock (`lock(name)`), which the layers
above take for their own changes too. It knows nothing of the other instances, of restarts or of the
API: an engine's crash and its reaching `connected` are reported to the listener given to `watch`.
"""

from __future__ import annotations

import asyncio
import logging
from collections import defaultdict
from collections.abc import Awaitable, Callable

from waqtor.bus import Bus
from waqtor.clock import Clock
from waqtor.cluster.leases import LeaseKeeper
from waqtor.config import Settings
from waqtor.engines import engine_class
from waqtor.engines.base import Crashed, Engine, EngineContext, EngineEvent, Ready
from waqtor.engines.workers.pool import WorkerPool
from waqtor.errors import SessionNotFound, Unavailable
from waqtor.events import SESSION_DELETED
from waqtor.sessions.engine_events import MessageSink, Sink, split_events
from waqtor.sessions.monitor import SessionMonitor
from waqtor.sessions.session import DEFAULT_SESSION, RUNNING, Hook, RepositoryStore, Session
from waqtor.sessions.state import SessionState, Status
from waqtor.storage import Storage
from waqtor.storage.records import SessionRecord

log = logging.getLogger(__name__)

# Hears that session `name`'s `engine` crashed, and why.
CrashListener = Callable[[str, Engine, str], None]
# Hears that session `name` reached `connected`.
ReadyListener = Callable[[str], None]


def _ignore_crash(_name: str, _engine: Engine, _reason: str) -> None:
    return None


def _ignore_ready(_name: str) -> None:
    return None


class SessionRegistry:
    def __init__(self, settings: Settings, storage: Storage, bus: Bus, clock: Clock, leases: LeaseKeeper,
                 workers: WorkerPool) -> None:
        self._settings = settings
        self._workers = workers
        self._storage = storage
        self._bus = bus
        self._clock = clock
        self._leases = leases
        self._sessions: dict[str, Session] = {}
        self._locks: defaultdict[str, asyncio.Lock] = defaultdict(asyncio.Lock)
        self._started: list[Hook] = []
        self._running: list[Hook] = []
        self._stopping: list[Hook] = []
        self._stopped: list[Hook] = []
        self._deleted: list[Hook] = []
        self._on_crash: CrashListener = _ignore_crash
        self._on_ready: ReadyListener = _ignore_ready
        self._message_sink: MessageSink | None = None

    @property
    def instance(self) -> str:
        return self._leases.instance

    def watch(self, *, crashed: CrashListener, ready: ReadyListener) -> None:
        """Report every engine's crash to `crashed(name, engine, reason)` and every session reaching
        `connected` to `ready(name)`."""
        self._on_crash, self._on_ready = crashed, ready

    def route_messages(self, sink: MessageSink) -> None:
        """Send the message events of engines started from now on to `sink` (the message service)."""
        self._message_sink = sink

    def add_hooks(self, *, started: Hook | None = None, running: Hook | None = None,
                  stopping: Hook | None = None, stopped: Hook | None = None, deleted: Hook | None = None) -> None:
        """`started(name)` is awaited when this instance has taken a session's lease, before its engine
        starts here (settle what a previous owner left); `running(name)` once it runs here (its engine
        started, `get(name)` finds it); `stopping(name)` before its engine stops for
        good here (stopped, given up, deleted, shutdown: what sends through the engine finishes first;
        when the lease is lost the engine stops at once, before it); `stopped(name)` right after it
        stopped running here; `deleted(name)` once the session is removed, on whichever instance
        carried the deletion out."""
        for hooks, hook in ((self._started, started), (self._running, running), (self._stopping, stopping),
                            (self._stopped, stopped), (self._deleted, deleted)):
            if hook is not None:
                hooks.append(hook)

    # ---- what runs here ----------------------------------------------------------------------------

    def lock(self, name: str) -> asyncio.Lock:
        """The lock that serialises the lifecycle changes of session `name` on this instance."""
        return self._locks[name]

    def find(self, name: str) -> Session | None:
        """The session as this instance runs it, or None."""
        return self._sessions.get(name)

    def get(self, name: str) -> Session:
        """The session as this instance runs it; SessionNotFound when it does not run it here."""
        try:
            return self._sessions[name]
        except KeyError:
            raise SessionNotFound(name) from None

    def local(self) -> list[Session]:
        """The sessions this instance runs."""
        return list(self._sessions.values())

    def runs_here(self, name: str) -> bool:
        """Whether this instance runs `name` and surely still holds its lease."""
        session = self._sessions.get(name)
        return session is not None and session.running and self._leases.holds(name)

    def can_run(self, record: SessionRecord) -> bool:
        """Whether this instance can run the session's engine (sandbox sessions need the sandbox)."""
        return record.engine != "sandbox" or self._settings.sandbox_offered

    def new_engine(self, record: SessionRecord, emit: Callable[[EngineEvent], Awaitable[None]]) -> Engine:
        """A fresh engine for the session, emitting into `emit` (an engine object runs once)."""
        # The default session's engine settings come from the gateway's settings and are never stored.
        config = self._settings.default_engine_config() if record.name == DEFAULT_SESSION else record.config
        ctx = EngineContext(session=record.name, emit=emit, store=RepositoryStore(self._storage.sessions, record.name),
                            settings=self._settings, config=config, workers=self._workers)
        return engine_class(record.engine)(ctx)

    # ---- taking and leaving --------------------------------------------------------------------------

    async def take(self, record: SessionRecord) -> bool:
        """Take the session's lease and start it here; False when another instance holds the lease (or
        it could not start: the lease is then released for another try)."""
        name = record.name
        async with self._locks[name]:
            if name in self._sessions or not await self._leases.acquire(name):
                return False
            # Read again under the lease: a round may have seen the session before it was stopped or
            # deleted through another instance.
            current = await self._storage.sessions.get(name)
            if current is None or current.desired != RUNNING:
                await self._leases.release(name)
                return False
            record = current
            try:
                for hook in self._started:
                    await hook(name)
                stored = await self._storage.sessions.load_state(name)
                now = self._clock()
                if stored is None:
                    stored = SessionState(session=name, engine=record.engine, last_update=now)
                # What the last owner saw is stale: the engine reports the live state from here on.
                state = stored.replace(engine=record.engine, status=Status.DISCONNECTED, qr_code=None,
                                       qr_expires_at=None, ready_since=None)
                monitor = SessionMonitor(state, self._storage.sessions, self._bus, self._clock)
                redelivers = engine_class(record.engine).redelivers
                emit = self._watch(name, split_events(name, monitor.handle, self._message_sink,
                                                      raise_errors=redelivers))
                session = Session(record=record, engine=self.new_engine(record, emit), monitor=monitor)
                self._sessions[name] = session
                await monitor.tick()
                await self.start_engine(session)
                for hook in self._running:
                    await hook(name)
            except Exception:
                log.exception("session %s: could not start on this instance; its lease is released", name)
                await self.leave(name, release=True)
                return False
        log.info("session %s runs on this instance (%s)", name, self.instance)
        return True

    def _watch(self, name: str, routed: Sink) -> Sink:
        """The session's sink: a crash goes to the crash listener, the rest where `routed` sends it."""

        async def emit(event: EngineEvent) -> None:
            if isinstance(event, Crashed):
                session = self._sessions.get(name)
                if session is not None:
                    self._on_crash(name, session.engine, event.reason)
                return
            if isinstance(event, Ready):
                self._on_ready(name)
            await routed(event)

        return emit

    async def start_engine(self, session: Session) -> None:
        """Start a fresh engine for `session` unless it runs; Unavailable (`session_moving`) when the
        session no longer runs here. Call it holding the session's lock."""
        if session.running:
            return
        if self._sessions.get(session.name) is not session or not self._leases.holds(session.name):
            raise Unavailable(f"session {session.name!r} no longer runs on this instance", code="session_moving")
        # A fresh engine each time: an engine object runs once, from start to stop.
        session.engine = self.new_engine(session.record, session.engine.ctx.emit)
        session.running = True
        try:
            await session.engine.start()
        except Exception:
            session.running = False
            raise

    async def stop_engine(self, session: Session) -> None:
        """Stop the session's engine (its state says `disconnected`), keeping the session here. Call it
        holding the session's lock."""
        if not session.running:
            return
        session.running = False
        await session.engine.stop()
        await session.monitor.stopped()

    async def leave(self, name: str, *, release: bool) -> None:
        """Forget the session here: run the `stopping` hooks, stop its engine (its last state written:
        `disconnected`), run the `stopped` hooks, give its lease up (`release`) or just forget it. Its
        monitor writes nothing after that: an engine event still on its way must not overwrite the last
        state, which is the next owner's to write (or, once deleted, nobody's). Call it holding the
        session's lock."""
        await self._run_hooks(self._stopping, name, "stopping")
        session = self._sessions.pop(name, None)
        try:
            if session is not None:
                await self.stop_engine(session)
        finally:
            if session is not None:
                session.monitor.detach()
            await self._run_hooks(self._stopped, name, "stopped")
            if release:
                try:
                    await self._leases.release(name)
                except Exception:
                    self._leases.forget(name)
                    log.exception("session %s: could not release its lease; it expires by itself", name)
            else:
                self._leases.forget(name)

    async def give_up(self, name: str) -> None:
        """Stop running `name` here and release its lease (shutdown, a stop, or a fairer spread)."""
        async with self._locks[name]:
            await self.leave(name, release=True)

    async def lost(self, name: str, why: str) -> None:
        """The lease of `name` may have passed to another instance: stop its engine at once, writing
        nothing more for it (its state is the new owner's to write)."""
        self._leases.forget(name)
        session = self._sessions.pop(name, None)
        if session is None:
            return
        log.error("session %s stops running here: %s", name, why)
        session.monitor.detach()
        session.running = False
        try:
            await session.engine.stop()
        finally:
            await self.leave(name, release=False)

    async def deleted(self, name: str) -> None:
        """Tell the `deleted` hooks that `name` is gone (called by both ways of deleting it), then every
        client and webhook (`session_deleted`): no `session_update` will ever come for it again."""
        await self._run_hooks(self._deleted, name, "deleted")
        try:
            await self._bus.publish(SESSION_DELETED, {"session": name}, session=name)
        except Exception:  # it is deleted either way: the caller is answered, the miss is logged
            log.exception("session %s: deleted, but the session_deleted event could not be published", name)

    @staticmethod
    async def _run_hooks(hooks: list[Hook], name: str, kind: str) -> None:
        for hook in hooks:
            try:
                await hook(name)
            except Exception:
                log.exception("session %s: a %s hook failed", name, kind)

    # ---- the periodic write --------------------------------------------------------------------------

    async def write_states(self) -> None:
        """Write every local session's state (refreshing its uptime), one failure logged per session."""
        for session in list(self._sessions.values()):
            try:
                await session.monitor.tick()
            except Exception:
                log.exception("session %s: periodic state write failed", session.name)
