"""/ws: authentication, every command, and malformed frames (over a real socket)."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError
from websockets.asyncio.client import ClientConnection
from websockets.exceptions import ConnectionClosed
from websockets.frames import Close

from tests.conftest import API_KEY, LiveServer, eventually, live_server, make_settings
from tests.ws_client import command, no_frame, open_ws, recv, recv_type, send


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


async def closing_frame(ws: ClientConnection) -> Close:
    """The close frame the gateway ends `ws` with, whatever came before it."""
    with pytest.raises(ConnectionClosed) as closed:
        while True:
            await recv(ws)
    assert closed.value.rcvd is not None
    return closed.value.rcvd


async def test_one_key_may_hold_ws_per_key_websockets_and_one_more_is_closed_with_1008(tmp_path: Path) -> None:
    async with live_server(make_settings(tmp_path, ws_per_key=2)) as live, live.client() as http:
        first, second = await open_ws(live), await open_ws(live)
        refused = await closing_frame(await open_ws(live))
        assert refused.code == 1008
        assert refused.reason == "too many WebSockets open with this API key (at most 2); close one first"
        ticket = (await http.post("/api/session/websocket/ticket")).json()["data"]["ticket"]
        assert (await closing_frame(await open_ws(live, key=None, ticket=ticket))).code == 1008  # its key's count
        other = (await http.post("/api/keys", json={"name": "other", "scopes": ["read"]})).json()["data"]["key"]
        async with await open_ws(live, key=other) as ws:  # another key has its own count
            assert (await command(ws, "pong", type="ping"))["type"] == "pong"
        await first.close()
        async with await open_ws(live) as ws:  # a closed one frees its place
            assert (await command(ws, "pong", type="ping"))["type"] == "pong"
        await second.close()


async def test_commands_beyond_the_rate_are_dropped_with_rate_limited_and_the_connection_kept(tmp_path: Path) -> None:
    async with live_server(make_settings(tmp_path, ws_command_rate="3/minute")) as live, live.client() as http, \
            await open_ws(live) as ws:
        for _ in range(5):
            await send(ws, type="ping")
        answers: list[dict[str, Any]] = []
        while len(answers) < 5:
            frame = await recv(ws)
            if frame["type"] in ("pong", "error"):
                answers.append(frame)
        assert [frame["type"] for frame in answers] == ["pong", "pong", "pong", "error", "error"]
        assert answers[3]["error"] == {
            "code": "rate_limited",
            "message": "too many commands on this connection (at most 3/minute); this one was dropped"}
        await http.post("/api/sandbox/scan")
        assert (await recv_type(ws, "session_update"))["session"] == "default"  # still open, events still come


@pytest.mark.parametrize(("name", "value"), [("ws_per_key", -1), ("ws_command_rate", "fast"),
                                             ("ws_command_rate", "0/second")])
def test_impossible_websocket_limits_are_refused(tmp_path: Path, name: str, value: object) -> None:
    with pytest.raises(ValidationError):
        make_settings(tmp_path, **{name: value})
