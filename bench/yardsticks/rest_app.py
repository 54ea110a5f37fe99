"""Yardstick for REST: a bare FastAPI app answering a constant JSON, under the gateway's own uvicorn
settings (`waqtor.server.uvicorn_config`), so only what the gateway does per request differs.
`POST /api/messages/send` validates a body of the gateway's shape with pydantic and answers a constant
message of the gateway's shape: no phone parsing, no database, no engine, no event.

    python -m bench.yardsticks.rest_app --port 9000
"""

from __future__ import annotations

import argparse
from typing import Any

import uvicorn
from fastapi import FastAPI
from pydantic import BaseModel, ConfigDict, Field

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

# Shaped and sized like the gateway's answer to POST /api/messages/send (about 540 bytes).
SENT: dict[str, Any] = {
    "success": True,
    "data": {
        "id": 1, "waId": "3EB0F9415DA44C4BEB33", "session": "default", "direction": "out",
        "chat": "4915123456789@s.whatsapp.net", "from": None, "type": "text", "body": "hello from the benchmark",
        "media": None, "location": None, "contact": None, "replyTo": None, "pushName": None, "status": "sent",
        "error": None, "campaignId": None, "timestamp": "2026-01-01T00:00:00.000Z",
        "queuedAt": "2026-01-01T00:00:00.000Z", "sentAt": "2026-01-01T00:00:00.004Z", "deliveredAt": None,
        "readAt": None, "playedAt": None, "failedAt": None, "createdAt": "2026-01-01T00:00:00.000Z",
    },
}


class SendIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    to: str = Field(min_length=1, max_length=64)
    session: str = Field("default", min_length=1, max_length=64)
    text: str = Field(min_length=1, max_length=65_536)


app = FastAPI()


@app.get("/api/session/state")
async def state() -> dict[str, Any]:
    return STATE


@app.post("/api/messages/send")
async def send(body: SendIn) -> dict[str, Any]:
    return SENT


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    args = parser.parse_args()
    settings = Settings(host=args.host, port=args.port)
    uvicorn.Server(uvicorn_config(app, settings)).run()
