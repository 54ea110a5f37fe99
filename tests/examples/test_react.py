"""The React example (examples/react): its Vite dev server proxies /ws to the gateway and adds the key,
and its bundle never contains the key. Rendering the component in a browser is left to the browser
tests; here the proxy and the build, which are this example's own logic, run for real."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from websockets.asyncio.client import connect

from tests.conftest import API_KEY, LiveServer, free_port
from tests.examples.conftest import EXAMPLES
from tests.examples.process import Running
from tests.npm import npm_ci, require_node

REACT = EXAMPLES / "react"
# Vite 7 needs Node.js 20.19 or newer.
NODE_MINIMUM = (20, 19)


@pytest.fixture
def node() -> str:
    path = require_node(NODE_MINIMUM)
    npm_ci(REACT)
    return path


def vite(node: str, *args: str) -> list[str]:
    return [node, str(REACT / "node_modules" / "vite" / "bin" / "vite.js"), *args]


@pytest.fixture
async def dev_server(node: str, gateway: LiveServer) -> AsyncIterator[str]:
    port = free_port()
    argv = vite(node, "--port", str(port), "--strictPort", "--host", "127.0.0.1")
    env = {"WAQTOR_URL": gateway.ws, "WAQTOR_API_KEY": API_KEY, "NO_COLOR": "1"}
    server = await Running.start(argv, REACT, env, what="the React example's dev server")
    try:
        await server.wait_for(rf"http://127\.0\.0\.1:{port}/", timeout=60)
        yield f"127.0.0.1:{port}"
    finally:
        await server.stop()


async def test_dev_server_proxies_the_websocket_with_the_key(dev_server: str, gateway: LiveServer) -> None:
    # The browser's connection carries no key; the proxy adds it.
    async with connect(f"ws://{dev_server}/ws") as ws:
        await ws.send(json.dumps({"type": "get_state"}))
        frame = json.loads(await asyncio.wait_for(ws.recv(), 10))
    assert frame["type"] == "session_state"
    assert frame["data"]["status"] == "qr"


async def test_dev_server_passes_the_resume_query_through(dev_server: str, gateway: LiveServer) -> None:
    newest = await gateway.gateway.bus.last_id()
    async with connect(f"ws://{dev_server}/ws?after={newest}") as ws:
        frame = json.loads(await asyncio.wait_for(ws.recv(), 10))
    assert frame["type"] == "resumed"
    assert frame["after"] == newest


async def test_component_connects_to_its_own_server_without_a_key() -> None:
    source = (REACT / "src" / "SessionMonitor.jsx").read_text()
    assert "window.location.host}/ws`" in source
    assert "apiKey" not in source and "X-API-Key" not in source


async def test_bundle_contains_no_key(node: str, tmp_path: Path) -> None:
    out = tmp_path / "dist"
    secret = "bundle-must-not-hold-this-key-123"
    build = await Running.start(vite(node, "build", "--outDir", str(out), "--emptyOutDir"), REACT,
                                {"WAQTOR_API_KEY": secret, "NO_COLOR": "1"}, what="vite build")
    assert await build.exit_code(timeout=120) == 0, build.stdout + build.stderr
    files = [path for path in out.rglob("*") if path.is_file()]
    assert any(path.suffix == ".js" for path in files)
    for path in files:
        assert secret not in path.read_text(errors="replace"), path


async def test_dev_server_refuses_to_start_without_a_key(node: str) -> None:
    server = await Running.start(vite(node, "--port", str(free_port()), "--strictPort"), REACT,
                                 {"WAQTOR_API_KEY": ""}, what="the React example's dev server")
    assert await server.exit_code(timeout=60) != 0
    assert "Set WAQTOR_API_KEY" in server.stdout + server.stderr
