"""Editing and deleting a message through the API on the sandbox: `PATCH /api/messages/{id}` and
`DELETE /api/messages/{id}?for=everyone|me`, their refusals, and the `message_edited` / `message_revoked`
events they publish."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx

from tests.conftest import Harness, LiveServer, ShiftedClock, eventually, in_process, make_settings
from tests.ws_client import command, open_ws, recv_type

CONTACT = "4915100000001"
CHAT = f"{CONTACT}@s.whatsapp.net"


def error_code(response: httpx.Response, status: int) -> str:
    assert response.status_code == status, response.text
    body = response.json()
    assert body["success"] is False
    return str(body["error"]["code"])


async def send(client: httpx.AsyncClient, text: str = "see you at 5") -> dict[str, Any]:
    response = await client.post("/api/messages/send", json={"to": "+" + CONTACT, "text": text})
    assert response.status_code == 200, response.text
    return response.json()["data"]  # type: ignore[no-any-return]


async def test_an_edit_and_a_deletion_for_everyone_are_made_logged_and_published(live: LiveServer) -> None:
    async with live.client() as http, await open_ws(live) as ws:
        account = (await http.post("/api/sandbox/scan")).json()["data"]
        await command(ws, "subscribed", type="subscribe", events=["message_edited", "message_revoked"])
        sent = await send(http)
        edited = await http.patch(f"/api/messages/{sent['id']}", json={"text": "see you at 6"})
        assert edited.status_code == 200, edited.text
        row = edited.json()["data"]
        assert (row["id"], row["body"], [e["body"] for e in row["edits"]]) == (sent["id"], "see you at 6",
                                                                               ["see you at 5"])
        assert row["editedAt"] is not None
        event = (await recv_type(ws, "message_edited"))["data"]
        assert (event["id"], event["waId"], event["chat"], event["fromMe"]) == (sent["id"], sent["waId"], CHAT, True)
        assert (event["body"], event["previousBody"]) == ("see you at 6", "see you at 5")

        deleted = await http.delete(f"/api/messages/{sent['id']}", params={"for": "everyone"})
        assert deleted.status_code == 200, deleted.text
        data = deleted.json()["data"]
        assert (data["id"], data["for"]) == (sent["id"], "everyone")
        assert data["message"]["revokedAt"] is not None and data["message"]["body"] == "see you at 6"
        revoked = (await recv_type(ws, "message_revoked"))["data"]
        own = f"{account['phone']}@s.whatsapp.net"
        assert (revoked["id"], revoked["waId"], revoked["by"], revoked["fromMe"]) == (sent["id"], sent["waId"], own,
                                                                                     True)
        logged = (await http.get(f"/api/messages/{sent['id']}")).json()["data"]
        assert (logged["revokedAt"], logged["revokedBy"]) == (data["message"]["revokedAt"], own)


async def test_only_a_text_the_account_sent_and_still_has_can_be_edited(gw: Harness) -> None:
    await gw.scan()
    received = (await gw.client.post("/api/sandbox/inbound", json={"from": CONTACT, "body": "hi"})).json()["data"]
    await eventually(lambda: _logged(gw, received["id"]), what="inbound logged")
    rows = (await gw.client.get("/api/messages", params={"direction": "in"})).json()["data"]["messages"]
    answer = await gw.client.patch(f"/api/messages/{rows[0]['id']}", json={"text": "not mine"})
    assert error_code(answer, 409) == "message_not_editable"
    assert "it was received, not sent by the account" in answer.json()["error"]["message"]

    place = await gw.client.post("/api/messages/send-location",
                                 json={"to": CONTACT, "latitude": 52.52, "longitude": 13.405})
    answer = await gw.client.patch(f"/api/messages/{place.json()['data']['id']}", json={"text": "x"})
    assert error_code(answer, 409) == "message_not_editable"

    await gw.client.post("/api/sandbox/contacts", json={"phone": "4915100000009", "fail": "send"})
    failed = await gw.client.post("/api/messages/send", json={"to": "4915100000009", "text": "lost"})
    failed_id = failed.json()["error"]["details"]["id"]
    answer = await gw.client.patch(f"/api/messages/{failed_id}", json={"text": "x"})
    assert error_code(answer, 409) == "message_not_editable"
    answer = await gw.client.delete(f"/api/messages/{failed_id}", params={"for": "everyone"})
    assert error_code(answer, 409) == "message_not_deletable"

    sent = await send(gw.client)
    assert (await gw.client.delete(f"/api/messages/{sent['id']}", params={"for": "everyone"})).status_code == 200
    answer = await gw.client.patch(f"/api/messages/{sent['id']}", json={"text": "too late"})
    assert error_code(answer, 409) == "message_not_editable"
    assert "deleted for everyone" in answer.json()["error"]["message"]
    again = await gw.client.delete(f"/api/messages/{sent['id']}", params={"for": "everyone"})
    assert error_code(again, 409) == "message_not_deletable"


async def _logged(gw: Harness, wa_id: str) -> bool:
    rows = (await gw.client.get("/api/messages")).json()["data"]["messages"]
    return any(row["waId"] == wa_id for row in rows)


async def test_past_whatsapps_windows_edits_and_deletions_are_refused(data_dir: Path) -> None:
    clock = ShiftedClock()
    async with in_process(make_settings(data_dir), clock=clock) as gw:
        await gw.scan()
        sent = await send(gw.client)
        clock.offset = timedelta(minutes=16)
        answer = await gw.client.patch(f"/api/messages/{sent['id']}", json={"text": "late"})
        assert error_code(answer, 409) == "edit_window_passed"
        assert answer.json()["error"]["message"] == (
            f"message {sent['id']} can no longer be edited: WhatsApp allows it for 15 minutes after sending")
        clock.offset = timedelta(days=2, minutes=1)
        answer = await gw.client.delete(f"/api/messages/{sent['id']}", params={"for": "everyone"})
        assert error_code(answer, 409) == "delete_window_passed"
        assert answer.json()["error"]["message"] == (f"message {sent['id']} can no longer be deleted for "
                                                     f"everyone: WhatsApp allows it for 2 days after sending")
        row = (await gw.client.get(f"/api/messages/{sent['id']}")).json()["data"]
        assert (row["body"], row["edits"], row["revokedAt"]) == ("see you at 5", [], None)


async def test_deleting_for_me_takes_the_message_out_of_the_log_only(gw: Harness) -> None:
    await gw.scan()
    sent = await send(gw.client)
    answer = await gw.client.delete(f"/api/messages/{sent['id']}", params={"for": "me"})
    assert answer.status_code == 200, answer.text
    assert answer.json()["data"] == {"id": sent["id"], "for": "me", "message": None}
    assert error_code(await gw.client.get(f"/api/messages/{sent['id']}"), 404) == "message_not_found"
    assert (await gw.client.get("/api/messages")).json()["data"]["messages"] == []
    again = await gw.client.delete(f"/api/messages/{sent['id']}", params={"for": "me"})
    assert error_code(again, 404) == "message_not_found"


async def test_the_session_must_be_ready_to_edit_or_delete_for_everyone_but_not_for_me(gw: Harness) -> None:
    await gw.scan()
    sent = await send(gw.client)
    assert (await gw.client.post("/api/sandbox/fail", json={"kind": "disconnect"})).status_code == 200
    answer = await gw.client.patch(f"/api/messages/{sent['id']}", json={"text": "x"})
    assert error_code(answer, 409) == "session_not_ready"
    answer = await gw.client.delete(f"/api/messages/{sent['id']}", params={"for": "everyone"})
    assert error_code(answer, 409) == "session_not_ready"
    assert (await gw.client.delete(f"/api/messages/{sent['id']}", params={"for": "me"})).status_code == 200


async def test_a_wrong_request_is_a_clear_error(gw: Harness) -> None:
    await gw.scan()
    sent = await send(gw.client)
    assert error_code(await gw.client.delete(f"/api/messages/{sent['id']}"), 422) == "validation_error"
    wrong = await gw.client.delete(f"/api/messages/{sent['id']}", params={"for": "all"})
    assert error_code(wrong, 422) == "validation_error"
    assert error_code(await gw.client.patch(f"/api/messages/{sent['id']}", json={"text": ""}), 422) == (
        "validation_error")
    assert error_code(await gw.client.patch(f"/api/messages/{sent['id']}", json={"body": "x"}), 422) == (
        "validation_error")
    missing = await gw.client.patch("/api/messages/999999", json={"text": "x"})
    assert error_code(missing, 404) == "message_not_found"
    assert error_code(await gw.client.delete("/api/messages/0", params={"for": "me"}), 422) == "validation_error"
