"""A gateway restarted on the same data dir keeps its link and its counters."""

from __future__ import annotations

from pathlib import Path

from tests.conftest import in_process, make_settings
from waqtor.storage import Storage


async def test_restart_keeps_the_link_and_the_counters(data_dir: Path) -> None:
    settings = make_settings(data_dir)
    async with in_process(settings) as gw:
        await gw.scan(phone="4915112345678", pushname="Ana")
        for n in range(3):
            await gw.client.post("/api/sandbox/inbound", json={"from": "4915100000001", "body": f"m{n}"})
        before = await gw.state()

    async with in_process(settings) as gw:
        after = await gw.state()
        assert after["status"] == "connected" and after["ready"] is True
        assert after["info"] == before["info"] == {"pushname": "Ana", "platform": "android", "phoneMasked": "***5678"}
        assert after["stats"] == {"messagesSent": 0, "messagesReceived": 3}


async def test_stats_reset_survives_a_restart(data_dir: Path) -> None:
    settings = make_settings(data_dir)
    async with in_process(settings) as gw:
        await gw.scan()
        await gw.client.post("/api/sandbox/inbound", json={"from": "4915100000001", "body": "x"})
        await gw.client.post("/api/session/stats/reset")
    async with in_process(settings) as gw:
        assert (await gw.state())["stats"]["messagesReceived"] == 0


async def test_a_clean_stop_leaves_the_row_disconnected(data_dir: Path) -> None:
    settings = make_settings(data_dir)
    async with in_process(settings) as gw:
        await gw.scan()

    storage = Storage(settings.resolved_database_url)
    await storage.open()
    try:
        state = await storage.sessions.load_state("default")
    finally:
        await storage.close()
    assert state is not None and state.status == "disconnected" and state.last_error is None


async def test_an_unlinked_sandbox_offers_a_qr_again_after_restart(data_dir: Path) -> None:
    settings = make_settings(data_dir)
    async with in_process(settings) as gw:
        await gw.scan()
        await gw.client.post("/api/status/logout")
    async with in_process(settings) as gw:
        assert (await gw.state())["status"] == "qr"


async def test_the_gateway_runs_and_restarts_on_postgresql(data_dir: Path) -> None:
    from tests.pg import fresh_database

    async with fresh_database() as url:
        settings = make_settings(data_dir, database_url=url)
        async with in_process(settings) as gw:
            assert gw.gateway.storage.dialect == "postgresql"
            await gw.scan(phone="4915112345678")
            await gw.client.post("/api/sandbox/inbound", json={"from": "4915100000001", "body": "x"})
        async with in_process(settings) as gw:
            state = await gw.state()
            assert state["status"] == "connected" and state["stats"]["messagesReceived"] == 1
            assert not (data_dir / "waqtor.db").exists()
