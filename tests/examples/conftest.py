"""A live gateway (real uvicorn on a free port) for the client examples, with its first QR shown."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from tests.conftest import LiveServer, eventually, live_server, make_settings

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


@pytest.fixture
async def gateway(data_dir: Path) -> AsyncIterator[LiveServer]:
    async with live_server(make_settings(data_dir, sandbox_qr_interval=3600.0)) as server:
        await eventually(lambda: server.gateway.sessions.get("default").monitor.state.has_qr, what="first QR")
        yield server
