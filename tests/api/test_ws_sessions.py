"""/ws with several sessions: per-session subscriptions and the `session` field of get_state and get_qr."""

from __future__ import annotations

from tests.conftest import LiveServer, eventually
from tests.ws_client import command, open_ws, recv_type


async def _two_sessions(live: LiveServer) -> None:
    async with live.client() as http:
        for name in ("shop", "support"):
            response = await http.post("/api/sessions", json={"name": name, "engine": "sandbox"})
            assert response.status_code == 201, response.text
    for name in ("shop", "support"):
        await eventually(lambda n=name: live.gateway.sessions.get(n).monitor.state.has_qr, what=f"{name}'s QR")


async def test_a_client_subscribed_to_one_session_gets_only_its_events(live: LiveServer) -> None:
    await _two_sessions(live)
    async with live.client() as http, await open_ws(live) as ws:
        reply = await command(ws, "subscribed", type="subscribe", events=["session_update"], sessions=["support"])
        assert reply["sessions"] == ["support"]
        await http.post("/api/sandbox/scan", json={"session": "shop"})
        await http.post("/api/sandbox/scan", json={"session": "support"})
        frame = await recv_type(ws, "session_update")
        while frame["data"]["status"] != "connected":
            assert frame["session"] == "support"
            frame = await recv_type(ws, "session_update")
        assert frame["session"] == "support" and frame["data"]["session"] == "support"


async def test_get_state_and_get_qr_name_the_session_they_answer_for(live: LiveServer) -> None:
    await _two_sessions(live)
    async with live.client() as http, await open_ws(live) as ws:
        await http.post("/api/sandbox/scan", json={"session": "shop"})
        state = await command(ws, "session_state", type="get_state", session="shop")
        assert state["session"] == "shop" and state["data"]["status"] == "connected"
        qr = await command(ws, "qr_code", type="get_qr", session="support")
        assert qr["session"] == "support" and qr["data"]["hasQR"] is True
        default = await command(ws, "session_state", type="get_state")
        assert default["session"] == "default"
        unknown = await command(ws, "error", type="get_state", session="nope")
        assert unknown["error"]["code"] == "session_not_found"


async def test_websocket_info_shows_each_client_s_sessions_and_the_session_usage(live: LiveServer) -> None:
    async with live.client() as http, await open_ws(live) as ws:
        await command(ws, "subscribed", type="subscribe", events=["qr_code"], sessions=["shop"])
        data = (await http.get("/api/session/websocket/info")).json()["data"]
        assert data["clientsInfo"][0]["sessions"] == ["shop"]
        usage = {c["type"]: c["example"] for c in data["usage"]["commands"]}
        assert usage["get_state"]["session"] == "default" and usage["get_qr"]["session"] == "default"
        assert usage["subscribe"]["sessions"] == ["default"]


async def test_deleting_a_session_tells_its_subscribers_with_session_deleted(live: LiveServer) -> None:
    await _two_sessions(live)
    async with live.client() as http, await open_ws(live) as shop, await open_ws(live) as support:
        await command(shop, "subscribed", type="subscribe", events=["session_deleted"], sessions=["shop"])
        await command(support, "subscribed", type="subscribe", events=["session_deleted"], sessions=["support"])
        assert (await http.delete("/api/sessions/shop")).status_code == 200
        frame = await recv_type(shop, "session_deleted")
        assert frame["session"] == "shop" and frame["data"] == {"session": "shop"} and frame["id"]
        # A client that follows only another session hears nothing of it.
        assert (await http.delete("/api/sessions/support")).status_code == 200
        assert (await recv_type(support, "session_deleted"))["session"] == "support"
