"""A silent network cut to PostgreSQL: packets go nowhere, no reset, no error. Without bounds, a request
waiting on the database waits until TCP gives up (many minutes); with `WAQTOR_DATABASE_TIMEOUT` it
answers `503 database_unavailable`, `/health` says degraded, and all is well again once the network is.

The cut is made by a TCP relay between the gateway and the machine's real PostgreSQL that, when frozen,
keeps every socket open and forwards nothing: exactly what a dropped route or a dead switch looks like.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from pathlib import Path

from tests.conftest import Harness, eventually, in_process, make_settings
from tests.pg import PG, fresh_database


class FreezingRelay:
    """Relays TCP to PostgreSQL; `freeze()` holds every byte in both directions until `thaw()`."""

    def __init__(self) -> None:
        self.flowing = asyncio.Event()
        self.flowing.set()
        self.port = 0
        self._server: asyncio.Server | None = None
        self._pipes: set[asyncio.Task[None]] = set()

    async def __aenter__(self) -> FreezingRelay:
        self._server = await asyncio.start_server(self._accept, "127.0.0.1", 0)
        self.port = self._server.sockets[0].getsockname()[1]
        return self

    async def __aexit__(self, *exc: object) -> None:
        assert self._server is not None
        self._server.close()
        for task in list(self._pipes):
            task.cancel()
        await asyncio.gather(*self._pipes, return_exceptions=True)

    def freeze(self) -> None:
        self.flowing.clear()

    def thaw(self) -> None:
        self.flowing.set()

    async def _accept(self, client_reader: asyncio.StreamReader, client_writer: asyncio.StreamWriter) -> None:
        server_reader, server_writer = await asyncio.open_connection(PG["host"], PG["port"])
        for reader, writer in ((client_reader, server_writer), (server_reader, client_writer)):
            task = asyncio.create_task(self._pipe(reader, writer))
            self._pipes.add(task)
            task.add_done_callback(self._pipes.discard)

    async def _pipe(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while data := await reader.read(65536):
                await self.flowing.wait()  # frozen: the bytes wait here, the socket stays open
                writer.write(data)
                await writer.drain()
        except (ConnectionError, asyncio.CancelledError):
            pass
        finally:
            with contextlib.suppress(Exception):
                writer.close()


@contextlib.asynccontextmanager
async def gateway_behind(relay: FreezingRelay, data_dir: Path) -> AsyncIterator[Harness]:
    async with fresh_database() as url:
        relayed = url.replace(f":{PG['port']}/", f":{relay.port}/")
        async with in_process(make_settings(data_dir, database_url=relayed, database_timeout=1.0, lease_ttl=60)) as gw:
            yield gw


async def test_a_silent_cut_answers_503_instead_of_hanging_and_recovers(data_dir: Path) -> None:
    async with FreezingRelay() as relay, gateway_behind(relay, data_dir) as gw:
        await gw.scan()
        assert (await gw.client.get("/api/messages")).status_code == 200
        relay.freeze()
        try:
            # Not a speed check: without a bound these calls would wait for TCP (minutes), and this
            # limit only turns such a hang into a failure instead of a stuck suite.
            async with asyncio.timeout(60):
                refused = await gw.client.get("/api/messages")
                health = await gw.client.get("/health")
        finally:
            relay.thaw()
        assert refused.status_code == 503, refused.text
        assert refused.json()["error"]["code"] == "database_unavailable" and refused.headers["Retry-After"]
        assert health.status_code == 503 and health.json()["database"] == {"reachable": False}

        async def recovered() -> bool:
            return (await gw.client.get("/health")).status_code == 200 and \
                (await gw.client.get("/api/messages")).status_code == 200

        await eventually(recovered, timeout=30, what="the gateway healthy and answering once the network is back")
