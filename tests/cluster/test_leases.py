"""The lease keeper: this instance's own count of how long each lease is surely still its own."""

from __future__ import annotations

import asyncio
import time
from datetime import UTC, datetime

import pytest
from sqlalchemy import select

from tests.conftest import eventually
from waqtor.cluster.leases import LeaseKeeper
from waqtor.errors import ConfigError
from waqtor.sessions.state import SessionState
from waqtor.storage import Storage
from waqtor.storage.records import SessionRecord
from waqtor.storage.tables import session_leases

T0 = datetime(2025, 10, 28, tzinfo=UTC)


@pytest.fixture
async def storage(sqlite_storage: Storage) -> Storage:
    await sqlite_storage.sessions.create(SessionRecord(name="shop", engine="sandbox", created_at=T0),
                                         SessionState(session="shop", engine="sandbox", last_update=T0))
    return sqlite_storage


async def test_a_taken_lease_is_held_until_its_local_deadline_then_overdue(storage: Storage) -> None:
    keeper = LeaseKeeper(storage.cluster, "a", ttl=0.5)
    assert await keeper.acquire("shop")
    assert keeper.holds("shop") and keeper.held == ["shop"]
    deadline = keeper.next_deadline()
    assert deadline is not None
    await eventually(lambda: not keeper.holds("shop"), timeout=5, what="the local deadline")
    assert keeper.overdue() == ["shop"]
    assert keeper.held == [] and keeper.overdue() == []


async def test_the_local_deadline_comes_before_the_database_lets_another_instance_in(storage: Storage) -> None:
    keeper = LeaseKeeper(storage.cluster, "a", ttl=10)
    assert await keeper.acquire("shop")
    async with storage.engine.connect() as conn:
        expires = (await conn.execute(select(session_leases.c.expires_at))).scalar_one()
    database_left = (expires - await storage.cluster.now()).total_seconds()
    local_left = keeper.next_deadline() - time.monotonic()  # type: ignore[operator]
    assert local_left < database_left - keeper.margin / 2, "the instance stops a margin before the lease ends"


async def test_a_renewal_moves_the_deadline_and_reports_a_lease_taken_over(storage: Storage) -> None:
    keeper = LeaseKeeper(storage.cluster, "a", ttl=5)
    assert await keeper.acquire("shop")
    await asyncio.sleep(0.05)
    before = keeper.next_deadline()
    assert await keeper.renew() == set()
    assert keeper.next_deadline() > before  # type: ignore[operator]
    await storage.cluster.release("shop", "a")
    assert await storage.cluster.acquire("shop", "b", 60)
    assert await keeper.renew() == {"shop"}
    assert not keeper.holds("shop")


async def test_a_second_live_process_with_the_same_id_cannot_join(storage: Storage) -> None:
    first = LeaseKeeper(storage.cluster, "same", ttl=1.0)
    await first.join()
    second = LeaseKeeper(storage.cluster, "same", ttl=1.0)
    refresher = asyncio.create_task(_keep_alive(first))
    try:
        with pytest.raises(ConfigError, match="WAQTOR_INSTANCE_ID"):
            await second.join()
    finally:
        refresher.cancel()


async def test_a_restarted_process_with_the_same_id_joins_once_the_old_one_lapsed(storage: Storage) -> None:
    first = LeaseKeeper(storage.cluster, "same", ttl=0.3)
    await first.join()
    second = LeaseKeeper(storage.cluster, "same", ttl=0.3)
    await second.join()
    assert second.live == ["same"]
    with pytest.raises(ConfigError, match="taken by another process"):
        await first.heartbeat()


async def test_leaving_releases_the_leases(storage: Storage) -> None:
    keeper = LeaseKeeper(storage.cluster, "a", ttl=60)
    await keeper.join()
    assert await keeper.acquire("shop")
    await keeper.leave()
    assert await storage.cluster.owner("shop") is None and keeper.held == []


async def _keep_alive(keeper: LeaseKeeper) -> None:
    while True:
        await keeper.heartbeat()
        await asyncio.sleep(0.05)
