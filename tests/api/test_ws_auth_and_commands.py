"""/ws: authentication, every command, and malformed frames (over a real socket)."""

from __future__ import annotations

import asyncio
import json

import pytest
from websockets.exceptions import ConnectionClosed

from tests.conftest import API_KEY, LiveServer, eventually
from tests.ws_client import command, no_frame, open_ws, recv, recv_type


@pytest.mark.parametrize(
    ("key", "headers"),
    [(None, None), ("wrong-key-wrong-key", None), (None, {"X-API-Key": "wrong-key-wrong-key"})],
    ids=["missing", "wrong-query", "wrong-header"],
)
async def test_a_refused_key_closes_with_1008_and_nothing_else(live: LiveServer, key, headers) -> None:  # type: ignore[no-untyped-def]
    ws = await open_ws(live, key=key, headers=headers)
    with pytest.raises(ConnectionClosed) as closed:
        await asyncio.wait_for(ws.recv(), 5)
    assert closed.value.rcvd is not None
    assert closed.value.rcvd.code == 1008
    assert "key" in closed.value.rcvd.reason.lower() and "refused" in closed.value.rcvd.reason.lower()
    assert live.gateway.bridge.clients == {}


async def test_the_key_works_in_the_header(live: LiveServer) -> None:
    async with await open_ws(live, key=None, headers={"X-API-Key": API_KEY}) as ws:
        assert (await command(ws, "pong", type="ping"))["type"] == "pong"


async def test_ping_answers_pong_with_a_timestamp(live: LiveServer) -> None:
    async with await open_ws(live) as ws:
        pong = await command(ws, "pong", type="ping")
        assert isinstance(pong["timestamp"], int) and pong["timestamp"] > 1_600_000_000_000


async def test_get_state_equals_the_rest_state(live: LiveServer) -> None:
    async with live.client() as http, await open_ws(live) as ws:
        await eventually(lambda: live.gateway.sessions.get("default").monitor.state.has_qr)
        rest = (await http.get("/api/session/state")).json()["data"]
        frame = await command(ws, "session_state", type="get_state")
        assert frame["data"] == rest
        assert isinstance(frame["timestamp"], int)


async def test_get_qr_answers_the_current_code(live: LiveServer) -> None:
    async with await open_ws(live) as ws:
        await eventually(lambda: live.gateway.sessions.get("default").monitor.state.has_qr)
        frame = await command(ws, "qr_code", type="get_qr")
        assert frame["data"]["hasQR"] is True
        assert frame["data"]["qr"] == live.gateway.sessions.get("default").monitor.state.qr_code


async def test_get_qr_when_linked_has_no_code(live: LiveServer) -> None:
    async with live.client() as http, await open_ws(live) as ws:
        await http.post("/api/sandbox/scan")
        frame = await command(ws, "qr_code", type="get_qr")
        assert frame["data"]["hasQR"] is False and frame["data"]["qr"] is None


async def test_subscribe_narrows_from_all_and_unsubscribe_removes(live: LiveServer) -> None:
    async with await open_ws(live) as ws:
        assert live.gateway.bridge.info()[0]["subscriptions"] == ["all"]
        frame = await command(ws, "subscribed", type="subscribe", events=["session_update", "qr_code"])
        assert frame["events"] == ["session_update", "qr_code"]
        frame = await command(ws, "unsubscribed", type="unsubscribe", events=["qr_code"])
        assert frame["events"] == ["session_update"]
        frame = await command(ws, "subscribed", type="subscribe", events=["all"])
        assert frame["events"] == ["all"]


async def test_subscribing_to_an_unknown_event_is_an_error_naming_it(live: LiveServer) -> None:
    async with await open_ws(live) as ws:
        frame = await command(ws, "error", type="subscribe", events=["session_update", "nonsense"])
        assert frame["error"]["code"] == "unknown_event"
        assert "nonsense" in frame["error"]["message"]
        assert live.gateway.bridge.info()[0]["subscriptions"] == ["all"]


