"""`/api/sessions`: several sandbox sessions side by side, stored, restored, and deleted with their data."""

from __future__ import annotations

import base64
from pathlib import Path

import pytest
from sqlalchemy import select

from tests.conftest import Harness, eventually, in_process, make_settings
from waqtor import events
from waqtor.storage.tables import session_state, sessions


async def create(gw: Harness, name: str, engine: str = "sandbox", **body: object) -> dict:
    response = await gw.client.post("/api/sessions", json={"name": name, "engine": engine, **body})
    assert response.status_code == 201, response.text
    return response.json()["data"]


async def scan(gw: Harness, session: str, **body: object) -> dict:
    response = await gw.client.post("/api/sandbox/scan", json={"session": session, **body})
    assert response.status_code == 200, response.text
    return response.json()["data"]


async def test_a_created_session_is_listed_beside_default_and_running(gw: Harness) -> None:
    created = await create(gw, "shop")
    assert created["name"] == "shop" and created["engine"] == "sandbox"
    assert created["desired"] == "running" and created["running"] is True
    listed = (await gw.client.get("/api/sessions")).json()["data"]
    assert [s["name"] for s in listed] == ["default", "shop"]
    await eventually(lambda: gw.gateway.sessions.get("shop").monitor.state.has_qr, what="shop's QR")
    assert (await gw.client.get("/api/sessions/shop")).json()["data"]["state"]["status"] == "qr"


async def test_sessions_run_side_by_side_with_their_own_state_and_counters(gw: Harness) -> None:
    await create(gw, "shop")
    await create(gw, "support")
    await scan(gw, "shop", phone="4915100000001")
    await scan(gw, "support", phone="4915100000002")
    await gw.client.post("/api/sandbox/inbound", json={"session": "shop", "from": "4915199999999", "body": "hi"})
    shop = (await gw.client.get("/api/sessions/shop/state")).json()["data"]
    support = (await gw.client.get("/api/sessions/support/state")).json()["data"]
    assert (shop["info"]["phoneMasked"], support["info"]["phoneMasked"]) == ("***0001", "***0002")
    assert (shop["stats"]["messagesReceived"], support["stats"]["messagesReceived"]) == (1, 0)
    assert (await gw.state())["status"] == "qr", "default is untouched"


async def test_events_are_tagged_with_their_session(gw: Harness) -> None:
    subscription = gw.gateway.bus.subscribe()
    await create(gw, "shop")
    await scan(gw, "shop")
    seen = []
    while not any(e.type == events.SESSION_UPDATE and e.data["status"] == "connected" for e in seen):
        seen.append(await subscription.get())
    connected = [e for e in seen if e.type == events.SESSION_UPDATE and e.data["status"] == "connected"]
    assert {e.session for e in connected} == {"shop"}
    assert all(e.data["session"] == e.session for e in seen if e.type == events.SESSION_UPDATE)


async def test_per_session_qr_stats_reset_and_pair_routes(gw: Harness) -> None:
    await create(gw, "shop")
    await eventually(lambda: gw.gateway.sessions.get("shop").monitor.state.has_qr, what="shop's QR")
    qr = (await gw.client.get("/api/sessions/shop/qr")).json()["data"]
    assert qr["hasQR"] is True and qr["qr"].startswith("2@")
    pair = await gw.client.post("/api/sessions/shop/pair", json={"phone": "+4915112345678"})
    assert pair.status_code == 200
    assert len(pair.json()["data"]["code"]) == 9
    linked = await scan(gw, "shop")
    assert linked["phone"] == "4915112345678", "scanning after a pairing code links the phone it was asked for"
    await gw.client.post("/api/sandbox/inbound", json={"session": "shop", "from": "4915199999999", "body": "hi"})
    reset = (await gw.client.post("/api/sessions/shop/stats/reset")).json()["data"]
    assert reset["stats"] == {"messagesSent": 0, "messagesReceived": 0}


async def test_pair_for_default_on_the_sandbox(gw: Harness) -> None:
    await eventually(lambda: gw.gateway.sessions.get("default").monitor.state.has_qr, what="QR")
    response = await gw.client.post("/api/session/pair", json={"phone": "4915112345678"})
    assert response.status_code == 200
    assert response.json()["data"]["phone"] == "4915112345678"


