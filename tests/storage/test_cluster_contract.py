"""Storage contract for instances and session leases: the same tests on SQLite and PostgreSQL.

A lease is held by one instance at a time; these are the writes that guarantee it.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

import pytest
from sqlalchemy import select

from tests.conftest import eventually
from tests.pg import fresh_database
from waqtor.sessions.state import SessionState
from waqtor.storage import Storage
from waqtor.storage.records import SessionRecord
from waqtor.storage.tables import session_leases

T0 = datetime(2025, 10, 28, 12, 30, tzinfo=UTC)
LONG = 60.0  # a TTL no test outlives
SHORT = 0.2  # a TTL a test waits out


@pytest.fixture
async def storage(storage: Storage) -> Storage:
    """The contract store with the sessions `shop` and `support`."""
    for name in ("shop", "support"):
        await storage.sessions.create(SessionRecord(name=name, engine="sandbox", created_at=T0),
                                      SessionState(session=name, engine="sandbox", last_update=T0))
    return storage


async def test_a_free_lease_goes_to_one_instance_of_many_asking_at_once(storage: Storage) -> None:
    cluster = storage.cluster
    granted = await asyncio.gather(*(cluster.acquire("shop", f"i{n}", LONG) for n in range(5)))
    assert sum(granted) == 1
    assert await cluster.owner("shop") == f"i{granted.index(True)}"


async def test_a_held_lease_is_refused_to_others_and_granted_again_to_its_holder(storage: Storage) -> None:
    cluster = storage.cluster
    assert await cluster.acquire("shop", "a", LONG)
    assert not await cluster.acquire("shop", "b", LONG)
    assert await cluster.acquire("shop", "a", LONG)
    assert await cluster.owners() == {"shop": "a"}


async def test_an_expired_lease_is_taken_over_and_its_old_holder_cannot_renew_it(storage: Storage) -> None:
    cluster = storage.cluster
    assert await cluster.acquire("shop", "a", SHORT)
    await eventually(lambda: cluster.acquire("shop", "b", LONG), timeout=5, what="takeover after expiry")
    assert await cluster.renew("a", ["shop"], LONG) == set()
    assert await cluster.owner("shop") == "b"


async def test_renewal_extends_only_the_holders_leases(storage: Storage) -> None:
    cluster = storage.cluster
    assert await cluster.acquire("shop", "a", 5)
    assert await cluster.acquire("support", "b", LONG)
    before = await expiry(storage, "shop")
    assert await cluster.renew("a", ["shop", "support"], LONG) == {"shop"}
    assert (await expiry(storage, "shop") - before).total_seconds() > LONG - 10
    assert await cluster.owners() == {"shop": "a", "support": "b"}


async def expiry(storage: Storage, session: str) -> datetime:
    async with storage.engine.connect() as conn:
        query = select(session_leases.c.expires_at).where(session_leases.c.session == session)
        return (await conn.execute(query)).scalar_one()  # type: ignore[no-any-return]


async def test_a_lease_nobody_renews_stops_naming_an_owner(storage: Storage) -> None:
    cluster = storage.cluster
    assert await cluster.acquire("shop", "a", SHORT)

    async def expired() -> bool:
        return await cluster.owner("shop") is None

    await eventually(expired, timeout=5, what="expiry")


async def test_a_released_lease_is_free_at_once_and_only_its_holder_releases_it(storage: Storage) -> None:
    cluster = storage.cluster
    assert await cluster.acquire("shop", "a", LONG)
    await cluster.release("shop", "b")
    assert await cluster.owner("shop") == "a"
    await cluster.release("shop", "a")
    assert await cluster.owner("shop") is None
    assert await cluster.acquire("shop", "b", LONG)


async def test_a_lease_of_a_session_that_does_not_exist_is_refused(storage: Storage) -> None:
    assert not await storage.cluster.acquire("nobody", "a", LONG)


async def test_deleting_a_session_deletes_its_lease(storage: Storage) -> None:
    assert await storage.cluster.acquire("shop", "a", LONG)
    await storage.sessions.delete("shop")
    assert await storage.cluster.owners() == {}


async def test_heartbeats_list_the_live_instances(storage: Storage) -> None:
    cluster = storage.cluster
    assert await cluster.heartbeat("a", "p1", LONG) == ["a"]
    assert await cluster.heartbeat("b", "p2", LONG) == ["a", "b"]
    assert await cluster.live_instances(LONG) == ["a", "b"]


async def test_an_instance_id_held_by_another_live_process_is_refused_until_it_lapses(storage: Storage) -> None:
    cluster = storage.cluster
    assert await cluster.heartbeat("a", "first", LONG) == ["a"]
    assert await cluster.heartbeat("a", "second", LONG) is None
    assert await cluster.heartbeat("a", "first", LONG) == ["a"], "its own process refreshes it"

    async def second_gets_it() -> bool:
        return await cluster.heartbeat("a", "second", SHORT) == ["a"]

    await eventually(second_gets_it, timeout=5, what="the id once the first process stopped refreshing it")
    assert await cluster.heartbeat("a", "first", LONG) is None


async def test_leaving_releases_every_lease_and_the_instance(storage: Storage) -> None:
    cluster = storage.cluster
    await cluster.heartbeat("a", "p", LONG)
    await cluster.heartbeat("b", "q", LONG)
    assert await cluster.acquire("shop", "a", LONG) and await cluster.acquire("support", "a", LONG)
    await cluster.leave("a", "p")
    assert await cluster.owners() == {}
    assert await cluster.live_instances(LONG) == ["b"]


async def test_expiring_a_dead_instance_frees_its_leases_at_once(storage: Storage) -> None:
    cluster = storage.cluster
    await cluster.heartbeat("dead", "p", LONG)
    assert await cluster.acquire("shop", "dead", LONG)
    await cluster.expire("dead")
    assert await cluster.owners() == {}
    assert await cluster.live_instances(LONG) == []


async def test_the_database_clock_is_utc_and_current(storage: Storage) -> None:
    now = await storage.cluster.now()
    assert now.tzinfo is not None
    assert abs((now - datetime.now(UTC)).total_seconds()) < 60


async def test_instances_opening_a_fresh_postgresql_database_at_once_migrate_it_once() -> None:
    # PostgreSQL only: it is what several instances share (SQLite serves one instance).
    async with fresh_database() as url:
        stores = [Storage(url) for _ in range(3)]
        try:
            await asyncio.gather(*(store.open() for store in stores))
            assert await stores[0].cluster.live_instances(LONG) == []
        finally:
            for store in stores:
                await store.close()
