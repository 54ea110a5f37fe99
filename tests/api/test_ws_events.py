"""/ws events: live delivery to many clients, resume without loss or duplicates, slow and dead clients."""

from __future__ import annotations

import asyncio
import base64
import os

import pytest
from websockets.exceptions import ConnectionClosed

from tests.conftest import LiveServer, eventually, live_server, make_settings
from tests.ws_client import command, no_frame, open_ws, recv, recv_type, send


async def test_scan_publishes_session_updates_through_to_connected(live: LiveServer) -> None:
    async with live.client() as http, await open_ws(live) as ws:
        await command(ws, "subscribed", type="subscribe", events=["session_update"])
        await http.post("/api/sandbox/scan")
        statuses = []
        while "connected" not in statuses:
            frame = await recv_type(ws, "session_update")
            statuses.append(frame["data"]["status"])
            assert isinstance(frame["id"], int) and isinstance(frame["timestamp"], int)
            assert frame["session"] == "default"
        assert statuses[-2:] == ["authenticated", "connected"]
        assert frame["data"] == (await http.get("/api/session/state")).json()["data"] | {
            "uptime": frame["data"]["uptime"], "lastUpdate": frame["data"]["lastUpdate"]}


async def test_every_new_qr_is_published(data_dir) -> None:  # type: ignore[no-untyped-def]
    async with live_server(make_settings(data_dir, sandbox_qr_interval=0.1)) as live, await open_ws(live) as ws:
        await command(ws, "subscribed", type="subscribe", events=["qr_code"])
        first = await recv_type(ws, "qr_code")
        second = await recv_type(ws, "qr_code")
        assert first["data"]["hasQR"] is True and second["data"]["hasQR"] is True
        assert first["data"]["qr"] != second["data"]["qr"]
        assert second["id"] > first["id"]
        assert second["data"]["expiresAt"]


async def test_an_inbound_message_is_published_as_message(live: LiveServer) -> None:
    async with live.client() as http, await open_ws(live) as ws:
        await http.post("/api/sandbox/scan")
        await command(ws, "subscribed", type="subscribe", events=["message"])
        await http.post("/api/sandbox/inbound", json={"from": "4915100000001", "body": "hello there"})
        frame = await recv_type(ws, "message")
        assert frame["data"]["direction"] == "in"
        assert frame["data"]["body"] == "hello there"
        assert frame["data"]["from"] == "4915100000001@s.whatsapp.net"


async def test_subscriptions_filter_what_a_client_receives(live: LiveServer) -> None:
    async with live.client() as http, await open_ws(live) as ws:
        await command(ws, "subscribed", type="subscribe", events=["message"])
        await http.post("/api/sandbox/scan")  # only session_update events
        assert await no_frame(ws, 0.3)


async def test_many_clients_each_get_every_event(live: LiveServer) -> None:
    clients = [await open_ws(live) for _ in range(25)]
    try:
        for ws in clients:
            await command(ws, "subscribed", type="subscribe", events=["message"])
        async with live.client() as http:
            await http.post("/api/sandbox/scan")
            for n in range(10):
                await http.post("/api/sandbox/inbound", json={"from": "4915100000001", "body": f"m{n}"})
        for ws in clients:
            bodies = [(await recv_type(ws, "message"))["data"]["body"] for _ in range(10)]
            assert bodies == [f"m{n}" for n in range(10)]
    finally:
        for ws in clients:
            await ws.close()


async def test_reconnect_with_after_resumes_without_gap_or_duplicate(live: LiveServer) -> None:
    bus = live.gateway.bus
    async with await open_ws(live) as ws:
        await command(ws, "subscribed", type="subscribe", events=["campaign"])
        await bus.publish("campaign", {"n": 0})
        last = (await recv_type(ws, "campaign"))["id"]
    for n in range(1, 6):
        await bus.publish("campaign", {"n": n})
    await bus.publish("qr_code", {"hasQR": False})  # not wanted after resubscribing
    async with await open_ws(live, after=last) as ws:
        # A new connection starts with "all"; the replay holds every kept event after `last`.
        frames = []
        while True:
            frame = await recv(ws)
            if frame["type"] == "resumed":
                break
            frames.append(frame)
        campaign = [f["data"]["n"] for f in frames if f["type"] == "campaign"]
        assert campaign == [1, 2, 3, 4, 5]
        ids = [f["id"] for f in frames]
        assert ids == sorted(set(ids)) and ids[0] > last
        await bus.publish("campaign", {"n": 6})
        live_frame = await recv_type(ws, "campaign")
        assert live_frame["data"]["n"] == 6


