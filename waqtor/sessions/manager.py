"""Sessions of the gateway: each an engine driven by the gateway and a monitor that tracks it.

Each session is run by exactly one instance at a time, the holder of its lease (`waqtor.cluster`):
there run its engine, its monitor (which writes its state row and publishes its events), its send queue
and whatever the `started`/`stopped` hooks start for it. This manager runs the sessions this instance
holds, takes its fair share of the others as instances come and go (`ownership.Ownership`), and carries
a command for a session run elsewhere to its instance (`command`). With one instance it runs them all.
What the API asks of a session is in `actions`; an engine that crashes is replaced by `restarts`.

At start it creates `default` on the first run (switching its engine when `WAQTOR_ENGINE` changed),
then takes and starts the sessions that should run. Each lifecycle change of one session is serialised
by that session's lock.
"""

from __future__ import annotations

import asyncio
import logging
from collections import defaultdict
from collections.abc import Awaitable, Callable
from typing import Any

from sqlalchemy.exc import IntegrityError

from waqtor.bus import Bus
from waqtor.cluster.channel import CommandChannel
from waqtor.cluster.leases import LeaseKeeper
from waqtor.config import Settings
from waqtor.engines import engine_class
from waqtor.engines.base import Crashed, Engine, EngineContext, EngineEvent, Ready
from waqtor.errors import Conflict, InvalidInput, SessionNotFound, Unavailable
from waqtor.events import SESSION_DELETED
from waqtor.messaging.routing import MessageSink, Sink, split_events
from waqtor.sessions.actions import SessionActions
from waqtor.sessions.monitor import Clock, SessionMonitor, utcnow
from waqtor.sessions.ownership import Ownership
from waqtor.sessions.restarts import Restarts
from waqtor.sessions.session import (
    DEFAULT_SESSION,
    NAME_PATTERN,
    RUNNING,
    STOPPED,
    Handler,
    Hook,
    RepositoryStore,
    Session,
    Unowned,
)
from waqtor.sessions.snapshot import Snapshot
from waqtor.sessions.state import SessionState, Status
from waqtor.storage import Storage
from waqtor.storage.records import SessionRecord
from waqtor.tasks import TaskSet

__all__ = ["DEFAULT_SESSION", "NAME_PATTERN", "RUNNING", "STOPPED", "Session", "SessionManager"]

log = logging.getLogger(__name__)

NOT_OWNER = "not_owner"  # a forwarded command reached an instance that no longer runs the session
TAKE = "take"  # the command that asks an instance to start a session nobody runs
PLACE_TIMEOUT = 3.0  # seconds an instance asked to take a session may take to answer before this one does


