"""Sending through the API on the sandbox: the answer, the log, the acks, and each refusal."""

from __future__ import annotations

import random
from datetime import UTC, datetime
from typing import Any

from tests.api.test_bad_input import assert_error
from tests.conftest import Harness, LiveServer, eventually
from tests.ws_client import command, open_ws, recv, recv_type
from waqtor.engines.base import MessageStatus
from waqtor.engines.sandbox import translate

TO = "+49 151 12345678"
JID = "4915112345678@s.whatsapp.net"


async def send(gw: Harness, **body: Any) -> dict[str, Any]:
    response = await gw.client.post("/api/messages/send", json={"to": TO, "text": "hello"} | body)
    assert response.status_code == 200, response.text
    return response.json()["data"]  # type: ignore[no-any-return]


async def message(gw: Harness, message_id: int) -> dict[str, Any]:
    response = await gw.client.get(f"/api/messages/{message_id}")
    assert response.status_code == 200, response.text
    return response.json()["data"]  # type: ignore[no-any-return]


async def test_a_send_answers_our_id_the_whatsapp_id_and_sent(data_dir) -> None:  # type: ignore[no-untyped-def]
    from tests.conftest import in_process, make_settings

    async with in_process(make_settings(data_dir, sandbox_ack_delay=60)) as gw:
        await gw.scan()
        data = await send(gw)
    assert isinstance(data["id"], int) and data["waId"] and data["status"] == "sent"
    assert data["direction"] == "out" and data["chat"] == JID and data["body"] == "hello"
    assert data["queuedAt"] and data["sentAt"]


async def test_a_message_sent_on_the_sandbox_is_acked_in_order_until_read(live: LiveServer) -> None:
    async with live.client() as http, await open_ws(live) as ws:
        await http.post("/api/sandbox/scan")
        await command(ws, "subscribed", type="subscribe", events=["message", "message_ack"])
        sent = (await http.post("/api/messages/send", json={"to": TO, "text": "hi"})).json()["data"]
        first = await recv(ws)
        assert first["type"] == "message"
        assert first["data"]["id"] == sent["id"] and first["data"]["direction"] == "out"
        assert first["data"]["status"] == "queued"
        acks = [await recv(ws) for _ in range(3)]
        assert [a["type"] for a in acks] == ["message_ack"] * 3
        assert [(a["data"]["previous"], a["data"]["status"]) for a in acks] == [
            ("queued", "sent"), ("sent", "delivered"), ("delivered", "read")]
        assert {(a["data"]["id"], a["data"]["waId"], a["session"]) for a in acks} == {
            (sent["id"], sent["waId"], "default")}
        logged = (await http.get(f"/api/messages/{sent['id']}")).json()["data"]
        assert logged["status"] == "read"
        assert logged["sentAt"] <= logged["deliveredAt"] <= logged["readAt"]
        assert acks[-1]["data"]["timestamp"] == logged["readAt"]


async def test_a_late_ack_does_not_move_a_message_back(gw: Harness) -> None:
    await gw.scan()
    sent = await send(gw)
    await eventually(lambda: _status(gw, sent["id"], "read"), what="read")
    engine = gw.gateway.sessions.get("default").engine
    subscription = gw.gateway.bus.subscribe()
    await engine.ctx.emit(MessageStatus(sent["waId"], "delivered", datetime.now(UTC)))
    await engine.ctx.emit(MessageStatus(sent["waId"], "read", datetime.now(UTC)))
    assert (await message(gw, sent["id"]))["status"] == "read"
    assert subscription.pending() == 0  # no message_ack for either


async def _status(gw: Harness, message_id: int, status: str) -> bool:
    return (await message(gw, message_id))["status"] == status


async def test_an_ack_that_beats_the_end_of_the_send_is_applied_when_the_id_is_logged(gw: Harness) -> None:
    await gw.scan()
    engine = gw.gateway.sessions.get("default").engine
    engine._rng = random.Random(7)  # so the sandbox's next WhatsApp id is known in advance
    upcoming = translate.message_id(random.Random(7))
    await gw.gateway.messages.acknowledge("default", MessageStatus(upcoming, "read", datetime.now(UTC)))
    sent = await send(gw)
    assert sent["waId"] == upcoming
    assert sent["status"] == "read"


