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
    refusals: list[httpx.Response] = field(default_factory=list)  # answers to the next message sends
    refuse_all: httpx.Response | None = None  # the answer to every message send
    declared: dict[str, int] = field(default_factory=dict)  # media id -> the file_size Meta says, if not its own
    served: int = 0  # bytes of files handed out so far

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
            if self.refuse_all is not None:
                return self.refuse_all
            if self.refusals:
                return self.refusals.pop(0)
            payload = json.loads(request.content)
            if payload.get("status") == "read":
                return httpx.Response(200, json={"success": True})
            to = payload["to"]
            return httpx.Response(200, json={"messaging_product": "whatsapp",
                                             "contacts": [{"input": to, "wa_id": to}],
                                             "messages": [{"id": "wamid.HBgLMTU1NTAxMDAxOTkVAgARGBI"}]})
        media_id = request.url.path.rsplit("/", 1)[-1]
        if request.method == "GET" and media_id in self.files:
            if request.url.host == "lookaside.fbsbx.example":
                assert request.headers["Authorization"] == f"Bearer {TOKEN}"
                return httpx.Response(200, content=self.serve(self.files[media_id]),
                                      headers={"Content-Type": "image/png"})
            return httpx.Response(200, json={"messaging_product": "whatsapp", "id": media_id,
                                             "url": f"https://lookaside.fbsbx.example/whatsapp/{media_id}",
                                             "mime_type": "image/png", "sha256": "x" * 64,
                                             "file_size": self.declared.get(media_id, len(self.files[media_id]))})
        return httpx.Response(404, json={"error": {"message": "unknown path", "code": 100, "type": "x"}})

    async def serve(self, data: bytes) -> AsyncIterator[bytes]:
        """The file as it goes out, in 4 KiB pieces, counted as each is taken."""
        for start in range(0, len(data), 4096):
            self.served += len(data[start:start + 4096])
            yield data[start:start + 4096]

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


@pytest.mark.parametrize("declared", [0, 10])  # pywa cannot read a media URL answer without file_size at all
async def test_a_file_over_the_limit_is_given_up_as_it_arrives_whatever_meta_declares(
    data_dir: Path, meta: Meta, declared: int
) -> None:
    meta.files["1037543291543637"] = b"\x89PNG\r\n\x1a\n" + b"\x00" * 1_048_576
    meta.declared["1037543291543637"] = declared
    limits = {f"media_max_{kind}": 1024 for kind in ("image", "video", "audio", "document")}
    async with in_process(make_settings(data_dir, engine="cloud", **CLOUD, **limits)) as gw:
        await eventually(lambda: gw.gateway.sessions.get("default").monitor.state.ready, what="token check")
        raw, headers = signed(image_webhook("1037543291543637"))
        assert (await gw.client.post("/webhooks/cloud/default", content=raw, headers=headers)).status_code == 200
        (message,) = await received(gw)
        assert (message["type"], message["body"], message["media"]) == ("image", "our shop front", None)
        assert message["error"] == "media not stored: the file is over the media limit of 1024 bytes"
        assert not any(path.is_file() for path in (data_dir / "media").rglob("*"))
    assert meta.served < 1_048_576  # the rest was never read


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


async def test_the_cloud_api_cannot_edit_or_delete_for_everyone_but_the_log_can_forget(cloud: Harness) -> None:
    sent = await cloud.client.post("/api/messages/send", json={"to": "4915199999999", "text": "We open at 7."})
    assert sent.status_code == 200, sent.text
    message_id = sent.json()["data"]["id"]
    refusals = [await cloud.client.patch(f"/api/messages/{message_id}", json={"text": "at 8"}),
                await cloud.client.delete(f"/api/messages/{message_id}", params={"for": "everyone"})]
    assert [(r.status_code, r.json()["error"]["code"], r.json()["error"]["message"]) for r in refusals] == [
        (422, "not_supported_by_engine", "the cloud engine cannot edit messages (the WhatsApp Cloud API has no edit)"),
        (422, "not_supported_by_engine",
         "the cloud engine cannot delete messages for everyone (the WhatsApp Cloud API has no deletion)"),
    ]
    row = (await cloud.client.get(f"/api/messages/{message_id}")).json()["data"]
    assert (row["body"], row["edits"], row["revokedAt"]) == ("We open at 7.", [], None)
    forgotten = await cloud.client.delete(f"/api/messages/{message_id}", params={"for": "me"})
    assert forgotten.status_code == 200, forgotten.text
    assert (await cloud.client.get(f"/api/messages/{message_id}")).status_code == 404


