"""An engine whose work runs in a worker process (pool.py): what the session holds in the gateway.

It forwards the session's calls to the engine hosted in the worker and hands the worker's events to the
session in order. Every call is bounded: stopping or logging out answers within `engine_stop_timeout`
seconds whatever the engine's library does, because a worker that does not answer in time is killed
(its other sessions start again in a fresh worker, from their stored link). When the worker dies, the
session reports `Crashed` (`lastError` `engine_crashed`) and the gateway restarts it with a growing
pause; when the pool recycles the worker, the session moves to a fresh one by itself.
"""

from __future__ import annotations

import asyncio
import importlib
import logging
from collections.abc import Sequence
from datetime import datetime
from typing import Any, ClassVar

from waqtor.engines.base import (
    ContactProfile,
    Crashed,
    Disconnected,
    Engine,
    EngineContext,
    LoggedOut,
    OutgoingMessage,
    OutgoingReaction,
    PairingCode,
    ProfilePicture,
    Ready,
    SendResult,
)
from waqtor.engines.workers.pool import Worker, WorkerPool
from waqtor.errors import ConfigError, EngineError
from waqtor.tasks import TaskSet

log = logging.getLogger(__name__)

EVENT_QUEUE = 1000  # events of one session read from its worker and not yet handled
CALL_TIMEOUT = 120.0  # seconds a send or a question may take in the worker (an upload of a large file)
PAIR_TIMEOUT = 30.0