@pytest.mark.parametrize("written", ["+49 151 1234-5678", "0049 (151) 12345678", "+4915112345678"])
async def test_pair_takes_a_phone_in_any_common_format(gw: Harness, written: str) -> None:
    await eventually(lambda: gw.gateway.sessions.get("default").monitor.state.has_qr, what="QR")
    response = await gw.client.post("/api/session/pair", json={"phone": written})
    assert response.status_code == 200
    assert response.json()["data"]["phone"] == "4915112345678"


@pytest.mark.parametrize(("written", "reason"), [("+49 1", "too_short"), ("120363041234567890@g.us", "not_a_phone"),
                                                 ("call me", "bad_characters")])
async def test_pair_refuses_what_is_not_a_phone_number_and_says_why(gw: Harness, written: str, reason: str) -> None:
    await eventually(lambda: gw.gateway.sessions.get("default").monitor.state.has_qr, what="QR")
    response = await gw.client.post("/api/session/pair", json={"phone": written})
    assert response.status_code == 400
    error = response.json()["error"]
    assert (error["code"], error["details"]["reason"]) == ("invalid_phone", reason)


async def test_pair_is_refused_once_linked(gw: Harness) -> None:
    await gw.scan()
    response = await gw.client.post("/api/session/pair", json={"phone": "4915112345678"})
    assert response.status_code == 409
    assert response.json()["error"]["code"] == "not_waiting_for_link"


async def test_stop_keeps_a_session_stopped_and_start_brings_it_back(gw: Harness) -> None:
    await create(gw, "shop")
    stopped = (await gw.client.post("/api/sessions/shop/stop")).json()["data"]
    assert stopped["desired"] == "stopped" and stopped["running"] is False
    assert stopped["state"]["status"] == "disconnected"
    refused = await gw.client.post("/api/sessions/shop/pair", json={"phone": "4915112345678"})
    assert refused.status_code == 409 and refused.json()["error"]["code"] == "session_stopped"
    started = (await gw.client.post("/api/sessions/shop/start")).json()["data"]
    assert started["desired"] == "running" and started["running"] is True
    await eventually(lambda: gw.gateway.sessions.get("shop").monitor.state.has_qr, what="QR after start")


async def test_restart_keeps_the_link(gw: Harness) -> None:
    await create(gw, "shop")
    await scan(gw, "shop", phone="4915100000001")
    restarted = (await gw.client.post("/api/sessions/shop/restart")).json()["data"]
    assert restarted["running"] is True
    await eventually(lambda: gw.gateway.sessions.get("shop").monitor.state.ready, what="restored link")


async def test_logout_of_a_named_session_returns_it_to_qr(gw: Harness) -> None:
    await create(gw, "shop")
    await scan(gw, "shop")
    response = await gw.client.post("/api/sessions/shop/logout")
    assert response.status_code == 200 and response.json()["data"]["status"] == "qr"


async def test_a_gateway_restart_restores_every_session_as_it_was_wanted(data_dir: Path) -> None:
    settings = make_settings(data_dir)
    async with in_process(settings) as gw:
        await create(gw, "shop")
        await create(gw, "support")
        await create(gw, "archive")
        await scan(gw, "shop", phone="4915100000001")
        await gw.client.post("/api/sessions/archive/stop")
    async with in_process(settings) as gw:
        listed = {s["name"]: s for s in (await gw.client.get("/api/sessions")).json()["data"]}
        assert set(listed) == {"default", "shop", "support", "archive"}
        assert listed["archive"]["running"] is False and listed["archive"]["desired"] == "stopped"
        await eventually(lambda: gw.gateway.sessions.get("shop").monitor.state.ready, what="shop restored")
        await eventually(lambda: gw.gateway.sessions.get("support").monitor.state.has_qr, what="support's QR")
        assert (await gw.client.get("/api/sessions/shop/state")).json()["data"]["info"]["phoneMasked"] == "***0001"


async def test_deleting_a_session_removes_its_rows_and_its_routes(gw: Harness) -> None:
    await create(gw, "shop")
    await scan(gw, "shop")
    response = await gw.client.delete("/api/sessions/shop")
    assert response.json() == {"success": True, "data": {"name": "shop", "deleted": True}}
    async with gw.gateway.storage.engine.connect() as conn:
        assert (await conn.execute(select(sessions).where(sessions.c.name == "shop"))).first() is None
        assert (await conn.execute(select(session_state).where(session_state.c.session == "shop"))).first() is None
    missing = await gw.client.get("/api/sessions/shop/state")
    assert missing.status_code == 404 and missing.json()["error"]["code"] == "session_not_found"


