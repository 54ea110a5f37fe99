"""`POST /api/messages/send-template` on the sandbox and on neonize, and its input checks (the Cloud API's
own request is checked in tests/engines/test_cloud_engine.py)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from neonize.events import ConnectedEv

from tests.api.test_bad_input import assert_error
from tests.conftest import Harness, eventually, in_process, make_settings
from tests.engines.neonize_fakes import FakeGo, FakeGoEngine, fake_in_gateway, feed
from waqtor.engines.base import OutgoingMessage, TemplateSpec
from waqtor.errors import NotSupportedByEngine

TEMPLATE: dict[str, Any] = {
    "to": "+49 151 12345678", "name": "order_ready", "language": "en_US",
    "components": [{"type": "body", "parameters": [
        {"type": "text", "text": "Ana"},
        {"type": "currency", "currency": {"fallback_value": "€12.50", "code": "EUR", "amount_1000": 12500}}]}],
}
NEONIZE_REFUSAL = "the neonize engine cannot send message templates (Cloud API only)"


async def test_the_sandbox_sends_a_template_which_is_logged_and_delivered(gw: Harness) -> None:
    await gw.scan()
    response = await gw.client.post("/api/messages/send-template", json=TEMPLATE)
    assert response.status_code == 200, response.text
    data = response.json()["data"]
    # The sandbox acknowledges within milliseconds here: the answer may already say delivered.
    assert (data["type"], data["chat"]) == ("template", "4915112345678@s.whatsapp.net")
    assert data["status"] in ("sent", "delivered", "read")
    assert data["body"] == "order_ready (en_US): Ana, €12.50"

    async def delivered() -> bool:
        logged = (await gw.client.get(f"/api/messages/{data['id']}")).json()["data"]
        return logged["status"] in ("delivered", "read")

    await eventually(delivered, what="the template delivered")


async def test_a_template_to_a_session_that_is_not_ready_is_409_on_the_sandbox(gw: Harness) -> None:
    response = await gw.client.post("/api/messages/send-template", json=TEMPLATE)
    assert_error(response, 409, "session_not_ready")


@pytest.mark.parametrize(("change", "field"), [
    ({"name": "Order Ready"}, "name"),
    ({"language": "english"}, "language"),
    ({"components": [{"type": "footer", "parameters": []}]}, "components"),
    ({"components": [{"type": "button", "parameters": [{"type": "payload", "payload": "x"}]}]}, "components"),
    ({"components": [{"type": "body", "parameters": [{"type": "emoji"}]}]}, "components"),
    ({"components": {"type": "body"}}, "components"),
])
async def test_a_template_of_the_wrong_shape_is_refused(gw: Harness, change: dict[str, Any], field: str) -> None:
    await gw.scan()
    response = await gw.client.post("/api/messages/send-template", json=TEMPLATE | change)
    assert_error(response, 422, "validation_error")
    assert field in response.text
    assert (await gw.client.get("/api/messages")).json()["data"]["messages"] == []


@pytest.fixture
def fake(monkeypatch: pytest.MonkeyPatch) -> FakeGo:
    return fake_in_gateway(monkeypatch)


@pytest.mark.parametrize("connected", [False, True])
async def test_neonize_refuses_a_template_with_422_whatever_its_state(
    data_dir: Path, fake: FakeGo, connected: bool
) -> None:
    async with in_process(make_settings(data_dir, engine="neonize")) as gw:
        await eventually(lambda: fake.entered.is_set() and bool(FakeGoEngine.clients), what="connect running")
        if connected:
            await feed(FakeGoEngine.clients[-1], ConnectedEv(status=True))
            monitor = gw.gateway.sessions.get("default").monitor
            await eventually(lambda: monitor.state.ready, what="connected")
        response = await gw.client.post("/api/messages/send-template", json=TEMPLATE)
        assert_error(response, 422, "not_supported_by_engine")
        assert response.json()["error"]["message"] == NEONIZE_REFUSAL
        assert (await gw.client.get("/api/messages")).json()["data"]["messages"] == [], "nothing logged"


def test_neonize_builds_no_body_for_a_template() -> None:
    from waqtor.engines.neonize.outgoing import build

    message = OutgoingMessage(to="4915112345678@s.whatsapp.net", type="template",
                              template=TemplateSpec("order_ready", "en_US"))
    with pytest.raises(NotSupportedByEngine) as caught:
        build(message, lambda data, kind: None, None)
    assert (caught.value.code, caught.value.status, caught.value.message) == (
        "not_supported_by_engine", 422, NEONIZE_REFUSAL)
