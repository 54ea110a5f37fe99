"""The engine worker processes of this gateway: started when a session needs one, watched, and stopped.

A session of an engine that runs in workers (`WorkerEngine`) is placed in a worker hosting that engine
class with room left (`engine_sessions_per_worker`), or in a new one. The pool reads every worker's
frames and hands each to the session it is about (a `Tenant`).

When a worker dies (killed, or the engine's library aborted the process) each of its tenants is told
(`gone`, not planned): they report the crash and the gateway restarts them, in a new worker. A worker
that has used itself up (`Wear`: every connection attempt of neonize leaks a store handle, and some a
thread) is recycled when none of its sessions is connected, or at once past four times the limit: its
tenants are told (`gone`, planned) and start again in a fresh worker. A worker left without sessions
exits. Nothing here waits without a bound: a worker that does not exit when told is killed.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
import sys
from typing import TYPE_CHECKING, Any, Protocol

from waqtor.engines.workers import protocol
from waqtor.engines.workers.protocol import Call, Emit, Failure, Reply, Setup, Shutdown, Wear
from waqtor.errors import EngineError
from waqtor.tasks import TaskSet

if TYPE_CHECKING:
    from waqtor.config import Settings

log = logging.getLogger(__name__)

START_TIMEOUT = 30.0  # seconds a new worker has to say Ready (it imports the engine's library)
EXIT_GRACE = 4.0  # seconds a worker told to exit has before it is killed (it gives its engines 3)
WORKER_CRASHED = "engine_crashed"


class Tenant(Protocol):
    """A session hosted in a worker, as the pool sees it."""

    @property
    def connected(self) -> bool: ...

    async def deliver(self, event: Any) -> None:
        """An engine event of the session, in the order the worker sent it."""

    async def load(self) -> dict[str, Any] | None: ...

    async def save(self, data: dict[str, Any] | None) -> None: ...

    def gone(self, worker: Worker, reason: str, planned: bool) -> None:
        """The worker stopped hosting the session: it died (`planned` False) or it is being recycled."""


class Worker:
    """One worker process and the sessions it hosts."""

    def __init__(self, pool: WorkerPool, name: str, hosted: str, process: asyncio.subprocess.Process) -> None:
        self.pool = pool
        self.name = name
        self.hosted = hosted
        self.process = process
        self.pid = process.pid
        self.tenants: dict[str, Tenant] = {}
        self.wear = Wear(0, 0, 0)
        self.leaving = False  # told to exit, or recycled: takes no new session
        self.reason: str | None = None  # why it is going, once it is
        self._calls = protocol.Calls()
        self._writer: asyncio.StreamWriter | None = None
        self._ended = asyncio.Event()

    @property
    def alive(self) -> bool:
        return not self._ended.is_set()

    def attach(self, writer: asyncio.StreamWriter) -> None:
        self._writer = writer

    async def _send(self, message: protocol.Message) -> None:
        writer = self._writer
        if writer is None or not self.alive:
            raise self._gone_error()
        try:
            writer.write(protocol.frame(message))
            await writer.drain()
        except (ConnectionError, RuntimeError):
            raise self._gone_error() from None

    def _gone_error(self) -> EngineError:
        return EngineError(f"the engine worker {self.name} stopped ({self.reason or 'it exited'})",
                           code=WORKER_CRASHED)

    async def call(self, session: str, method: protocol.GatewayMethod, *args: Any, timeout: float) -> Any:
        """Run `method` of the session's engine in the worker and return its answer; the engine's own
        error as raised there; TimeoutError when it takes longer than `timeout` seconds; EngineError
        (`engine_crashed`) when the worker goes first."""
        call_id, future = self._calls.open()
        try:
            await self._send(Call(call_id, session, method, args))
            return await asyncio.wait_for(asyncio.shield(future), timeout)
        finally:
            self._calls.drop(call_id)

    async def read(self, reader: asyncio.StreamReader, limit: int) -> None:
        """Read the worker's frames until it ends; then tell its tenants."""
        try:
            while True:
                message = await protocol.read(reader, limit)
                if message is None:
                    break
                await self._handle(message)
        except protocol.FrameError as exc:
            log.error("engine worker %s sent a bad frame (%s); stopping it", self.name, exc)
            self.kill(f"it sent a bad frame: {exc}")
        finally:
            await self._ended_by_itself()

    async def _handle(self, message: protocol.Message) -> None:
        if isinstance(message, Emit):
            tenant = self.tenants.get(message.session)
            if tenant is not None:
                await tenant.deliver(message.event)
        elif isinstance(message, Reply):
            self._calls.settle(message)
        elif isinstance(message, Call):
            self.pool.tasks.spawn(self._answer(message), f"{self.name}:{message.method}")
        elif isinstance(message, Wear):
            self.wear = message
            self.pool.worn(self)

    async def _answer(self, call: Call) -> None:
        tenant = self.tenants.get(call.session)
        try:
            if tenant is None:
                raise EngineError(f"session {call.session!r} is not hosted by {self.name}")
            if call.method == "load":
                value: Any = await tenant.load()
            elif call.method == "save":
                (data,) = call.args
                await tenant.save(data)
                value = None
            else:
                raise EngineError(f"the worker asked for {call.method!r}, which the gateway does not offer")
            reply = Reply(call.id, value=value)
        except Exception as exc:
            reply = Reply(call.id, failure=Failure.of(exc))
        with contextlib.suppress(EngineError):
            await self._send(reply)

    async def _ended_by_itself(self) -> None:
        code = await self.process.wait()
        if self.reason is None:
            self.reason = f"it exited with signal {-code}" if code < 0 else f"it exited with code {code}"
        self._ended.set()
        self._calls.fail_all(self._gone_error())
        tenants, self.tenants = self.tenants, {}
        self.pool.ended(self)
        planned = self.leaving
        if tenants:
            (log.info if planned else log.error)("engine worker %s (pid %d) ended: %s; its sessions: %s", self.name,
                                                 self.pid, self.reason, ", ".join(sorted(tenants)))
        for tenant in tenants.values():
            tenant.gone(self, self.reason, planned)

    def kill(self, reason: str) -> None:
        """End the process now (SIGKILL); its tenants are told as the pipe closes."""
        if self.reason is None:
            self.reason = reason
        if self.alive:
            with contextlib.suppress(ProcessLookupError):
                self.process.kill()

    async def retire(self, reason: str) -> None:
        """Ask the worker to exit; kill it if it has not within EXIT_GRACE. Its tenants are told `gone`
        as planned."""
        self.leaving = True
        if self.reason is None:
            self.reason = reason
        with contextlib.suppress(EngineError):
            await self._send(Shutdown())
        if self._writer is not None:
            self._writer.close()
        try:
            await asyncio.wait_for(self._ended.wait(), EXIT_GRACE)
        except TimeoutError:
            log.warning("engine worker %s did not exit within %.0f s; killing it", self.name, EXIT_GRACE)
            self.kill(reason)
            await self._ended.wait()

    async def wait(self) -> None:
        await self._ended.wait()


