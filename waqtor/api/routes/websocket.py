"""The WebSocket endpoint `/ws` and `GET /api/session/websocket/info`."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Request, WebSocket
from pydantic import BaseModel

from waqtor.api.deps import GatewayDep, IdentityDep, require
from waqtor.api.schemas import ERROR_RESPONSES, Envelope
from waqtor.clock import iso_ms
from waqtor.events import EVENT_TYPES
from waqtor.ws.protocol import COMMANDS

router = APIRouter(tags=["websocket"])


@router.websocket("/ws")
async def websocket_endpoint(ws: WebSocket) -> None:
    await ws.app.state.gateway.bridge.serve(ws)


class TicketOut(BaseModel):
    ticket: str
    expiresAt: str


@router.post(
    "/api/session/websocket/ticket",
    response_model=Envelope[TicketOut],
    dependencies=[Depends(require("read"))],
    responses=ERROR_RESPONSES,
    tags=["session"],
    summary="A single-use ticket to open /ws?ticket=… without putting a key in the URL (valid 60 s)",
)
async def websocket_ticket(gateway: GatewayDep, identity: IdentityDep) -> dict[str, Any]:
    ticket, expires_at = await gateway.tickets.issue(identity)
    return {"success": True, "data": {"ticket": ticket, "expiresAt": iso_ms(expires_at)}}


class ClientInfoOut(BaseModel):
    id: int
    readyState: str
    authenticated: bool
    subscriptions: list[str]
    sessions: list[str]
    queued: int


class CommandUsage(BaseModel):
    type: str
    example: dict[str, Any]
    reply: str


class UsageOut(BaseModel):
    connect: str
    resume: str
    commands: list[CommandUsage]


class WebSocketInfoOut(BaseModel):
    endpoint: str
    url: str
    authentication: str
    clients: int
    clientsInfo: list[ClientInfoOut]
    events: list[str]
    usage: UsageOut


USAGE_COMMANDS: list[dict[str, Any]] = [
    {"type": "ping", "example": {"type": "ping"}, "reply": "pong"},
    {"type": "get_state", "example": {"type": "get_state", "session": "default"},
     "reply": "session_state (of `session`, default when omitted)"},
    {"type": "get_qr", "example": {"type": "get_qr", "session": "default"},
     "reply": "qr_code (of `session`, default when omitted)"},
    {"type": "subscribe",
     "example": {"type": "subscribe", "events": ["session_update", "qr_code"], "sessions": ["default"]},
     "reply": "subscribed (`sessions` is optional: without it, every session)"},
    {"type": "unsubscribe", "example": {"type": "unsubscribe", "events": ["qr_code"]}, "reply": "unsubscribed"},
    {"type": "resume", "example": {"type": "resume", "after": 0}, "reply": "the missed events, then resumed"},
]
assert [c["type"] for c in USAGE_COMMANDS] == list(COMMANDS)


def ws_url(request: Request) -> str:
    scheme = "wss" if request.url.scheme == "https" else "ws"
    return f"{scheme}://{request.url.netloc}/ws"


@router.get(
    "/api/session/websocket/info",
    response_model=Envelope[WebSocketInfoOut],
    dependencies=[Depends(require("read"))],
    responses=ERROR_RESPONSES,
    tags=["session"],
    summary="WebSocket endpoint, connected clients and protocol",
)
async def websocket_info(request: Request, gateway: GatewayDep, identity: IdentityDep) -> dict[str, Any]:
    url = ws_url(request)
    clients = gateway.bridge.info(identity)
    return {
        "success": True,
        "data": {
            "endpoint": "/ws",
            "url": url,
            "authentication": "Required - use X-API-Key header or ?apiKey= query param",
            "clients": len(clients),
            "clientsInfo": clients,
            "events": list(EVENT_TYPES),
            "usage": {
                "connect": f"{url}?apiKey=YOUR_API_KEY",
                "resume": f"{url}?apiKey=YOUR_API_KEY&after=LAST_EVENT_ID",
                "commands": USAGE_COMMANDS,
            },
        },
    }
