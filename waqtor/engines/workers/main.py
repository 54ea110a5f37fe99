"""An engine worker process: `python -m waqtor.engines.workers.main`, started by the gateway's pool.

It reads frames from stdin and writes them to what was its stdout, which it first moves out of the way:
anything the engine's library prints goes to stderr (the gateway's log) and can never corrupt a frame.
It hosts engines of one class (the `Setup`'s `hosted`), one per session the gateway gives it, each with a
context whose events and store go back to the gateway.

It exits when told to (`Shutdown`) or when the gateway goes (stdin ends), giving its engines a short
while to stop; then it leaves with `os._exit`, so no thread the library left blocked keeps it alive.
"""

from __future__ import annotations

import asyncio
import contextlib
import importlib
import logging
import os
import sys
import threading
from typing import Any

from waqtor import errors
from waqtor.engines.base import Connecting, Engine, EngineContext, EngineEvent, EngineStore
from waqtor.engines.workers import protocol
from waqtor.engines.workers.protocol import Call, Emit, Failure, Reply, Setup, Shutdown, Wear

log = logging.getLogger("waqtor.worker")

STOP_GRACE = 3.0  # seconds the engines get to stop when the worker is told to exit
SETUP_LIMIT = 1 << 20


def _fds() -> int:
    try:
        return len(os.listdir("/proc/self/fd"))
    except OSError:
        return -1


class RemoteStore(EngineStore):
    """A session's engine store, kept by the gateway."""

    def __init__(self, host: Host, session: str) -> None:
        self._host, self._session = host, session

    async def load(self) -> dict[str, Any] | None:
        value: dict[str, Any] | None = await self._host.call(self._session, "load")
        return value

    async def save(self, data: dict[str, Any] | None) -> None:
        await self._host.call(self._session, "save", data)


class Host:
    """The engines of this worker and the pipe to the gateway."""

    def __init__(self, setup: Setup, writer: asyncio.StreamWriter) -> None:
        module, _, attr = setup.hosted.partition(":")
        self.engine_class: type[Engine] = getattr(importlib.import_module(module), attr)
        self.settings = setup.settings
        self.engines: dict[str, Engine] = {}
        self._writer = writer
        self._calls = protocol.Calls()
        self._tasks: set[asyncio.Task[None]] = set()
        self.attempts = 0

    async def send(self, message: protocol.Message) -> None:
        self._writer.write(protocol.frame(message))
        await self._writer.drain()

    async def call(self, session: str, method: protocol.WorkerMethod, *args: Any) -> Any:
        call_id, future = self._calls.open()
        await self.send(Call(call_id, session, method, args))
        return await future

    def serve(self, call: Call) -> None:
        task = asyncio.create_task(self._serve(call), name=f"worker:{call.method}[{call.session}]")
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _serve(self, call: Call) -> None:
        try:
            value = await self._run(call)
        except Exception as exc:
            if not isinstance(exc, errors.WaqtorError):
                log.exception("session %s: %s failed in the worker", call.session, call.method)
            reply = Reply(call.id, failure=Failure.of(exc))
        else:
            reply = Reply(call.id, value=value)
        with contextlib.suppress(ConnectionError, RuntimeError):  # the gateway is gone; the worker is exiting
            await self.send(reply)

    async def _run(self, call: Call) -> Any:
        session = call.session
        engine: Engine | None
        if call.method == "start":
            if session in self.engines:
                return None
            (config,) = call.args
            ctx = EngineContext(session=session, emit=self._emitter(session), store=RemoteStore(self, session),
                                settings=self.settings, config=config)
            engine = self.engines[session] = self.engine_class(ctx)
            await engine.start()
            return None
        if call.method == "stop":
            engine = self.engines.pop(session, None)
            if engine is not None:
                await engine.stop()
            return None
        engine = self.engines.get(session)
        if engine is None:
            raise errors.SessionNotReady(f"session {session!r} is not running in this worker")
        if call.method == "logout":
            await engine.logout()
            return None
        if call.method == "pair":
            return await engine.pair(*call.args)
        if call.method == "send":
            return await engine.send(*call.args)
        if call.method == "is_on_whatsapp":
            return await engine.is_on_whatsapp(*call.args)
        if call.method == "check_numbers":
            return await engine.check_numbers(*call.args)
        if call.method == "contact_profile":
            return await engine.contact_profile(*call.args)
        if call.method == "profile_picture":
            return await engine.profile_picture(*call.args)
        if call.method == "set_blocked":
            return await engine.set_blocked(*call.args)
        if call.method == "edit_message":
            return await engine.edit_message(*call.args)
        if call.method == "revoke_message":
            return await engine.revoke_message(*call.args)
        if call.method == "mark_read":
            return await engine.mark_read(*call.args)
        if call.method == "send_chat_presence":
            return await engine.send_chat_presence(*call.args)
        if call.method == "react":
            return await engine.react(*call.args)
        if call.method == "subscribe_presence":
            return await engine.subscribe_presence(*call.args)
        if call.method == "send_presence":
            return await engine.send_presence(*call.args)
        raise errors.InvalidInput(f"the worker has no method {call.method!r}")

    def _emitter(self, session: str) -> Any:
        async def emit(event: EngineEvent) -> None:
            await self.send(Emit(session, event))
            if isinstance(event, Connecting):  # each attempt wears the worker a little
                self.attempts += 1
                await self.send(Wear(self.attempts, threading.active_count(), _fds()))

        return emit

    def answer(self, reply: Reply) -> None:
        self._calls.settle(reply)

    async def stop_all(self) -> None:
        engines, self.engines = list(self.engines.values()), {}
        if engines:
            await asyncio.wait([asyncio.ensure_future(engine.stop()) for engine in engines], timeout=STOP_GRACE)
        self._calls.fail_all(ConnectionError("the worker is exiting"))