async def test_resume_command_replays_only_subscribed_events_then_live(live: LiveServer) -> None:
    bus = live.gateway.bus
    start = await bus.last_id()
    async with await open_ws(live) as ws:
        await command(ws, "subscribed", type="subscribe", events=["campaign"])
        for n in range(3):
            await bus.publish("campaign", {"n": n})
            await bus.publish("message", {"n": n})
        for n in range(3):
            assert (await recv_type(ws, "campaign"))["data"]["n"] == n
        await ws.send(f'{{"type": "resume", "after": {start}}}')
        replay = []
        while True:
            frame = await recv(ws)
            if frame["type"] == "resumed":
                break
            replay.append(frame)
        assert [(f["type"], f["data"]["n"]) for f in replay] == [("campaign", 0), ("campaign", 1), ("campaign", 2)]
        assert frame["replayed"] == 3
        await bus.publish("campaign", {"n": 3})
        assert (await recv_type(ws, "campaign"))["data"]["n"] == 3
        assert await no_frame(ws, 0.2)


async def test_events_published_during_a_replay_are_neither_lost_nor_doubled(live: LiveServer) -> None:
    bus = live.gateway.bus
    start = await bus.last_id()
    for n in range(500):
        await bus.publish("campaign", {"n": n})

    async def publish_more() -> None:
        for n in range(500, 700):
            await bus.publish("campaign", {"n": n})
            await asyncio.sleep(0)

    async with await open_ws(live, after=start) as ws:
        publisher = asyncio.create_task(publish_more())
        seen = []
        while len(seen) < 700:
            frame = await recv(ws)
            if frame["type"] == "campaign":
                seen.append(frame["data"]["n"])
        await publisher
        assert seen == list(range(700))


async def test_a_resume_while_one_runs_is_refused_with_resume_in_progress(data_dir) -> None:  # type: ignore[no-untyped-def]
    async with live_server(make_settings(data_dir, ws_send_queue=8)) as live:
        bus = live.gateway.bus
        start = await bus.last_id()
        pad = base64.b64encode(os.urandom(48_000)).decode()
        total = 50  # 3.2 MB: more than the socket buffers hold, so the first replay waits for the client
        for n in range(total):
            await bus.publish("campaign", {"n": n, "pad": pad})
        from websockets.asyncio.client import connect

        # This client takes one frame off the socket, then nothing until both resumes are sent.
        async with connect(live.ws + "?apiKey=test-key-0123456789abcdef", compression=None, max_queue=1,
                           max_size=None) as ws:
            await send(ws, type="resume", after=start)
            await send(ws, type="resume", after=start)
            replayed, resumed, errors = [], [], []
            while not (resumed and errors):
                frame = await recv(ws, 10)
                if frame["type"] == "campaign":
                    replayed.append(frame["data"]["n"])
                elif frame["type"] == "resumed":
                    resumed.append(frame)
                elif frame["type"] == "error":
                    errors.append(frame["error"])
            assert await no_frame(ws, 0.3)
        assert replayed == list(range(total)) and [f["replayed"] for f in resumed] == [total]
        assert errors == [{"code": "resume_in_progress",
                           "message": "a resume is already running on this connection; wait for its `resumed` frame"}]


async def test_resume_from_an_id_no_longer_kept_is_a_replay_gap(data_dir) -> None:  # type: ignore[no-untyped-def]
    async with live_server(make_settings(data_dir, ws_replay=5)) as live:
        bus = live.gateway.bus
        old = await bus.last_id()
        for n in range(20):
            await bus.publish("campaign", {"n": n})
        newest = await bus.last_id()
        async with await open_ws(live, after=old) as ws:
            frame = await recv_type(ws, "error")
            assert frame["error"]["code"] == "replay_gap"
            assert frame["error"]["oldest"] == newest - 4
            assert str(newest - 4) in frame["error"]["message"]
            await bus.publish("campaign", {"n": "live"})
            assert (await recv_type(ws, "campaign"))["data"]["n"] == "live"


