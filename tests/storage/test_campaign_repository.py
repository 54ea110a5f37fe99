"""The campaign repository, the same tests on SQLite and PostgreSQL (a fresh database each)."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from waqtor.campaigns.importer import Row
from waqtor.storage import Storage
from waqtor.storage.campaigns import Outcome

T0 = datetime(2025, 10, 28, 12, 0, tzinfo=UTC)


def rows(count: int) -> list[Row]:
    return [Row(n + 2, f"+49151{10000000 + n}", f"49151{10000000 + n}@s.whatsapp.net", f"P{n}", {"n": str(n)})
            for n in range(count)]


async def campaign(storage: Storage, count: int = 3, status: str = "running", cid: str = "cmp_1",
                   **changes: Any) -> str:
    values = {"id": cid, "name": "Autumn", "session": "default", "status": status,
              "message": {"type": "text", "text": "Hi {name}", "mediaId": None}, "throttle": {}, "options": {},
              "variables": ["n"], "report": {}, "total": count, "created_at": T0, "updated_at": T0, **changes}
    await storage.campaigns.create(values, rows(count), T0)
    return cid


async def test_a_campaign_and_its_recipients_read_back_in_order(storage: Storage) -> None:
    cid = await campaign(storage, 7)
    record = await storage.campaigns.get(cid)
    assert record is not None and record.status == "running" and record.total == 7
    recipients = await storage.campaigns.recipients(cid, None, None, 100)
    assert [r.source_row for r in recipients] == list(range(2, 9))
    assert recipients[0].variables == {"n": "0"} and recipients[0].status == "pending"
    assert await storage.campaigns.counts([cid]) == {cid: {"pending": 7}}


async def test_every_column_of_a_large_recipient_list_reads_back_as_written(storage: Storage) -> None:
    from waqtor.storage.campaigns import INSERT_BATCH

    written = rows(INSERT_BATCH + 3)
    written[1] = Row(3, written[1].phone, written[1].jid, None, {"city": "Köln", "note": 'a "quoted" value'})
    await storage.campaigns.create({"id": "cmp_big", "name": "Big", "session": "default", "status": "draft",
                                    "message": {}, "throttle": {}, "options": {}, "variables": ["n"], "report": {},
                                    "total": len(written), "created_at": T0, "updated_at": T0}, written, T0)
    found = await storage.campaigns.recipients("cmp_big", None, None, len(written) + 1)
    assert [(r.source_row, r.phone, r.jid, r.name, r.variables) for r in found] == \
        [(w.row, w.phone, w.jid, w.name, w.variables) for w in written]
    assert {(r.campaign_id, r.status, r.updated_at, r.reason, r.message_id, r.attempted_at) for r in found} == \
        {("cmp_big", "pending", T0, None, None, None)}


async def test_thousands_of_recipients_are_stored_in_batches(storage: Storage) -> None:
    cid = await campaign(storage, 12_001)
    assert (await storage.campaigns.counts([cid]))[cid] == {"pending": 12_001}


async def test_a_recipient_is_claimed_once_only(storage: Storage) -> None:
    cid = await campaign(storage, 1)
    [first] = await storage.campaigns.pending(cid, 0, 10)
    results = await asyncio.gather(*(storage.campaigns.claim(first.id, cid, T0) for _ in range(5)))
    assert sorted(results) == [False, False, False, False, True]
    [claimed] = await storage.campaigns.recipients(cid, None, None, 10)
    assert claimed.status == "sending" and claimed.attempted_at == T0


@pytest.mark.parametrize("status", ["draft", "scheduled", "paused", "cancelled", "completed"])
async def test_nothing_is_claimed_unless_the_campaign_runs(storage: Storage, status: str) -> None:
    cid = await campaign(storage, 1, status=status)
    [first] = await storage.campaigns.pending(cid, 0, 10)
    assert await storage.campaigns.claim(first.id, cid, T0) is False


async def test_a_campaign_moves_only_from_the_states_allowed(storage: Storage) -> None:
    cid = await campaign(storage, status="running")
    assert await storage.campaigns.move(cid, ["draft"], "running", updated_at=T0) is False
    assert await storage.campaigns.move(cid, ["running"], "paused", updated_at=T0, reason_code="manual") is True
    record = await storage.campaigns.get(cid)
    assert record is not None and record.status == "paused" and record.reason_code == "manual"


async def test_outcomes_move_recipients_forward_only(storage: Storage) -> None:
    cid = await campaign(storage, 2)
    a, b = await storage.campaigns.pending(cid, 0, 10)
    for recipient in (a, b):
        await storage.campaigns.claim(recipient.id, cid, T0)
    await storage.campaigns.apply([Outcome(a.id, "read", T0, message_id=11), Outcome(b.id, "failed", T0, "boom", 12)])
    await storage.campaigns.apply([Outcome(a.id, "sent", T0), Outcome(a.id, "delivered", T0),
                                   Outcome(b.id, "sent", T0)])
    got = {r.id: r for r in await storage.campaigns.recipients(cid, None, None, 10)}
    assert (got[a.id].status, got[a.id].message_id) == ("read", 11)
    assert (got[b.id].status, got[b.id].reason, got[b.id].message_id) == ("failed", "boom", 12)


async def test_cancelling_skips_what_is_still_pending(storage: Storage) -> None:
    cid = await campaign(storage, 3)
    first, *_ = await storage.campaigns.pending(cid, 0, 10)
    await storage.campaigns.claim(first.id, cid, T0)
    assert await storage.campaigns.skip_all_pending(cid, "cancelled", T0) == 2
    assert (await storage.campaigns.counts([cid]))[cid] == {"sending": 1, "skipped": 2}
    assert await storage.campaigns.has_open(cid) is True


async def test_in_flight_recipients_come_with_their_newest_message(storage: Storage) -> None:
    cid = await campaign(storage, 2)
    a, b = await storage.campaigns.pending(cid, 0, 10)
    for recipient in (a, b):
        await storage.campaigns.claim(recipient.id, cid, T0)
    base = {"session": "default", "direction": "out", "chat": a.jid, "sender": None, "type": "text", "text": "x",
            "campaign_id": cid, "campaign_recipient_id": a.id, "timestamp": T0, "created_at": T0}
    await storage.messages.insert({**base, "status": "failed", "error": "session_not_ready: no"})
    newest = await storage.messages.insert({**base, "status": "queued"})
    found = {item.recipient.id: item.message for item in await storage.campaigns.in_flight([cid])}
    assert found[a.id] is not None and found[a.id].id == newest.id
    assert found[b.id] is None
    assert await storage.campaigns.queued_messages([cid]) == [newest.id]


async def test_catching_up_follows_the_logged_message(storage: Storage) -> None:
    cid = await campaign(storage, 2)
    a, b = await storage.campaigns.pending(cid, 0, 10)
    base = {"session": "default", "direction": "out", "sender": None, "type": "text", "text": "x", "campaign_id": cid,
            "timestamp": T0, "created_at": T0}
    read = await storage.messages.insert({**base, "chat": a.jid, "status": "read", "campaign_recipient_id": a.id})
    failed = await storage.messages.insert({**base, "chat": b.jid, "status": "failed", "error": "gone",
                                            "campaign_recipient_id": b.id})
    for recipient, message in ((a, read), (b, failed)):
        await storage.campaigns.claim(recipient.id, cid, T0)
        await storage.campaigns.apply([Outcome(recipient.id, "sent", T0, message_id=message.id)])
    await storage.campaigns.catch_up([cid], T0)
    got = {r.id: r for r in await storage.campaigns.recipients(cid, None, None, 10)}
    assert got[a.id].status == "read"
    assert (got[b.id].status, got[b.id].reason) == ("failed", "gone")


async def test_send_history_is_the_latest_attempts_oldest_first(storage: Storage) -> None:
    cid = await campaign(storage, 4)
    for n, recipient in enumerate(await storage.campaigns.pending(cid, 0, 10)):
        await storage.campaigns.claim(recipient.id, cid, T0 + timedelta(seconds=n))
    assert await storage.campaigns.history(cid, T0, 2) == [T0 + timedelta(seconds=2), T0 + timedelta(seconds=3)]
    assert await storage.campaigns.last_attempt([cid]) == T0 + timedelta(seconds=3)


async def test_pages_go_newest_first(storage: Storage) -> None:
    for n in range(3):
        await campaign(storage, 1, cid=f"cmp_{n}", created_at=T0 + timedelta(minutes=n))
    first = await storage.campaigns.page(None, None, None, 2)
    assert [r.id for r in first] == ["cmp_2", "cmp_1"]
    rest = await storage.campaigns.page(None, None, (first[-1].created_at, first[-1].id), 2)
    assert [r.id for r in rest] == ["cmp_0"]


async def test_deleting_removes_the_recipients_too(storage: Storage) -> None:
    cid = await campaign(storage, 3, status="completed")
    assert await storage.campaigns.delete(cid, ["running"]) is False
    assert await storage.campaigns.delete(cid, ["completed"]) is True
    assert await storage.campaigns.get(cid) is None
    assert await storage.campaigns.counts([cid]) == {cid: {}}
