"""/ws with scoped keys and tickets (over a real socket): a ticket opens one connection once, a key
limited to sessions sees only their events, and revoking a key closes its connections."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import update
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed

from tests.conftest import API_KEY, LiveServer, eventually, live_server, make_settings
from tests.ws_client import command, open_ws, recv, recv_type
from waqtor.access.scopes import Identity
from waqtor.access.tickets import Tickets
from waqtor.clock import utcnow
from waqtor.storage.tables import api_keys


async def new_key(live: LiveServer, *scopes: str, **fields: Any) -> dict[str, Any]:
    async with live.client() as http:
        response = await http.post("/api/keys", json={"name": "ws", "scopes": list(scopes), **fields})
    assert response.status_code == 201, response.text
    return response.json()["data"]  # type: ignore[no-any-return]


async def ticket_for(live: LiveServer, key: str) -> dict[str, Any]:
    async with live.client() as http:
        response = await http.post("/api/session/websocket/ticket", headers={"X-API-Key": key})
    assert response.status_code == 200, response.text
    return response.json()["data"]  # type: ignore[no-any-return]


async def with_ticket(live: LiveServer, ticket: str, **params: Any) -> ClientConnection:
    query = "".join(f"&{k}={v}" for k, v in params.items())
    return await connect(f"{live.ws}?ticket={ticket}{query}", compression=None)


async def closed_with(ws: ClientConnection) -> tuple[int, str]:
    with pytest.raises(ConnectionClosed) as closed:
        while True:
            await asyncio.wait_for(ws.recv(), 10)
    assert closed.value.rcvd is not None
    return closed.value.rcvd.code, closed.value.rcvd.reason


async def test_a_ticket_opens_one_connection_and_only_once(live: LiveServer) -> None:
    issued = await ticket_for(live, API_KEY)
    assert issued["ticket"].startswith("wqtt_") and issued["expiresAt"].endswith("Z")
    async with await with_ticket(live, issued["ticket"]) as ws:
        assert (await command(ws, "pong", type="ping"))["type"] == "pong"
    again = await with_ticket(live, issued["ticket"])
    code, reason = await closed_with(again)
    assert code == 1008 and reason.startswith("ticket refused")


async def test_an_expired_or_unknown_ticket_is_refused_with_1008(live: LiveServer) -> None:
    # A ticket issued two minutes ago expired a minute ago.
    past = Tickets(live.gateway.storage.keys, clock=lambda: utcnow() - timedelta(minutes=2))
    expired, _ = await past.issue(Identity.gateway())
    for ticket in (expired, "wqtt_not-a-ticket"):
        code, reason = await closed_with(await with_ticket(live, ticket))
        assert code == 1008 and "ticket refused" in reason
    assert live.gateway.bridge.clients == {}


async def test_a_ticket_carries_its_keys_sessions_and_the_socket_shows_only_their_events(live: LiveServer) -> None:
    async with live.client() as http:
        assert (await http.post("/api/sessions", json={"name": "shop", "engine": "sandbox"})).status_code == 201
    await eventually(lambda: live.gateway.sessions.get("shop").monitor.state.has_qr, what="shop's QR")
    key = (await new_key(live, "read", sessions=["shop"]))["key"]
    issued = await ticket_for(live, key)
    async with live.client() as http, await with_ticket(live, issued["ticket"]) as ws:
        assert (await command(ws, "pong", type="ping"))["type"] == "pong"
        await http.post("/api/sandbox/scan", json={"session": "default"})
        await http.post("/api/sandbox/scan", json={"session": "shop"})
        frame = await recv_type(ws, "session_update")
        while frame["data"]["status"] != "connected":
            assert frame["session"] == "shop"
            frame = await recv_type(ws, "session_update")
        assert frame["session"] == "shop"
        refused = await command(ws, "error", type="get_state", session="default")
        assert refused["error"]["code"] == "forbidden_session"
        refused = await command(ws, "error", type="subscribe", events=["all"], sessions=["default"])
        assert refused["error"]["code"] == "forbidden_session"
        state = await command(ws, "session_state", type="get_state", session="shop")
        assert state["data"]["status"] == "connected"


async def test_a_key_without_the_read_scope_cannot_open_the_socket(live: LiveServer) -> None:
    sender = (await new_key(live, "send"))["key"]
    code, reason = await closed_with(await open_ws(live, key=sender))
    assert code == 1008 and "read scope" in reason


@pytest.mark.parametrize("way", ["key", "ticket"])
async def test_revoking_a_key_closes_its_open_connections_with_1008(live: LiveServer, way: str) -> None:
    created = await new_key(live, "read")
    other = await open_ws(live)  # the gateway's key: stays open
    if way == "key":
        ws = await open_ws(live, key=created["key"])
    else:
        ws = await with_ticket(live, (await ticket_for(live, created["key"]))["ticket"])
    async with other, ws:
        assert (await command(ws, "pong", type="ping"))["type"] == "pong"
        async with live.client() as http:
            assert (await http.delete(f"/api/keys/{created['id']}")).status_code == 200
        assert await closed_with(ws) == (1008, "API key revoked")
        assert (await command(other, "pong", type="ping"))["type"] == "pong"


async def test_a_ticket_of_a_revoked_key_is_refused(live: LiveServer) -> None:
    created = await new_key(live, "read")
    issued = await ticket_for(live, created["key"])
    async with live.client() as http:
        await http.delete(f"/api/keys/{created['id']}")
    code, _ = await closed_with(await with_ticket(live, issued["ticket"]))
    assert code == 1008


async def test_a_ticket_resumes_with_after(live: LiveServer) -> None:
    async with await open_ws(live) as first:
        async with live.client() as http:
            await http.post("/api/sandbox/scan")
        event = await recv_type(first, "session_update")
    issued = await ticket_for(live, API_KEY)
    async with await with_ticket(live, issued["ticket"], after=event["id"] - 1) as ws:
        frame = await recv(ws)
        assert frame["id"] == event["id"]


async def test_a_revocation_whose_notice_was_lost_is_learnt_at_the_next_reload(tmp_path: Path) -> None:
    async with live_server(make_settings(tmp_path, key_refresh_interval=0.2)) as live:
        created = await new_key(live, "read")
        async with await open_ws(live, key=created["key"]) as ws:
            assert (await command(ws, "pong", type="ping"))["type"] == "pong"
            # Straight in the database, as another instance would when its notice never arrives.
            assert await live.gateway.storage.keys.delete(created["id"])
            assert await closed_with(ws) == (1008, "API key revoked")


async def test_a_key_expiring_while_connected_closes_its_socket(tmp_path: Path) -> None:
    async with live_server(make_settings(tmp_path, key_refresh_interval=0.2)) as live:
        created = await new_key(live, "read", expiresAt=(utcnow() + timedelta(hours=1)).isoformat())
        async with await open_ws(live, key=created["key"]) as ws:
            assert (await command(ws, "pong", type="ping"))["type"] == "pong"
            # Its expiry comes while the socket is open (moved forward in the database, not waited for).
            async with live.gateway.storage.engine.begin() as conn:
                await conn.execute(update(api_keys).values(expires_at=utcnow() - timedelta(seconds=1)))
            assert await closed_with(ws) == (1008, "API key expired")


async def test_websocket_info_shows_a_limited_key_only_the_clients_within_its_sessions(live: LiveServer) -> None:
    async with live.client() as http:
        assert (await http.post("/api/sessions", json={"name": "shop", "engine": "sandbox"})).status_code == 201
    shop = (await new_key(live, "read", sessions=["shop"]))["key"]
    both = (await new_key(live, "read", sessions=["shop", "default"]))["key"]
    opened = [await with_ticket(live, (await ticket_for(live, key))["ticket"]) for key in (API_KEY, both, shop)]
    try:
        for ws in opened:
            assert (await command(ws, "pong", type="ping"))["type"] == "pong"

        async def seen_by(key: str) -> tuple[int, list[list[str]]]:
            async with live.client() as http:
                response = await http.get("/api/session/websocket/info", headers={"X-API-Key": key})
            assert response.status_code == 200, response.text
            data = response.json()["data"]
            return data["clients"], [c["sessions"] for c in data["clientsInfo"]]

        assert (await seen_by(API_KEY))[0] == 3
        assert (await seen_by(both))[0] == 2  # its own and the shop key's: not the gateway key's
        assert await seen_by(shop) == (1, [["all"]])  # only its own client, subscribed to all it may see
    finally:
        for ws in opened:
            await ws.close()
