"""API keys and tickets across instances sharing PostgreSQL and Redis: a key made on one works on the
other at once, a ticket from one opens a socket on the other, and revoking a key on one closes its
sockets on the other through the Redis notice (the periodic reload is set far off to prove it)."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack
from pathlib import Path
from typing import Any

import pytest
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed

from tests.cluster.conftest import drop_keys
from tests.conftest import REDIS_URL, LiveServer, live_server, make_settings
from tests.pg import fresh_database
from tests.ws_client import command, open_ws


@pytest.fixture
async def pair(tmp_path: Path) -> AsyncIterator[tuple[LiveServer, LiveServer]]:
    prefix = f"test-{uuid.uuid4().hex}"
    async with fresh_database() as database, AsyncExitStack() as stack:
        servers = []
        for name in ("a", "b"):
            settings = make_settings(tmp_path / name, database_url=database, bus_url=f"{REDIS_URL}?prefix={prefix}",
                                     instance_id=name, key_refresh_interval=3600)
            servers.append(await stack.enter_async_context(live_server(settings)))
        yield servers[0], servers[1]
    await drop_keys(REDIS_URL, prefix)


async def create_key(server: LiveServer, *scopes: str) -> dict[str, Any]:
    async with server.client() as http:
        response = await http.post("/api/keys", json={"name": "cluster", "scopes": list(scopes)})
    assert response.status_code == 201, response.text
    return response.json()["data"]  # type: ignore[no-any-return]


async def test_a_key_made_on_one_instance_works_on_the_other_at_once(pair: tuple[LiveServer, LiveServer]) -> None:
    a, b = pair
    key = (await create_key(a, "read"))["key"]
    async with b.client() as http:
        assert (await http.get("/api/session/state", headers={"X-API-Key": key})).status_code == 200


async def test_a_ticket_from_one_instance_opens_a_socket_on_the_other_once(pair: tuple[LiveServer, LiveServer]) -> None:
    a, b = pair
    async with a.client() as http:
        ticket = (await http.post("/api/session/websocket/ticket")).json()["data"]["ticket"]
    async with connect(f"{b.ws}?ticket={ticket}") as ws:
        assert (await command(ws, "pong", type="ping"))["type"] == "pong"
    again = await connect(f"{a.ws}?ticket={ticket}")
    with pytest.raises(ConnectionClosed) as closed:
        await asyncio.wait_for(again.recv(), 5)
    assert closed.value.rcvd is not None and closed.value.rcvd.code == 1008


async def test_revoking_on_one_instance_closes_the_keys_sockets_on_the_other(
        pair: tuple[LiveServer, LiveServer]) -> None:
    a, b = pair
    created = await create_key(a, "read")
    async with await open_ws(b, key=created["key"]) as ws:
        assert (await command(ws, "pong", type="ping"))["type"] == "pong"
        async with a.client() as http:
            assert (await http.delete(f"/api/keys/{created['id']}")).status_code == 200
        with pytest.raises(ConnectionClosed) as closed:
            while True:
                await asyncio.wait_for(ws.recv(), 10)
        assert closed.value.rcvd is not None
        assert (closed.value.rcvd.code, closed.value.rcvd.reason) == (1008, "API key revoked")
    async with b.client() as http:
        assert (await http.get("/api/session/state", headers={"X-API-Key": created["key"]})).status_code == 401
