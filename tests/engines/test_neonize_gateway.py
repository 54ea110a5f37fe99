"""The neonize engine inside the gateway: offline with the real client, and linked over the fake Go layer."""

from __future__ import annotations

import os
import sqlite3
from pathlib import Path

import pytest
from neonize.events import ConnectedEv

from tests.conftest import eventually, in_process, make_settings
from tests.engines.neonize_fakes import FakeGo, FakeGoEngine, fake_in_gateway, feed, show_qr


async def test_offline_the_real_client_reports_the_failure_backs_off_and_the_gateway_stays_healthy(
    data_dir: Path,
) -> None:
    settings = make_settings(data_dir, engine="neonize", reconnect_min=0.05, reconnect_max=0.2)
    async with in_process(settings) as gw:
        monitor = gw.gateway.sessions.get("default").monitor

        def failed_twice() -> bool:
            error = monitor.state.last_error
            return error is not None and error["details"].get("attempt", 0) >= 2

        await eventually(failed_twice, timeout=30, what="two failed attempts")
        state = await gw.state()
        assert state["engine"] == "neonize"
        assert state["ready"] is False
        assert state["lastError"]["code"] == "connect_failure"
        assert "cannot connect to WhatsApp" in state["lastError"]["message"]
        assert state["lastError"]["details"]["retryInSeconds"] > 0
        health = await gw.client.get("/health")
        assert health.status_code == 200 and health.json()["status"] == "ok"
        # The real neonize client ran in an engine worker, a process of its own, not in the gateway's.
        (worker,) = gw.gateway.sessions.workers.workers
        assert worker.pid != os.getpid() and worker.alive
        assert worker.tenants.keys() == {"default"}
    assert (data_dir / "neonize.db").exists(), "neonize creates its store even when WhatsApp is unreachable"


@pytest.fixture
def fake(monkeypatch: pytest.MonkeyPatch) -> FakeGo:
    return fake_in_gateway(monkeypatch)


async def test_a_linked_device_shows_its_account_and_raw_platform(data_dir: Path, fake: FakeGo) -> None:
    async with in_process(make_settings(data_dir, engine="neonize")) as gw:
        await eventually(lambda: fake.entered.is_set() and bool(FakeGoEngine.clients), what="connect running")
        await feed(FakeGoEngine.clients[-1], ConnectedEv(status=True))
        monitor = gw.gateway.sessions.get("default").monitor
        await eventually(lambda: monitor.state.ready, what="connected")
        info = (await gw.client.get("/api/status/client")).json()["data"]["info"]
        assert info == {"phone": "4915112345678", "pushname": "Tariq Said", "platform": "android (business)",
                        "platformRaw": "smba", "phoneMasked": "***5678"}


async def test_pair_answers_the_code_to_type_on_the_phone(data_dir: Path, fake: FakeGo) -> None:
    async with in_process(make_settings(data_dir, engine="neonize")) as gw:
        await eventually(lambda: fake.entered.is_set() and bool(FakeGoEngine.clients), what="connect running")
        await show_qr(FakeGoEngine.clients[-1], b"2@QR,QR,QR,QR")
        await eventually(lambda: gw.gateway.sessions.get("default").monitor.state.has_qr, what="QR")
        response = await gw.client.post("/api/session/pair", json={"phone": "+4915112345678"})
        assert response.status_code == 200, response.text
        assert response.json()["data"]["code"] == "WQTR-2026"
        assert response.json()["data"]["expiresAt"].endswith("Z")
        assert fake.paired == ["4915112345678"]


def _whatsmeow_store(path: Path, jid: str) -> None:
    """The part of whatsmeow's store the gateway reads: the device row (whatsmeow writes it when pairing)."""
    with sqlite3.connect(path) as conn:
        conn.execute("CREATE TABLE IF NOT EXISTS whatsmeow_device (jid TEXT PRIMARY KEY)")
        conn.execute("INSERT INTO whatsmeow_device (jid) VALUES (?)", (jid,))


async def test_a_restart_restores_the_stored_device_without_a_new_qr(data_dir: Path, fake: FakeGo) -> None:
    settings = make_settings(data_dir, engine="neonize")
    async with in_process(settings) as gw:
        await eventually(lambda: bool(FakeGoEngine.clients) and fake.entered.is_set(), what="connect running")
        await feed(FakeGoEngine.clients[-1], ConnectedEv(status=True))
        repo = gw.gateway.storage.sessions
        await eventually(lambda: gw.gateway.sessions.get("default").monitor.state.ready, what="connected")
        link = await repo.load_engine_data("default")
    assert link == {"jid": "4915112345678:7@s.whatsapp.net"}
    _whatsmeow_store(data_dir / "neonize.db", link["jid"])
    FakeGoEngine.clients.clear()
    async with in_process(settings):
        await eventually(lambda: bool(FakeGoEngine.clients), what="client built")
        client = FakeGoEngine.clients[-1]
        assert client.jid is not None and client.jid.User == "4915112345678" and client.jid.Device == 7
        assert client.new_device is False


async def test_a_link_whose_device_left_the_store_pairs_anew_instead_of_opening_it(
        data_dir: Path, fake: FakeGo) -> None:
    settings = make_settings(data_dir, engine="neonize")
    async with in_process(settings) as gw:
        await gw.gateway.storage.sessions.save_engine_data("default", {"jid": "4915100000000:2@s.whatsapp.net"})
    FakeGoEngine.clients.clear()
    async with in_process(settings) as gw:
        await eventually(lambda: bool(FakeGoEngine.clients), what="client built")
        assert FakeGoEngine.clients[-1].new_device is True
        assert await gw.gateway.storage.sessions.load_engine_data("default") is None


async def test_deleting_a_session_removes_its_device_from_the_shared_store(data_dir: Path, fake: FakeGo) -> None:
    async with in_process(make_settings(data_dir, engine="sandbox")) as gw:
        created = await gw.client.post("/api/sessions", json={"name": "shop", "engine": "neonize"})
        assert created.status_code == 201, created.text
        await eventually(lambda: any(c.uuid.startswith(b"waqtor/shop/") for c in FakeGoEngine.clients),
                         what="shop connects")
        shop_client = next(c for c in FakeGoEngine.clients if c.uuid.startswith(b"waqtor/shop/"))
        await eventually(lambda: fake.entered.is_set(), what="connect running")
        await feed(shop_client, ConnectedEv(status=True))
        repo = gw.gateway.storage.sessions
        await eventually(lambda: gw.gateway.sessions.get("shop").monitor.state.ready, what="shop connected")
        jid = (await repo.load_engine_data("shop"))["jid"]
        _whatsmeow_store(data_dir / "neonize.db", jid)
        _whatsmeow_store(data_dir / "neonize.db", "4915100000000:3@s.whatsapp.net")  # another session's device
        assert (await gw.client.delete("/api/sessions/shop")).status_code == 200
    with sqlite3.connect(data_dir / "neonize.db") as conn:
        remaining = [row[0] for row in conn.execute("SELECT jid FROM whatsmeow_device")]
    assert remaining == ["4915100000000:3@s.whatsapp.net"]
