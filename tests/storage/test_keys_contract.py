"""Storage contract for API keys and WebSocket tickets: the same tests on SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

from sqlalchemy import select

from waqtor.storage import Storage
from waqtor.storage.records import KeyRecord, TicketRecord
from waqtor.storage.tables import api_keys, ws_tickets

T0 = datetime(2026, 12, 3, 9, 0, tzinfo=UTC)


def key(key_id: str = "key_0000000000000001", hash: str = "a" * 64, **changes: object) -> KeyRecord:
    values: dict[str, object] = {"id": key_id, "name": "shop backend", "prefix": "wqt_abcdefgh", "hash": hash,
                                 "scopes": ("read", "send"), "sessions": ("shop",), "created_at": T0}
    values.update(changes)
    return KeyRecord(**values)  # type: ignore[arg-type]


def ticket(key_id: str | None = "key_0000000000000001",
           expires_at: datetime = T0 + timedelta(seconds=60)) -> TicketRecord:
    return TicketRecord(key_id=key_id, scopes=("read",), sessions=("shop",), expires_at=expires_at)


async def test_a_key_comes_back_as_stored_by_its_hash_and_in_the_list(storage: Storage) -> None:
    record = key(expires_at=T0 + timedelta(days=1))
    await storage.keys.create(record)
    await storage.keys.create(key("key_0000000000000002", "b" * 64, sessions=None, created_at=T0 + timedelta(1)))
    assert await storage.keys.by_hash("a" * 64) == record
    assert await storage.keys.by_hash("c" * 64) is None
    listed = await storage.keys.all()
    assert [k.id for k in listed] == ["key_0000000000000001", "key_0000000000000002"]
    assert listed[1].sessions is None


async def test_deleting_a_key_removes_it_and_its_tickets(storage: Storage) -> None:
    await storage.keys.create(key())
    await storage.keys.add_ticket("t" * 64, ticket(), T0)
    assert await storage.keys.delete("key_0000000000000001") is True
    assert await storage.keys.delete("key_0000000000000001") is False
    assert await storage.keys.all() == []
    assert await storage.keys.take_ticket("t" * 64) is None


async def test_last_use_only_moves_forward(storage: Storage) -> None:
    await storage.keys.create(key())
    await storage.keys.touch({"key_0000000000000001": T0 + timedelta(minutes=5)})
    await storage.keys.touch({"key_0000000000000001": T0 + timedelta(minutes=2)})
    [record] = await storage.keys.all()
    assert record.last_used_at == T0 + timedelta(minutes=5)


async def test_a_ticket_is_taken_once_even_by_callers_racing_for_it(storage: Storage) -> None:
    await storage.keys.create(key())
    await storage.keys.add_ticket("t" * 64, ticket(), T0)
    taken = await asyncio.gather(*(storage.keys.take_ticket("t" * 64) for _ in range(5)))
    winners = [t for t in taken if t is not None]
    assert winners == [ticket()]


async def test_a_ticket_of_the_gateway_key_has_no_key_id(storage: Storage) -> None:
    await storage.keys.add_ticket("g" * 64, ticket(key_id=None), T0)
    taken = await storage.keys.take_ticket("g" * 64)
    assert taken is not None and taken.key_id is None


async def test_adding_a_ticket_drops_the_expired_ones(storage: Storage) -> None:
    await storage.keys.add_ticket("1" * 64, ticket(None, expires_at=T0 - timedelta(seconds=1)),
                                  T0 - timedelta(minutes=2))
    await storage.keys.add_ticket("2" * 64, ticket(None, expires_at=T0 + timedelta(seconds=60)), T0)
    async with storage.engine.connect() as conn:
        left = [row.hash for row in await conn.execute(select(ws_tickets.c.hash))]
    assert left == ["2" * 64]


async def test_only_hashes_are_stored(storage: Storage) -> None:
    await storage.keys.create(key())
    async with storage.engine.connect() as conn:
        columns = set((await conn.execute(select(api_keys))).keys())
    assert "key" not in columns and "hash" in columns
