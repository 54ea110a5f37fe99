"""Replies (`replyTo` on every send, quoted replies coming in) and reactions (`POST /api/messages/{id}/reaction`,
reactions coming in, `message_reaction`) through the HTTP routes and the WebSocket, on the sandbox."""

from __future__ import annotations

from typing import Any

import pytest

from tests.api.test_bad_input import assert_error
from tests.api.test_inbound_life import CHAT, CONTACT, inbound, logged
from tests.conftest import Harness, LiveServer
from tests.ws_client import command, open_ws, recv_type
from waqtor.engines.base import Engine
from waqtor.engines.sandbox.engine import SandboxEngine

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64


async def received(gw: Harness, body: str = "menu?") -> dict[str, Any]:
    """A message from the contact, as the log has it."""
    return await logged(gw, (await inbound(gw, body=body))["data"]["id"])


async def send(gw: Harness, route: str = "/api/messages/send", **body: Any) -> Any:
    return await gw.client.post(route, json={"to": CONTACT} | body)


def sandbox(gw: Harness) -> SandboxEngine:
    engine = gw.gateway.sessions.get("default").engine
    assert isinstance(engine, SandboxEngine)
    return engine


# ---- replies --------------------------------------------------------------------------------------------


async def test_a_reply_by_the_log_s_id_quotes_the_message_and_says_both_ids(gw: Harness) -> None:
    await gw.scan()
    quoted = await received(gw)
    answer = await send(gw, text="here it is", replyTo=quoted["id"])
    assert answer.status_code == 200, answer.text
    expected = {"id": quoted["id"], "waId": quoted["waId"]}
    assert answer.json()["data"]["replyTo"] == expected
    assert (await gw.client.get(f"/api/messages/{answer.json()['data']['id']}")).json()["data"]["replyTo"] == expected


async def test_a_reply_by_whatsapp_id_works_on_the_other_send_routes(gw: Harness) -> None:
    await gw.scan()
    quoted = await received(gw)
    place = await send(gw, "/api/messages/send-location", latitude=52.52, longitude=13.405, replyTo=quoted["waId"])
    card = await send(gw, "/api/messages/send-contact", name="Ana", phone="+4915112345678", replyTo=quoted["waId"])
    upload = await gw.client.post("/api/messages/send-media", data={"to": CONTACT, "replyTo": str(quoted["id"])},
                                  files={"file": ("menu.png", PNG)})
    for answer in (place, card, upload):
        assert answer.status_code == 200, answer.text
        assert answer.json()["data"]["replyTo"] == {"id": quoted["id"], "waId": quoted["waId"]}


async def test_a_reply_to_a_message_the_log_does_not_have_is_404(gw: Harness) -> None:
    await gw.scan()
    for missing in (999_999, "3EB0NOTHERE"):
        assert_error(await send(gw, text="x", replyTo=missing), 404, "message_not_found")
    assert (await gw.client.get("/api/messages")).json()["data"]["messages"] == []


async def test_a_malformed_reply_to_is_422(gw: Harness) -> None:
    await gw.scan()
    for bad in (0, -5, "", "has space", True, 1.5, "x" * 129):
        assert_error(await send(gw, text="x", replyTo=bad), 422, "validation_error")


async def test_a_message_that_never_reached_whatsapp_cannot_be_quoted(gw: Harness) -> None:
    await gw.scan()
    await gw.client.post("/api/sandbox/contacts", json={"phone": CONTACT, "fail": "send"})
    failed = await send(gw, text="lost")
    assert failed.status_code == 502
    failed_id = failed.json()["error"]["details"]["id"]
    assert_error(await send(gw, text="x", replyTo=failed_id), 409, "message_not_sent")
    assert_error(await gw.client.post(f"/api/messages/{failed_id}/reaction", json={"emoji": "👍"}), 409,
                 "message_not_sent")


async def test_another_session_s_message_is_not_quoted_by_its_id(gw: Harness) -> None:
    await gw.scan()
    quoted = await received(gw)
    created = await gw.client.post("/api/sessions", json={"name": "other", "engine": "sandbox"})
    assert created.status_code == 201, created.text
    await gw.client.post("/api/sandbox/scan", json={"session": "other"})
    answer = await send(gw, session="other", text="x", replyTo=quoted["id"])
    assert_error(answer, 404, "message_not_found")


async def test_a_contact_s_quoted_reply_is_logged_and_published_with_both_ids(live: LiveServer) -> None:
    async with live.client() as http, await open_ws(live) as ws:
        await http.post("/api/sandbox/scan")
        ours = (await http.post("/api/messages/send", json={"to": CONTACT, "text": "Fresh bread!"})).json()["data"]
        await command(ws, "subscribed", type="subscribe", events=["message"])
        answer = await http.post("/api/sandbox/inbound", json={"from": CONTACT, "body": "two please",
                                                               "replyTo": ours["waId"]})
        assert answer.status_code == 200, answer.text
        event = (await recv_type(ws, "message"))["data"]
        assert (event["body"], event["replyTo"]) == ("two please", {"id": ours["id"], "waId": ours["waId"]})


async def test_the_sandbox_refuses_a_quote_of_a_message_it_did_not_carry(gw: Harness) -> None:
    await gw.scan()
    answer = await inbound(gw, 404, body="x", replyTo="3EB0UNKNOWN")
    assert answer["error"]["code"] == "message_not_found"


# ---- reactions ------------------------------------------------------------------------------------------