@pytest.mark.parametrize(
    ("frame", "code"),
    [
        ("not json", "invalid_json"),
        ("[1, 2]", "invalid_command"),
        ('"ping"', "invalid_command"),
        ("{}", "invalid_command"),
        ('{"type": 5}', "invalid_command"),
        ('{"type": "explode"}', "unknown_command"),
        ('{"type": "subscribe"}', "invalid_field"),
        ('{"type": "subscribe", "events": "session_update"}', "invalid_field"),
        ('{"type": "subscribe", "events": [1]}', "invalid_field"),
        ('{"type": "subscribe", "events": []}', "invalid_field"),
        ('{"type": "resume"}', "invalid_field"),
        ('{"type": "resume", "after": "5"}', "invalid_field"),
        ('{"type": "resume", "after": -1}', "invalid_field"),
        ('{"type": "resume", "after": true}', "invalid_field"),
        ('{"type": "get_state", "session": 7}', "invalid_field"),
        ('{"type": "get_state", "session": "nope"}', "session_not_found"),
    ],
)
async def test_a_malformed_frame_gets_an_error_and_the_connection_stays_open(
    live: LiveServer, frame: str, code: str
) -> None:
    async with await open_ws(live) as ws:
        await ws.send(frame)
        reply = await recv_type(ws, "error")
        assert reply["error"]["code"] == code
        assert reply["error"]["message"]
        assert (await command(ws, "pong", type="ping"))["type"] == "pong"


@pytest.mark.parametrize(
    "frame",
    ["[" * 1000 + "]" * 1000, '{"type": "ping", "pad": ' + "[" * 1000 + "]" * 1000 + "}",
     '{"type": "resume", "after": ' + "9" * 5000 + "}"],
    ids=["nested-arrays", "nested-in-a-command", "huge-number"],
)
async def test_a_frame_the_parser_cannot_use_gets_invalid_json_and_the_next_command_its_answer(
        live: LiveServer, frame: str) -> None:
    async with await open_ws(live) as ws:
        await ws.send(frame)
        assert (await recv_type(ws, "error"))["error"]["code"] == "invalid_json"
        assert (await command(ws, "pong", type="ping"))["type"] == "pong"


async def test_a_binary_frame_is_an_error_and_the_connection_stays_open(live: LiveServer) -> None:
    async with await open_ws(live) as ws:
        await ws.send(b"\x00\x01")
        assert (await recv_type(ws, "error"))["error"]["code"] == "invalid_frame"
        assert (await command(ws, "pong", type="ping"))["type"] == "pong"


async def test_a_frame_over_64_kib_closes_with_1009(live: LiveServer) -> None:
    async with await open_ws(live) as ws:
        await ws.send(json.dumps({"type": "ping", "pad": "x" * 70_000}))
        with pytest.raises(ConnectionClosed) as closed:
            while True:
                await recv(ws)
        assert closed.value.rcvd is not None and closed.value.rcvd.code == 1009
    await eventually(lambda: live.gateway.bridge.clients == {}, what="client removed")


async def test_a_frame_just_under_the_limit_is_accepted(live: LiveServer) -> None:
    async with await open_ws(live) as ws:
        body = json.dumps({"type": "ping", "pad": ""})
        await ws.send(json.dumps({"type": "ping", "pad": "x" * (65_536 - len(body))}))
        assert (await recv_type(ws, "pong"))["type"] == "pong"


async def test_websocket_info_lists_clients_and_their_subscriptions(live: LiveServer) -> None:
    async with live.client() as http, await open_ws(live) as one, await open_ws(live) as two:
        await command(two, "subscribed", type="subscribe", events=["message"])
        body = (await http.get("/api/session/websocket/info")).json()
        data = body["data"]
        assert body["success"] is True
        assert data["endpoint"] == "/ws"
        assert data["url"] == f"ws://127.0.0.1:{live.port}/ws"
        assert data["authentication"] == "Required - use X-API-Key header or ?apiKey= query param"
        assert data["clients"] == 2
        by_subs = sorted(c["subscriptions"] for c in data["clientsInfo"])
        assert by_subs == [["all"], ["message"]]
        assert all(c["readyState"] == "OPEN" and c["authenticated"] is True for c in data["clientsInfo"])
        assert data["events"][:4] == ["session_update", "qr_code", "message", "campaign"] or \
            {"session_update", "qr_code", "message", "campaign"} <= set(data["events"])
        assert data["usage"]["connect"].endswith("/ws?apiKey=YOUR_API_KEY")
        assert {c["type"] for c in data["usage"]["commands"]} >= {"ping", "get_state", "get_qr", "subscribe"}
        await no_frame(one, 0.01)
