"""The chats of the message log through the API on the sandbox: `GET /api/chats` (one row per chat, newest
activity first, kept current as messages arrive, are sent, read, edited, revoked and deleted for me) and
`GET /api/chats/{chat}/messages`."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import insert

from tests.api.test_api_keys import as_key, new_key
from tests.api.test_chat_actions import error_code, receive
from tests.conftest import Harness, eventually
from waqtor.storage.tables import messages

CONTACT = "4915100000001"
CHAT = f"{CONTACT}@s.whatsapp.net"
OTHER = "4915100000002"
T0 = datetime(2026, 12, 1, tzinfo=UTC)


async def chats(gw: Harness, **params: Any) -> list[dict[str, Any]]:
    answer = await gw.client.get("/api/chats", params=params)
    assert answer.status_code == 200, answer.text
    return answer.json()["data"]["chats"]  # type: ignore[no-any-return]


async def row_of(gw: Harness, chat: str = CHAT) -> dict[str, Any]:
    [row] = [row for row in await chats(gw) if row["chat"] == chat]
    return row


async def test_one_row_per_chat_newest_activity_first_with_name_unread_and_last_message(gw: Harness) -> None:
    await gw.scan()
    await gw.client.post("/api/sandbox/contacts", json={"phone": CONTACT, "name": "Ana"})
    await receive(gw, CONTACT, "hi")
    await receive(gw, CONTACT, "are you there?")
    other = await receive(gw, OTHER, "hello")
    sent = await gw.client.post("/api/messages/send", json={"to": CONTACT, "text": "yes " + "x" * 200})
    listed = await chats(gw)
    assert [row["chat"] for row in listed] == [CHAT, f"{OTHER}@s.whatsapp.net"]
    first, second = listed
    assert (first["session"], first["phone"], first["name"], first["unread"]) == ("default", "+" + CONTACT, "Ana", 2)
    assert (first["muted"], first["archived"]) == (None, None)
    last = first["lastMessage"]
    assert (last["id"], last["direction"], last["fromMe"], last["source"]) == (sent.json()["data"]["id"], "out",
                                                                                True, "api")
    assert last["body"] == ("yes " + "x" * 200)[:99] + "…" and (last["edited"], last["revoked"]) == (False, False)
    assert (second["name"], second["unread"], second["lastMessage"]["id"]) == (None, 1, other["id"])
    assert second["lastMessage"]["body"] == "hello" and second["lastMessage"]["status"] == "received"


async def test_a_row_follows_reads_edits_revokes_and_deletions_for_me(gw: Harness) -> None:
    await gw.scan()
    await receive(gw, CONTACT, "hi")
    assert (await row_of(gw))["unread"] == 1
    await gw.client.post(f"/api/chats/{CONTACT}/read")
    assert (await row_of(gw))["unread"] == 0

    late = await receive(gw, CONTACT, "one more thing")
    assert (await row_of(gw))["unread"] == 1
    await gw.client.post("/api/sandbox/inbound", json={"from": CONTACT, "kind": "revoke", "messageId": late["waId"]})

    async def revoked() -> bool:
        return bool((await row_of(gw))["lastMessage"]["revoked"])

    await eventually(revoked, what="the revoke logged")
    row = await row_of(gw)
    assert (row["unread"], row["lastMessage"]["id"], row["lastMessage"]["body"]) == (0, late["id"], None)

    sent = (await gw.client.post("/api/messages/send", json={"to": CONTACT, "text": "see you at 5"})).json()["data"]
    assert (await gw.client.patch(f"/api/messages/{sent['id']}", json={"text": "see you at 6"})).status_code == 200
    last = (await row_of(gw))["lastMessage"]
    assert (last["id"], last["body"], last["edited"]) == (sent["id"], "see you at 6", True)
    assert (await gw.client.delete(f"/api/messages/{sent['id']}", params={"for": "me"})).status_code == 200
    assert (await row_of(gw))["lastMessage"]["id"] == late["id"]


async def test_a_chats_messages_newest_first_in_pages(gw: Harness) -> None:
    await gw.scan()
    mine = [await receive(gw, CONTACT, f"message {n}") for n in range(3)]
    await receive(gw, OTHER, "not this chat")
    seen: list[int] = []
    cursor = None
    while True:
        params = {"limit": 2} | ({"cursor": cursor} if cursor else {})
        answer = await gw.client.get(f"/api/chats/+{CONTACT}/messages", params=params)
        assert answer.status_code == 200, answer.text
        data = answer.json()["data"]
        seen += [message["id"] for message in data["messages"]]
        assert all(message["chat"] == CHAT for message in data["messages"])
        if (cursor := data["nextCursor"]) is None:
            break
    assert seen == [message["id"] for message in reversed(mine)]
    by_jid = (await gw.client.get(f"/api/chats/{CHAT}/messages")).json()["data"]["messages"]
    assert by_jid[0] == (await gw.client.get(f"/api/messages/{mine[-1]['id']}")).json()["data"]


async def test_a_wrong_chat_cursor_or_limit_is_a_clear_error(gw: Harness) -> None:
    assert error_code(await gw.client.get("/api/chats/not-a-number/messages"), 400) == "invalid_phone"
    assert error_code(await gw.client.get("/api/chats", params={"cursor": "nonsense"}), 400) == "invalid_cursor"
    assert error_code(await gw.client.get(f"/api/chats/{CHAT}/messages", params={"cursor": "e30"}),
                      400) == "invalid_cursor"
    assert error_code(await gw.client.get("/api/chats", params={"limit": 101}), 422) == "validation_error"


async def test_a_key_limited_to_a_session_lists_only_its_chats(gw: Harness) -> None:
    async with gw.gateway.storage.engine.begin() as conn:
        await conn.execute(insert(messages), [log_row(1, "shop", CHAT), log_row(2, "default", CHAT)])
    key = (await new_key(gw, "read", sessions=["shop"]))["key"]
    async with as_key(gw, key) as client:
        listed = (await client.get("/api/chats")).json()["data"]["chats"]
        assert [(row["session"], row["lastMessage"]["body"]) for row in listed] == [("shop", "message 1")]
        refused = await client.get("/api/chats", params={"session": "default"})
        assert error_code(refused, 403) == "forbidden_session"
        thread = (await client.get(f"/api/chats/{CHAT}/messages")).json()["data"]["messages"]
        assert [message["session"] for message in thread] == ["shop"]


def log_row(n: int, session: str, chat: str, read: bool = False) -> dict[str, Any]:
    at = T0 + timedelta(seconds=n)
    return {"session": session, "direction": "in", "chat": chat, "sender": chat, "type": "text",
            "text": f"message {n}", "status": "received", "timestamp": at, "created_at": at, "wa_id": f"WA{n}",
            "source": "contact", "read_at": at if read else None}


async def test_a_log_of_thousands_of_messages_lists_every_chat_once_in_pages(gw: Harness) -> None:
    rows = [log_row(n, "default", f"4915{n % 300:08d}@s.whatsapp.net", read=n % 3 == 0) for n in range(3000)]
    async with gw.gateway.storage.engine.begin() as conn:
        await conn.execute(insert(messages), rows)
    first = await gw.client.get("/api/chats", params={"limit": 100})
    assert first.status_code == 200, first.text
    listed, cursor = first.json()["data"]["chats"], first.json()["data"]["nextCursor"]
    while cursor is not None:
        page = (await gw.client.get("/api/chats", params={"limit": 100, "cursor": cursor})).json()["data"]
        listed, cursor = listed + page["chats"], page["nextCursor"]
    # Chat k got messages k, k + 300, … k + 2700: its newest is 2700 + k, and 10 minus those divisible by 3 unread.
    assert [row["chat"] for row in listed] == [f"4915{k:08d}@s.whatsapp.net" for k in reversed(range(300))]
    for row in listed:
        k = int(row["chat"][4:12])
        assert row["lastMessage"]["body"] == f"message {2700 + k}"
        assert row["unread"] == sum(1 for n in range(k, 3000, 300) if n % 3)
