"""A message's life after it arrives, through the sandbox's HTTP routes: messages written on the account's
own phone, edits (the log keeps the earlier text), deletions for everyone, contact lists and button replies,
and the `message_edited` / `message_revoked` events."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from tests.conftest import Harness, LiveServer
from tests.ws_client import command, open_ws, recv_type
from waqtor.engines.base import MessageIn

CONTACT = "4915100000001"
CHAT = f"{CONTACT}@s.whatsapp.net"
CARD = "BEGIN:VCARD\nVERSION:3.0\nFN:Omar\nTEL;type=CELL;waid=4915100000002:+4915100000002\nEND:VCARD"


async def inbound(gw: Harness, status: int = 200, **body: Any) -> dict[str, Any]:
    response = await gw.client.post("/api/sandbox/inbound", json={"from": CONTACT} | body)
    assert response.status_code == status, response.text
    return response.json()  # type: ignore[no-any-return]


async def logged(gw: Harness, wa_id: str) -> dict[str, Any]:
    rows = (await gw.client.get("/api/messages")).json()["data"]["messages"]
    (row,) = [r for r in rows if r["waId"] == wa_id]
    return row  # type: ignore[no-any-return]


async def test_a_message_written_on_the_phone_is_logged_from_me_with_source_phone(gw: Harness) -> None:
    account = await gw.scan()
    sent = (await inbound(gw, body="on my way", fromMe=True))["data"]
    assert (sent["fromMe"], sent["kind"], sent["from"]) == (True, "message", f"{account['phone']}@s.whatsapp.net")
    row = await logged(gw, sent["id"])
    assert (row["direction"], row["fromMe"], row["source"], row["status"], row["chat"]) == (
        "out", True, "phone", "sent", CHAT)
    stats = (await gw.state())["stats"]
    assert (stats["messagesReceived"], stats["messagesSent"]) == (0, 0)


async def test_an_api_send_is_source_api_and_its_echo_from_whatsapp_is_not_logged_twice(gw: Harness) -> None:
    await gw.scan()
    response = await gw.client.post("/api/messages/send", json={"to": "+" + CONTACT, "text": "hello"})
    sent = response.json()["data"]
    assert (sent["fromMe"], sent["source"]) == (True, "api")
    engine = gw.gateway.sessions.get("default").engine
    echo = MessageIn(id=sent["waId"], chat=CHAT, sender="1@s.whatsapp.net", type="text", text="hello",
                     timestamp=datetime.now(UTC), from_me=True)
    await engine.ctx.emit(echo)
    rows = (await gw.client.get("/api/messages")).json()["data"]["messages"]
    assert [(r["waId"], r["source"]) for r in rows] == [(sent["waId"], "api")]


async def test_an_edit_replaces_the_text_and_the_log_keeps_the_earlier_ones(gw: Harness) -> None:
    await gw.scan()
    wa_id = (await inbound(gw, body="see you at 5"))["data"]["id"]
    first = (await inbound(gw, kind="edit", messageId=wa_id, body="see you at 6"))["data"]
    assert (first["id"], first["kind"], first["type"], first["body"]) == (wa_id, "edit", None, "see you at 6")
    await inbound(gw, kind="edit", messageId=wa_id, body="see you at 7")
    row = await logged(gw, wa_id)
    assert row["body"] == "see you at 7" and row["editedAt"] is not None
    assert [edit["body"] for edit in row["edits"]] == ["see you at 5", "see you at 6"]
    assert all(edit["replacedAt"] for edit in row["edits"])


async def test_a_revoke_marks_the_message_and_keeps_its_text(gw: Harness) -> None:
    await gw.scan()
    wa_id = (await inbound(gw, body="oops, wrong chat"))["data"]["id"]
    answer = (await inbound(gw, kind="revoke", messageId=wa_id))["data"]
    assert (answer["kind"], answer["from"], answer["body"]) == ("revoke", CHAT, None)
    row = await logged(gw, wa_id)
    assert (row["body"], row["revokedBy"]) == ("oops, wrong chat", CHAT) and row["revokedAt"] is not None


async def test_an_edit_or_revoke_must_name_a_message_the_sandbox_carried_from_that_side(gw: Harness) -> None:
    await gw.scan()
    wa_id = (await inbound(gw, body="mine to edit"))["data"]["id"]
    unknown = await inbound(gw, 404, kind="edit", messageId="3EB0NOSUCH", body="x")
    assert unknown["error"]["code"] == "message_not_found"
    # The contact wrote it: the account's phone cannot edit it.
    assert (await inbound(gw, 404, kind="revoke", messageId=wa_id, fromMe=True))["error"]["code"] == (
        "message_not_found")


async def test_inbound_refuses_what_does_not_fit_its_kind(gw: Harness) -> None:
    await gw.scan()
    cases = [
        ({"kind": "edit", "body": "x"}, "messageId"),
        ({"kind": "edit", "messageId": "3EB0A"}, "body"),
        ({"kind": "revoke", "messageId": "3EB0A", "body": "x"}, "body"),
        ({"body": "x", "messageId": "3EB0A"}, "messageId"),
        ({"contacts": [{"vcard": CARD}], "reply": {"id": "a", "title": "A"}}, "reply"),
        ({"kind": "undo", "body": "x"}, "kind"),
    ]
    for body, field in cases:
        error = (await inbound(gw, 422, **body))["error"]
        assert error["code"] == "validation_error" and field in error["message"], (body, error)
    assert (await inbound(gw, 400, contacts=[{"vcard": "not a card"}]))["error"]["code"] == "invalid_vcard"


async def test_a_contact_list_and_a_button_reply_are_logged_as_contact_and_reply(gw: Harness) -> None:
    await gw.scan()
    other = CARD.replace("Omar", "Lina").replace("4915100000002", "4915100000003")
    cards = (await inbound(gw, contacts=[{"vcard": CARD}, {"vcard": other}]))["data"]
    row = await logged(gw, cards["id"])
    assert (row["type"], row["body"], row["contact"]) == ("contact", "Omar", {"displayName": "Omar", "vcard": CARD})
    assert row["contacts"] == [{"displayName": "Omar", "vcard": CARD}, {"displayName": "Lina", "vcard": other}]
    tap = (await inbound(gw, reply={"id": "slot-7", "title": "Tuesday 10:00", "kind": "list"}))["data"]
    row = await logged(gw, tap["id"])
    assert (row["type"], row["body"]) == ("reply", "Tuesday 10:00")
    assert row["reply"] == {"id": "slot-7", "title": "Tuesday 10:00", "kind": "list", "description": None}


async def test_a_lid_contact_can_write_and_be_answered_as_it_is(gw: Harness) -> None:
    await gw.scan()
    lid = "215327923232839@lid"
    await inbound(gw, **{"from": lid, "body": "hi from a hidden number"})
    row = (await gw.client.get("/api/messages", params={"chat": lid})).json()["data"]["messages"][0]
    assert row["chat"] == row["from"] == lid
    answer = await gw.client.post("/api/messages/send", json={"to": row["chat"], "text": "hello"})
    assert answer.status_code == 200, answer.text
    assert answer.json()["data"]["chat"] == lid


async def test_edits_and_revokes_are_published_with_their_documented_shapes(live: LiveServer) -> None:
    async with live.client() as http, await open_ws(live) as ws:
        await http.post("/api/sandbox/scan")
        await command(ws, "subscribed", type="subscribe", events=["message_edited", "message_revoked"])
        wa_id = (await http.post("/api/sandbox/inbound", json={"from": CONTACT, "body": "v1"})).json()["data"]["id"]
        log_id = (await http.get("/api/messages")).json()["data"]["messages"][0]["id"]
        await http.post("/api/sandbox/inbound", json={"from": CONTACT, "kind": "edit", "messageId": wa_id,
                                                       "body": "v2"})
        edited = await recv_type(ws, "message_edited")
        data = edited["data"]
        assert set(data) == {"id", "waId", "session", "chat", "from", "fromMe", "body", "previousBody", "timestamp"}
        assert (data["id"], data["waId"], data["session"], data["chat"], data["from"], data["fromMe"]) == (
            log_id, wa_id, "default", CHAT, CHAT, False)
        assert (data["body"], data["previousBody"]) == ("v2", "v1")
        await http.post("/api/sandbox/inbound", json={"from": CONTACT, "kind": "revoke", "messageId": wa_id})
        revoked = (await recv_type(ws, "message_revoked"))["data"]
        assert set(revoked) == {"id", "waId", "session", "chat", "by", "fromMe", "timestamp"}
        assert (revoked["id"], revoked["waId"], revoked["by"], revoked["fromMe"]) == (log_id, wa_id, CHAT, False)
        info = (await http.get("/api/session/websocket/info")).json()["data"]
        assert {"message_edited", "message_revoked"} <= set(info["events"])