async def test_an_ack_that_arrives_while_the_send_is_being_marked_sent_is_applied(  # type: ignore[no-untyped-def]
    gw: Harness, monkeypatch
) -> None:
    # The send marks the message sent before it takes the session's lock: an ack that comes in while
    # that write is under way finds no message yet, and must be kept and applied, not lost.
    await gw.scan()
    repo = gw.gateway.storage.messages
    mark_sent = repo.mark_sent

    async def ack_first(message_id: int, wa_id: str, at: datetime, session: str | None = None) -> bool:
        await gw.gateway.messages.acknowledge("default", MessageStatus(wa_id, "read", datetime.now(UTC)))
        return await mark_sent(message_id, wa_id, at, session)

    monkeypatch.setattr(repo, "mark_sent", ack_first)
    sent = await send(gw)
    assert sent["status"] == "read"
    assert (await message(gw, sent["id"]))["status"] == "read"


async def test_sending_on_a_session_that_is_not_ready_is_409_at_once(gw: Harness) -> None:
    response = await gw.client.post("/api/messages/send", json={"to": TO, "text": "hi"})
    assert_error(response, 409, "session_not_ready")
    assert "qr" in response.json()["error"]["message"]
    assert (await gw.client.get("/api/messages")).json()["data"]["messages"] == []


async def test_sending_on_an_unknown_session_is_404(gw: Harness) -> None:
    await gw.scan()
    response = await gw.client.post("/api/messages/send", json={"to": TO, "text": "hi", "session": "nope"})
    assert_error(response, 404, "session_not_found")


async def test_an_impossible_number_is_400_invalid_phone_with_the_reason(gw: Harness) -> None:
    await gw.scan()
    response = await gw.client.post("/api/messages/send", json={"to": "+44 20", "text": "hi"})
    assert_error(response, 400, "invalid_phone")
    assert response.json()["error"]["details"]["reason"] == "too_short"


async def test_a_local_number_uses_the_default_region(data_dir) -> None:  # type: ignore[no-untyped-def]
    from tests.conftest import in_process, make_settings

    async with in_process(make_settings(data_dir, default_region="DE")) as gw:
        await gw.scan()
        assert (await send(gw, to="0151 12345678"))["chat"] == JID


async def test_variables_fill_the_text(gw: Harness) -> None:
    await gw.scan()
    data = await send(gw, text="Hi {name}, this is for {phone}", variables={"name": "Ana"})
    assert data["body"] == "Hi Ana, this is for +4915112345678"


async def test_a_variable_without_value_refuses_the_send_and_logs_nothing(gw: Harness) -> None:
    await gw.scan()
    response = await gw.client.post("/api/messages/send", json={
        "to": TO, "text": "Hi {name} from {city}", "variables": {"name": " "}})
    assert_error(response, 400, "missing_variables")
    assert response.json()["error"]["details"] == {"missing": ["name", "city"]}
    assert (await gw.client.get("/api/messages")).json()["data"]["messages"] == []


async def test_a_variable_that_is_not_valid_unicode_is_422(gw: Harness) -> None:
    await gw.scan()
    body = b'{"to": "+4915112345678", "text": "{a}", "variables": {"a": "\\ud800"}}'
    response = await gw.client.post("/api/messages/send", content=body, headers={"content-type": "application/json"})
    assert_error(response, 422, "validation_error")


async def test_without_variables_braces_are_sent_as_written(gw: Harness) -> None:
    await gw.scan()
    assert (await send(gw, text="{not a template}"))["body"] == "{not a template}"


async def test_a_reply_quotes_a_logged_message(gw: Harness) -> None:
    await gw.scan()
    received = (await gw.client.post("/api/sandbox/inbound", json={"from": "4915112345678", "body": "q"})).json()
    logged = (await gw.client.get("/api/messages")).json()["data"]["messages"]
    quoted = next(message for message in logged if message["waId"] == received["data"]["id"])
    data = await send(gw, replyTo=received["data"]["id"])
    assert data["replyTo"] == {"id": quoted["id"], "waId": received["data"]["id"]}


async def test_a_reply_to_an_unknown_message_is_404(gw: Harness) -> None:
    await gw.scan()
    response = await gw.client.post("/api/messages/send", json={"to": TO, "text": "x", "replyTo": "NOPE"})
    assert_error(response, 404, "message_not_found")


