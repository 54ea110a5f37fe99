"""Streamed exports against clients that read slowly or not at all, on a real server and PostgreSQL.

A slow reader is a raw socket with a small receive buffer that asks for a large CSV and then reads
nothing: the server's writes back up, and the export waits on them. (The server's send buffer is set
small too: Linux grows it up to 4 MiB, which would take in the whole 2 MB file of the test; a real
export of 100,000 recipients is several times that.) It must hold no database
connection while it waits, so the rest of the API answers and the sessions keep their leases; and a key
may have only WAQTOR_EXPORTS_PER_KEY of them at once.
"""

from __future__ import annotations

import asyncio
import csv
import io
import socket
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import httpx

from tests.api.test_bad_input import assert_error
from tests.conftest import API_KEY, LiveServer, eventually, live_server, make_settings
from tests.pg import fresh_database
from tests.storage.test_campaign_repository import campaign

RECIPIENTS = 20_000
EXPORT = "/api/campaigns/cmp_big/recipients?format=csv"


class SlowReader:
    """Asks for `path` over a socket with a small receive buffer, then reads nothing until told to."""

    def __init__(self, port: int, path: str, key: str = API_KEY) -> None:
        self.sock = socket.socket()
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        self.sock.connect(("127.0.0.1", port))
        self.sock.sendall(f"GET {path} HTTP/1.1\r\nHost: gateway\r\nX-API-Key: {key}\r\n"
                          "Connection: close\r\n\r\n".encode())

    def answered(self) -> bool:
        """Whether the first bytes of the answer arrived."""
        try:
            return bool(self.sock.recv(1, socket.MSG_PEEK | socket.MSG_DONTWAIT))
        except BlockingIOError:
            return False

    def read_all(self) -> bytes:
        """Everything until the server closes (blocking: run it in a thread)."""
        self.sock.settimeout(30)
        parts = []
        while data := self.sock.recv(1 << 16):
            parts.append(data)
        return b"".join(parts)

    def close(self) -> None:
        self.sock.close()


def dechunk(answer: bytes) -> tuple[bytes, bytes]:
    """The head and the body of a chunked HTTP/1.1 answer."""
    head, rest = answer.split(b"\r\n\r\n", 1)
    body = bytearray()
    while True:
        size_line, rest = rest.split(b"\r\n", 1)
        size = int(size_line, 16)
        if size == 0:
            return head, bytes(body)
        body += rest[:size]
        rest = rest[size + 2:]


@asynccontextmanager
async def gateway_with_a_big_campaign(data_dir: Path, **overrides: Any) -> AsyncIterator[LiveServer]:
    """A real server on a fresh PostgreSQL with a pool of 1 (+1 for bursts), short leases, and a campaign
    `cmp_big` of RECIPIENTS recipients stored in bulk."""
    async with fresh_database() as url:
        settings = make_settings(data_dir, database_url=url, database_pool_size=1, database_timeout=2.0,
                                 lease_ttl=3.0, **overrides)
        async with live_server(settings, send_buffer=16_384) as live:
            await campaign(live.gateway.storage, RECIPIENTS, status="draft", cid="cmp_big")
            yield live


async def stalled(live: LiveServer, count: int, key: str = API_KEY, holder: str = "") -> list[SlowReader]:
    """`count` slow readers of the big export, each answered and still streaming."""
    readers = [SlowReader(live.port, EXPORT, key) for _ in range(count)]
    await eventually(lambda: all(reader.answered() for reader in readers), timeout=10, what="the exports' first bytes")
    await eventually(lambda: live.gateway.exports.held(holder) == count, timeout=10, what="every export streaming")
    return readers


async def test_slow_readers_of_a_large_export_hold_no_connection(data_dir: Path) -> None:
    async with gateway_with_a_big_campaign(data_dir, exports_per_key=6) as live:
        gateway = live.gateway
        await eventually(lambda: gateway.sessions.runs_here("default"), what="the default session running here")
        session = gateway.sessions.get("default")
        readers = await stalled(live, 6)
        try:
            async with live.client() as http:
                # Several lease periods while six exports wait on their readers, three times the pool.
                for _ in range(3):
                    assert (await http.get("/api/messages")).status_code == 200
                    assert (await http.get("/health")).status_code == 200
                    await asyncio.sleep(gateway.settings.lease_ttl / 2)
            assert gateway.exports.held("") == 6, "the exports were waiting on their readers all along"
            assert gateway.sessions.runs_here("default") and gateway.sessions.get("default") is session
            answer = await asyncio.to_thread(readers[0].read_all)  # one reads at last: its file comes whole
        finally:
            for reader in readers:
                reader.close()
        head, body = dechunk(answer)
        assert head.startswith(b"HTTP/1.1 200")
        rows = list(csv.reader(io.StringIO(body.decode(), newline="")))
        assert len(rows) == RECIPIENTS + 1 and rows[-1][0] == str(RECIPIENTS + 1)
        await eventually(lambda: gateway.exports.held("") == 0, what="every export slot given back")


async def test_a_key_streams_at_most_its_exports_at_once_and_gets_them_back_when_readers_leave(
        data_dir: Path) -> None:
    async with gateway_with_a_big_campaign(data_dir) as live:  # WAQTOR_EXPORTS_PER_KEY: 2
        gateway = live.gateway
        readers = await stalled(live, 2)
        try:
            async with live.client() as http:
                for path in (EXPORT, "/api/messages/export?format=jsonl"):
                    refused = await http.get(path)
                    assert_error(refused, 429, "too_many_exports")
                    assert int(refused.headers["Retry-After"]) >= 1
                assert (await http.get("/api/campaigns/cmp_big/recipients")).status_code == 200  # a page is no export
                other = (await http.post("/api/keys", json={"name": "other", "scopes": ["read"]})).json()["data"]
                async with httpx.AsyncClient(base_url=live.http, headers={"X-API-Key": other["key"]}) as theirs:
                    assert (await theirs.get("/api/messages/export")).status_code == 200  # another key's own
            readers.pop().close()  # the client goes away mid-export: its slot comes back
            await eventually(lambda: gateway.exports.held("") == 1, what="the slot of the reader that left")
            async with live.client() as http:
                assert (await http.get("/api/messages/export")).status_code == 200
        finally:
            for reader in readers:
                reader.close()
        await eventually(lambda: gateway.exports.held("") == 0, what="every export slot given back")