async def test_a_client_that_stops_reading_is_closed_with_1013_and_others_keep_up(data_dir) -> None:  # type: ignore[no-untyped-def]
    async with live_server(make_settings(data_dir, ws_send_queue=8)) as live:
        bus = live.gateway.bus
        from websockets.asyncio.client import connect

        # This client buffers at most one frame and then stops reading from the socket.
        slow = await connect(live.ws + "?apiKey=test-key-0123456789abcdef", compression=None,
                             max_queue=1, max_size=None)
        fast = await open_ws(live)
        await command(fast, "subscribed", type="subscribe", events=["campaign"])
        pad = base64.b64encode(os.urandom(48_000)).decode()
        total = 400
        received = 0
        for n in range(total):
            await bus.publish("campaign", {"n": n, "pad": pad})
            while True:  # the fast client reads everything as it comes
                try:
                    await asyncio.wait_for(fast.recv(), 0.001 if received < n else 5)
                except TimeoutError:
                    break
                received += 1
                if received > n:
                    break
        while received < total:
            await recv_type(fast, "campaign")
            received += 1
        assert received == total
        await eventually(lambda: live.gateway.bridge.dropped == 1, timeout=10, what="slow client dropped")
        with pytest.raises(ConnectionClosed) as closed:
            while True:
                await asyncio.wait_for(slow.recv(), 10)
        assert closed.value.rcvd is not None and closed.value.rcvd.code == 1013
        assert "after=" in closed.value.rcvd.reason
        assert len(live.gateway.bridge.clients) == 1
        await fast.close()


async def test_a_client_that_stops_answering_pings_is_reaped(data_dir) -> None:  # type: ignore[no-untyped-def]
    settings = make_settings(data_dir, ws_ping_interval=0.2, ws_ping_timeout=0.3)
    async with live_server(settings) as live:
        # A raw socket: it completes the handshake and then never reads or answers anything.
        reader, writer = await asyncio.open_connection("127.0.0.1", live.port)
        key = base64.b64encode(os.urandom(16)).decode()
        writer.write(
            (f"GET /ws?apiKey=test-key-0123456789abcdef HTTP/1.1\r\nHost: 127.0.0.1:{live.port}\r\n"
             f"Upgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: {key}\r\n"
             "Sec-WebSocket-Version: 13\r\n\r\n").encode()
        )
        assert (await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 5)).startswith(b"HTTP/1.1 101")
        try:
            await eventually(lambda: len(live.gateway.bridge.clients) == 1, what="client registered")
            async with live.client() as http:
                await eventually(lambda: len(live.gateway.bridge.clients) == 0, timeout=5, what="dead client reaped")
                info = (await http.get("/api/session/websocket/info")).json()["data"]
                assert info["clients"] == 0 and info["clientsInfo"] == []
        finally:
            writer.close()


async def test_a_live_client_answering_pings_stays_connected(data_dir) -> None:  # type: ignore[no-untyped-def]
    settings = make_settings(data_dir, ws_ping_interval=0.1, ws_ping_timeout=0.3)
    async with live_server(settings) as live, await open_ws(live) as ws:
        await asyncio.sleep(1.0)
        assert (await command(ws, "pong", type="ping"))["type"] == "pong"
        assert len(live.gateway.bridge.clients) == 1


async def test_shutdown_closes_clients_with_going_away(data_dir) -> None:  # type: ignore[no-untyped-def]
    async with live_server(make_settings(data_dir)) as live:
        ws = await open_ws(live)
        await command(ws, "pong", type="ping")
        live.server.should_exit = True
        with pytest.raises(ConnectionClosed) as closed:
            while True:
                await asyncio.wait_for(ws.recv(), 10)
        assert closed.value.rcvd is not None and closed.value.rcvd.code in (1001, 1012)
