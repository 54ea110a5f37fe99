"""The message log's repository, the same tests on SQLite and PostgreSQL (a fresh database each)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import insert

from waqtor.storage import Storage
from waqtor.storage.messages import MessageFilter
from waqtor.storage.records import MediaRecord
from waqtor.storage.tables import messages

T0 = datetime(2025, 10, 1, 12, 0, tzinfo=UTC)


def outgoing(**changes: Any) -> dict[str, Any]:
    values: dict[str, Any] = {
        "session": "default", "direction": "out", "chat": "4915112345678@s.whatsapp.net", "sender": None,
        "type": "text", "text": "hello", "status": "queued", "timestamp": T0, "queued_at": T0, "created_at": T0,
    }
    return values | changes


async def test_an_inserted_message_reads_back_with_its_media(storage: Storage) -> None:
    media = MediaRecord(id="a" * 32, kind="image", mimetype="image/png", size=10, file_name="cat.png",
                        path="2025/10/01/x.png", sha256="0" * 64, created_at=T0)
    await storage.media.insert(media)
    record = await storage.messages.insert(outgoing(type="image", text="caption"), media)
    assert await storage.messages.get(record.id) == record
    assert record.media == media and record.status == "queued"


async def test_ids_increase(storage: Storage) -> None:
    first = await storage.messages.insert(outgoing())
    second = await storage.messages.insert(outgoing())
    assert second.id > first.id


async def test_mark_sent_sets_the_whatsapp_id_once(storage: Storage) -> None:
    record = await storage.messages.insert(outgoing())
    assert await storage.messages.mark_sent(record.id, "WA1", T0 + timedelta(seconds=1))
    assert not await storage.messages.mark_sent(record.id, "WA2", T0 + timedelta(seconds=2))
    stored = await storage.messages.get(record.id)
    assert stored is not None and (stored.status, stored.wa_id) == ("sent", "WA1")
    assert stored.sent_at == T0 + timedelta(seconds=1)
    assert await storage.messages.find_by_wa_id("default", "WA1", "out") == stored


async def test_move_is_compare_and_set(storage: Storage) -> None:
    record = await storage.messages.insert(outgoing(status="sent"))
    assert await storage.messages.move(record.id, "sent", "read", T0)
    assert not await storage.messages.move(record.id, "sent", "delivered", T0)
    stored = await storage.messages.get(record.id)
    assert stored is not None and stored.status == "read" and stored.read_at == T0 and stored.delivered_at is None


async def test_a_failure_keeps_its_error(storage: Storage) -> None:
    record = await storage.messages.insert(outgoing())
    await storage.messages.move(record.id, "queued", "failed", T0, "send_failed: nope")
    stored = await storage.messages.get(record.id)
    assert stored is not None and (stored.status, stored.error, stored.failed_at) == ("failed", "send_failed: nope", T0)


async def test_an_incoming_message_is_logged_once_per_whatsapp_id(storage: Storage) -> None:
    values = outgoing(direction="in", status="received", wa_id="IN1", queued_at=None)
    assert await storage.messages.insert_new(values) is not None
    assert await storage.messages.insert_new(values) is None
    assert await storage.messages.insert_new(values | {"session": "other"}) is not None


async def test_fail_queued_spares_campaign_messages(storage: Storage) -> None:
    plain = await storage.messages.insert(outgoing())
    owned = await storage.messages.insert(outgoing(campaign_id="c1"))
    assert await storage.messages.fail_queued(T0, "interrupted") == 1
    assert (await storage.messages.get(plain.id)).status == "failed"  # type: ignore[union-attr]
    assert (await storage.messages.get(owned.id)).status == "queued"  # type: ignore[union-attr]


async def test_search_is_case_insensitive_and_takes_wildcards_literally(storage: Storage) -> None:
    for text in ("Invoice 50%_OFF", "invoice 50 off", "other"):
        await storage.messages.insert(outgoing(text=text))
    found = await storage.messages.page(MessageFilter(q="50%_off"), None, 10)
    assert [r.text for r in found] == ["Invoice 50%_OFF"]
    assert len(await storage.messages.page(MessageFilter(q="INVOICE"), None, 10)) == 2


async def test_stream_yields_batches_oldest_first(storage: Storage) -> None:
    async with storage.engine.begin() as conn:
        await conn.execute(insert(messages), [outgoing(text=f"m{n}") for n in range(1234)])
    batches = [batch async for batch in storage.messages.stream(MessageFilter(), batch=500)]
    assert [len(b) for b in batches] == [500, 500, 234]
    ids = [r.id for b in batches for r in b]
    assert ids == sorted(ids) and len(set(ids)) == 1234


async def test_deleting_a_session_removes_its_messages_in_batches_and_names_their_media(storage: Storage) -> None:
    def file(letter: str) -> MediaRecord:
        return MediaRecord(id=letter * 32, kind="image", mimetype="image/png", size=10, file_name="x.png",
                           path=f"2025/10/01/{letter}.png", sha256="0" * 64, created_at=T0)

    only_shop, shared = file("a"), file("b")
    for record in (only_shop, shared):
        await storage.media.insert(record)
    await storage.messages.insert(outgoing(session="shop", type="image"), only_shop)
    await storage.messages.insert(outgoing(session="shop", type="image"), shared)
    for _ in range(5):
        await storage.messages.insert(outgoing(session="shop"))
    kept = await storage.messages.insert(outgoing(session="default", type="image"), shared)

    media_ids = await storage.messages.delete_session("shop", batch=2)
    assert media_ids == {only_shop.id, shared.id}
    assert await storage.messages.page(MessageFilter(session="shop"), None, 50) == []
    assert await storage.messages.get(kept.id) == kept
    assert [record.id for record in await storage.media.unused(media_ids)] == [only_shop.id]
    await storage.media.delete([only_shop.id])
    assert await storage.media.get(only_shop.id) is None


async def test_a_file_is_referenced_in_the_sessions_of_its_messages_only(storage: Storage) -> None:
    shop, both, unsent = (MediaRecord(id=letter * 32, kind="image", mimetype="image/png", size=10, file_name="x.png",
                                      path=f"2025/10/01/{letter}.png", sha256="0" * 64, created_at=T0)
                          for letter in "cde")
    for record in (shop, both, unsent):
        await storage.media.insert(record)
    await storage.messages.insert(outgoing(session="shop", type="image"), shop)
    await storage.messages.insert(outgoing(session="shop", type="image"), both)
    await storage.messages.insert(outgoing(session="default", type="image"), both)
    assert await storage.media.referenced_in(shop.id, ["shop"])
    assert not await storage.media.referenced_in(shop.id, ["default", "other"])
    assert await storage.media.referenced_in(both.id, ["default"])
    assert not await storage.media.referenced_in(unsent.id, ["shop", "default"])
    assert not await storage.media.referenced_in(shop.id, [])


async def test_an_edit_keeps_the_earlier_texts_and_is_applied_once(storage: Storage) -> None:
    record = await storage.messages.insert(outgoing(direction="in", status="received", wa_id="WAE", text="v1"))
    first, second = T0 + timedelta(minutes=1), T0 + timedelta(minutes=2)
    changed = await storage.messages.edit("default", "WAE", "v2", first)
    assert changed is not None and changed[1] == "v1"
    assert await storage.messages.edit("default", "WAE", "v2", first) is None  # delivered again
    await storage.messages.edit("default", "WAE", "v3", second)
    stored = await storage.messages.get(record.id)
    assert stored is not None and (stored.text, stored.edited_at) == ("v3", second)
    assert stored.edits == [{"body": "v1", "replacedAt": "2025-10-01T12:01:00.000Z"},
                            {"body": "v2", "replacedAt": "2025-10-01T12:02:00.000Z"}]
    assert await storage.messages.edit("default", "NOSUCH", "x", first) is None


async def test_a_revoke_is_marked_once_and_keeps_the_text(storage: Storage) -> None:
    record = await storage.messages.insert(outgoing(status="sent", wa_id="WAR", source="phone"))
    revoked = await storage.messages.revoke("default", "WAR", T0, "4915112345678@s.whatsapp.net")
    assert revoked is not None and revoked.revoked_at == T0
    assert await storage.messages.revoke("default", "WAR", T0, "x") is None
    stored = await storage.messages.get(record.id)
    assert stored is not None
    assert (stored.text, stored.source, stored.revoked_by) == ("hello", "phone", "4915112345678@s.whatsapp.net")