async def test_a_location_is_sent_and_logged(gw: Harness) -> None:
    await gw.scan()
    response = await gw.client.post("/api/messages/send-location", json={
        "to": TO, "latitude": 25.1972, "longitude": 55.2744, "name": "Burj Khalifa", "address": "Dubai"})
    data = response.json()["data"]
    assert data["type"] == "location" and data["waId"] and data["status"] != "queued"
    assert data["location"] == {"latitude": 25.1972, "longitude": 55.2744, "name": "Burj Khalifa", "address": "Dubai"}


async def test_a_location_out_of_range_is_422(gw: Harness) -> None:
    response = await gw.client.post("/api/messages/send-location", json={"to": TO, "latitude": 91, "longitude": 0})
    assert_error(response, 422, "validation_error")


async def test_a_contact_card_is_built_from_name_and_phone(gw: Harness) -> None:
    await gw.scan()
    response = await gw.client.post("/api/messages/send-contact", json={
        "to": TO, "name": "Ana", "phone": "+971 50 123 4567"})
    contact = response.json()["data"]["contact"]
    assert contact["displayName"] == "Ana" and "waid=971501234567" in contact["vcard"]


async def test_a_contact_card_may_be_a_whole_vcard(gw: Harness) -> None:
    await gw.scan()
    card = "BEGIN:VCARD\nVERSION:3.0\nFN:Support Desk\nTEL:+12015550123\nEND:VCARD"
    response = await gw.client.post("/api/messages/send-contact", json={"to": TO, "vcard": card})
    assert response.json()["data"]["contact"] == {"displayName": "Support Desk", "vcard": card}


async def test_a_malformed_vcard_is_400(gw: Harness) -> None:
    await gw.scan()
    response = await gw.client.post("/api/messages/send-contact", json={"to": TO, "vcard": "FN:x"})
    assert_error(response, 400, "invalid_vcard")


async def test_a_contact_needs_a_vcard_or_name_and_phone(gw: Harness) -> None:
    response = await gw.client.post("/api/messages/send-contact", json={"to": TO, "name": "Ana"})
    assert_error(response, 422, "validation_error")


async def set_contact(gw: Harness, **body: Any) -> dict[str, Any]:
    response = await gw.client.post("/api/sandbox/contacts", json={"phone": TO} | body)
    assert response.status_code == 200, response.text
    return response.json()["data"]  # type: ignore[no-any-return]


async def test_a_number_not_on_whatsapp_is_refused_and_logged_failed(gw: Harness) -> None:
    await gw.scan()
    await set_contact(gw, onWhatsApp=False)
    response = await gw.client.post("/api/messages/send", json={"to": TO, "text": "hi"})
    assert_error(response, 400, "not_on_whatsapp")
    logged = await message(gw, response.json()["error"]["details"]["id"])
    assert logged["status"] == "failed" and logged["error"].startswith("not_on_whatsapp")


async def test_an_engine_refusal_is_502_and_the_message_is_logged_failed(gw: Harness) -> None:
    await gw.scan()
    await set_contact(gw, fail="send", error="blocked by the recipient")
    response = await gw.client.post("/api/messages/send", json={"to": TO, "text": "hi"})
    assert_error(response, 502, "send_failed")
    details = response.json()["error"]["details"]
    logged = await message(gw, details["id"])
    assert details["status"] == logged["status"] == "failed"
    assert logged["error"] == "send_failed: blocked by the recipient" and logged["failedAt"]


async def test_a_failed_delivery_arrives_as_a_failed_ack(gw: Harness) -> None:
    await gw.scan()
    await set_contact(gw, fail="delivery", error="undeliverable")
    sent = await send(gw)
    assert sent["waId"]  # WhatsApp accepted it; the failure comes later
    await eventually(lambda: _status(gw, sent["id"], "failed"), what="failed")
    assert (await message(gw, sent["id"]))["error"] == "undeliverable"


async def test_a_contact_that_never_reads_stops_at_delivered(gw: Harness) -> None:
    await gw.scan()
    await set_contact(gw, reads=False, reply="got it")
    sent = await send(gw)
    # The sandbox replies after the read it would have sent: once the reply is in, no read is coming.
    await eventually(lambda: _has_reply(gw, "got it"), what="the reply")
    assert (await message(gw, sent["id"]))["status"] == "delivered"


async def _has_reply(gw: Harness, text: str) -> bool:
    found = (await gw.client.get("/api/messages", params={"direction": "in", "q": text})).json()
    return len(found["data"]["messages"]) == 1