async def test_a_chat_is_marked_read_through_its_newest_message_and_typing_is_refused(cloud: Harness,
                                                                                      meta: Meta) -> None:
    for message in ({"id": "wamid.IN0001", "text": "Is the bakery open?"}, {"id": "wamid.IN0002", "text": "Hello?"}):
        body = webhook({"contacts": [CONTACT], "messages": [
            {"from": "4915199999999", "from_user_id": "US.13491208655302741918", "id": message["id"],
             "timestamp": "1761650000", "type": "text", "text": {"body": message["text"]}}]})
        raw, headers = signed(body)
        assert (await cloud.client.post("/webhooks/cloud/default", content=raw, headers=headers)).status_code == 200

    async def both_logged() -> bool:
        return len((await cloud.client.get("/api/messages")).json()["data"]["messages"]) == 2

    await eventually(both_logged, what="both logged")
    answer = await cloud.client.post("/api/chats/4915199999999/read")
    assert answer.json()["data"] == {"session": "default", "chat": "4915199999999@s.whatsapp.net", "marked": 2}
    reads = [json.loads(r.content) for r in meta.requests if r.method == "POST" and b'"read"' in r.content]
    assert reads == [{"messaging_product": "whatsapp", "status": "read", "message_id": "wamid.IN0002"}]

    refused = [await cloud.client.post("/api/chats/4915199999999/presence", json={"state": "typing"}),
               await cloud.client.post("/api/messages/send", json={"to": "4915199999999", "text": "One moment",
                                                                    "typingSeconds": 2})]
    presence = ("the cloud engine cannot show typing or recording in a chat (the WhatsApp Cloud API shows typing only "
                "while marking a received message read)")
    assert [(r.status_code, r.json()["error"]["code"], r.json()["error"]["message"]) for r in refused] == [
        (422, "not_supported_by_engine", presence), (422, "not_supported_by_engine", presence)]


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


# ---- whole deliveries, redeliveries and duplicates --------------------------------------------------------


def inbound(wa_id: str, text: str, sender: str = "4915199999999") -> dict[str, Any]:
    return {"from": sender, "id": wa_id, "timestamp": "1761650000", "type": "text", "text": {"body": text}}


