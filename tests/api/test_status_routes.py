"""GET /api/status/client and POST /api/status/logout."""

from __future__ import annotations

from tests.conftest import Harness, eventually


async def test_client_status_shows_the_full_phone_engine_and_no_error(gw: Harness) -> None:
    await gw.scan(phone="4915112345678", pushname="Ana")
    data = (await gw.client.get("/api/status/client")).json()["data"]
    assert data["engine"] == "sandbox"
    assert data["status"] == "connected"
    assert data["info"] == {"phone": "4915112345678", "pushname": "Ana", "platform": "android",
                            "platformRaw": "android", "phoneMasked": "***5678"}
    assert data["lastError"] is None
    assert data["readySince"] is not None
    assert data["qrExpiresAt"] is None


async def test_client_status_while_waiting_for_a_scan_shows_qr_expiry(gw: Harness) -> None:
    await eventually(lambda: gw.gateway.sessions.get("default").monitor.state.has_qr, what="first QR")
    data = (await gw.client.get("/api/status/client")).json()["data"]
    assert data["status"] == "qr"
    assert data["qrExpiresAt"] is not None
    assert data["readySince"] is None


async def test_logout_unlinks_and_returns_to_qr(gw: Harness) -> None:
    await gw.scan()
    response = await gw.client.post("/api/status/logout")
    assert response.status_code == 200
    assert response.json()["data"]["status"] == "qr"
    state = await gw.state()
    assert state["status"] == "qr" and state["hasQR"] is True
    assert state["authenticated"] is False and state["ready"] is False
    assert state["info"] == {"pushname": None, "platform": None, "phoneMasked": None}
    assert await gw.gateway.storage.sessions.load_engine_data("default") is None


async def test_logout_keeps_message_counters(gw: Harness) -> None:
    await gw.scan()
    await gw.client.post("/api/sandbox/inbound", json={"from": "4915100000001", "body": "hi"})
    await gw.client.post("/api/status/logout")
    assert (await gw.state())["stats"]["messagesReceived"] == 1
