"""`/api/status/*`: the full client status and logout of the session `default`."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends

from waqtor.api.deps import GatewayDep, require
from waqtor.api.schemas import ERROR_RESPONSES, FORWARD_RESPONSES, ClientStatusOut, Envelope, LogoutOut
from waqtor.sessions.session import DEFAULT_SESSION
from waqtor.sessions.state import client_view

router = APIRouter(prefix="/api/status", tags=["status"], responses=ERROR_RESPONSES)


@router.get("/client", response_model=Envelope[ClientStatusOut], summary="Full client status",
            dependencies=[Depends(require("read", "default"))])
async def client_status(gateway: GatewayDep) -> dict[str, Any]:
    state = await gateway.sessions.state_of(DEFAULT_SESSION)
    return {"success": True, "data": client_view(state, gateway.clock())}


@router.post("/logout", response_model=Envelope[LogoutOut], summary="Unlink the WhatsApp account",
             responses=FORWARD_RESPONSES, dependencies=[Depends(require("control", "default"))])
async def logout(gateway: GatewayDep) -> dict[str, Any]:
    status = await gateway.sessions.logout(DEFAULT_SESSION)
    return {
        "success": True,
        "data": {"message": "Logged out. Scan the new QR code to link a phone again.", "status": status},
    }
