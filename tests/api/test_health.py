"""GET /health needs no key and reports version, engine, session, database, bus and this instance;
the Redis outage case is in tests/cluster/test_redis_restart.py, with a real Redis stopped."""

from __future__ import annotations

from pathlib import Path

import httpx

from tests.conftest import Harness, eventually, in_process, make_settings
from tests.pg import fresh_database, set_connections_allowed
from waqtor import __version__


async def test_health_is_open_and_complete(gw: Harness) -> None:
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=gw.app), base_url="http://gateway") as anon:
        response = await anon.get("/health")
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "ok"
    assert body["version"] == __version__
    assert body["engine"] == "sandbox" and body["sandbox"] is True
    assert body["session"]["name"] == "default"
    assert body["session"]["status"] in {"connecting", "qr"}
    assert body["database"] == {"reachable": True}


async def test_health_is_degraded_with_503_when_the_database_is_gone(gw: Harness) -> None:
    data_dir = gw.settings.data_dir
    await gw.gateway.storage.engine.dispose()  # drop pooled connections so the next one opens the file
    moved = data_dir.with_name("moved-away")
    data_dir.rename(moved)  # SQLite cannot open a file in a directory that does not exist
    try:
        response = await gw.client.get("/health")
    finally:
        moved.rename(data_dir)
    assert response.status_code == 503
    assert response.json()["status"] == "degraded"
    assert response.json()["database"] == {"reachable": False}
    assert (await gw.client.get("/health")).status_code == 200


async def test_health_names_this_instance_the_sessions_it_runs_and_the_bus(gw: Harness) -> None:
    body = (await gw.client.get("/health")).json()
    assert body["instance"]["id"] == gw.gateway.sessions.instance
    assert body["instance"]["sessions"] == ["default"] and body["instance"]["instances"] == 1
    assert body["bus"] == {"backend": "memory", "reachable": True}


async def test_an_instance_id_can_be_given(data_dir: Path) -> None:
    async with in_process(make_settings(data_dir, instance_id="gateway-1")) as gw:
        assert (await gw.client.get("/health")).json()["instance"]["id"] == "gateway-1"


async def test_health_is_degraded_with_503_while_postgresql_refuses_connections(data_dir: Path) -> None:
    async with fresh_database() as url, in_process(make_settings(data_dir, database_url=url)) as gw:
        await set_connections_allowed(url, False)
        try:
            response = await gw.client.get("/health")
        finally:
            await set_connections_allowed(url, True)
        assert response.status_code == 503
        body = response.json()
        assert body["status"] == "degraded" and body["database"] == {"reachable": False}
        assert body["session"] is None and body["engine"] == "sandbox"

        async def recovered() -> bool:
            return (await gw.client.get("/health")).status_code == 200

        await eventually(recovered, timeout=10, what="healthy again")
