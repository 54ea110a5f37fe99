"""Yardstick for REST: a bare FastAPI app answering a constant JSON, under the gateway's own uvicorn
settings (`waqtor.server.uvicorn_config`), so only what the gateway does per request differs.

    python -m bench.yardsticks.rest_app --port 9000
"""

from __future__ import annotations

import argparse
from typing import Any

import uvicorn
from fastapi import FastAPI

from waqtor.config import Settings
from waqtor.server import uvicorn_config

# Shaped and sized like the gateway's answer to GET /api/session/state (about 330 bytes).
STATE: dict[str, Any] = {
    "success": True,
    "data": {
        "session": "default", "engine": "sandbox", "status": "connected", "ready": True, "authenticated": True,
        "hasQR": False, "info": {"pushname": "Sandbox User", "platform": "android", "phoneMasked": "***0154"},
        "uptime": 0, "stats": {"messagesSent": 0, "messagesReceived": 0}, "lastError": None,
        "lastUpdate": "2026-01-01T00:00:00.000Z",
    },
}

app = FastAPI()


@app.get("/api/session/state")
async def state() -> dict[str, Any]:
    return STATE


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    args = parser.parse_args()
    settings = Settings(host=args.host, port=args.port)
    uvicorn.Server(uvicorn_config(app, settings)).run()
