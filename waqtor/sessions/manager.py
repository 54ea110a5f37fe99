"""Sessions of the gateway, put together: what the rest of the gateway holds (`Gateway.sessions`).

Each session is run by exactly one instance at a time, the holder of its lease (`waqtor.cluster`).
The parts, each importing only the ones below it:

    SessionManager (this module)     start and stop, reading any session's state, the API's actions
      ├── SessionActions (actions)   create, delete, start, stop, restart, log out, pair, reset counters
      ├── CommandRouter (router)     a command runs here or on the session's owner; where a new one starts
      ├── Ownership (ownership)      this instance's fair share of the sessions, lease renewals
      ├── Restarts (restarts)        a crashed engine replaced after a growing pause
      └── SessionRegistry (registry) the sessions running here: take, leave, engines, per-session locks

At start it creates `default` on the first run (switching its engine when `WAQTOR_ENGINE` changed),
then takes and starts the sessions that should run. With one instance it runs them all.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from waqtor.bus import Bus
from waqtor.clock import Clock, utcnow
from waqtor.cluster.channel import CommandChannel
from waqtor.cluster.leases import LeaseKeeper
from waqtor.config import Settings
from waqtor.engines.workers.pool import WorkerPool
from waqtor.errors import SessionNotFound
from waqtor.sessions.actions import SessionActions
from waqtor.sessions.engine_events import MessageSink
from waqtor.sessions.ownership import Ownership
from waqtor.sessions.registry import SessionRegistry
from waqtor.sessions.restarts import Restarts
from waqtor.sessions.router import CommandRouter
from waqtor.sessions.session import RUNNING, Handler, Hook, Session, Unowned
from waqtor.sessions.snapshot import Snapshot
from waqtor.sessions.state import SessionState
from waqtor.storage import Storage
from waqtor.tasks import TaskSet

log = logging.getLogger(__name__)


class SessionManager:
    def __init__(self, settings: Settings, storage: Storage, bus: Bus, clock: Clock = utcnow, *,
                 leases: LeaseKeeper, channel: CommandChannel) -> None:
        self._settings = settings
        self._storage = storage
        self._leases = leases
        # The engine worker processes of the sessions that run in them (neonize): owned here, started
        # when a session needs one, all ended by stop().
        self.workers = WorkerPool(settings)
        self._registry = SessionRegistry(settings, storage, bus, clock, leases, self.workers)
        self._restarts = Restarts(self._registry, settings)
        self._registry.watch(crashed=self._restarts.crashed, ready=self._restarts.ready)
        self._ownership = Ownership(self._registry, leases, storage)
        self._router = CommandRouter(self._registry, storage, leases, channel)
        self._actions = SessionActions(settings, storage, bus, clock, self._registry, self._router)
        self._tasks = TaskSet("sessions")

    @property
    def instance(self) -> str:
        return self._registry.instance

    @property
    def live_instances(self) -> list[str]:
        """The instances seen alive at the last heartbeat, this one included."""
        return self._leases.live

    def route_messages(self, sink: MessageSink) -> None:
        """Where engines' message events go (the message service); set before `start`."""
        self._registry.route_messages(sink)

    def handle(self, op: str, handler: Handler) -> None:
        """Run `handler(session, args)` for command `op` where the session runs (see `CommandRouter`)."""
        self._router.handle(op, handler)

    def add_hooks(self, *, started: Hook | None = None, running: Hook | None = None,
                  stopping: Hook | None = None, stopped: Hook | None = None, deleted: Hook | None = None) -> None:
        """Hooks around each session's life on this instance (see `SessionRegistry.add_hooks`)."""
        self._registry.add_hooks(started=started, running=running, stopping=stopping, stopped=stopped,
                                 deleted=deleted)

    # ---- start and stop of the gateway -------------------------------------------------------------

    async def start(self) -> None:
        """Join the cluster, create `default` on the first run, and take this instance's share of the
        sessions that should run (every one of them when it is alone)."""
        await self._leases.join()
        await self._actions.ensure_default()
        await self._router.start()
        await self._ownership.tick()
        self._tasks.spawn(self._ownership.run(), "ownership")
        self._tasks.spawn(self._periodic_write(), "monitor")

    async def stop(self) -> None:
        """Stop every engine (each row is left saying `disconnected`) and release every lease, so other
        instances take the sessions over at once."""
        await self._tasks.close()
        await self._restarts.close()
        await self._router.stop()
        # Sessions in workers stop without waiting on them: the workers are all ended at once below,
        # each within its bound, so the gateway exits in time whatever their engines are stuck in.
        self.workers.begin_close()
        for session in self._registry.local():
            try:
                await self._registry.give_up(session.name)
            except Exception:
                log.exception("session %s: did not stop cleanly", session.name)
        await self.workers.close()
        try:
            await self._leases.leave()
        except Exception:
            log.exception("could not release this instance's leases; they expire in %.0f s", self._leases.ttl)

    async def _periodic_write(self) -> None:
        while True:
            await asyncio.sleep(self._settings.monitor_interval)
            await self._registry.write_states()

    # ---- what runs on this instance ----------------------------------------------------------------

    def get(self, name: str) -> Session:
        """The session as this instance runs it; SessionNotFound when it does not run it here."""
        return self._registry.get(name)

    def local(self) -> list[Session]:
        """The sessions this instance runs."""
        return self._registry.local()

    def runs_here(self, name: str) -> bool:
        """Whether this instance runs `name` and surely still holds its lease."""
        return self._registry.runs_here(name)

    async def give_up(self, name: str) -> None:
        """Stop running `name` here and release its lease, for another instance to take it."""
        await self._registry.give_up(name)

    async def lost(self, name: str, why: str) -> None:
        """Stop `name` at once, writing nothing more for it: its lease may have passed on."""
        await self._registry.lost(name, why)

    # ---- reading, from any instance ----------------------------------------------------------------

    async def state_of(self, name: str) -> SessionState:
        """The session's state: live when it runs here, else as its owner last wrote it."""
        session = self._registry.find(name)
        if session is not None and not session.monitor.detached:
            return session.monitor.state
        state = await self._storage.sessions.load_state(name)
        if state is None:
            raise SessionNotFound(name)
        return state

    async def snapshot(self, name: str) -> Snapshot:
        session = self._registry.find(name)
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
            session = self._registry.find(record.name)
            if session is not None and not session.monitor.detached:
                out.append(Snapshot(session.record, session.monitor.state, session.running, self.instance))
                continue
            state = states.get(record.name) or SessionState(record.name, record.engine, record.created_at)
            owner = owners.get(record.name)
            out.append(Snapshot(record, state, owner is not None and record.desired == RUNNING, owner))
        return out

    # ---- commands and actions, carried to the instance that runs the session -----------------------

    async def command(self, name: str, op: str, args: dict[str, Any] | None = None, *,
                      unowned: Unowned | None = None) -> dict[str, Any]:
        """Run command `op` for session `name` where the session runs (see `CommandRouter.command`)."""
        return await self._router.command(name, op, args, unowned=unowned)

    async def create(self, name: str, engine: str, config: dict[str, Any]) -> Snapshot:
        """Store a new session, start it, and answer how it stands (see `SessionActions.create`)."""
        await self._actions.create(name, engine, config)
        return await self.snapshot(name)

    async def delete(self, name: str) -> None:
        await self._actions.delete(name)

    async def start_session(self, name: str) -> Snapshot:
        """Start the session and keep it running; how it stands then (see `SessionActions.start_session`)."""
        await self._actions.start_session(name)
        return await self.snapshot(name)

    async def stop_session(self, name: str) -> Snapshot:
        """Stop the session and keep it stopped; how it stands then."""
        await self._actions.stop_session(name)
        return await self.snapshot(name)

    async def restart(self, name: str) -> Snapshot:
        """Stop and start the session, keeping its link; how it stands then."""
        await self._actions.restart(name)
        return await self.snapshot(name)

    async def logout(self, name: str) -> str:
        return await self._actions.logout(name)

    async def pair(self, name: str, phone: str) -> dict[str, Any]:
        return await self._actions.pair(name, phone)

    async def reset_stats(self, name: str) -> dict[str, Any]:
        return await self._actions.reset_stats(name)
