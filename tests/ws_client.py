"""A small WebSocket test client over the `websockets` library."""

from __future__ import annotations

import asyncio
import json
from typing import Any
from urllib.parse import urlencode

from websockets.asyncio.client import ClientConnection, connect

from tests.conftest import API_KEY, LiveServer


def ws_url(live: LiveServer, key: str | None = API_KEY, **params: Any) -> str:
    query = {**({"apiKey": key} if key is not None else {}), **{k: str(v) for k, v in params.items()}}
    return live.ws + ("?" + urlencode(query) if query else "")


async def open_ws(live: LiveServer, key: str | None = API_KEY, headers: dict[str, str] | None = None,
                  **params: Any) -> ClientConnection:
    return await connect(ws_url(live, key, **params), additional_headers=headers, compression=None,
                         max_size=None)


async def recv(ws: ClientConnection, timeout: float = 5.0) -> dict[str, Any]:
    return json.loads(await asyncio.wait_for(ws.recv(), timeout))  # type: ignore[no-any-return]


async def recv_type(ws: ClientConnection, type: str, timeout: float = 5.0) -> dict[str, Any]:
    """The next frame of `type`, skipping others."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while True:
        frame = await recv(ws, max(0.01, deadline - loop.time()))
        if frame["type"] == type:
            return frame


async def send(ws: ClientConnection, **command: Any) -> None:
    await ws.send(json.dumps(command))


async def command(ws: ClientConnection, reply: str, **cmd: Any) -> dict[str, Any]:
    await send(ws, **cmd)
    return await recv_type(ws, reply)


async def no_frame(ws: ClientConnection, within: float = 0.3) -> bool:
    """True when nothing arrives within `within` seconds."""
    try:
        await asyncio.wait_for(ws.recv(), within)
    except TimeoutError:
        return True
    return False
