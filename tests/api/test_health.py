"""GET /health needs no key and reports version, engine, session and database."""

from __future__ import annotations

import httpx

from tests.conftest import Harness
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
