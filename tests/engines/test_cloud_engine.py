"""The Cloud API engine over httpx.MockTransport (Meta's Graph API faked at the HTTP edge), with webhook
payloads in the current format (`contacts[].user_id`)."""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.conftest import Harness, eventually, in_process, make_settings
from waqtor import events
from waqtor.engines.cloud.engine import CloudEngine

PHONE_ID = "106540352242922"
TOKEN = "EAAGtokenSECRETvalue"
APP_SECRET = "app-secret-value-1"
VERIFY = "verify-token-value"
CLOUD = {"cloud_phone_id": PHONE_ID, "cloud_token": TOKEN, "cloud_app_secret": APP_SECRET,
         "cloud_verify_token": VERIFY}


@dataclass
class Meta:
    """Meta's Graph API as the engine sees it: answers and the requests it got."""

    token_ok: bool = True
    requests: list[httpx.Request] = field(default_factory=list)
    files: dict[str, bytes] = field(default_factory=dict)  # media id -> the file Meta keeps

    def handle(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        if not self.token_ok:
            return httpx.Response(401, json={"error": {"message": "Error validating access token: Session has "
                                                                  "expired", "type": "OAuthException", "code": 190,
                                                       "error_subcode": 463, "fbtrace_id": "AbC"}})
        if request.method == "GET" and request.url.path.endswith(f"/{PHONE_ID}"):
            return httpx.Response(200, json={"id": PHONE_ID, "verified_name": "Acme Bakery",
                                             "display_phone_number": "+1 555-010-0199", "quality_rating": "GREEN",
                                             "platform_type": "CLOUD_API"})
        if request.method == "POST" and request.url.path.endswith(f"/{PHONE_ID}/messages"):
            to = json.loads(request.content)["to"]
            return httpx.Response(200, json={"messaging_product": "whatsapp",
                                             "contacts": [{"input": to, "wa_id": to}],
                                             "messages": [{"id": "wamid.HBgLMTU1NTAxMDAxOTkVAgARGBI"}]})
        media_id = request.url.path.rsplit("/", 1)[-1]
        if request.method == "GET" and media_id in self.files:
            if request.url.host == "lookaside.fbsbx.example":
                assert request.headers["Authorization"] == f"Bearer {TOKEN}"
                return httpx.Response(200, content=self.files[media_id], headers={"Content-Type": "image/png"})
            return httpx.Response(200, json={"messaging_product": "whatsapp", "id": media_id,
                                             "url": f"https://lookaside.fbsbx.example/whatsapp/{media_id}",
                                             "mime_type": "image/png", "sha256": "x" * 64,
                                             "file_size": len(self.files[media_id])})
        return httpx.Response(404, json={"error": {"message": "unknown path", "code": 100, "type": "x"}})

    def client_factory(self) -> Callable[[], httpx.AsyncClient]:
        return lambda: httpx.AsyncClient(transport=httpx.MockTransport(self.handle))


def signed(body: dict[str, Any], secret: str = APP_SECRET) -> tuple[bytes, dict[str, str]]:
    raw = json.dumps(body).encode()
    signature = "sha256=" + hmac.new(secret.encode(), raw, hashlib.sha256).hexdigest()
    return raw, {"X-Hub-Signature-256": signature, "Content-Type": "application/json"}


def webhook(value: dict[str, Any]) -> dict[str, Any]:
    return {"object": "whatsapp_business_account", "entry": [{"id": "102290129340398", "changes": [
        {"field": "messages", "value": {"messaging_product": "whatsapp",
                                        "metadata": {"display_phone_number": "15550100199",
                                                     "phone_number_id": PHONE_ID},
                                        **value}}]}]}


CONTACT = {"profile": {"name": "Ana Souza"}, "wa_id": "4915199999999", "user_id": "US.13491208655302741918"}
TEXT = webhook({"contacts": [CONTACT], "messages": [
    {"from": "4915199999999", "from_user_id": "US.13491208655302741918", "id": "wamid.IN0001",
     "timestamp": "1761650000", "type": "text", "text": {"body": "Is the bakery open?"}}]})
READ = webhook({"contacts": [CONTACT], "statuses": [
    {"id": "wamid.HBgLMTU1NTAxMDAxOTkVAgARGBI", "status": "read", "timestamp": "1761650100",
     "recipient_id": "4915199999999", "recipient_user_id": "US.13491208655302741918"}]})


@pytest.fixture
def meta(monkeypatch: pytest.MonkeyPatch) -> Meta:
    meta = Meta()
    monkeypatch.setattr(CloudEngine, "make_http_client", staticmethod(meta.client_factory()))
    return meta


@pytest.fixture
async def cloud(data_dir: Path, meta: Meta) -> AsyncIterator[Harness]:
    async with in_process(make_settings(data_dir, engine="cloud", **CLOUD)) as gw:
        await eventually(lambda: gw.gateway.sessions.get("default").monitor.state.ready, what="token check")
        yield gw


async def test_an_accepted_token_connects_with_the_number_as_account(cloud: Harness) -> None:
    data = (await cloud.client.get("/api/status/client")).json()["data"]
    assert (data["engine"], data["status"], data["ready"]) == ("cloud", "connected", True)
    assert data["info"] == {"phone": "15550100199", "pushname": "Acme Bakery", "platform": "cloud api",
                            "platformRaw": "CLOUD_API", "phoneMasked": "***0199"}


async def test_the_qr_route_says_the_cloud_api_has_none(cloud: Harness) -> None:
    data = (await cloud.client.get("/api/session/qr")).json()["data"]
    assert data["hasQR"] is False
    assert "Cloud API has no QR code" in data["message"]


async def test_a_refused_token_is_the_last_error_and_is_not_retried(data_dir: Path, meta: Meta) -> None:
    meta.token_ok = False
    async with in_process(make_settings(data_dir, engine="cloud", **CLOUD)) as gw:
        monitor = gw.gateway.sessions.get("default").monitor
        await eventually(lambda: monitor.state.last_error is not None, what="token refused")
        state = await gw.state()
        assert state["ready"] is False
        assert state["lastError"]["code"] == "token_refused"
        assert state["lastError"]["details"] == {"metaCode": 190}
    assert len(meta.requests) == 1


async def test_meta_verifies_the_webhook_with_the_verify_token(cloud: Harness) -> None:
    params = {"hub.mode": "subscribe", "hub.verify_token": VERIFY, "hub.challenge": "1158201444"}
    ok = await cloud.client.get("/webhooks/cloud/default", params=params, headers={"X-API-Key": ""})
    assert (ok.status_code, ok.text) == (200, "1158201444")
    wrong = await cloud.client.get("/webhooks/cloud/default", params={**params, "hub.verify_token": "guess"})
    assert wrong.status_code == 403 and wrong.json()["error"]["code"] == "verify_token_mismatch"


async def test_a_signed_message_delivery_is_received(cloud: Harness) -> None:
    subscription = cloud.gateway.bus.subscribe()
    raw, headers = signed(TEXT)
    response = await cloud.client.post("/webhooks/cloud/default", content=raw, headers=headers)
    assert (response.status_code, response.text) == (200, "ok")
    event = await subscription.get()
    while event.type != events.MESSAGE:
        event = await subscription.get()
    assert event.session == "default"
    assert event.data["from"] == "4915199999999@s.whatsapp.net"
    assert (event.data["waId"], event.data["body"], event.data["pushName"]) == ("wamid.IN0001", "Is the bakery open?",
                                                                              "Ana Souza")
    assert (await cloud.state())["stats"]["messagesReceived"] == 1


async def received(gw: Harness) -> list[dict[str, Any]]:
    """The inbound messages of the log, once there is one."""
    async def logged() -> list[dict[str, Any]]:
        return (await gw.client.get("/api/messages", params={"direction": "in"})).json()["data"]["messages"]

    async def any_logged() -> bool:
        return bool(await logged())

    await eventually(any_logged, what="an inbound message in the log")
    return await logged()


def image_webhook(media_id: str) -> dict[str, Any]:
    return webhook({"contacts": [CONTACT], "messages": [
        {"from": "4915199999999", "from_user_id": "US.13491208655302741918", "id": f"wamid.{media_id}",
         "timestamp": "1761650000", "type": "image",
         "image": {"caption": "our shop front", "mime_type": "image/png", "sha256": "x" * 64, "id": media_id}}]})


async def test_an_inbound_image_is_fetched_from_meta_and_kept_with_the_message(cloud: Harness, meta: Meta) -> None:
    png = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64
    meta.files["1037543291543636"] = png
    raw, headers = signed(image_webhook("1037543291543636"))
    assert (await cloud.client.post("/webhooks/cloud/default", content=raw, headers=headers)).status_code == 200

    (message,) = await received(cloud)
    assert (message["type"], message["body"]) == ("image", "our shop front")
    assert message["media"]["mimetype"] == "image/png" and message["media"]["size"] == len(png)
    download = await cloud.client.get(message["media"]["url"])
    assert download.content == png


async def test_an_image_meta_cannot_serve_is_kept_as_a_message_without_its_file(cloud: Harness, meta: Meta) -> None:
    raw, headers = signed(image_webhook("9990001112223334"))  # Meta answers 404 for this id
    assert (await cloud.client.post("/webhooks/cloud/default", content=raw, headers=headers)).status_code == 200

    (message,) = await received(cloud)
    assert (message["type"], message["body"], message["media"]) == ("image", "our shop front", None)


@pytest.mark.parametrize(("headers", "status", "code"), [
    ({"X-Hub-Signature-256": "sha256=" + "0" * 64}, 403, "signature_mismatch"),
    ({}, 401, "signature_missing"),
])
async def test_a_delivery_without_meta_s_signature_is_refused_and_not_processed(
    cloud: Harness, headers: dict[str, str], status: int, code: str
) -> None:
    raw, _ = signed(TEXT)
    response = await cloud.client.post("/webhooks/cloud/default", content=raw, headers=headers)
    assert response.status_code == status and response.json()["error"]["code"] == code
    assert (await cloud.state())["stats"]["messagesReceived"] == 0


async def test_a_delivery_signed_with_another_secret_is_refused(cloud: Harness) -> None:
    raw, headers = signed(TEXT, secret="not-the-app-secret")
    response = await cloud.client.post("/webhooks/cloud/default", content=raw, headers=headers)
    assert response.status_code == 403
    assert (await cloud.state())["stats"]["messagesReceived"] == 0


async def test_refused_deliveries_show_as_the_last_error_until_a_good_one(cloud: Harness) -> None:
    raw, _ = signed(TEXT)
    for _ in range(3):
        refused = await cloud.client.post("/webhooks/cloud/default", content=raw,
                                          headers={"X-Hub-Signature-256": "sha256=" + "0" * 64})
        assert refused.status_code == 403
    state = await cloud.state()
    assert (state["status"], state["ready"]) == ("connected", True), "a refused delivery does not drop the number"
    error = state["lastError"]
    assert error["code"] == "webhook_refused"
    assert error["details"] == {"refused": 1, "reason": "signature_mismatch"}, "reported at once, then once a minute"
    assert "appSecret" in error["message"]

    raw, headers = signed(TEXT)
    assert (await cloud.client.post("/webhooks/cloud/default", content=raw, headers=headers)).status_code == 200
    assert (await cloud.state())["lastError"] is None


async def test_a_verification_with_the_wrong_token_shows_until_one_succeeds(cloud: Harness) -> None:
    params = {"hub.mode": "subscribe", "hub.verify_token": "not-the-token", "hub.challenge": "42"}
    assert (await cloud.client.get("/webhooks/cloud/default", params=params)).status_code == 403
    assert (await cloud.state())["lastError"]["code"] == "webhook_unverified"
    ok = await cloud.client.get("/webhooks/cloud/default", params={**params, "hub.verify_token": VERIFY})
    assert ok.status_code == 200
    assert (await cloud.state())["lastError"] is None


async def test_a_webhook_problem_does_not_hide_why_a_number_is_down(data_dir: Path, meta: Meta) -> None:
    meta.token_ok = False
    async with in_process(make_settings(data_dir, engine="cloud", **CLOUD)) as gw:
        monitor = gw.gateway.sessions.get("default").monitor
        await eventually(lambda: monitor.state.last_error is not None, what="token refused")
        raw, _ = signed(TEXT)
        await gw.client.post("/webhooks/cloud/default", content=raw, headers={"X-Hub-Signature-256": "sha256=00"})
        assert (await gw.state())["lastError"]["code"] == "token_refused"


async def test_statuses_reach_the_engine_sink(data_dir: Path, meta: Meta) -> None:
    from waqtor.engines.base import EngineContext, EngineStore, MessageStatus

    class NoStore(EngineStore):
        async def load(self) -> None:
            return None

        async def save(self, data: Any) -> None:
            return None

    seen: list[Any] = []

    async def emit(event: Any) -> None:
        seen.append(event)

    config = {"phoneId": PHONE_ID, "token": TOKEN, "appSecret": APP_SECRET, "verifyToken": VERIFY}
    engine = CloudEngine(EngineContext("default", emit, NoStore(), make_settings(data_dir), config))
    await engine.start()
    try:
        raw, headers = signed(READ)
        await engine.handle_webhook(raw, headers["X-Hub-Signature-256"])
        await eventually(lambda: any(isinstance(e, MessageStatus) for e in seen), what="status")
    finally:
        await engine.stop()
    (status,) = [e for e in seen if isinstance(e, MessageStatus)]
    assert (status.id, status.status, status.error) == ("wamid.HBgLMTU1NTAxMDAxOTkVAgARGBI", "read", None)


async def test_a_text_is_sent_through_the_cloud_api(cloud: Harness) -> None:
    from waqtor.engines.base import OutgoingMessage

    engine = cloud.gateway.sessions.get("default").engine
    result = await engine.send(OutgoingMessage(to="4915199999999@s.whatsapp.net", text="We open at 7."))
    assert result.id == "wamid.HBgLMTU1NTAxMDAxOTkVAgARGBI"


async def test_a_cloud_session_shows_its_settings_with_secrets_masked(
    data_dir: Path, meta: Meta, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    async with in_process(make_settings(data_dir)) as gw:
        config = {"phoneId": PHONE_ID, "token": TOKEN, "appSecret": APP_SECRET, "verifyToken": VERIFY}
        created = await gw.client.post("/api/sessions", json={"name": "bakery", "engine": "cloud", "config": config})
        assert created.status_code == 201, created.text
        listed = (await gw.client.get("/api/sessions/bakery")).text
        assert json.loads(listed)["data"]["config"] == {"phoneId": PHONE_ID, "token": "********",
                                                        "appSecret": "********", "verifyToken": "********"}
        await eventually(lambda: gw.gateway.sessions.get("bakery").monitor.state.ready, what="bakery connected")
    # aiosqlite's own DEBUG records echo SQL parameters; `waqtor serve` keeps that logger at WARNING.
    logged = [r.getMessage() for r in caplog.records if r.name != "aiosqlite"]
    for secret in (TOKEN, APP_SECRET, VERIFY):
        assert secret not in listed
        assert not any(secret in message for message in logged)


async def test_other_engines_have_no_webhook(gw: Harness) -> None:
    response = await gw.client.get("/webhooks/cloud/default", params={"hub.mode": "subscribe"})
    assert response.status_code == 404
