"""The WebSocket load generator: many clients spread over worker processes, driven from the parent.

Each worker runs an asyncio loop holding its share of the clients. A client is the `websockets`
library's sans-I/O `ClientProtocol` (compression off, no client-side pings: the server pings; pongs
and the closing handshake are the library's) driven straight from an `asyncio.Protocol`: no task and
no queue per client, so a frame costs the load generator as little as Python allows. With 2 cores
shared by server and clients, the library's full asyncio client (a reader task per connection) made
the clients, not the servers, the bottleneck, and hid the difference between them. Latency is
measured without a clock shared over the network: the injector writes `bench:<seq>:<t0>` into the
event (t0 = `time.monotonic_ns()` just before it sends; on Linux that clock is the same for every
process), and a worker computes `now - t0` the moment a client's frame arrives. Per event a worker
keeps the count, the earliest and the latest arrival; the parent merges them, so "time until the last
client has it" is the max over workers.

Workers speak to the parent over a pipe: commands in, replies and (when asked) a `done` note per event
once every one of the worker's live clients has it, which lets the parent pace events closed-loop.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import multiprocessing
import time
from collections import Counter
from multiprocessing.connection import Connection, wait
from typing import Any

from websockets.client import ClientProtocol
from websockets.frames import Frame, Opcode
from websockets.http11 import Response
from websockets.uri import parse_uri

MARK = "bench:"


def marker(seq: int) -> str:
    """The text an injector puts in an event so workers can time it; stamped now."""
    return f"{MARK}{seq}:{time.monotonic_ns()}"


class _Worker:
    def __init__(self, conn: Connection, url: str, subscribe: list[str] | None) -> None:
        self.conn = conn
        self.url = url
        self.subscribe = subscribe
        self.clients: list[_Client] = []
        self.live = 0
        self.close_codes: Counter[int] = Counter()
        self.stats: dict[int, list[int]] = {}
        self.notify = False
        self.watch: str | None = None
        self.watch_seen: set[int] = set()
        self.watch_max = 0
        self.stop = asyncio.Event()
        self.none_live = asyncio.Event()  # set when the last live client closes
        self.tasks: set[asyncio.Task[Any]] = set()

    # ---- receiving ------------------------------------------------------------------------------

    def on_frame(self, index: int, text: str, now: int) -> None:
        at = text.find(MARK)
        if at >= 0:
            colon = text.index(":", at + len(MARK))
            end = colon + 1
            while end < len(text) and text[end].isdigit():
                end += 1
            seq = int(text[at + len(MARK):colon])
            latency = now - int(text[colon + 1:end])
            entry = self.stats.get(seq)
            if entry is None:
                entry = self.stats[seq] = [1, latency, latency]
            else:
                entry[0] += 1
                if latency < entry[1]:
                    entry[1] = latency
                if latency > entry[2]:
                    entry[2] = latency
            if self.notify and entry[0] == self.live:
                self.conn.send(("done", seq))
        elif self.watch is not None and text.startswith(self.watch) and index not in self.watch_seen:
            self.watch_seen.add(index)
            self.watch_max = max(self.watch_max, now)
            if len(self.watch_seen) == self.live:
                self.conn.send(("watched", len(self.watch_seen), self.watch_max))
                self.watch = None

    def closed(self, code: int) -> None:
        self.live -= 1
        self.close_codes[code] += 1
        if self.live <= 0:
            self.none_live.set()

    async def open_one(self) -> None:
        loop = asyncio.get_running_loop()
        uri = parse_uri(self.url)
        _, client = await loop.create_connection(lambda: _Client(self, self.url), uri.host, uri.port)
        await asyncio.wait_for(client.opened, 60)
        if self.subscribe:
            client.waiting = '{"type":"subscribed"'
            client.send_text(json.dumps({"type": "subscribe", "events": self.subscribe}))
            await asyncio.wait_for(client.answered, 60)
        client.index = len(self.clients)  # assigned here: connections open concurrently
        self.clients.append(client)
        self.live += 1
        client.counted = True

    async def connect(self, n: int, concurrency: int) -> None:
        gate = asyncio.Semaphore(concurrency)
        errors: list[str] = []

        async def one() -> None:
            async with gate:
                try:
                    await self.open_one()
                except Exception as exc:  # counted and reported to the parent
                    errors.append(f"{type(exc).__name__}: {exc}")

        started = time.monotonic()
        await asyncio.gather(*(one() for _ in range(n)))
        self.conn.send(("connected", self.live, len(errors), errors[:3], time.monotonic() - started))

    async def close_all(self) -> None:
        self.none_live.clear()
        for client in self.clients:
            client.close()
        if self.live > 0:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.none_live.wait(), 5)
        for client in self.clients:
            client.abort()
        self.conn.send(("closed",))
        self.stop.set()

    def spawn(self, coro: Any) -> None:
        task = asyncio.get_running_loop().create_task(coro)
        self.tasks.add(task)
        task.add_done_callback(self.tasks.discard)

    def on_command(self) -> None:
        try:
            command, *args = self.conn.recv()
        except (EOFError, OSError):  # the parent is gone: leave
            asyncio.get_running_loop().remove_reader(self.conn.fileno())
            self.stop.set()
            return
        if command == "connect":
            self.spawn(self.connect(*args))
        elif command == "notify":
            self.notify = bool(args[0])
            self.conn.send(("ok",))
        elif command == "stats":
            stats, self.stats = self.stats, {}
            self.conn.send(("stats", stats, self.live, dict(self.close_codes)))
        elif command == "watch":
            self.watch = args[0]
            self.watch_seen, self.watch_max = set(), 0
            self.conn.send(("ok",))
        elif command == "close":
            self.spawn(self.close_all())

    async def main(self) -> None:
        loop = asyncio.get_running_loop()
        loop.add_reader(self.conn.fileno(), self.on_command)
        self.conn.send(("ready",))
        await self.stop.wait()
        loop.remove_reader(self.conn.fileno())


class _Client(asyncio.Protocol):
    """One WebSocket client: `websockets`' sans-I/O protocol on an asyncio transport."""

    def __init__(self, worker: _Worker, url: str) -> None:
        self.worker = worker
        self.index = -1
        self.protocol = ClientProtocol(parse_uri(url), max_size=None)
        loop = asyncio.get_running_loop()
        self.opened: asyncio.Future[None] = loop.create_future()
        self.answered: asyncio.Future[None] = loop.create_future()
        self.waiting: str | None = None
        self.counted = False
        self.transport: asyncio.Transport | None = None
        self.parts: list[bytes] = []

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]
        self.protocol.send_request(self.protocol.connect())
        self.flush()

    def data_received(self, data: bytes) -> None:
        now = time.monotonic_ns()
        self.protocol.receive_data(data)
        for event in self.protocol.events_received():
            if isinstance(event, Frame):
                if event.opcode is Opcode.TEXT or (event.opcode is Opcode.CONT and self.parts):
                    self.parts.append(event.data)
                    if event.fin:
                        text = b"".join(self.parts).decode()
                        self.parts = []
                        if self.waiting is not None:
                            if text.startswith(self.waiting):
                                self.waiting = None
                                self.answered.set_result(None)
                        elif self.counted:
                            self.worker.on_frame(self.index, text, now)
            elif isinstance(event, Response) and not self.opened.done():
                if self.protocol.handshake_exc is not None:
                    self.opened.set_exception(self.protocol.handshake_exc)
                else:
                    self.opened.set_result(None)
        self.flush()

    def send_text(self, text: str) -> None:
        self.protocol.send_text(text.encode())
        self.flush()

    def flush(self) -> None:
        assert self.transport is not None
        for data in self.protocol.data_to_send():
            if data:
                self.transport.write(data)
            elif self.transport.can_write_eof():
                self.transport.write_eof()

    def close(self) -> None:
        if self.transport is not None and not self.transport.is_closing():
            self.protocol.send_close(1000)
            self.flush()

    def abort(self) -> None:
        if self.transport is not None:
            self.transport.abort()

    def connection_lost(self, exc: Exception | None) -> None:
        if not self.opened.done():
            self.opened.set_exception(exc or ConnectionError("connection closed during the handshake"))
        if self.waiting is not None and not self.answered.done():
            self.answered.set_exception(exc or ConnectionError("connection closed before `subscribed`"))
        if self.counted:
            self.counted = False
            with contextlib.suppress(EOFError):
                self.protocol.receive_eof()
            code = self.protocol.close_code
            self.worker.closed(code if code is not None else 1006)


