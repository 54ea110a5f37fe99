"""No API key, ticket or message text reaches the logs, whichever way a client sends it."""

from __future__ import annotations

import logging

import httpx
import pytest
from websockets.asyncio.client import connect

from tests.conftest import API_KEY, LiveServer, eventually
from tests.ws_client import command, open_ws
from waqtor.logs import redact


async def test_keys_in_query_strings_never_reach_the_log(live: LiveServer, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    async with await open_ws(live) as ws:
        await command(ws, "pong", type="ping")
    async with httpx.AsyncClient() as client:
        await client.get(f"{live.http}/api/session/state", params={"apiKey": API_KEY})
        await client.get(f"{live.http}/api/session/state", params={"apiKey": "wrong-" + API_KEY})
    # The test's own client library logs its handshake at DEBUG; only the gateway's lines matter.
    text = "\n".join(r.getMessage() for r in caplog.records if r.name.startswith(("uvicorn", "waqtor")))
    assert "WebSocket /ws" in text, "uvicorn's handshake line was expected in the captured log"
    assert API_KEY not in text
    assert "apiKey=[redacted]" in text


def test_redact_hides_every_secret_parameter() -> None:
    line = 'GET /ws?apiKey=abc&after=5&ticket=t-1&token=xyz "x"'
    assert redact(line) == 'GET /ws?apiKey=[redacted]&after=5&ticket=[redacted]&token=[redacted] "x"'


async def test_no_key_ticket_or_message_text_reaches_the_log_at_the_default_level(
        live: LiveServer, caplog: pytest.LogCaptureFixture) -> None:
    assert live.settings.log_level == "info"
    caplog.set_level(logging.INFO)
    outgoing, incoming = "zebra-violet-4711 outgoing", "quokka-amber-0815 incoming"
    async with live.client() as http:
        created = (await http.post("/api/keys", json={"name": "logs", "scopes": ["read", "send"]})).json()["data"]
        key = created["key"]
        await http.post("/api/sandbox/scan")
        sent = await http.post("/api/messages/send", json={"to": "+4915112345678", "text": outgoing},
                               headers={"X-API-Key": key})
        assert sent.status_code == 200, sent.text
        await http.post("/api/sandbox/inbound", json={"from": "+4915112345678", "body": incoming})
        await http.get("/api/session/state", params={"apiKey": key})
        await http.get("/api/session/state", headers={"X-API-Key": key + "x"})
        ticket = (await http.post("/api/session/websocket/ticket", headers={"X-API-Key": key})).json()["data"]["ticket"]
        async with connect(f"{live.ws}?ticket={ticket}") as ws:
            await command(ws, "pong", type="ping")
        await http.delete(f"/api/keys/{created['id']}")

        async def logged_inbound() -> bool:
            found = (await http.get("/api/messages", params={"direction": "in", "q": "quokka"})).json()["data"]
            return bool(found["messages"])

        await eventually(logged_inbound, what="the inbound message in the message log")
    text = "\n".join(r.getMessage() for r in caplog.records if r.name.startswith(("uvicorn", "waqtor")))
    assert "WebSocket /ws?ticket=[redacted]" in text, "uvicorn's handshake line was expected in the captured log"
    assert created["id"] in text, "the key's creation and revocation were expected in the log (by id)"
    for secret in (API_KEY, key, ticket, outgoing, incoming):
        assert secret not in text
