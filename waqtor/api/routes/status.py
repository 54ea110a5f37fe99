"""`/api/status/*`: the full client status and logout of the session `default`."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends

from waqtor.api.deps import GatewayDep, require_key
from waqtor.api.schemas import ERROR_RESPONSES, ClientStatusOut, Envelope, LogoutOut
from waqtor.sessions.manager import DEFAULT_SESSION
from waqtor.sessions.state import client_view

router = APIRouter(prefix="/api/status", tags=["status"], dependencies=[Depends(require_key)],
                   responses=ERROR_RESPONSES)


@router.get("/client", response_model=Envelope[ClientStatusOut], summary="Full client status")
async def client_status(gateway: GatewayDep) -> dict[str, Any]:
    monitor = gateway.sessions.get(DEFAULT_SESSION).monitor
    return {"success": True, "data": client_view(monitor.state, gateway.clock())}


@router.post("/logout", response_model=Envelope[LogoutOut], summary="Unlink the WhatsApp account")
async def logout(gateway: GatewayDep) -> dict[str, Any]:
    await gateway.sessions.logout(DEFAULT_SESSION)
    status = gateway.sessions.get(DEFAULT_SESSION).monitor.state.status
    return {
        "success": True,
        "data": {"message": "Logged out. Scan the new QR code to link a phone again.", "status": str(status)},
    }