async def test_deleting_a_session_takes_its_message_log_and_files_and_nothing_else(gw: Harness) -> None:
    await create(gw, "shop")
    await scan(gw, "shop")
    await gw.scan()
    png = base64.b64encode(b"\x89PNG\r\n\x1a\n" + b"\x00" * 32).decode()
    await gw.client.post("/api/sandbox/inbound", json={"session": "shop", "from": "4915199999999", "body": "menu",
                                                       "media": {"data": png, "fileName": "menu.png"}})
    await gw.client.post("/api/sandbox/inbound", json={"from": "4915199999999", "body": "kept"})

    async def logged(session: str) -> list[dict]:
        page = await gw.client.get("/api/messages", params={"session": session})
        return page.json()["data"]["messages"]

    (image,) = await logged("shop")
    stored = gw.gateway.messages.media.path(await gw.gateway.messages.media.get(image["media"]["id"]))
    assert stored.is_file()

    assert (await gw.client.delete("/api/sessions/shop")).status_code == 200
    assert await logged("shop") == []
    assert not stored.exists(), "the file only the deleted session had is removed"
    assert (await gw.client.get(image["media"]["url"])).status_code == 404
    assert [m["body"] for m in await logged("default")] == ["kept"], "other sessions keep their log"

    await create(gw, "shop")
    assert await logged("shop") == [], "a new session of the same name starts with an empty history"


async def test_default_cannot_be_deleted(gw: Harness) -> None:
    response = await gw.client.delete("/api/sessions/default")
    assert response.status_code == 409 and response.json()["error"]["code"] == "default_session"


@pytest.mark.parametrize(("body", "status", "code"), [
    ({"name": "Shop!", "engine": "sandbox"}, 422, "validation_error"),
    ({"name": "x" * 65, "engine": "sandbox"}, 422, "validation_error"),
    ({"name": "shop", "engine": "telegram"}, 422, "validation_error"),
    ({"name": "shop", "engine": "sandbox", "config": {"token": "x"}}, 400, "invalid_engine_config"),
    ({"name": "shop", "engine": "cloud", "config": {"phoneId": "12"}}, 400, "invalid_engine_config"),
])
async def test_bad_sessions_are_refused_with_a_stable_code(gw: Harness, body: dict, status: int, code: str) -> None:
    response = await gw.client.post("/api/sessions", json=body)
    assert response.status_code == status, response.text
    assert response.json()["error"]["code"] == code


async def test_a_taken_name_is_a_conflict(gw: Harness) -> None:
    await create(gw, "shop")
    response = await gw.client.post("/api/sessions", json={"name": "shop", "engine": "sandbox"})
    assert response.status_code == 409 and response.json()["error"]["code"] == "session_exists"


async def test_sandbox_sessions_and_routes_need_the_sandbox_enabled(data_dir: Path) -> None:
    async with in_process(make_settings(data_dir, engine="cloud", cloud_phone_id="1234567",
                                        cloud_token="EAAtoken123", cloud_app_secret="appsecret1",
                                        cloud_verify_token="verify-me-1")) as gw:
        refused = await gw.client.post("/api/sessions", json={"name": "play", "engine": "sandbox"})
        assert refused.status_code == 400 and refused.json()["error"]["code"] == "sandbox_disabled"
        assert (await gw.client.post("/api/sandbox/scan")).status_code == 404


async def test_the_sandbox_can_be_enabled_beside_another_default_engine(data_dir: Path) -> None:
    async with in_process(make_settings(data_dir, engine="cloud", sandbox_enabled=True, cloud_phone_id="1234567",
                                        cloud_token="EAAtoken123", cloud_app_secret="appsecret1",
                                        cloud_verify_token="verify-me-1")) as gw:
        await create(gw, "play")
        assert (await scan(gw, "play"))["platform"] == "android"


async def test_changing_the_default_engine_switches_the_default_session_and_drops_its_old_link(
    data_dir: Path,
) -> None:
    async with in_process(make_settings(data_dir)) as gw:
        await gw.scan(phone="4915100000001")
        await create(gw, "shop")
    async with in_process(make_settings(data_dir, engine="neonize", sandbox_enabled=True)) as gw:
        state = await gw.state()
        assert state["engine"] == "neonize"
        assert state["info"] == {"pushname": None, "platform": None, "phoneMasked": None}
        assert await gw.gateway.storage.sessions.load_engine_data("default") is None
        shop = (await gw.client.get("/api/sessions/shop")).json()["data"]
        assert shop["engine"] == "sandbox" and shop["running"] is True, "other sessions keep their engine"
