"""Yardstick for fan-out: a broadcast server written with the `websockets` library alone.

Clients connect to `/ws` and are kept in a set; every frame received on `/publish` is sent to all of
them with `websockets.broadcast`. Same compression (off), frame limit and heartbeat as the gateway.

    python -m bench.yardsticks.broadcast --port 9000
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import signal

from websockets.asyncio.server import ServerConnection, broadcast, serve

CLIENTS: set[ServerConnection] = set()


async def handler(ws: ServerConnection) -> None:
    if ws.request is not None and ws.request.path.startswith("/publish"):
        async for message in ws:
            broadcast(CLIENTS, message)
        return
    CLIENTS.add(ws)
    try:
        async for _ in ws:
            pass
    finally:
        CLIENTS.discard(ws)


async def main(host: str, port: int) -> None:
    stop = asyncio.get_running_loop().create_future()
    for sig in (signal.SIGTERM, signal.SIGINT):
        asyncio.get_running_loop().add_signal_handler(sig, stop.cancel)
    async with serve(handler, host, port, compression=None, max_size=65_536, ping_interval=30,
                     ping_timeout=20, backlog=2048):
        with contextlib.suppress(asyncio.CancelledError):
            await stop


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    args = parser.parse_args()
    asyncio.run(main(args.host, args.port))
