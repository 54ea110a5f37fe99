"""Read receipts and typing through the API on the sandbox: `POST /api/chats/{chat}/read`, WAQTOR_AUTO_READ,
`POST /api/chats/{chat}/presence` and `typingSeconds` on a send."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import httpx
import pytest
from pydantic import ValidationError

from tests.conftest import Harness, eventually, in_process, make_settings
from waqtor.engines.sandbox.engine import SandboxEngine
from waqtor.messaging import chats

CONTACT = "4915100000001"
CHAT = f"{CONTACT}@s.whatsapp.net"
OTHER = "4915100000002"


def error_code(response: httpx.Response, status: int) -> str:
    assert response.status_code == status, response.text
    return str(response.json()["error"]["code"])


def sandbox(gw: Harness) -> SandboxEngine:
    engine = gw.gateway.sessions.get("default").engine
    assert isinstance(engine, SandboxEngine)
    return engine


async def receive(gw: Harness, sender: str, body: str) -> dict[str, Any]:
    """Deliver a message from `sender`; the logged message, once it is logged."""
    wa_id = (await gw.client.post("/api/sandbox/inbound", json={"from": sender, "body": body})).json()["data"]["id"]
    found: list[dict[str, Any]] = []

    async def logged() -> bool:
        rows = (await gw.client.get("/api/messages", params={"direction": "in"})).json()["data"]["messages"]
        found[:] = [row for row in rows if row["waId"] == wa_id]
        return bool(found)

    await eventually(logged, what="inbound logged")
    return found[0]


async def test_reading_a_chat_marks_its_unread_received_messages_once(gw: Harness) -> None:
    await gw.scan()
    first, second = await receive(gw, CONTACT, "hi"), await receive(gw, CONTACT, "are you there?")
    elsewhere = await receive(gw, OTHER, "hello")
    answer = await gw.client.post(f"/api/chats/+{CONTACT}/read")
    assert answer.status_code == 200, answer.text
    assert answer.json()["data"] == {"session": "default", "chat": CHAT, "marked": 2}
    assert list(sandbox(gw).reads) == [(CHAT, [first["waId"], second["waId"]])]
    for message in (first, second):
        assert (await gw.client.get(f"/api/messages/{message['id']}")).json()["data"]["readAt"] is not None
    assert (await gw.client.get(f"/api/messages/{elsewhere['id']}")).json()["data"]["readAt"] is None

    again = await gw.client.post(f"/api/chats/{CHAT}/read", json={"session": "default"})
    assert again.json()["data"]["marked"] == 0
    assert len(sandbox(gw).reads) == 1, "nothing unread: WhatsApp is not asked again"


async def test_a_chat_is_a_phone_number_or_a_chat_id(gw: Harness) -> None:
    await gw.scan()
    assert error_code(await gw.client.post("/api/chats/not-a-number/read"), 400) == "invalid_phone"
    lid = await gw.client.post("/api/chats/215327923232839@lid/presence", json={"state": "typing"})
    assert lid.json()["data"]["chat"] == "215327923232839@lid"
    wrong = await gw.client.post(f"/api/chats/{CONTACT}/read", json={"session": "default", "extra": 1})
    assert error_code(wrong, 422) == "validation_error"


async def test_typing_recording_and_paused_are_shown_in_the_chat(gw: Harness) -> None:
    await gw.scan()
    for state in ("typing", "recording", "paused"):
        answer = await gw.client.post(f"/api/chats/{CONTACT}/presence", json={"state": state})
        assert answer.json()["data"] == {"session": "default", "chat": CHAT, "state": state}
    assert list(sandbox(gw).presences) == [(CHAT, "typing"), (CHAT, "recording"), (CHAT, "paused")]
    wrong = await gw.client.post(f"/api/chats/{CONTACT}/presence", json={"state": "online"})
    assert error_code(wrong, 422) == "validation_error"


async def test_a_session_that_is_not_connected_cannot_read_or_type(gw: Harness) -> None:
    assert error_code(await gw.client.post(f"/api/chats/{CONTACT}/read"), 409) == "session_not_ready"
    answer = await gw.client.post(f"/api/chats/{CONTACT}/presence", json={"state": "typing"})
    assert error_code(answer, 409) == "session_not_ready"
    answer = await gw.client.post(f"/api/chats/{CONTACT}/read", json={"session": "nosuch"})
    assert error_code(answer, 404) == "session_not_found"


async def test_with_auto_read_each_received_message_is_marked_read_as_it_arrives(data_dir: Path) -> None:
    async with in_process(make_settings(data_dir, auto_read="default")) as gw:
        await gw.scan()
        message = await receive(gw, CONTACT, "hi")

        async def read() -> bool:
            row = (await gw.client.get(f"/api/messages/{message['id']}")).json()["data"]
            return row["readAt"] is not None

        await eventually(read, what="auto-read")
        assert list(sandbox(gw).reads) == [(CHAT, [message["waId"]])]
        assert (await gw.client.post(f"/api/chats/{CONTACT}/read")).json()["data"]["marked"] == 0


def test_auto_read_names_sessions_or_every_one(data_dir: Path) -> None:
    assert make_settings(data_dir).auto_reads("default") is False
    some = make_settings(data_dir, auto_read=" default , support ")
    assert (some.auto_read, some.auto_reads("support"), some.auto_reads("shop")) == ("default,support", True, False)
    assert make_settings(data_dir, auto_read="*").auto_reads("shop") is True
    with pytest.raises(ValidationError, match="invalid session name 'Sales Team' in WAQTOR_AUTO_READ"):
        make_settings(data_dir, auto_read="default,Sales Team")


async def test_typing_seconds_shows_typing_then_sends_in_the_order_of_acceptance(data_dir: Path) -> None:
    async with in_process(make_settings(data_dir, send_rate="")) as gw:
        await gw.scan()
        typed = await gw.client.post("/api/messages/send", json={"to": CONTACT, "text": "let me check",
                                                                  "typingSeconds": 0.3})
        assert typed.status_code == 200, typed.text
        assert typed.json()["data"]["status"] == "queued", "answered at once, sent after the typing"
        after = (await gw.client.post("/api/messages/send", json={"to": CONTACT, "text": "found it"})).json()["data"]
        assert after["status"] == "queued", "a send behind a typing one waits its turn"

        rows: dict[int, dict[str, Any]] = {}

        async def both_sent() -> bool:
            for message_id in (typed.json()["data"]["id"], after["id"]):
                rows[message_id] = (await gw.client.get(f"/api/messages/{message_id}")).json()["data"]
            return all(row["sentAt"] is not None for row in rows.values())

        await eventually(both_sent, what="both sent")
        first, second = rows[typed.json()["data"]["id"]], rows[after["id"]]
        assert first["sentAt"] <= second["sentAt"]
        assert list(sandbox(gw).presences) == [(CHAT, "typing")]


async def test_typing_seconds_is_capped_at_ten(gw: Harness) -> None:
    await gw.scan()
    answer = await gw.client.post("/api/messages/send", json={"to": CONTACT, "text": "x", "typingSeconds": 11})
    assert error_code(answer, 422) == "validation_error"
    assert (await gw.client.get("/api/messages")).json()["data"]["messages"] == []


async def test_auto_read_marks_under_way_are_bounded_and_a_message_beyond_them_stays_unread(
    data_dir: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setattr(chats, "AUTO_READ_PENDING", 1)
    gate = asyncio.Event()
    original = SandboxEngine.mark_read

    async def slow_mark_read(self: SandboxEngine, chat: str, messages: Sequence[tuple[str, str]]) -> None:
        await gate.wait()
        await original(self, chat, messages)

    monkeypatch.setattr(SandboxEngine, "mark_read", slow_mark_read)
    async with in_process(make_settings(data_dir, auto_read="*")) as gw:
        await gw.scan()
        first = await receive(gw, CONTACT, "one")
        second = await receive(gw, CONTACT, "two")
        refused = f"message {second['id']} is left unread: 1 auto-read marks are under way already"
        await eventually(lambda: refused in caplog.text, what="the second left unread")
        gate.set()

        async def first_read() -> bool:
            return (await gw.client.get(f"/api/messages/{first['id']}")).json()["data"]["readAt"] is not None

        await eventually(first_read, what="the first marked read")
        assert list(sandbox(gw).reads) == [(CHAT, [first["waId"]])]
        assert (await gw.client.get(f"/api/messages/{second['id']}")).json()["data"]["readAt"] is None
