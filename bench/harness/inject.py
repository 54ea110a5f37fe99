"""Open-loop HTTP POSTs at a fixed rate over a few keep-alive connections, costing the client little.

httpx's connection pool looks through every waiting request each time a connection comes free: with
hundreds of requests a second queued behind 64 connections, the injector, not the server, used the
CPU the two share. Here each connection is an `asyncio.Protocol` that writes a prepared request and
reads the answer's status and Content-Length, nothing more.

`post_paced(url, headers, body_for, seqs, rate)` makes the body of request `seq` with `body_for(seq)`
at the moment it falls due (so a timestamp in it counts the time it waits for a free connection: open
loop, no coordinated omission), and returns the seconds from the first due time to the last answer
with the count of answers that were not 200.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from dataclasses import dataclass
from urllib.parse import urlsplit


@dataclass
class Injection:
    seconds: float
    sent: int
    errors: int


class _Connection(asyncio.Protocol):
    def __init__(self) -> None:
        self.transport: asyncio.Transport | None = None
        self.buffer = bytearray()
        self.waiter: asyncio.Future[int] | None = None
        self.lost: Exception | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]

    def data_received(self, data: bytes) -> None:
        self.buffer += data
        end = self.buffer.find(b"\r\n\r\n")
        if end < 0 or self.waiter is None or self.waiter.done():
            return
        head = bytes(self.buffer[:end]).decode("latin-1").split("\r\n")
        length = 0
        for line in head[1:]:
            name, _, value = line.partition(":")
            if name.strip().lower() == "content-length":
                length = int(value)
        if len(self.buffer) < end + 4 + length:
            return
        del self.buffer[:end + 4 + length]
        self.waiter.set_result(int(head[0].split()[1]))

    def connection_lost(self, exc: Exception | None) -> None:
        self.lost = exc or ConnectionError("the server closed the connection")
        if self.waiter is not None and not self.waiter.done():
            self.waiter.set_exception(self.lost)

    async def post(self, request: bytes) -> int:
        assert self.transport is not None
        if self.lost is not None:
            raise self.lost
        self.waiter = asyncio.get_running_loop().create_future()
        self.transport.write(request)
        return await self.waiter


async def post_paced(url: str, headers: dict[str, str], body_for: Callable[[int], bytes], seqs: range,
                     rate: float, connections: int = 32) -> Injection:
    """POST `body_for(seq)` (JSON) to `url` for each seq, one every 1/`rate` s, over `connections`
    keep-alive connections; a request waits for a free connection when all are busy."""
    parts = urlsplit(url)
    loop = asyncio.get_running_loop()
    head = f"POST {parts.path} HTTP/1.1\r\nHost: {parts.netloc}\r\nContent-Type: application/json\r\n"
    head += "".join(f"{name}: {value}\r\n" for name, value in headers.items())
    conns = [(await loop.create_connection(_Connection, parts.hostname, parts.port))[1] for _ in range(connections)]
    queue: asyncio.Queue[bytes | None] = asyncio.Queue()
    errors = 0
    last = 0.0

    async def worker(conn: _Connection) -> None:
        nonlocal errors, last
        while (body := await queue.get()) is not None:
            try:
                status = await conn.post(f"{head}Content-Length: {len(body)}\r\n\r\n".encode() + body)
            except (ConnectionError, OSError):
                status = 0
            if status != 200:
                errors += 1
            last = time.monotonic()

    workers = [asyncio.create_task(worker(conn)) for conn in conns]
    started = time.monotonic()
    try:
        for i, seq in enumerate(seqs):
            delay = started + i / rate - time.monotonic()
            if delay > 0:
                await asyncio.sleep(delay)
            queue.put_nowait(body_for(seq))
        for _ in workers:
            queue.put_nowait(None)
        await asyncio.gather(*workers)
    finally:
        for conn in conns:
            if conn.transport is not None:
                conn.transport.close()
    return Injection(max(last - started, 1e-9), len(seqs), errors)
