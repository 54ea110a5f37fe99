"""No API key reaches the logs, whichever way a client sends it."""

from __future__ import annotations

import logging

import httpx
import pytest

from tests.conftest import API_KEY, LiveServer
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