class WorkerPool:
    """The workers of one gateway. `place` a session, `leave` it, `close` at the end."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.per_worker = settings.engine_sessions_per_worker
        self.recycle_after = settings.engine_worker_recycle
        self.workers: list[Worker] = []
        self.tasks = TaskSet("engine-workers")
        self.closing = False
        self._names = itertools.count(1)
        self._placing = asyncio.Lock()

    async def place(self, hosted: str, session: str, tenant: Tenant) -> Worker:
        """A worker of the `hosted` engine class that now hosts `session`: one with room, or a new one."""
        if self.closing:
            raise EngineError("the gateway is shutting down", code="shutting_down")
        async with self._placing:
            for worker in self.workers:
                if (worker.hosted == hosted and worker.alive and not worker.leaving
                        and len(worker.tenants) < self.per_worker):
                    break
            else:
                worker = await self._spawn(hosted)
            worker.tenants[session] = tenant
            return worker

    async def _spawn(self, hosted: str) -> Worker:
        package = hosted.partition(":")[0].split(".")
        name = f"{package[-2] if len(package) > 1 else package[0]}-{next(self._names)}"
        process = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "waqtor.engines.workers.main", stdin=asyncio.subprocess.PIPE,
            # A session of its own: Ctrl+C in the gateway's terminal is the gateway's to handle; it stops its
            # workers itself (and a worker whose gateway vanished exits when its stdin ends).
            stdout=asyncio.subprocess.PIPE, start_new_session=True)
        assert process.stdin is not None and process.stdout is not None  # asked for both pipes
        worker = Worker(self, name, hosted, process)
        self.workers.append(worker)
        writer = process.stdin
        worker.attach(writer)
        reader = process.stdout
        try:
            writer.write(protocol.frame(Setup(name, hosted, self.settings)))
            await writer.drain()
            ready = await asyncio.wait_for(protocol.read(reader, protocol.FRAME_OVERHEAD), START_TIMEOUT)
            if not isinstance(ready, protocol.Ready):
                raise EngineError(f"engine worker {name} did not start (it said {type(ready).__name__})")
        except BaseException as exc:
            worker.kill(f"it did not start: {exc}")
            self.workers.remove(worker)
            await process.wait()
            if isinstance(exc, (TimeoutError, ConnectionError, protocol.FrameError)):
                raise EngineError(f"engine worker {name} did not start: {exc or type(exc).__name__}",
                                  code="engine_worker_failed") from None
            raise
        limit = self.settings.media_max + protocol.FRAME_OVERHEAD
        self.tasks.spawn(worker.read(reader, limit), f"{name}:read")
        log.info("engine worker %s started (pid %d)", name, worker.pid)
        return worker

    def leave(self, worker: Worker, session: str) -> None:
        """`session` no longer runs in `worker`; a worker left without sessions exits."""
        worker.tenants.pop(session, None)
        if not worker.tenants and worker.alive and not worker.leaving and not self.closing:
            worker.leaving = True
            self.tasks.spawn(worker.retire("it has no sessions left"), f"{worker.name}:retire")

    def worn(self, worker: Worker) -> None:
        """The worker reported its wear: recycle it when it is used up and that disturbs no connection."""
        if worker.leaving or self.closing or worker.wear.attempts < self.recycle_after:
            return
        busy = any(tenant.connected for tenant in worker.tenants.values())
        if busy and worker.wear.attempts < 4 * self.recycle_after:
            return
        log.info("engine worker %s made %d connection attempts; starting its sessions in a fresh one",
                 worker.name, worker.wear.attempts)
        worker.leaving = True
        self.tasks.spawn(worker.retire(f"recycled after {worker.wear.attempts} connection attempts"),
                         f"{worker.name}:recycle")

    def ended(self, worker: Worker) -> None:
        with contextlib.suppress(ValueError):
            self.workers.remove(worker)

    def kill(self, worker: Worker, reason: str) -> None:
        log.error("engine worker %s: %s; killing it", worker.name, reason)
        worker.kill(reason)

    def begin_close(self) -> None:
        """The gateway is stopping: sessions stop without waiting on their workers, which `close` ends."""
        self.closing = True

    async def close(self) -> None:
        """Stop every worker (each told to exit, killed after EXIT_GRACE), then the readers."""
        self.closing = True
        workers = list(self.workers)
        for worker in workers:
            worker.leaving = True
        if workers:
            await asyncio.gather(*(worker.retire("the gateway is stopping") for worker in workers),
                                 return_exceptions=True)
        await self.tasks.close()