async def test_the_account_reacts_and_the_reaction_shows_on_the_message(gw: Harness) -> None:
    await gw.scan()
    quoted = await received(gw)
    reacted = await gw.client.post(f"/api/messages/{quoted['id']}/reaction", json={"emoji": "👍🏽"})
    assert reacted.status_code == 200, reacted.text
    (reaction,) = reacted.json()["data"]["reactions"]
    assert (reaction["from"], reaction["fromMe"], reaction["emoji"]) == (None, True, "👍🏽")
    assert sandbox(gw).reactions == {(CHAT, quoted["waId"]): "👍🏽"}
    changed = await gw.client.post(f"/api/messages/{quoted['id']}/reaction", json={"emoji": "❤️"})
    assert [r["emoji"] for r in changed.json()["data"]["reactions"]] == ["❤️"]
    listed = await logged(gw, quoted["waId"])
    assert [r["emoji"] for r in listed["reactions"]] == ["❤️"]
    removed = await gw.client.post(f"/api/messages/{quoted['id']}/reaction", json={"emoji": ""})
    assert removed.json()["data"]["reactions"] == []
    assert sandbox(gw).reactions == {}


async def test_a_reaction_that_is_not_one_emoji_is_400(gw: Harness) -> None:
    await gw.scan()
    quoted = await received(gw)
    for bad in ("ok", "👍👍", "a👍", " 👍", "1", "🇩"):
        answer = await gw.client.post(f"/api/messages/{quoted['id']}/reaction", json={"emoji": bad})
        assert_error(answer, 400, "invalid_emoji")
    assert_error(await gw.client.post(f"/api/messages/{quoted['id']}/reaction", json={}), 422, "validation_error")
    assert sandbox(gw).reactions == {}


async def test_a_reaction_to_a_message_the_log_does_not_have_is_404(gw: Harness) -> None:
    await gw.scan()
    assert_error(await gw.client.post("/api/messages/999999/reaction", json={"emoji": "👍"}), 404, "message_not_found")


async def test_a_reaction_waits_for_the_session_to_be_ready(gw: Harness) -> None:
    await gw.scan()
    quoted = await received(gw)
    await gw.client.post("/api/sandbox/fail", json={"kind": "disconnect"})
    answer = await gw.client.post(f"/api/messages/{quoted['id']}/reaction", json={"emoji": "👍"})
    assert_error(answer, 409, "session_not_ready")


async def test_contacts_reactions_are_kept_per_reactor_and_published(live: LiveServer) -> None:
    async with live.client() as http, await open_ws(live) as ws:
        await http.post("/api/sandbox/scan")
        ours = (await http.post("/api/messages/send", json={"to": CONTACT, "text": "Fresh bread!"})).json()["data"]
        await command(ws, "subscribed", type="subscribe", events=["message_reaction"])

        async def react(emoji: str, **body: Any) -> dict[str, Any]:
            answer = await http.post("/api/sandbox/inbound", json={"from": CONTACT, "kind": "react",
                                                                   "messageId": ours["waId"], "emoji": emoji} | body)
            assert answer.status_code == 200, answer.text
            return (await recv_type(ws, "message_reaction"))["data"]  # type: ignore[no-any-return]

        first = await react("😍")
        assert set(first) == {"messageId", "waId", "session", "chat", "from", "fromMe", "emoji", "removed",
                              "timestamp"}
        assert (first["messageId"], first["waId"], first["chat"], first["from"], first["fromMe"], first["emoji"],
                first["removed"]) == (ours["id"], ours["waId"], CHAT, CHAT, False, "😍", False)
        await react("🙏")  # the latest of a reactor replaces their earlier one
        await react("👍", fromMe=True)  # the account, from its phone
        message = (await http.get(f"/api/messages/{ours['id']}")).json()["data"]
        assert (message["reactions"][0]["from"], message["reactions"][0]["fromMe"]) == (CHAT, False)
        assert [(r["fromMe"], r["emoji"]) for r in message["reactions"]] == [(False, "🙏"), (True, "👍")]
        removed = await react("")
        assert (removed["emoji"], removed["removed"]) == ("", True)
        message = (await http.get(f"/api/messages/{ours['id']}")).json()["data"]
        assert [(r["fromMe"], r["emoji"]) for r in message["reactions"]] == [(True, "👍")]


async def test_the_sandbox_refuses_a_reaction_to_a_message_it_did_not_carry_or_a_bad_emoji(gw: Harness) -> None:
    await gw.scan()
    answer = await inbound(gw, 404, kind="react", messageId="3EB0UNKNOWN", emoji="👍")
    assert answer["error"]["code"] == "message_not_found"
    quoted = await received(gw)
    for bad in ({"emoji": "nope"}, {}, {"emoji": "👍", "body": "x"}):
        answer = await inbound(gw, 422, kind="react", messageId=quoted["waId"], **bad)
        assert answer["error"]["code"] == "validation_error"


async def test_an_engine_without_reactions_answers_422_naming_it(gw: Harness, monkeypatch: pytest.MonkeyPatch) -> None:
    await gw.scan()
    quoted = await received(gw)
    monkeypatch.setattr(SandboxEngine, "react", Engine.react)  # the default every engine starts from
    answer = await gw.client.post(f"/api/messages/{quoted['id']}/reaction", json={"emoji": "👍"})
    assert_error(answer, 422, "not_supported_by_engine")
    assert answer.json()["error"]["message"] == "the sandbox engine cannot send reactions"
    assert (await logged(gw, quoted["waId"]))["reactions"] == []