class SessionManager(SessionActions):
    def __init__(self, settings: Settings, storage: Storage, bus: Bus, clock: Clock = utcnow, *,
                 leases: LeaseKeeper, channel: CommandChannel) -> None:
        self._settings = settings
        self._storage = storage
        self._bus = bus
        self._clock = clock
        self._leases = leases
        self._channel = channel
        self._sessions: dict[str, Session] = {}
        self._locks: defaultdict[str, asyncio.Lock] = defaultdict(asyncio.Lock)
        self._handlers: dict[str, Handler] = {}
        self._started: list[Hook] = []
        self._running: list[Hook] = []
        self._stopping: list[Hook] = []
        self._stopped: list[Hook] = []
        self._deleted: list[Hook] = []
        self._tasks = TaskSet("sessions")
        self._ownership = Ownership(self, leases, storage)
        self._restarts = Restarts(self, settings)
        # Set by the app before start(): where engines' message events go (the message service).
        self.message_sink: MessageSink | None = None
        self._register_actions()

    @property
    def instance(self) -> str:
        return self._leases.instance

    @property
    def live_instances(self) -> list[str]:
        """The instances seen alive at the last heartbeat, this one included."""
        return self._leases.live

    def handle(self, op: str, handler: Handler) -> None:
        """Run `handler(session, args)` for command `op` on the instance that runs the session; it returns
        the JSON-ready answer or raises a WaqtorError (carried back to the caller as it is)."""
        self._handlers[op] = handler

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

    # ---- start and stop of the gateway -------------------------------------------------------------

    async def start(self) -> None:
        """Join the cluster, create `default` on the first run, and take this instance's share of the
        sessions that should run (every one of them when it is alone)."""
        await self._leases.join()
        await self._ensure_default()
        await self._channel.start(self._serve)
        await self._ownership.tick()
        self._tasks.spawn(self._ownership.run(), "ownership")
        self._tasks.spawn(self._periodic_write(), "monitor")

    async def stop(self) -> None:
        """Stop every engine (each row is left saying `disconnected`) and release every lease, so other
        instances take the sessions over at once."""
        await self._tasks.close()
        await self._restarts.close()
        await self._channel.stop()
        for name in list(self._sessions):
            try:
                await self.give_up(name)
            except Exception:
                log.exception("session %s: did not stop cleanly", name)
        try:
            await self._leases.leave()
        except Exception:
            log.exception("could not release this instance's leases; they expire in %.0f s", self._leases.ttl)

    async def _ensure_default(self) -> None:
        repo = self._storage.sessions
        default = await repo.get(DEFAULT_SESSION)
        if default is None:
            try:
                await self._insert(DEFAULT_SESSION, self._settings.engine, {})
            except IntegrityError:
                pass  # another instance created it at the same moment
        elif default.engine != self._settings.engine:
            owner = await self._storage.cluster.owner(DEFAULT_SESSION)
            if owner is not None and owner != self.instance:
                log.error("session default runs the %s engine on instance %s but WAQTOR_ENGINE is %s here: every "
                          "instance needs the same settings; left on %s", default.engine, owner,
                          self._settings.engine, default.engine)
                return
            log.warning("session default switches from the %s engine to %s (WAQTOR_ENGINE); its old link is dropped",
                        default.engine, self._settings.engine)
            await repo.switch_engine(DEFAULT_SESSION, self._settings.engine)

    async def _periodic_write(self) -> None:
        while True:
            await asyncio.sleep(self._settings.monitor_interval)
            for session in list(self._sessions.values()):
                try:
                    await session.monitor.tick()
                except Exception:
                    log.exception("session %s: periodic state write failed", session.name)

    # ---- running a session here --------------------------------------------------------------------

    def can_run(self, record: SessionRecord) -> bool:
        """Whether this instance can run the session's engine (sandbox sessions need the sandbox)."""
        return record.engine != "sandbox" or self._settings.sandbox_offered

    async def _insert(self, name: str, engine: str, config: dict[str, Any]) -> SessionRecord:
        now = self._clock()
        record = SessionRecord(name=name, engine=engine, created_at=now, config=config, desired=RUNNING)
        await self._storage.sessions.create(record, SessionState(session=name, engine=engine, last_update=now))
        return record

    def _engine_for(self, record: SessionRecord, emit: Callable[[EngineEvent], Awaitable[None]]) -> Engine:
        # The default session's engine settings come from the gateway's settings and are never stored.
        config = self._settings.default_engine_config() if record.name == DEFAULT_SESSION else record.config
        ctx = EngineContext(session=record.name, emit=emit, store=RepositoryStore(self._storage.sessions, record.name),
                            settings=self._settings, config=config)
        return engine_class(record.engine)(ctx)

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
                emit = self._watch(name, split_events(name, monitor.handle, self.message_sink))
                session = Session(record=record, engine=self._engine_for(record, emit), monitor=monitor)
                self._sessions[name] = session
                await monitor.tick()
                await self._start_engine(session)
                for hook in self._running:
                    await hook(name)
            except Exception:
                log.exception("session %s: could not start on this instance; its lease is released", name)
                await self._leave(name, release=True)
                return False
        log.info("session %s runs on this instance (%s)", name, self.instance)
        return True

    def _watch(self, name: str, routed: Sink) -> Sink:
        """The session's sink: a crash goes to the restarts, the rest where `routed` sends it."""

        async def emit(event: EngineEvent) -> None:
            if isinstance(event, Crashed):
                session = self._sessions.get(name)
                if session is not None:
                    self._restarts.crashed(name, session.engine, event.reason)
                return
            if isinstance(event, Ready):
                self._restarts.ready(name)
            await routed(event)

        return emit

    async def _start_engine(self, session: Session) -> None:
        if session.running:
            return
        if self._sessions.get(session.name) is not session or not self._leases.holds(session.name):
            raise Unavailable(f"session {session.name!r} no longer runs on this instance", code="session_moving")
        # A fresh engine each time: an engine object runs once, from start to stop.
        session.engine = self._engine_for(session.record, session.engine.ctx.emit)
        session.running = True
        try:
            await session.engine.start()
        except Exception:
            session.running = False
            raise

    async def _stop_engine(self, session: Session) -> None:
        if not session.running:
            return
        session.running = False
        await session.engine.stop()
        await session.monitor.stopped()

    async def _leave(self, name: str, *, release: bool) -> None:
        """Forget the session here: run the `stopping` hooks, stop its engine (its last state written:
        `disconnected`), run the `stopped` hooks, give its lease up. Its monitor writes nothing after
        that: an engine event still on its way must not overwrite the last state, which is the next
        owner's to write (or, once deleted, nobody's)."""
        await self._run_hooks(self._stopping, name, "stopping")
        session = self._sessions.pop(name, None)
        try:
            if session is not None:
                await self._stop_engine(session)
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

    @staticmethod
    async def _run_hooks(hooks: list[Hook], name: str, kind: str) -> None:
        for hook in hooks:
            try:
                await hook(name)
            except Exception:
                log.exception("session %s: a %s hook failed", name, kind)

    async def deleted(self, name: str) -> None:
        """Tell the `deleted` hooks that `name` is gone (called by both ways of deleting it), then every
        client and webhook (`session_deleted`): no `session_update` will ever come for it again."""
        await self._run_hooks(self._deleted, name, "deleted")
        try:
            await self._bus.publish(SESSION_DELETED, {"session": name}, session=name)
        except Exception:  # it is deleted either way: the caller is answered, the miss is logged
            log.error("session %s: deleted, but the session_deleted event could not be published", name,
                      exc_info=True)

    async def give_up(self, name: str) -> None:
        """Stop running `name` here and release its lease (shutdown, a stop, or a fairer spread)."""
        async with self._locks[name]:
            await self._leave(name, release=True)

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
            await self._leave(name, release=False)

    async def shed_one(self) -> None:
        """Give one session up so another instance can take it: one not connected if there is one
        (cheapest to move), else the one taken last."""
        candidates = sorted(self._sessions.values(), key=lambda s: (s.monitor.state.ready, -s.taken_at))
        if candidates:
            log.info("session %s handed over: this instance runs more than its share", candidates[0].name)
            await self.give_up(candidates[0].name)

    async def sync(self, records: dict[str, SessionRecord]) -> None:
        """Stop running sessions that were deleted, or stopped, while this instance was not asked."""
        for name, session in list(self._sessions.items()):
            record = records.get(name)
            if record is None or record.desired == STOPPED:
                await self.give_up(name)

    # ---- reading, from any instance ----------------------------------------------------------------

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

    async def state_of(self, name: str) -> SessionState:
        """The session's state: live when it runs here, else as its owner last wrote it."""
        session = self._sessions.get(name)
        if session is not None and not session.monitor.detached:
            return session.monitor.state
        state = await self._storage.sessions.load_state(name)
        if state is None:
            raise SessionNotFound(name)
        return state

    async def snapshot(self, name: str) -> Snapshot:
        session = self._sessions.get(name)
        if session is not None and not session.monitor.detached:
            return Snapshot(session.record, session.monitor.state, session.running, self.instance)
        record = await self._storage.sessions.get(name)
        if record is None:
            raise SessionNotFound(name)
        state = await self.state_of(name)
        owner = await self._storage.cluster.owner(name)
        return Snapshot(record, state, owner is not None and record.desired == RUNNING, owner)

    async def snapshots(self) -> list[Snapshot]:
        """Every session, in creation order."""
        records = await self._storage.sessions.list()
        states = await self._storage.sessions.load_states()
        owners = await self._storage.cluster.owners()
        out = []
        for record in records:
            session = self._sessions.get(record.name)
            if session is not None and not session.monitor.detached:
                out.append(Snapshot(session.record, session.monitor.state, session.running, self.instance))
                continue
            state = states.get(record.name) or SessionState(record.name, record.engine, record.created_at)
            owner = owners.get(record.name)
            out.append(Snapshot(record, state, owner is not None and record.desired == RUNNING, owner))
        return out

    # ---- commands, carried to the instance that runs the session -----------------------------------

    async def command(self, name: str, op: str, args: dict[str, Any] | None = None, *,
                      unowned: Unowned | None = None) -> dict[str, Any]:
        """Run command `op` for session `name` where the session runs; its answer. When no instance runs
        it, `unowned(record)` answers instead (None: look again), or the command is refused: Conflict
        (`session_stopped`) for a stopped session, Unavailable (`session_moving`) for one being taken
        over. SessionNotFound when there is no such session."""
        args = args or {}
        for _ in range(3):
            if self.runs_here(name):
                return await self._handlers[op](self._sessions[name], args)
            owner = await self._storage.cluster.owner(name)
            if owner is None or owner == self.instance:
                record = await self._storage.sessions.get(name)
                if record is None:
                    raise SessionNotFound(name)
                if unowned is not None:
                    answer = await unowned(record)
                    if answer is not None:
                        return answer
                    continue
                if record.desired == STOPPED or not self.can_run(record):
                    raise Conflict(f"session {name!r} is stopped; start it first", code="session_stopped")
                break
            try:
                return await self._channel.call(owner, {"session": name, "op": op, "args": args})
            except Unavailable as exc:
                if exc.code != NOT_OWNER:
                    raise
        raise Unavailable(f"session {name!r} is being taken over by another instance; try again in a few seconds",
                          code="session_moving", retry_after=self._leases.ttl)

    async def _serve(self, request: dict[str, Any]) -> dict[str, Any]:
        """A command another instance sent here."""
        name, op = str(request["session"]), str(request["op"])
        if op == TAKE:
            record = await self._storage.sessions.get(name)
            return {"taken": record is not None and self.can_run(record) and await self.take(record)}
        handler = self._handlers.get(op)
        if handler is None:
            raise InvalidInput(f"unknown session command {op!r}", code="unknown_command")
        if not self.runs_here(name):
            raise Unavailable(f"session {name!r} does not run on instance {self.instance}", code=NOT_OWNER)
        return await handler(self._sessions[name], dict(request.get("args") or {}))

    async def _place(self, record: SessionRecord) -> bool:
        """Start a session nobody runs on the live instance that runs the fewest (this one on a tie);
        True when it now runs somewhere."""
        owners = await self._storage.cluster.owners()
        load = dict.fromkeys(self._leases.live, 0)
        load[self.instance] = len(self._sessions)
        for owner in owners.values():
            if owner in load and owner != self.instance:
                load[owner] += 1
        target = min(load, key=lambda instance: (load[instance], instance != self.instance))
        if target != self.instance:
            try:
                answer = await self._channel.call(target, {"session": record.name, "op": TAKE, "args": {}},
                                                  timeout=PLACE_TIMEOUT)
                if answer.get("taken"):
                    return True
            except Unavailable as exc:
                log.warning("session %s: instance %s did not take it (%s); starting it here", record.name, target,
                            exc.message)
        return await self.take(record)
