"""GET /api/session/state, GET /api/session/qr and POST /api/session/stats/reset: the spec's contract."""

from __future__ import annotations

import re
from datetime import timedelta

from sqlalchemy import select

from tests.conftest import Harness, ShiftedClock, eventually, in_process
from waqtor.config import Settings
from waqtor.storage.tables import session_state

ISO_MS = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$")
QR_SHAPE = re.compile(r"^2@[A-Za-z0-9+/=]+(,[A-Za-z0-9+/=]+){3}$")


async def db_row(gw: Harness, session: str = "default") -> dict:
    async with gw.gateway.storage.engine.connect() as conn:
        row = (await conn.execute(select(session_state).where(session_state.c.session == session))).one()
    return dict(row._mapping)


async def test_state_has_the_spec_fields_with_their_types(gw: Harness) -> None:
    body = (await gw.client.get("/api/session/state")).json()
    assert body["success"] is True
    data = body["data"]
    assert {"status", "ready", "authenticated", "hasQR", "info", "uptime", "stats", "lastUpdate"} <= data.keys()
    assert set(data["info"]) == {"pushname", "platform", "phoneMasked"}
    assert set(data["stats"]) == {"messagesSent", "messagesReceived"}
    assert isinstance(data["ready"], bool) and isinstance(data["authenticated"], bool)
    assert isinstance(data["uptime"], int)
    assert ISO_MS.match(data["lastUpdate"])
    assert data["engine"] == "sandbox"


async def test_fresh_sandbox_offers_a_qr_and_is_not_ready(gw: Harness) -> None:
    await eventually(lambda: gw.gateway.sessions.get("default").monitor.state.has_qr, what="first QR")
    data = await gw.state()
    assert data["status"] == "qr"
    assert data["hasQR"] is True
    assert data["ready"] is False and data["authenticated"] is False
    assert data["uptime"] == 0
    assert data["info"] == {"pushname": None, "platform": None, "phoneMasked": None}


async def test_qr_route_returns_the_whatsapp_shaped_code(gw: Harness) -> None:
    await eventually(lambda: gw.gateway.sessions.get("default").monitor.state.has_qr, what="first QR")
    body = (await gw.client.get("/api/session/qr")).json()
    assert body["success"] is True
    assert body["data"]["hasQR"] is True
    assert QR_SHAPE.match(body["data"]["qr"])
    assert ISO_MS.match(body["data"]["expiresAt"])
    assert "message" not in body["data"]


async def test_qr_route_says_no_qr_once_linked(gw: Harness) -> None:
    await gw.scan()
    body = (await gw.client.get("/api/session/qr")).json()
    assert body == {
        "success": True,
        "data": {"hasQR": False, "message": "No QR code available. Client may already be authenticated."},
    }


async def test_scan_connects_with_a_masked_phone(gw: Harness) -> None:
    await gw.scan(phone="+4915112345678", pushname="Tariq Said")
    data = await gw.state()
    assert data["status"] == "connected"
    assert data["ready"] is True and data["authenticated"] is True and data["hasQR"] is False
    assert data["info"] == {"pushname": "Tariq Said", "platform": "android", "phoneMasked": "***5678"}
    assert "4915112345678" not in (await gw.client.get("/api/session/state")).text


async def test_uptime_counts_from_ready(settings: Settings) -> None:
    clock = ShiftedClock()
    async with in_process(settings, clock=clock) as gw:
        await gw.scan()
        assert (await gw.state())["uptime"] < 60
        clock.offset = timedelta(days=365)
        assert (await gw.state())["uptime"] >= 365 * 24 * 3600


async def test_database_row_agrees_with_the_api_after_each_change(gw: Harness) -> None:
    await eventually(lambda: gw.gateway.sessions.get("default").monitor.state.has_qr, what="first QR")
    row = await db_row(gw)
    assert row["status"] == "qr" and row["qr_code"] is not None and row["ready"] is False

    await gw.scan(phone="4915112345678", pushname="Ana")
    row = await db_row(gw)
    api = await gw.state()
    assert (row["status"], row["ready"], row["authenticated"]) == (api["status"], api["ready"], api["authenticated"])
    assert row["phone"] == "4915112345678" and row["pushname"] == "Ana" and row["platform"] == "android"
    assert row["qr_code"] is None

    await gw.client.post("/api/sandbox/inbound", json={"from": "4915100000001", "body": "hello"})
    row = await db_row(gw)
    assert row["messages_received"] == 1 == (await gw.state())["stats"]["messagesReceived"]


async def test_stats_reset_zeroes_counters_in_api_and_database(gw: Harness) -> None:
    await gw.scan()
    for body in ("one", "two"):
        await gw.client.post("/api/sandbox/inbound", json={"from": "4915100000001", "body": body})
    assert (await gw.state())["stats"]["messagesReceived"] == 2

    response = await gw.client.post("/api/session/stats/reset")
    assert response.status_code == 200
    assert response.json()["data"]["stats"] == {"messagesSent": 0, "messagesReceived": 0}
    assert (await gw.state())["stats"] == {"messagesSent": 0, "messagesReceived": 0}
    row = await db_row(gw)
    assert (row["messages_sent"], row["messages_received"]) == (0, 0)