def _worker_main(conn: Connection, url: str, subscribe: list[str] | None) -> None:
    asyncio.run(_Worker(conn, url, subscribe).main())


class ClientPool:
    """`size` clients of `url` spread over `workers` processes; use as a context manager.

    `subscribe` (event names) makes each client narrow its subscription and wait for `subscribed`
    before it counts as connected (the gateway's protocol; leave it None for the yardstick)."""

    def __init__(self, url: str, workers: int = 2, subscribe: list[str] | None = None) -> None:
        self.url = url
        self.subscribe = subscribe
        ctx = multiprocessing.get_context("spawn")
        self.pipes: list[Connection] = []
        self.procs: list[Any] = []
        for _ in range(workers):
            parent, child = ctx.Pipe()
            proc = ctx.Process(target=_worker_main, args=(child, url, subscribe), daemon=True)
            self.pipes.append(parent)
            self.procs.append(proc)
        self.done: Counter[int] = Counter()
        self.counted: asyncio.Event | None = None  # while attached: set whenever `done` notes are counted
        self.size = 0

    def __enter__(self) -> ClientPool:
        for proc in self.procs:
            proc.start()
        for pipe in self.pipes:
            self._reply(pipe, "ready", 60)
        return self

    def __exit__(self, *exc: object) -> None:
        for pipe in self.pipes:
            with contextlib.suppress(OSError):
                pipe.send(("close",))
        for pipe in self.pipes:
            with contextlib.suppress(TimeoutError, EOFError, OSError):
                self._reply(pipe, "closed", 30)
        for proc in self.procs:
            proc.join(5)
            if proc.is_alive():
                proc.kill()
                proc.join()

    # ---- talking to workers ----------------------------------------------------------------------

    def _reply(self, pipe: Connection, kind: str, timeout: float) -> tuple[Any, ...]:
        """The next reply of `kind` from one worker; `done` notes read meanwhile are counted."""
        deadline = time.monotonic() + timeout
        while True:
            left = deadline - time.monotonic()
            if left <= 0 or not pipe.poll(left):
                raise TimeoutError(f"no {kind!r} from a load-generator worker within {timeout:.0f} s")
            message = pipe.recv()
            if message[0] == "done":
                self.done[message[1]] += 1
            elif message[0] == kind:
                return message  # type: ignore[no-any-return]

    def _all(self, command: tuple[Any, ...], kind: str, timeout: float) -> list[tuple[Any, ...]]:
        for pipe in self.pipes:
            pipe.send(command)
        return [self._reply(pipe, kind, timeout) for pipe in self.pipes]

    def connect(self, n: int, concurrency: int = 64, timeout: float = 300) -> float:
        """Open `n` more clients (split over the workers); returns the seconds it took. Raises when
        any failed to connect."""
        started = time.monotonic()
        shares = [n // len(self.pipes) + (1 if i < n % len(self.pipes) else 0) for i in range(len(self.pipes))]
        for pipe, share in zip(self.pipes, shares, strict=True):
            pipe.send(("connect", share, concurrency))
        replies = [self._reply(pipe, "connected", timeout) for pipe in self.pipes]
        failed = sum(r[2] for r in replies)
        if failed:
            errors = [e for r in replies for e in r[3]]
            raise RuntimeError(f"{failed} of {n} clients failed to connect to {self.url}: {errors}")
        self.size = sum(r[1] for r in replies)
        return time.monotonic() - started

    def notify(self, on: bool) -> None:
        """Ask workers for a `done` note per event (closed-loop pacing) or stop asking (open loop)."""
        self._all(("notify", on), "ok", 30)
        self.done.clear()

    def wait_done(self, seq: int, timeout: float) -> bool:
        """Wait until every worker said all its clients have event `seq`; False on timeout."""
        deadline = time.monotonic() + timeout
        while self.done[seq] < len(self.pipes):
            left = deadline - time.monotonic()
            if left <= 0:
                return False
            for pipe in wait(self.pipes, left):
                message = pipe.recv()  # type: ignore[union-attr]
                if message[0] == "done":
                    self.done[message[1]] += 1
        del self.done[seq]
        return True

    def attach(self, loop: asyncio.AbstractEventLoop) -> None:
        """Count `done` notes from inside the caller's event loop (open-loop runs, where the parent
        is busy injecting and must still read the pipes so no worker blocks on a full one)."""
        self.counted = asyncio.Event()
        for pipe in self.pipes:
            loop.add_reader(pipe.fileno(), self._drain, pipe)

    def detach(self, loop: asyncio.AbstractEventLoop) -> None:
        for pipe in self.pipes:
            loop.remove_reader(pipe.fileno())
        self.counted = None

    def _drain(self, pipe: Connection) -> None:
        while pipe.poll():
            message = pipe.recv()
            if message[0] == "done":
                self.done[message[1]] += 1
                if self.counted is not None:
                    self.counted.set()

    async def settle(self, seqs: range, timeout: float) -> bool:
        """While attached: wait until every worker said all its clients have every event of `seqs`;
        False on timeout."""
        assert self.counted is not None, "settle() needs attach() first"
        deadline = time.monotonic() + timeout
        while not self.all_done(seqs):
            left = deadline - time.monotonic()
            if left <= 0:
                return False
            self.counted.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.counted.wait(), left)
        return True

    def all_done(self, seqs: range) -> bool:
        return all(self.done[seq] >= len(self.pipes) for seq in seqs)

    def collect(self) -> tuple[dict[int, tuple[int, int, int]], int, Counter[int]]:
        """Per event seq: (clients that got it, first arrival ns, last arrival ns) over all workers,
        then the clients still connected and the close codes of those that were closed. Resets."""
        merged: dict[int, tuple[int, int, int]] = {}
        live = 0
        codes: Counter[int] = Counter()
        for _, stats, worker_live, worker_codes in self._all(("stats",), "stats", 60):
            live += worker_live
            codes.update(worker_codes)
            for seq, (count, first, last) in stats.items():
                if seq in merged:
                    c, f, l_ = merged[seq]
                    merged[seq] = (c + count, min(f, first), max(l_, last))
                else:
                    merged[seq] = (count, first, last)
        return merged, live, codes

    def watch(self, prefix: str) -> None:
        """Arm every worker to note, per client, the first frame starting with `prefix`; the caller then
        triggers that frame and calls `watched()`."""
        self._all(("watch", prefix), "ok", 30)

    def watched(self, t0: int, timeout: float) -> float | None:
        """Wait until every live client saw the watched frame; the ms from `t0` (monotonic ns) to the
        last arrival, or None on timeout."""
        try:
            replies = [self._reply(pipe, "watched", timeout) for pipe in self.pipes]
        except TimeoutError:
            return None
        return (max(r[2] for r in replies) - t0) / 1e6
