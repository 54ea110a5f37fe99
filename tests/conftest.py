"""Shared fixtures: a gateway in-process (httpx over ASGI) or on a real port (uvicorn)."""

from __future__ import annotations

import asyncio
import inspect
import os
import socket
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
import redis.asyncio as aioredis
import uvicorn
from fastapi import FastAPI

from tests.pg import fresh_database
from waqtor.app import create_app
from waqtor.clock import Clock, utcnow
from waqtor.config import Settings
from waqtor.gateway import Gateway
from waqtor.server import uvicorn_config
from waqtor.storage import Storage

API_KEY = "test-key-0123456789abcdef"
# The real services the suite uses; ./scripts/test starts them when they are down.
REDIS_URL = os.environ.get("WAQTOR_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")


def make_settings(data_dir: Path, **overrides: Any) -> Settings:
    values: dict[str, Any] = {
        "data_dir": data_dir,
        "engine": "sandbox",
        "api_key": API_KEY,
        "host": "127.0.0.1",
        "port": 0,
        "sandbox_qr_interval": 20.0,
        "sandbox_reconnect_delay": 0.05,
        "sandbox_ack_delay": 0.01,
        "log_level": "info",
        # High enough that no test meets them by accident, low enough that every request and every
        # send still goes through the REST rate limit and the send queue; their own tests set them.
        "rate_limit": "100000/minute",
        "send_rate": "100000/minute",
        "auth_failures": "100000/minute",
        "ws_per_key": 1000,
        "ws_command_rate": "100000/second",
    }
    values.update(overrides)
    return Settings(**values)


async def drop_keys(redis_url: str, prefix: str) -> None:
    """Delete every key under `prefix` on the Redis at `redis_url`."""
    client = aioredis.from_url(redis_url)
    try:
        keys = [key async for key in client.scan_iter(f"{prefix}:*", count=1000)]
        if keys:
            await client.delete(*keys)
    finally:
        await client.aclose()


@pytest.fixture
async def redis_url() -> AsyncIterator[str]:
    """The test Redis under a fresh key prefix, emptied afterwards."""
    prefix = f"test-{uuid.uuid4().hex}"
    yield f"{REDIS_URL}?prefix={prefix}"
    await drop_keys(REDIS_URL, prefix)


@pytest.fixture(params=["sqlite", "postgresql"])
async def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[str]:
    """Each storage contract test runs once on SQLite and once on PostgreSQL."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'contract.db'}"
    else:
        async with fresh_database() as url:
            yield url


@pytest.fixture
async def sqlite_storage(tmp_path: Path) -> AsyncIterator[Storage]:
    """A migrated SQLite store of its own, for tests that need one database and no gateway around it."""
    store = Storage(f"sqlite:///{tmp_path / 'store.db'}")
    await store.open()
    yield store
    await store.close()


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    return tmp_path / "data"


@pytest.fixture
def settings(data_dir: Path) -> Settings:
    return make_settings(data_dir)


@dataclass
class Harness:
    app: FastAPI
    client: httpx.AsyncClient
    settings: Settings

    @property
    def gateway(self) -> Gateway:
        return self.app.state.gateway  # type: ignore[no-any-return]

    async def state(self, session: str = "default") -> dict[str, Any]:
        response = await self.client.get("/api/session/state" if session == "default"
                                         else f"/api/sessions/{session}/state")
        assert response.status_code == 200, response.text
        return response.json()["data"]  # type: ignore[no-any-return]

    async def scan(self, **body: Any) -> dict[str, Any]:
        # As a client does with a 503 session_moving: once more after a pause. A machine loaded enough to
        # stall the event loop past a lease renewal makes the session leave and come back here at once.
        for _ in range(10):
            response = await self.client.post("/api/sandbox/scan", json=body)
            if response.status_code != 503 or response.json()["error"]["code"] != "session_moving":
                break
            await asyncio.sleep(0.5)
        assert response.status_code == 200, response.text
        return response.json()["data"]  # type: ignore[no-any-return]


@asynccontextmanager
async def in_process(settings: Settings, clock: Clock = utcnow) -> AsyncIterator[Harness]:
    """The app with its lifespan running, reached through httpx without a socket."""
    app = create_app(settings, clock=clock)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(
            transport=transport, base_url="http://gateway", headers={"X-API-Key": API_KEY}
        ) as client:
            yield Harness(app, client, settings)


@pytest.fixture
async def gw(settings: Settings) -> AsyncIterator[Harness]:
    async with in_process(settings) as harness:
        yield harness


@dataclass
class LiveServer:
    app: FastAPI
    settings: Settings
    port: int
    server: uvicorn.Server

    @property
    def http(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def ws(self) -> str:
        return f"ws://127.0.0.1:{self.port}/ws"

    @property
    def gateway(self) -> Gateway:
        return self.app.state.gateway  # type: ignore[no-any-return]

    def client(self) -> httpx.AsyncClient:
        return httpx.AsyncClient(base_url=self.http, headers={"X-API-Key": API_KEY}, timeout=10)


class ShiftedClock:
    """The real UTC clock plus an offset a test can move forward."""

    def __init__(self) -> None:
        self.offset = timedelta(0)

    def __call__(self) -> datetime:
        return utcnow() + self.offset


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@asynccontextmanager
async def live_server(settings: Settings, port: int | None = None,
                      send_buffer: int | None = None) -> AsyncIterator[LiveServer]:
    """The gateway under a real uvicorn in this event loop, on `port` or else a free one (a fixed port
    lets a test stop a gateway and start another where its clients expect it). `send_buffer` (bytes)
    is the SO_SNDBUF of the listening socket, which its connections inherit: the server's writes to a
    client that reads nothing then back up after that much, not after what the kernel grows it to."""
    port = port or free_port()
    settings = settings.model_copy(update={"port": port})
    app = create_app(settings)
    server = uvicorn.Server(uvicorn_config(app, settings))
    sockets = None
    if send_buffer is not None:
        listening = socket.socket()
        listening.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listening.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, send_buffer)
        listening.bind(("127.0.0.1", port))
        sockets = [listening]
    task = asyncio.create_task(server.serve(sockets))
    deadline = time.monotonic() + 60
    while not server.started:
        if task.done():
            task.result()
            raise RuntimeError("server stopped during start-up")
        if time.monotonic() > deadline:
            raise TimeoutError("server did not start")
        await asyncio.sleep(0.02)
    try:
        yield LiveServer(app, settings, port, server)
    finally:
        server.should_exit = True
        await asyncio.wait_for(task, timeout=20)


@pytest.fixture
async def live(settings: Settings) -> AsyncIterator[LiveServer]:
    async with live_server(settings) as server:
        yield server


async def eventually(check: Callable[[], Awaitable[bool] | bool], timeout: float = 15.0, what: str = "") -> None:
    """Wait until `check()` is true; fail with `what` after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        result = check()
        if inspect.isawaitable(result):
            result = await result
        if not isinstance(result, bool):  # a forgotten call would be a truthy method: always "true"
            raise TypeError(f"eventually()'s check must give a bool, not {type(result).__name__}")
        if result:
            return
        if time.monotonic() > deadline:
            pytest.fail(f"timed out waiting for {what or check}")
        await asyncio.sleep(0.01)