async def _pipes(out_fd: int) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
    loop = asyncio.get_running_loop()
    reader = asyncio.StreamReader(limit=2**16)
    await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader), os.fdopen(0, "rb", 0))
    transport, stream = await loop.connect_write_pipe(asyncio.streams.FlowControlMixin, os.fdopen(out_fd, "wb", 0))
    writer = asyncio.StreamWriter(transport, stream, None, loop)
    return reader, writer


async def serve(out_fd: int) -> int:
    reader, writer = await _pipes(out_fd)
    setup = await protocol.read(reader, SETUP_LIMIT)
    if not isinstance(setup, Setup):
        log.error("engine worker: the gateway did not start with Setup; exiting")
        return 2
    _configure_logging(setup)
    host = Host(setup, writer)
    await host.send(protocol.Ready(os.getpid()))
    limit = setup.settings.media_max + protocol.FRAME_OVERHEAD
    while True:
        try:
            message = await protocol.read(reader, limit)
        except protocol.FrameError as exc:
            log.error("engine worker %s: %s; exiting", setup.worker, exc)
            break
        if message is None or isinstance(message, Shutdown):
            break
        if isinstance(message, Call):
            host.serve(message)
        elif isinstance(message, Reply):
            host.answer(message)
    await host.stop_all()
    return 0


def _configure_logging(setup: Setup) -> None:
    from waqtor.logs import configure

    configure(setup.settings.log_level, setup.settings.log_format)
    # Each line says which worker wrote it, for a reader of the gateway's log.
    logging.getLogger().handlers[0].addFilter(_Tag(setup.worker))


class _Tag(logging.Filter):
    def __init__(self, worker: str) -> None:
        super().__init__()
        self._worker = worker

    def filter(self, record: logging.LogRecord) -> bool:
        record.worker = self._worker
        return True


def main() -> None:
    out_fd = os.dup(1)
    os.dup2(2, 1)  # stray prints of the engine's library go to stderr, never into a frame
    sys.stdout = sys.stderr
    # Whatever the engine's library writes (its device store, with the keys of every linked phone) is
    # this user's alone, as everything in the data directory is (waqtor.files).
    os.umask(0o077)
    code = 1
    try:
        code = asyncio.new_event_loop().run_until_complete(serve(out_fd))
    except KeyboardInterrupt:  # the gateway's terminal was interrupted: it stops us itself
        code = 0
    except BaseException:
        logging.getLogger("waqtor.worker").exception("engine worker failed")
    finally:
        logging.shutdown()
        sys.stderr.flush()
        os._exit(code)


if __name__ == "__main__":
    main()
