"""The storage's two pools: requests and services on the main one, the rounds that keep this instance's
sessions (heartbeat, lease renewal) on a small one of their own. A burst that holds every connection of
the main pool answers 503 `database_busy` with `Retry-After`, and the sessions keep their leases."""

from __future__ import annotations

import asyncio
from pathlib import Path

from sqlalchemy import text

from tests.api.test_bad_input import assert_error
from tests.conftest import eventually, in_process, make_settings
from tests.pg import fresh_database
from waqtor.storage import Storage


async def test_a_full_pool_answers_503_database_busy_while_the_leases_are_renewed(data_dir: Path) -> None:
    async with fresh_database() as url, in_process(make_settings(
            data_dir, database_url=url, database_pool_size=1, database_timeout=0.5, lease_ttl=3.0)) as gw:
        gateway = gw.gateway
        await eventually(lambda: gateway.sessions.runs_here("default"), what="the default session running here")
        session = gateway.sessions.get("default")
        engine = gateway.storage.engine
        # A burst of requests holds the pool's one connection and its one for bursts.
        async with engine.connect() as first, engine.connect() as second:
            for held in (first, second):
                await held.execute(text("SELECT 1"))
            busy = await gw.client.get("/api/messages")
            assert_error(busy, 503, "database_busy")
            assert busy.headers["Retry-After"] == "2"
            # Longer than a lease lasts without renewal: the session still runs, the same one.
            await asyncio.sleep(gateway.settings.lease_ttl)
            assert gateway.sessions.runs_here("default") and gateway.sessions.get("default") is session
        assert (await gw.client.get("/api/messages")).status_code == 200


async def test_an_in_memory_sqlite_database_is_one_for_both_pools() -> None:
    storage = Storage("sqlite://")
    await storage.open()
    try:
        assert await storage.housekeeping.sessions.list() == []  # the tables the migrations made are there
        assert await storage.housekeeping.cluster.owners() == {}
    finally:
        await storage.close()
