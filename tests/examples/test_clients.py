"""The spec's Node.js and Python clients (examples/node, examples/python) against a live gateway.

Each runs as a child process with WAQTOR_URL and WAQTOR_API_KEY, exactly as a user would start it, and
the tests read what it prints. Node.js and npm must be installed: without them these tests fail.
"""

from __future__ import annotations

import signal
import sys
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.conftest import API_KEY, LiveServer, eventually
from tests.examples.conftest import EXAMPLES
from tests.examples.process import Running
from tests.npm import npm_ci, require_node


@dataclass(frozen=True)
class Example:
    name: str
    directory: Path
    script: str

    def argv(self) -> list[str]:
        if self.name == "node":
            return [require_node((18, 0)), self.script]
        return [sys.executable, self.script]

    def prepare(self) -> None:
        if self.name == "node":
            require_node((18, 0))
            npm_ci(self.directory)

    def field(self, name: str, value: str) -> str:
        """A regex for `name: value` as this example prints a received frame: Node's util.inspect or
        Python's repr."""
        if self.name == "node":
            return rf"\b{name}: '{value}'"
        return rf"'{name}': '{value}'"


NODE = Example("node", EXAMPLES / "node", "index.js")
PYTHON = Example("python", EXAMPLES / "python", "ws_client.py")


@pytest.fixture(params=[NODE, PYTHON], ids=lambda example: example.name)
def example(request: pytest.FixtureRequest) -> Example:
    chosen: Example = request.param
    chosen.prepare()
    return chosen


async def start(example: Example, gateway: LiveServer, key: str | None = API_KEY) -> Running:
    env = {"WAQTOR_URL": gateway.ws, "PYTHONUNBUFFERED": "1"}
    if key is not None:
        env["WAQTOR_API_KEY"] = key
    return await Running.start(example.argv(), example.directory, env, what=f"the {example.name} example")


@pytest.fixture
async def running(example: Example, gateway: LiveServer) -> AsyncIterator[Running]:
    client = await start(example, gateway)
    try:
        yield client
    finally:
        await client.kill()


async def test_connects_and_prints_the_session_state_it_asked_for(
        example: Example, running: Running) -> None:
    await running.wait_for("✅ Connected")
    await running.wait_for(r"📨 Received: \{\s*" + example.field("type", "session_state"))
    await running.wait_for(example.field("status", "qr"))


async def test_prints_the_status_on_every_session_update(
        example: Example, running: Running, gateway: LiveServer) -> None:
    await running.wait_for(example.field("type", "session_state"))
    async with gateway.client() as http:
        assert (await http.post("/api/sandbox/scan")).status_code == 200
    await running.wait_for(r"Session status: authenticated\n(.*\n)*Session status: connected\n")
    await running.wait_for(example.field("type", "session_update"))


async def test_prints_an_incoming_message_event(
        example: Example, running: Running, gateway: LiveServer) -> None:
    await running.wait_for(example.field("type", "session_state"))
    async with gateway.client() as http:
        await http.post("/api/sandbox/scan")
        await running.wait_for("Session status: connected")
        message = {"from": "+4915112345678", "body": "Hello there"}
        response = await http.post("/api/sandbox/inbound", json=message)
        assert response.status_code == 200
    await running.wait_for(example.field("type", "message"))
    await running.wait_for(example.field("body", "Hello there"))


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "SIGINT"])
async def test_a_signal_closes_the_connection_normally_and_exits_0(
        example: Example, running: Running, gateway: LiveServer, sig: signal.Signals) -> None:
    await running.wait_for(example.field("type", "session_state"))
    assert len(gateway.gateway.bridge.clients) == 1
    assert await running.stop(sig) == 0
    assert f"{sig.name}: closing" in running.stdout
    assert "Connection closed" in running.stdout
    await eventually(lambda: not gateway.gateway.bridge.clients, what="the gateway to forget the client")


async def test_a_wrong_key_is_refused_with_1008_and_exits_1(example: Example, gateway: LiveServer) -> None:
    client = await start(example, gateway, key="wrong-key-0000000000000")
    try:
        await client.wait_for(r"Connection closed 1008 API key refused")
        assert await client.exit_code() == 1
        assert "📨 Received" not in client.stdout
    finally:
        await client.kill()


async def test_without_a_key_it_says_how_to_get_one_and_exits_2(
        example: Example, gateway: LiveServer) -> None:
    client = await start(example, gateway, key=None)
    try:
        assert await client.exit_code() == 2
        assert "Set WAQTOR_API_KEY" in client.stderr
        assert not gateway.gateway.bridge.clients
    finally:
        await client.kill()
