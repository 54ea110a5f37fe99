"""Spec section 2: `/api/session/*` addresses the session `default`."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Query
from fastapi.responses import Response

from waqtor import qr_image
from waqtor.api.deps import GatewayDep, require_key
from waqtor.api.schemas import ERROR_RESPONSES, Envelope, ErrorEnvelope, QROut, SessionStateOut, StatsResetOut
from waqtor.errors import NotFound
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


QR_IMAGE_RESPONSES: dict[int | str, dict[str, Any]] = {
    200: {
        "description": "The QR state as JSON, or with `format=png` / `format=svg` the QR code as an image.",
        "content": {
            "image/png": {"schema": {"type": "string", "format": "binary"}},
            "image/svg+xml": {"schema": {"type": "string"}},
        },
    },
    404: {"model": ErrorEnvelope,
          "description": "`format=png` or `svg` while there is no QR code (`no_qr`)."},
}


@router.get("/qr", response_model=Envelope[QROut], response_model_exclude_none=True,
            summary="Current QR code", responses=QR_IMAGE_RESPONSES)
async def get_qr(
    gateway: GatewayDep,
    fmt: Annotated[Literal["json", "png", "svg"], Query(
        alias="format",
        description="`json` (default): the code as text; `png` or `svg`: the code drawn as an image.",
    )] = "json",
) -> Any:
    state = gateway.sessions.get(DEFAULT_SESSION).monitor.state
    if fmt == "json":
        expires = iso_ms(state.qr_expires_at) if state.qr_expires_at else None
        return {"success": True, "data": qr_view(state.has_qr, state.qr_code, expires)}
    if not state.has_qr or not state.qr_code:
        raise NotFound(NO_QR_MESSAGE, code="no_qr")
    body, media_type = qr_image.render(state.qr_code, fmt)
    # The code links a phone to this gateway: no cache may keep it after it rotates.
    headers = {"Cache-Control": "no-store", "Content-Disposition": f'inline; filename="qr.{fmt}"'}
    return Response(body, media_type=media_type, headers=headers)


@router.post("/stats/reset", response_model=Envelope[StatsResetOut], summary="Zero the message counters")
async def reset_stats(gateway: GatewayDep) -> dict[str, Any]:
    monitor = gateway.sessions.get(DEFAULT_SESSION).monitor
    await monitor.reset_stats()
    return {"success": True, "data": {"message": "Statistics reset", "stats": monitor.view()["stats"]}}
