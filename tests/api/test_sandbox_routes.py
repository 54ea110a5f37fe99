"""The sandbox's own routes: scan, inbound and injected faults."""

from __future__ import annotations

from tests.conftest import Harness, eventually


async def test_scan_links_a_simulated_android_account(gw: Harness) -> None:
    account = await gw.scan()
    assert account["platform"] == "android"
    assert account["phone"].isdigit() and len(account["phone"]) == 11
    assert (await gw.state())["status"] == "connected"


async def test_inbound_counts_a_received_message(gw: Harness) -> None:
    await gw.scan()
    response = await gw.client.post("/api/sandbox/inbound", json={"from": "+4915100000001", "body": "hello"})
    assert response.status_code == 200
    data = response.json()["data"]
    assert data["from"] == "4915100000001@s.whatsapp.net"
    assert data["body"] == "hello"
    assert (await gw.state())["stats"]["messagesReceived"] == 1


async def test_disconnect_fault_records_the_error_and_heals_by_itself(gw: Harness) -> None:
    await gw.scan()
    response = await gw.client.post("/api/sandbox/fail", json={"kind": "disconnect"})
    assert response.json()["data"]["status"] == "disconnected"
    state = await gw.state()
    assert state["status"] == "disconnected" and state["ready"] is False
    assert state["lastError"]["code"] == "connection_lost"
    monitor = gw.gateway.sessions.get("default").monitor
    await eventually(lambda: monitor.state.ready, what="reconnect after the fault")
    state = await gw.state()
    assert state["status"] == "connected" and state["lastError"] is None
    assert state["info"]["phoneMasked"] is not None


async def test_temporary_ban_fault_is_reported_like_a_real_ban_and_ends_by_itself(gw: Harness) -> None:
    await gw.scan()
    response = await gw.client.post("/api/sandbox/fail", json={"kind": "temporary_ban"})
    assert response.json()["data"] == {"kind": "temporary_ban", "status": "disconnected"}
    error = (await gw.state())["lastError"]
    assert (error["code"] == "temporary_ban"
            and error["details"]["expiresInSeconds"] == gw.settings.sandbox_reconnect_delay)
    monitor = gw.gateway.sessions.get("default").monitor
    await eventually(lambda: monitor.state.ready, what="the ban to end")


async def test_logout_fault_returns_to_qr_and_keeps_the_reason(gw: Harness) -> None:
    await gw.scan()
    await gw.client.post("/api/sandbox/fail", json={"kind": "logout"})
    state = await gw.state()
    assert state["status"] == "qr" and state["hasQR"] is True and state["authenticated"] is False
    assert state["lastError"]["code"] == "logged_out"
    await gw.scan()
    assert (await gw.state())["lastError"] is None


async def test_qr_rotates_on_the_configured_interval(data_dir) -> None:  # type: ignore[no-untyped-def]
    from tests.conftest import in_process, make_settings

    async with in_process(make_settings(data_dir, sandbox_qr_interval=0.05)) as gw:
        monitor = gw.gateway.sessions.get("default").monitor
        await eventually(lambda: monitor.state.has_qr, what="first QR")
        first = monitor.state.qr_code
        await eventually(lambda: monitor.state.qr_code not in (None, first), what="a second QR")


async def test_contacts_sets_a_behaviour_for_the_normalised_number(gw: Harness) -> None:
    response = await gw.client.post("/api/sandbox/contacts", json={"phone": "+49 (151) 1234-5678", "reads": False})
    assert response.status_code == 200, response.text
    assert response.json()["data"] == {"jid": "4915112345678@s.whatsapp.net", "onWhatsApp": True, "reply": None,
                                       "fail": None, "error": "the sandbox contact is set to fail", "reads": False,
                                       "name": None, "about": None, "business": False, "picture": True}


async def test_contacts_refuses_an_impossible_number(gw: Harness) -> None:
    response = await gw.client.post("/api/sandbox/contacts", json={"phone": "12"})
    assert response.status_code == 400 and response.json()["error"]["code"] == "invalid_phone"


async def test_inbound_may_carry_a_file_without_text(gw: Harness) -> None:
    import base64

    from tests.messaging.samples import sample

    await gw.scan()
    data = base64.b64encode(sample("pdf", 300)).decode()
    response = await gw.client.post("/api/sandbox/inbound", json={"from": "4915100000001", "media": {"data": data}})
    assert response.status_code == 200, response.text
    assert response.json()["data"]["type"] == "document" and response.json()["data"]["body"] is None


async def test_inbound_media_must_be_base64(gw: Harness) -> None:
    response = await gw.client.post("/api/sandbox/inbound", json={"from": "4915100000001", "media": {"data": "%%%"}})
    assert response.status_code == 422 and response.json()["error"]["code"] == "validation_error"