class WorkerEngine(Engine):
    """Subclasses name the engine class the worker hosts (`hosted`, `module:Class`)."""

    hosted: ClassVar[str]

    def __init__(self, ctx: EngineContext) -> None:
        super().__init__(ctx)
        if not isinstance(ctx.workers, WorkerPool):
            raise ConfigError(f"the {self.name} engine runs in worker processes: its context needs the pool")
        self._pool: WorkerPool = ctx.workers
        self._worker: Worker | None = None
        self._events: asyncio.Queue[Any] = asyncio.Queue(EVENT_QUEUE)
        self._tasks = TaskSet(f"{self.name}[{ctx.session}]", on_crash=self.report_crash)
        self._running = False
        self.connected = False

    @classmethod
    def hosted_class(cls) -> type[Engine]:
        module, _, attr = cls.hosted.partition(":")
        engine: type[Engine] = getattr(importlib.import_module(module), attr)
        return engine

    @classmethod
    def validate_config(cls, config: dict[str, Any]) -> dict[str, Any]:
        return cls.hosted_class().validate_config(config)

    @classmethod
    def public_config(cls, config: dict[str, Any]) -> dict[str, Any]:
        return cls.hosted_class().public_config(config)

    @property
    def worker(self) -> Worker | None:
        """The worker hosting the session now (None while stopped)."""
        return self._worker

    # ---- lifecycle ------------------------------------------------------------------------------------

    async def start(self) -> None:
        if self._running:
            return
        self._running = True
        self._tasks.spawn(self._pump(), "events")
        await self._open()

    async def _open(self) -> None:
        worker = await self._pool.place(self.hosted, self.ctx.session, self)
        self._worker = worker
        try:
            await worker.call(self.ctx.session, "start", self.ctx.config, timeout=self._stop_timeout)
        except TimeoutError:
            self._pool.kill(worker, f"session {self.ctx.session} did not start within {self._stop_timeout:.0f} s")

    @property
    def _stop_timeout(self) -> float:
        return self.ctx.settings.engine_stop_timeout

    async def stop(self) -> None:
        self._running = False
        worker, self._worker = self._worker, None
        self.connected = False
        if worker is not None:
            await self._leave(worker)
        await self._tasks.close()

    async def _leave(self, worker: Worker) -> None:
        """Stop the session's engine in `worker` (bounded), then give up its place there."""
        if self._pool.closing or not worker.alive or worker.tenants.keys() <= {self.ctx.session}:
            # The pool ends the worker itself: at once when the gateway stops, and now when this was its
            # last session (told to exit, it gives the engine a moment, then it is killed).
            self._pool.leave(worker, self.ctx.session)
            return
        try:
            await worker.call(self.ctx.session, "stop", timeout=self._stop_timeout)
        except TimeoutError:
            self._pool.kill(worker, f"session {self.ctx.session} did not stop within {self._stop_timeout:.0f} s")
        except EngineError as exc:
            log.warning("session %s: stopping it in worker %s: %s", self.ctx.session, worker.name, exc.message)
        self._pool.leave(worker, self.ctx.session)

    async def logout(self) -> None:
        worker = self._require()
        try:
            await worker.call(self.ctx.session, "logout", timeout=self._stop_timeout)
        except TimeoutError:
            # The library did not log out in time: the link is forgotten here, and the worker (with
            # whatever it was stuck in) goes; the session starts again, offering a new QR.
            self._pool.kill(worker, f"session {self.ctx.session} did not log out within {self._stop_timeout:.0f} s")
            await self.forget()

    async def forget(self) -> None:
        # Forgetting needs no connection: the hosted engine's own code does it here, in the gateway.
        await self.hosted_class()(self.ctx).forget()

    def _require(self) -> Worker:
        worker = self._worker
        if worker is None or not worker.alive:
            raise EngineError(f"session {self.ctx.session!r} has no running engine worker", code="engine_crashed")
        return worker

    # ---- calls --------------------------------------------------------------------------------------------

    async def pair(self, phone: str) -> PairingCode:
        answer: PairingCode = await self._ask("pair", phone, timeout=PAIR_TIMEOUT)
        return answer

    async def send(self, message: OutgoingMessage) -> SendResult:
        answer: SendResult = await self._ask("send", message, timeout=CALL_TIMEOUT)
        return answer

    async def is_on_whatsapp(self, jids: Sequence[str]) -> dict[str, bool] | None:
        answer: dict[str, bool] | None = await self._ask("is_on_whatsapp", list(jids), timeout=CALL_TIMEOUT)
        return answer

    async def check_numbers(self, jids: Sequence[str]) -> dict[str, str | None]:
        answer: dict[str, str | None] = await self._ask("check_numbers", list(jids), timeout=CALL_TIMEOUT)
        return answer

    async def contact_profile(self, jid: str) -> ContactProfile:
        answer: ContactProfile = await self._ask("contact_profile", jid, timeout=CALL_TIMEOUT)
        return answer

    async def profile_picture(self, jid: str) -> ProfilePicture | None:
        answer: ProfilePicture | None = await self._ask("profile_picture", jid, timeout=CALL_TIMEOUT)
        return answer

    async def set_blocked(self, jid: str, blocked: bool) -> None:
        await self._ask("set_blocked", jid, blocked, timeout=CALL_TIMEOUT)

    async def edit_message(self, chat: str, message_id: str, text: str) -> datetime:
        answer: datetime = await self._ask("edit_message", chat, message_id, text, timeout=CALL_TIMEOUT)
        return answer

    async def revoke_message(self, chat: str, message_id: str) -> datetime:
        answer: datetime = await self._ask("revoke_message", chat, message_id, timeout=CALL_TIMEOUT)
        return answer

    async def mark_read(self, chat: str, messages: Sequence[tuple[str, str]]) -> None:
        await self._ask("mark_read", chat, list(messages), timeout=CALL_TIMEOUT)

    async def send_chat_presence(self, chat: str, state: str) -> None:
        await self._ask("send_chat_presence", chat, state, timeout=CALL_TIMEOUT)

    async def subscribe_presence(self, jid: str) -> None:
        await self._ask("subscribe_presence", jid, timeout=CALL_TIMEOUT)

    async def send_presence(self, state: str) -> None:
        await self._ask("send_presence", state, timeout=CALL_TIMEOUT)

    async def react(self, reaction: OutgoingReaction) -> SendResult:
        answer: SendResult = await self._ask("react", reaction, timeout=CALL_TIMEOUT)
        return answer

    async def _ask(self, method: Any, *args: Any, timeout: float) -> Any:
        worker = self._require()
        try:
            return await worker.call(self.ctx.session, method, *args, timeout=timeout)
        except TimeoutError:
            raise EngineError(f"the {self.name} engine did not answer within {timeout:.0f} s",
                              code="engine_timeout") from None

    # ---- what the pool tells a tenant ---------------------------------------------------------------

    async def deliver(self, event: Any) -> None:
        await self._events.put(event)

    async def load(self) -> dict[str, Any] | None:
        return await self.ctx.store.load()

    async def save(self, data: dict[str, Any] | None) -> None:
        await self.ctx.store.save(data)

    def gone(self, worker: Worker, reason: str, planned: bool) -> None:
        if worker is not self._worker or not self._running:
            return
        self._worker = None
        self.connected = False
        if planned:
            self._tasks.spawn(self._move(worker), "move")
        else:
            crash = Crashed(f"engine worker {worker.name} (pid {worker.pid}) ended: {reason}")
            self._tasks.spawn(self._events.put(crash), "crashed")

    async def _move(self, old: Worker) -> None:
        log.info("session %s: moving from engine worker %s to a fresh one", self.ctx.session, old.name)
        await self._open()

    async def _pump(self) -> None:
        while True:
            event = await self._events.get()
            if isinstance(event, Ready):
                self.connected = True
            elif isinstance(event, (Disconnected, LoggedOut)):
                self.connected = False
            await self.ctx.emit(event)