async def test_a_voice_note_or_video_is_played_after_read(gw: Harness) -> None:
    from tests.messaging.samples import sample

    await gw.scan()
    response = await gw.client.post("/api/messages/send-media", data={"to": TO},
                                    files={"file": ("note.ogg", sample("ogg", 500))})
    sent = response.json()["data"]
    assert sent["type"] == "audio"
    await eventually(lambda: _status(gw, sent["id"], "played"), what="played")
    logged = await message(gw, sent["id"])
    assert logged["readAt"] <= logged["playedAt"]


async def test_is_on_whatsapp_answers_for_each_number(gw: Harness) -> None:
    await gw.scan()
    other = await set_contact(gw, phone="+971 50 123 4567", onWhatsApp=False)
    engine = gw.gateway.sessions.get("default").engine
    assert await engine.is_on_whatsapp([JID, other["jid"]]) == {JID: True, other["jid"]: False}


async def test_a_ws_client_sees_the_reply_of_a_contact(live: LiveServer) -> None:
    async with live.client() as http, await open_ws(live) as ws:
        await http.post("/api/sandbox/scan")
        await http.post("/api/sandbox/contacts", json={"phone": TO, "reply": "Thanks!"})
        await command(ws, "subscribed", type="subscribe", events=["message"])
        await http.post("/api/messages/send", json={"to": TO, "text": "hi"})
        outgoing = await recv_type(ws, "message")
        reply = await recv_type(ws, "message")
        assert outgoing["data"]["direction"] == "out"
        assert reply["data"]["direction"] == "in" and reply["data"]["body"] == "Thanks!"
        assert reply["data"]["from"] == JID and reply["data"]["status"] == "received"


SEND_ROUTES = ["/api/messages/send", "/api/messages/send-location", "/api/messages/send-contact",
               "/api/messages/send-media"]


async def test_malformed_json_on_every_send_route_is_400_invalid_json(gw: Harness) -> None:
    for path in SEND_ROUTES:
        response = await gw.client.post(path, content=b"{nope", headers={"content-type": "application/json"})
        assert_error(response, 400, "invalid_json")


async def test_unknown_fields_on_every_send_route_are_422(gw: Harness) -> None:
    for path in SEND_ROUTES:
        response = await gw.client.post(path, json={"to": TO, "surprise": 1})
        assert_error(response, 422, "validation_error")
        assert any(d["field"] == "surprise" for d in response.json()["error"]["details"]), path


async def test_the_answer_to_a_send_is_the_message_as_logged(data_dir) -> None:  # type: ignore[no-untyped-def]
    from tests.conftest import in_process, make_settings

    async with in_process(make_settings(data_dir, sandbox_ack_delay=60)) as gw:
        await gw.scan()
        for body in ({"text": "plain"}, {"text": "Hi {name}", "variables": {"name": "Ada"}}):
            data = await send(gw, **body)
            assert data == await message(gw, data["id"])
        response = await gw.client.post("/api/messages/send-location",
                                        json={"to": TO, "latitude": 52.52, "longitude": 13.405, "name": "Berlin"})
        assert response.status_code == 200, response.text
        data = response.json()["data"]
        assert data["location"]["name"] == "Berlin" and data == await message(gw, data["id"])


async def test_an_ack_never_moves_back_a_message_another_writer_moved_on(data_dir) -> None:  # type: ignore[no-untyped-def]
    from tests.conftest import in_process, make_settings

    async with in_process(make_settings(data_dir, sandbox_ack_delay=60)) as gw:
        await gw.scan()
        sent = await send(gw)
        # Moved to read behind the message service's back (as another writer would), after it sent it.
        assert await gw.gateway.storage.messages.move(sent["id"], "sent", "read", datetime.now(UTC))
        engine = gw.gateway.sessions.get("default").engine
        subscription = gw.gateway.bus.subscribe()
        await engine.ctx.emit(MessageStatus(sent["waId"], "delivered", datetime.now(UTC)))
        assert (await message(gw, sent["id"]))["status"] == "read"
        assert subscription.pending() == 0
        await engine.ctx.emit(MessageStatus(sent["waId"], "played", datetime.now(UTC)))
        assert (await message(gw, sent["id"]))["status"] == "played"
        ack = (await subscription.get()).data
        assert (ack["previous"], ack["status"]) == ("read", "played")
