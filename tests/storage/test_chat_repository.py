"""The chat list read from the message log, the same tests on SQLite and PostgreSQL."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import insert

from waqtor.storage import Storage
from waqtor.storage.chats import ChatSummary
from waqtor.storage.tables import messages

T0 = datetime(2025, 10, 1, 12, 0, tzinfo=UTC)


def row(n: int, session: str, chat: str, direction: str, **changes: Any) -> dict[str, Any]:
    at = T0 + timedelta(seconds=n)
    values: dict[str, Any] = {
        "session": session, "direction": direction, "chat": chat, "sender": chat if direction == "in" else None,
        "type": "text", "text": f"message {n}", "status": "received" if direction == "in" else "sent",
        "timestamp": at, "created_at": at, "wa_id": f"WA{n}", "push_name": None,
    }
    return values | changes


async def every_page(storage: Storage, session: str | None, limit: int) -> list[ChatSummary]:
    found: list[ChatSummary] = []
    before = None
    while page := await storage.chats.page(session, before, limit):
        found += page
        before = page[-1].last.id
    return found


async def test_each_chat_once_newest_activity_first_with_its_unread_count_and_latest_name(storage: Storage) -> None:
    rng = random.Random(18)
    chats = [f"49151{n:07d}@s.whatsapp.net" for n in range(60)] + [f"1203630{n:05d}@g.us" for n in range(5)]
    rows = []
    for n in range(2000):
        chat, session = rng.choice(chats), rng.choice(["default", "shop"])
        direction = rng.choice(["in", "out"])
        rows.append(row(n, session, chat, direction, read_at=T0 if rng.random() < 0.5 else None,
                        revoked_at=T0 if rng.random() < 0.1 else None,
                        push_name=f"name {n}" if direction == "in" and rng.random() < 0.3 else None))
    async with storage.engine.begin() as conn:
        await conn.execute(insert(messages), rows)
        ids = [r.id for r in (await conn.execute(messages.select().order_by(messages.c.id))).all()]
    expected: dict[tuple[str, str], dict[str, Any]] = {}
    for message_id, values in zip(ids, rows, strict=True):
        entry = expected.setdefault((values["session"], values["chat"]), {"unread": 0, "name": None})
        entry["last"] = message_id
        if values["direction"] == "in" and values["read_at"] is None and values["revoked_at"] is None:
            entry["unread"] += 1
        if values["push_name"] and not values["chat"].endswith("@g.us"):
            entry["name"] = values["push_name"]

    listed = await every_page(storage, None, 7)
    assert [(s.session, s.chat) for s in listed] == sorted(expected, key=lambda k: -expected[k]["last"])
    for summary in listed:
        entry = expected[(summary.session, summary.chat)]
        assert (summary.last.id, summary.unread, summary.name) == (entry["last"], entry["unread"], entry["name"])
        assert summary.last.text == rows[ids.index(entry["last"])]["text"]
    shop = await every_page(storage, "shop", 50)
    assert [(s.session, s.chat) for s in shop] == [(s.session, s.chat) for s in listed if s.session == "shop"]


async def test_a_chat_follows_its_log_when_messages_are_read_revoked_and_removed(storage: Storage) -> None:
    chat = "4915112345678@s.whatsapp.net"
    first = await storage.messages.insert(row(1, "default", chat, "in", push_name="Ana"))
    second = await storage.messages.insert(row(2, "default", chat, "in"))
    [summary] = await storage.chats.page("default", None, 10)
    assert (summary.last.id, summary.unread, summary.name) == (second.id, 2, "Ana")
    assert await storage.messages.mark_read([first.id], T0) == 1
    assert await storage.messages.revoke("default", "WA2", T0, chat)
    [summary] = await storage.chats.page("default", None, 10)
    assert (summary.last.id, summary.unread, summary.last.revoked_at) == (second.id, 0, T0)
    assert await storage.messages.remove(second.id)
    [summary] = await storage.chats.page(None, None, 10)
    assert summary.last.id == first.id
    assert await storage.messages.remove(first.id)
    assert await storage.chats.page(None, None, 10) == []
