"""Presence (issue 18 item 6) on the sandbox: subscribing to a contact's presence, the account's own presence,
and `presence_update` events (a simulated contact online, offline and typing) on the WebSocket, live and
replayed on resume."""

from __future__ import annotations

from typing import Any

from tests.api.test_bad_input import assert_error
from tests.conftest import Harness, LiveServer
from tests.ws_client import command, open_ws, recv, recv_type
from waqtor.engines.sandbox.engine import SandboxEngine

CONTACT = "4915100000001"
CHAT = f"{CONTACT}@s.whatsapp.net"


def sandbox(gw: Harness) -> SandboxEngine:
    engine = gw.gateway.sessions.get("default").engine
    assert isinstance(engine, SandboxEngine)
    return engine


async def test_a_subscription_reaches_the_account_and_names_the_contact(gw: Harness) -> None:
    await gw.scan()
    answer = await gw.client.post("/api/contacts/+49 151 00000001/presence/subscribe")
    assert answer.status_code == 200, answer.text
    assert answer.json()["data"] == {"phone": "+4915100000001", "jid": CHAT, "subscribed": True}
    assert sandbox(gw).presence_subscriptions == {CHAT}


async def test_a_subscription_to_no_phone_number_or_a_number_without_whatsapp_is_400(gw: Harness) -> None:
    await gw.scan()
    assert_error(await gw.client.post("/api/contacts/120363000000000001@g.us/presence/subscribe"), 400,
                 "invalid_phone")
    contact = await gw.client.post("/api/sandbox/contacts", json={"phone": CONTACT, "onWhatsApp": False})
    assert contact.status_code == 200, contact.text
    assert_error(await gw.client.post(f"/api/contacts/{CONTACT}/presence/subscribe"), 400, "not_on_whatsapp")
    assert sandbox(gw).presence_subscriptions == set()


async def test_a_subscription_waits_for_the_session_to_be_connected(gw: Harness) -> None:
    assert_error(await gw.client.post(f"/api/contacts/{CONTACT}/presence/subscribe"), 409, "session_not_ready")
    assert_error(await gw.client.post(f"/api/contacts/{CONTACT}/presence/subscribe", params={"session": "nope"}),
                 404, "session_not_found")


async def test_the_accounts_own_presence_through_both_routes(gw: Harness) -> None:
    await gw.scan()
    online = await gw.client.post("/api/session/presence", json={"state": "available"})
    assert online.status_code == 200, online.text
    assert online.json()["data"] == {"session": "default", "state": "available"}
    assert sandbox(gw).own_presence == "available"
    offline = await gw.client.post("/api/sessions/default/presence", json={"state": "unavailable"})
    assert offline.json()["data"] == {"session": "default", "state": "unavailable"}
    assert sandbox(gw).own_presence == "unavailable"


async def test_an_own_presence_other_than_available_or_unavailable_is_refused(gw: Harness) -> None:
    await gw.scan()
    assert_error(await gw.client.post("/api/session/presence", json={"state": "typing"}), 422, "validation_error")
    assert_error(await gw.client.post("/api/session/presence", json={}), 422, "validation_error")
    assert sandbox(gw).own_presence is None


async def test_the_own_presence_waits_for_the_session_to_be_connected(gw: Harness) -> None:
    assert_error(await gw.client.post("/api/session/presence", json={"state": "available"}), 409,
                 "session_not_ready")
    assert_error(await gw.client.post("/api/sessions/nope/presence", json={"state": "available"}), 404,
                 "session_not_found")


async def test_the_sandbox_refuses_a_last_seen_for_a_contact_that_is_not_going_offline(gw: Harness) -> None:
    await gw.scan()
    answer = await gw.client.post("/api/sandbox/presence", json={"from": CONTACT, "state": "typing",
                                                                 "lastSeen": "2026-12-08T01:00:00Z"})
    assert_error(answer, 422, "validation_error")
    assert "lastSeen" in answer.json()["error"]["message"]
    assert_error(await gw.client.post("/api/sandbox/presence", json={"from": CONTACT, "state": "away"}), 422,
                 "validation_error")


async def test_a_contact_online_offline_and_typing_is_published_as_presence_update(live: LiveServer) -> None:
    async with live.client() as http, await open_ws(live) as ws:
        await http.post("/api/sandbox/scan")
        await command(ws, "subscribed", type="subscribe", events=["presence_update"], sessions=["default"])

        async def play(state: str, **body: Any) -> dict[str, Any]:
            answer = await http.post("/api/sandbox/presence", json={"from": f"+{CONTACT}", "state": state} | body)
            assert answer.status_code == 200, answer.text
            frame = await recv_type(ws, "presence_update")
            assert frame["session"] == "default"
            assert frame["data"]["timestamp"] == answer.json()["data"]["timestamp"]
            return frame["data"]  # type: ignore[no-any-return]

        online = await play("available")
        assert online.keys() == {"session", "chat", "from", "state", "lastSeen", "timestamp"}
        assert (online["session"], online["chat"], online["from"], online["state"], online["lastSeen"]) == (
            "default", CHAT, CHAT, "available", None)
        offline = await play("unavailable", lastSeen="2026-12-08T02:59:30.250+01:00")
        assert (offline["state"], offline["lastSeen"]) == ("unavailable", "2026-12-08T01:59:30.250Z")
        hidden = await play("unavailable")
        assert hidden["lastSeen"] is None
        assert [(await play(state))["state"] for state in ("typing", "recording", "paused")] == [
            "typing", "recording", "paused"]


async def test_presence_updates_are_replayed_on_resume(live: LiveServer) -> None:
    start = await live.gateway.bus.last_id()
    async with live.client() as http:
        await http.post("/api/sandbox/scan")
        for state in ("available", "typing"):
            answer = await http.post("/api/sandbox/presence", json={"from": CONTACT, "state": state})
            assert answer.status_code == 200, answer.text
    async with await open_ws(live) as ws:
        await command(ws, "subscribed", type="subscribe", events=["presence_update"])
        await ws.send(f'{{"type": "resume", "after": {start}}}')
        replay = []
        while (frame := await recv(ws))["type"] != "resumed":
            replay.append(frame)
    assert [(f["type"], f["data"]["from"], f["data"]["state"]) for f in replay] == [
        ("presence_update", CHAT, "available"), ("presence_update", CHAT, "typing")]