def change(messages: list[dict[str, Any]] = (), statuses: list[dict[str, Any]] = (),  # type: ignore[assignment]  # tuples as immutable defaults
           contacts: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    value: dict[str, Any] = {"messaging_product": "whatsapp",
                             "metadata": {"display_phone_number": "15550100199", "phone_number_id": PHONE_ID},
                             "contacts": contacts if contacts is not None else [CONTACT]}
    if messages:
        value["messages"] = list(messages)
    if statuses:
        value["statuses"] = list(statuses)
    return {"field": "messages", "value": value}


def delivery(*entries: list[dict[str, Any]]) -> dict[str, Any]:
    return {"object": "whatsapp_business_account",
            "entry": [{"id": "102290129340398", "changes": changes} for changes in entries]}


async def logged_in(gw: Harness) -> dict[str, dict[str, Any]]:
    answer = (await gw.client.get("/api/messages", params={"direction": "in"})).json()["data"]["messages"]
    return {message["waId"]: message for message in answer}


async def post(gw: Harness, body: dict[str, Any]) -> httpx.Response:
    raw, headers = signed(body)
    return await gw.client.post("/webhooks/cloud/default", content=raw, headers=headers)


async def test_every_entry_change_message_and_status_of_a_delivery_is_processed(cloud: Harness) -> None:
    sent = await cloud.client.post("/api/messages/send", json={"to": "+4915199999999", "text": "Fresh bread!"})
    assert sent.status_code == 200 and sent.json()["data"]["status"] == "sent"
    other = {"profile": {"name": "Bo"}, "wa_id": "4915188888888", "user_id": "US.2"}
    body = delivery(
        [change([inbound("wamid.A", "first"), inbound("wamid.B", "second", "4915188888888")],
                contacts=[CONTACT, other]),
         change(statuses=[{"id": "wamid.HBgLMTU1NTAxMDAxOTkVAgARGBI", "status": "delivered",
                           "timestamp": "1761650100", "recipient_id": "4915199999999"}])],
        [change([inbound("wamid.C", "from the second entry")])],
    )
    response = await post(cloud, body)
    assert (response.status_code, response.text) == (200, "ok")

    got = await logged_in(cloud)
    assert {k: v["body"] for k, v in got.items()} == {"wamid.A": "first", "wamid.B": "second",
                                                      "wamid.C": "from the second entry"}
    assert (got["wamid.B"]["from"], got["wamid.B"]["pushName"]) == ("4915188888888@s.whatsapp.net", "Bo")
    message = (await cloud.client.get(f"/api/messages/{sent.json()['data']['id']}")).json()["data"]
    assert message["status"] == "delivered"
    assert (await cloud.state())["stats"]["messagesReceived"] == 3


async def test_a_redelivered_delivery_is_not_logged_or_published_twice(cloud: Harness) -> None:
    sent = await cloud.client.post("/api/messages/send", json={"to": "+4915199999999", "text": "Fresh bread!"})
    subscription = cloud.gateway.bus.subscribe()
    body = delivery([change([inbound("wamid.D", "hello")]),
                     change(statuses=[{"id": "wamid.HBgLMTU1NTAxMDAxOTkVAgARGBI", "status": "read",
                                       "timestamp": "1761650100", "recipient_id": "4915199999999"}])])
    for _ in range(2):
        assert (await post(cloud, body)).status_code == 200
    # A fresh engine (a restart) no longer remembers the ids: the message log still drops the repeats.
    assert (await cloud.client.post("/api/sessions/default/restart")).status_code == 200
    await eventually(lambda: cloud.gateway.sessions.get("default").monitor.state.ready, what="reconnected")
    assert (await post(cloud, body)).status_code == 200
    assert (await post(cloud, TEXT)).status_code == 200  # a new message after them, to know when all are in

    seen: list[Any] = []
    while not any(e.type == events.MESSAGE and e.data["waId"] == "wamid.IN0001" for e in seen):
        seen.append(await subscription.get())
    inbound_events = [e for e in seen if e.type == events.MESSAGE and e.data["direction"] == "in"]
    assert [e.data["waId"] for e in inbound_events] == ["wamid.D", "wamid.IN0001"]
    acks = [e for e in seen if e.type == events.MESSAGE_ACK and e.data["status"] == "read"]
    assert len(acks) == 1 and acks[0].data["id"] == sent.json()["data"]["id"]
    assert (await cloud.state())["stats"]["messagesReceived"] == 2


async def test_a_delivery_that_fails_is_refused_and_its_redelivery_processed_once(
    cloud: Harness, monkeypatch: pytest.MonkeyPatch
) -> None:
    messages = cloud.gateway.messages
    receive = messages.receive
    failures = []

    async def failing_once(session: str, event: Any) -> Any:
        if event.id == "wamid.F2" and not failures:
            failures.append(event.id)
            raise RuntimeError("the message service failed")
        return await receive(session, event)

    monkeypatch.setattr(messages, "receive", failing_once)
    body = delivery([change([inbound("wamid.F1", "one"), inbound("wamid.F2", "two"), inbound("wamid.F3", "three")])])
    refused = await post(cloud, body)
    assert refused.status_code == 503
    assert refused.json()["error"]["code"] == "webhook_handling_failed"
    assert set(await logged_in(cloud)) == {"wamid.F1", "wamid.F3"}, "the others were handled meanwhile"

    again = await post(cloud, body)  # Meta delivers it again, whole
    assert (again.status_code, again.text) == (200, "ok")
    got = await logged_in(cloud)
    assert sorted(got) == ["wamid.F1", "wamid.F2", "wamid.F3"]
    assert (await cloud.state())["stats"]["messagesReceived"] == 3


@pytest.mark.parametrize(("body", "what"), [
    (b"{not json", "not JSON"),
    (b'{"object": "whatsapp_business_account", "entry": "x"}', "`entry` list"),
    (b'{"entry": [{"changes": [{"field": "messages", "value": []}]}]}', "entry[0].changes[0]"),
    (b'{"entry": [{"changes": [{"field": "messages", "value": {"messages": [1]}}]}]}', "value.messages"),
])
async def test_a_signed_body_of_the_wrong_shape_is_400_and_nothing_is_processed(
    cloud: Harness, body: bytes, what: str
) -> None:
    signature = "sha256=" + hmac.new(APP_SECRET.encode(), body, hashlib.sha256).hexdigest()
    response = await cloud.client.post("/webhooks/cloud/default", content=body,
                                       headers={"X-Hub-Signature-256": signature})
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "invalid_webhook_body"
    assert what in response.json()["error"]["message"]


# ---- Meta's refusals of a send ----------------------------------------------------------------------------


def graph_error(status: int, code: int, headers: dict[str, str] | None = None) -> httpx.Response:
    return httpx.Response(status, headers=headers, json={"error": {"message": f"refused with {code}", "type": "x",
                                                                   "code": code, "fbtrace_id": "AbC"}})


def message_sends(meta: Meta) -> list[httpx.Request]:
    return [r for r in meta.requests if r.method == "POST" and r.url.path.endswith("/messages")]


async def message_status(gw: Harness, message_id: int) -> dict[str, Any]:
    return (await gw.client.get(f"/api/messages/{message_id}")).json()["data"]  # type: ignore[no-any-return]


@pytest.mark.parametrize("code", [4, 80007, 130429, 131056])
async def test_meta_s_rate_limit_pauses_the_queue_and_the_message_is_sent_after(
    cloud: Harness, meta: Meta, code: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    meta.refusals = [graph_error(429, code, {"Retry-After": "0"}), graph_error(400, code)]
    monkeypatch.setattr("waqtor.messaging.service.THROTTLE_FIRST", 0.01)  # the second refusal has no hint
    response = await cloud.client.post("/api/messages/send", json={"to": "+4915199999999", "text": "Hi"})
    assert response.status_code == 200
    data = response.json()["data"]
    assert (data["status"], data["error"]) == ("queued", None), "back in the queue, not failed"

    async def sent() -> bool:
        return (await message_status(cloud, data["id"]))["status"] == "sent"

    await eventually(sent, what="sent after the backoff")
    assert len(message_sends(meta)) == 3
    state = await cloud.state()
    assert (state["status"], state["ready"], state["lastError"]) == ("connected", True, None)


async def test_a_message_meta_keeps_rate_limiting_fails_once_the_retries_are_spent(cloud: Harness, meta: Meta) -> None:
    from waqtor.messaging.service import THROTTLE_ATTEMPTS

    meta.refuse_all = graph_error(429, 130429, {"Retry-After": "0"})
    response = await cloud.client.post("/api/messages/send", json={"to": "+4915199999999", "text": "Hi"})
    message_id = response.json()["data"]["id"]

    async def failed() -> bool:
        return (await message_status(cloud, message_id))["status"] == "failed"

    await eventually(failed, what="failed after the retries")
    error = (await message_status(cloud, message_id))["error"]
    assert error.startswith("rate_limited_by_whatsapp: ") and f"refused {THROTTLE_ATTEMPTS} times" in error
    assert len(message_sends(meta)) == THROTTLE_ATTEMPTS
    assert (await cloud.state())["ready"] is True, "a rate limit does not stop the session"


async def test_a_token_refused_on_a_send_stops_the_session_with_the_last_error(cloud: Harness, meta: Meta) -> None:
    meta.refusals = [graph_error(401, 190)]
    response = await cloud.client.post("/api/messages/send", json={"to": "+4915199999999", "text": "Hi"})
    assert response.status_code == 502
    assert response.json()["error"]["code"] == "token_refused"
    state = await cloud.state()
    assert (state["ready"], state["lastError"]["code"]) == (False, "token_refused")
    message = (await cloud.client.get("/api/messages", params={"direction": "out"})).json()["data"]["messages"][0]
    assert message["status"] == "failed" and message["error"].startswith("token_refused: ")


async def test_another_refusal_fails_only_that_message(cloud: Harness, meta: Meta) -> None:
    meta.refusals = [graph_error(400, 131026)]
    refused = await cloud.client.post("/api/messages/send", json={"to": "+4915199999999", "text": "Hi"})
    assert refused.status_code == 502
    assert refused.json()["error"]["code"] == "whatsapp_error"
    assert refused.json()["error"]["details"]["status"] == "failed"
    assert (await cloud.state())["ready"] is True
    after = await cloud.client.post("/api/messages/send", json={"to": "+4915199999999", "text": "Hi again"})
    assert after.json()["data"]["status"] == "sent"


# ---- message templates ------------------------------------------------------------------------------------


async def test_a_template_is_sent_through_the_cloud_api(cloud: Harness, meta: Meta) -> None:
    components = [
        {"type": "header", "parameters": [{"type": "image", "image": {"link": "https://example.com/bread.png"}}]},
        {"type": "body", "parameters": [{"type": "text", "text": "Ana"}, {"type": "text", "text": "#1042"}]},
        {"type": "button", "sub_type": "quick_reply", "index": 0, "parameters": [{"type": "payload",
                                                                                "payload": "STOP"}]},
    ]
    response = await cloud.client.post("/api/messages/send-template", json={
        "to": "+49 151 99999999", "name": "order_ready", "language": "en_US", "components": components})
    assert response.status_code == 200, response.text
    data = response.json()["data"]
    assert (data["type"], data["status"], data["waId"]) == ("template", "sent", "wamid.HBgLMTU1NTAxMDAxOTkVAgARGBI")
    assert data["body"] == "order_ready (en_US): Ana, #1042"
    (request,) = message_sends(meta)
    sent = json.loads(request.content)
    assert (sent["to"], sent["type"]) == ("4915199999999", "template")
    assert sent["template"] == {"name": "order_ready", "language": {"code": "en_US"}, "components": components}


async def test_a_template_without_components_sends_none(cloud: Harness, meta: Meta) -> None:
    response = await cloud.client.post("/api/messages/send-template", json={
        "to": "+4915199999999", "name": "hello_world", "language": "xx_YY"})
    assert response.status_code == 200, response.text
    (request,) = message_sends(meta)
    assert json.loads(request.content)["template"] == {"name": "hello_world", "language": {"code": "xx_YY"}}


@pytest.mark.parametrize(("method", "path"), [
    ("POST", "/api/contacts/check"), ("GET", "/api/contacts/+4915199999999"),
    ("GET", "/api/contacts/+4915199999999/picture"), ("POST", "/api/contacts/+4915199999999/block"),
    ("POST", "/api/contacts/+4915199999999/unblock"),
])
async def test_the_cloud_api_refuses_every_contact_route_naming_the_engine(cloud: Harness, method: str,
                                                                           path: str) -> None:
    body = {"phones": ["+4915199999999"]} if path.endswith("check") else None
    response = await cloud.client.request(method, path, json=body)
    assert response.status_code == 422, response.text
    error = response.json()["error"]
    assert error["code"] == "not_supported_by_engine" and error["message"].startswith("the cloud engine cannot ")
    assert error["details"] == {"engine": "cloud"}


async def test_the_cloud_api_refuses_presence_naming_the_engine(cloud: Harness) -> None:
    refused = [await cloud.client.post("/api/contacts/+4915199999999/presence/subscribe"),
               await cloud.client.post("/api/session/presence", json={"state": "available"}),
               await cloud.client.post("/api/sessions/default/presence", json={"state": "unavailable"})]
    own = "the cloud engine cannot set the account's own presence (the WhatsApp Cloud API has no presence)"
    assert [(r.status_code, r.json()["error"]["code"], r.json()["error"]["message"]) for r in refused] == [
        (422, "not_supported_by_engine",
         "the cloud engine cannot subscribe to a contact's presence (the WhatsApp Cloud API tells no one's presence)"),
        (422, "not_supported_by_engine", own), (422, "not_supported_by_engine", own)]
    assert all(r.json()["error"]["details"] == {"engine": "cloud"} for r in refused)


async def test_the_cloud_api_refuses_a_poll_naming_the_engine_and_logs_nothing(cloud: Harness, meta: Meta) -> None:
    answer = await cloud.client.post("/api/messages/send-poll", json={"to": "4915199999999", "question": "Bread?",
                                                                      "options": ["Rye", "Spelt"]})
    assert answer.status_code == 422, answer.text
    assert answer.json()["error"] == {**answer.json()["error"], "code": "not_supported_by_engine",
                                      "message": "the cloud engine cannot send polls (the WhatsApp Cloud API has no "
                                                 "polls)", "details": {"engine": "cloud"}}
    assert (await cloud.client.get("/api/messages")).json()["data"]["messages"] == []
    assert not [r for r in meta.requests if r.method == "POST" and b"messaging_product" in r.content]
