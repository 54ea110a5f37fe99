"""Spec section 2: `/api/session/*` addresses the session `default`."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends

from waqtor.api.deps import GatewayDep, require_key
from waqtor.api.schemas import ERROR_RESPONSES, Envelope, QROut, SessionStateOut, StatsResetOut
from waqtor.sessions.manager import DEFAULT_SESSION
from waqtor.sessions.state import iso_ms

router = APIRouter(prefix="/api/session", tags=["session"], dependencies=[Depends(require_key)],
                   responses=ERROR_RESPONSES)

NO_QR_MESSAGE = "No QR code available. Client may already be authenticated."


def qr_view(has_qr: bool, code: str | None, expires: str | None) -> dict[str, Any]:
    if has_qr:
        return {"hasQR": True, "qr": code, "expiresAt": expires}
    return {"hasQR": False, "message": NO_QR_MESSAGE}


@router.get("/state", response_model=Envelope[SessionStateOut], summary="Current session state")
async def get_state(gateway: GatewayDep) -> dict[str, Any]:
    return {"success": True, "data": gateway.sessions.get(DEFAULT_SESSION).monitor.view()}


@router.get("/qr", response_model=Envelope[QROut], response_model_exclude_none=True, summary="Current QR code")
async def get_qr(gateway: GatewayDep) -> dict[str, Any]:
    state = gateway.sessions.get(DEFAULT_SESSION).monitor.state
    expires = iso_ms(state.qr_expires_at) if state.qr_expires_at else None
    return {"success": True, "data": qr_view(state.has_qr, state.qr_code, expires)}


@router.post("/stats/reset", response_model=Envelope[StatsResetOut], summary="Zero the message counters")
async def reset_stats(gateway: GatewayDep) -> dict[str, Any]:
    monitor = gateway.sessions.get(DEFAULT_SESSION).monitor
    await monitor.reset_stats()
    return {"success": True, "data": {"message": "Statistics reset", "stats": monitor.view()["stats"]}}
