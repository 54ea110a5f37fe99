"""Commands for a session, carried to the instance that runs it; and where a new session starts.

A command (`start`, `messages.send`, `sandbox.scan`, …) runs on the instance that runs its session:
here when this instance runs it, else on its owner over the command channel (`waqtor.cluster`). Each
command's handler is registered with `handle`. A session nobody runs is started on the live instance
that runs the fewest (`place`). With one instance everything runs here.
"""

from __future__ import annotations

import logging
from typing import Any

from waqtor.cluster.channel import CommandChannel
from waqtor.cluster.leases import LeaseKeeper
from waqtor.errors import Conflict, InvalidInput, SessionNotFound, Unavailable
from waqtor.sessions.registry import SessionRegistry
from waqtor.sessions.session import STOPPED, Handler, Unowned
from waqtor.storage import Storage
from waqtor.storage.records import SessionRecord

log = logging.getLogger(__name__)

NOT_OWNER = "not_owner"  # a forwarded command reached an instance that no longer runs the session
TAKE = "take"  # the command that asks an instance to start a session nobody runs
PLACE_TIMEOUT = 3.0  # seconds an instance asked to take a session may take to answer before this one does


class CommandRouter:
    def __init__(self, registry: SessionRegistry, storage: Storage, leases: LeaseKeeper,
                 channel: CommandChannel) -> None:
        self._registry = registry
        self._storage = storage
        self._leases = leases
        self._channel = channel
        self._handlers: dict[str, Handler] = {}

    def handle(self, op: str, handler: Handler) -> None:
        """Run `handler(session, args)` for command `op` on the instance that runs the session; it returns
        the JSON-ready answer or raises a WaqtorError (carried back to the caller as it is)."""
        self._handlers[op] = handler

    async def start(self) -> None:
        """Answer the commands other instances send here."""
        await self._channel.start(self._serve)

    async def stop(self) -> None:
        await self._channel.stop()

    async def command(self, name: str, op: str, args: dict[str, Any] | None = None, *,
                      unowned: Unowned | None = None) -> dict[str, Any]:
        """Run command `op` for session `name` where the session runs; its answer. When no instance runs
        it, `unowned(record)` answers instead (None: look again), or the command is refused: Conflict
        (`session_stopped`) for a stopped session, Unavailable (`session_moving`) for one being taken
        over. SessionNotFound when there is no such session."""
        args = args or {}
        for _ in range(3):
            if self._registry.runs_here(name):
                return await self._handlers[op](self._registry.get(name), args)
            owner = await self._storage.cluster.owner(name)
            if owner is None or owner == self._registry.instance:
                record = await self._storage.sessions.get(name)
                if record is None:
                    raise SessionNotFound(name)
                if unowned is not None:
                    answer = await unowned(record)
                    if answer is not None:
                        return answer
                    continue
                if record.desired == STOPPED or not self._registry.can_run(record):
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
            return {"taken": record is not None and self._registry.can_run(record)
                    and await self._registry.take(record)}
        handler = self._handlers.get(op)
        if handler is None:
            raise InvalidInput(f"unknown session command {op!r}", code="unknown_command")
        if not self._registry.runs_here(name):
            raise Unavailable(f"session {name!r} does not run on instance {self._registry.instance}", code=NOT_OWNER)
        return await handler(self._registry.get(name), dict(request.get("args") or {}))

    async def place(self, record: SessionRecord) -> bool:
        """Start a session nobody runs on the live instance that runs the fewest (this one on a tie);
        True when it now runs somewhere."""
        owners = await self._storage.cluster.owners()
        here = self._registry.instance
        load = dict.fromkeys(self._leases.live, 0)
        load[here] = len(self._registry.local())
        for owner in owners.values():
            if owner in load and owner != here:
                load[owner] += 1
        target = min(load, key=lambda instance: (load[instance], instance != here))
        if target != here:
            try:
                answer = await self._channel.call(target, {"session": record.name, "op": TAKE, "args": {}},
                                                  timeout=PLACE_TIMEOUT)
                if answer.get("taken"):
                    return True
            except Unavailable as exc:
                log.warning("session %s: instance %s did not take it (%s); starting it here", record.name, target,
                            exc.message)
        return await self._registry.take(record)
