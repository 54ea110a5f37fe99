"""Group commit (`waqtor.storage.groupcommit`): its batching policy on a plain write function, and the
message log and recipient claims written through it on SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from tests.storage.test_campaign_repository import campaign
from tests.storage.test_sessions_contract import make
from waqtor.errors import Unavailable
from waqtor.storage import Storage
from waqtor.storage.groupcommit import GroupCommit
from waqtor.storage.tables import messages

T0 = datetime(2025, 11, 3, 9, 0, tzinfo=UTC)


class Log:
    """A write function that records its batches; `gate` holds a batch until it is set."""

    def __init__(self, fail: Exception | None = None, bad: int | None = None) -> None:
        self.batches: list[list[int]] = []
        self.stored: list[int] = []
        self.gate = asyncio.Event()
        self.gate.set()
        self.fail = fail
        self.bad = bad

    async def write(self, items: Sequence[int]) -> list[int]:
        self.batches.append(list(items))
        await self.gate.wait()
        if self.fail is not None:
            raise self.fail
        if self.bad in items:
            raise ValueError(f"item {self.bad} is bad")
        self.stored += items
        return [item * 10 for item in items]


async def test_items_that_arrive_during_a_write_go_together_into_the_next() -> None:
    log = Log()
    log.gate.clear()
    commit = GroupCommit("t", log.write)
    first = asyncio.create_task(commit.submit(0))
    await asyncio.sleep(0)
    others = [asyncio.create_task(commit.submit(n)) for n in range(1, 20)]
    await asyncio.sleep(0)
    assert log.batches == [[0]]  # an idle writer writes the first item at once
    log.gate.set()
    assert await asyncio.gather(first, *others) == [n * 10 for n in range(20)]
    assert log.batches == [[0], list(range(1, 20))]


async def test_a_batch_holds_at_most_batch_items() -> None:
    log = Log()
    commit = GroupCommit("t", log.write, batch=8)
    await asyncio.gather(*(commit.submit(n) for n in range(20)))
    assert sorted(log.stored) == list(range(20))
    assert max(len(b) for b in log.batches) == 8


async def test_the_queue_is_bounded_and_later_callers_wait_for_room() -> None:
    log = Log()
    log.gate.clear()
    commit = GroupCommit("t", log.write, queue=5)
    tasks = [asyncio.create_task(commit.submit(n)) for n in range(12)]
    for _ in range(5):
        await asyncio.sleep(0)
    # The first five hold the room (being written); the other seven wait for room, not in the queue.
    assert log.batches == [[0, 1, 2, 3, 4]] and len(commit) == 0
    log.gate.set()
    assert await asyncio.gather(*tasks) == [n * 10 for n in range(12)]
    assert all(len(batch) <= 5 for batch in log.batches)


async def test_items_with_one_key_never_share_a_batch_and_keep_their_order() -> None:
    log = Log()
    log.gate.clear()
    commit = GroupCommit("t", log.write, key=lambda item: item % 2)
    tasks = [asyncio.create_task(commit.submit(n)) for n in range(6)]
    await asyncio.sleep(0)
    log.gate.set()
    await asyncio.gather(*tasks)
    assert log.batches == [[0, 1], [2, 3], [4, 5]]


async def test_an_outage_fails_every_caller_of_the_batch() -> None:
    down = Unavailable("the database cannot be reached right now", code="database_unavailable")
    log = Log(fail=down)
    log.gate.clear()
    commit = GroupCommit("t", log.write)
    tasks = [asyncio.create_task(commit.submit(n)) for n in range(4)]
    await asyncio.sleep(0)
    log.gate.set()
    results = await asyncio.gather(*tasks, return_exceptions=True)
    assert all(result is down for result in results)
    assert log.stored == [] and log.batches == [[0, 1, 2, 3]]  # not retried one by one


async def test_a_bad_item_fails_only_its_own_caller() -> None:
    log = Log(bad=2)
    log.gate.clear()
    commit = GroupCommit("t", log.write)
    tasks = [asyncio.create_task(commit.submit(n)) for n in range(5)]
    await asyncio.sleep(0)
    log.gate.set()
    results = await asyncio.gather(*tasks, return_exceptions=True)
    assert isinstance(results[2], ValueError)
    assert [r for n, r in enumerate(results) if n != 2] == [0, 10, 30, 40]
    assert sorted(log.stored) == [0, 1, 3, 4]


async def test_a_caller_cancelled_before_its_batch_withdraws_its_item() -> None:
    log = Log()
    log.gate.clear()
    commit = GroupCommit("t", log.write)
    first = asyncio.create_task(commit.submit(0))
    await asyncio.sleep(0)
    gone = asyncio.create_task(commit.submit(1))
    kept = asyncio.create_task(commit.submit(2))
    await asyncio.sleep(0)
    gone.cancel()
    log.gate.set()
    assert await asyncio.gather(first, kept) == [0, 20]
    assert log.stored == [0, 2]
    await commit.close()


# ---- on the databases --------------------------------------------------------------------------------


def incoming(n: int, **changes: Any) -> dict[str, Any]:
    return {"session": "default", "direction": "in", "chat": "491511@s.whatsapp.net", "sender": None,
            "type": "text", "text": f"message {n}", "wa_id": f"3EB0{n:06d}", "status": "received",
            "timestamp": T0, "created_at": T0} | changes


def outgoing(n: int) -> dict[str, Any]:
    return {"session": "default", "direction": "out", "chat": "491512@s.whatsapp.net", "type": "text",
            "text": f"out {n}", "content": None, "status": "queued", "campaign_id": None, "timestamp": T0,
            "queued_at": T0, "created_at": T0}


async def counters(storage: Storage) -> tuple[int, int]:
    state = await storage.sessions.load_state("default")
    assert state is not None
    return state.messages_sent, state.messages_received


async def logged(storage: Storage) -> int:
    async with storage.engine.connect() as conn:
        return int((await conn.execute(select(func.count()).select_from(messages))).scalar_one())


async def test_many_concurrent_incoming_messages_are_all_stored_once_and_counted(storage: Storage) -> None:
    await make(storage, "default")
    # 300 messages, every tenth delivered twice at the same time (WhatsApp redelivers after a reconnect).
    offered = [incoming(n) for n in range(300)] + [incoming(n) for n in range(0, 300, 10)]
    results = await asyncio.gather(*(storage.messages.insert_new(v, count="messages_received") for v in offered))
    stored = [r for r in results if r is not None]
    assert len(stored) == 300 and len({r.id for r in stored}) == 300
    assert sorted(r.wa_id for r in stored) == sorted(v["wa_id"] for v in offered[:300])
    for record in stored[::37]:  # each caller got its own row's id
        again = await storage.messages.get(record.id)
        assert again is not None and (again.wa_id, again.text) == (record.wa_id, record.text)
    assert await logged(storage) == 300
    assert await counters(storage) == (0, 300)


async def test_concurrent_sends_get_their_own_ids_and_move_once(storage: Storage) -> None:
    await make(storage, "default")
    records = await asyncio.gather(*(storage.messages.insert(outgoing(n)) for n in range(120)))
    for record in records[::17]:
        again = await storage.messages.get(record.id)
        assert again is not None and again.text == record.text
    at = T0 + timedelta(seconds=1)
    # Each message marked sent twice at once: only one of the two moves it, and it is counted once.
    marks = await asyncio.gather(*(storage.messages.mark_sent(r.id, f"WA{r.id}", at, "default")
                                   for r in records for _ in range(2)))
    assert sum(marks) == 120
    assert await counters(storage) == (120, 0)
    later = T0 + timedelta(seconds=2)
    moves = await asyncio.gather(*(storage.messages.move(r.id, "sent", "delivered", later) for r in records),
                                 *(storage.messages.move(r.id, "queued", "failed", later, "x") for r in records))
    assert moves == [True] * 120 + [False] * 120
    record = await storage.messages.get(records[5].id)
    assert record is not None and (record.status, record.wa_id, record.error) == ("delivered", f"WA{record.id}", None)
    assert (record.sent_at, record.delivered_at, record.failed_at) == (at, later, None)


async def test_a_bad_message_in_a_batch_fails_alone_and_nothing_is_half_written(storage: Storage) -> None:
    await make(storage, "default")
    offered = [incoming(n) for n in range(20)]
    offered[7] = incoming(7, chat=None)  # refused by the database (NOT NULL)
    results = await asyncio.gather(*(storage.messages.insert_new(v, count="messages_received") for v in offered),
                                   return_exceptions=True)
    assert isinstance(results[7], IntegrityError)
    assert all(r is not None and not isinstance(r, Exception) for n, r in enumerate(results) if n != 7)
    assert await logged(storage) == 19
    assert await counters(storage) == (0, 19)


async def test_concurrent_claims_of_one_campaign_claim_each_recipient_once(storage: Storage) -> None:
    cid = await campaign(storage, 50)
    found = await storage.campaigns.pending(cid, 0, 100)
    claims = await asyncio.gather(*(storage.campaigns.claim(r.id, cid, T0 + timedelta(seconds=r.id))
                                    for r in found for _ in range(2)))
    assert sum(claims) == 50
    assert await storage.campaigns.pending(cid, 0, 100) == []
    claimed = await storage.campaigns.recipients(cid, "sending", None, 100)
    assert [r.attempted_at for r in claimed] == [T0 + timedelta(seconds=r.id) for r in found]


@pytest.mark.parametrize("count", [1, 2])
async def test_close_waits_for_the_writes_in_flight(storage: Storage, count: int) -> None:
    await make(storage, "default")
    writes = [asyncio.create_task(storage.messages.insert_new(incoming(n))) for n in range(count)]
    await asyncio.sleep(0)
    await storage.messages.close()
    assert all(task.done() for task in writes)
    assert await logged(storage) == count
