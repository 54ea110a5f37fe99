"""`/api/sessions`: several WhatsApp sessions side by side, each with the `/api/session/*` routes."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Request
from fastapi.responses import Response

from waqtor.api.deps import GatewayDep, IdentityDep, require
from waqtor.api.routes.default_session import (
    OWN_PRESENCE_RESPONSES,
    PAIR_RESPONSES,
    QR_IMAGE_RESPONSES,
    QRFormat,
    pair_view,
    qr_response,
    reset_view,
    state_answers,
)
from waqtor.api.schemas import (
    ERROR_RESPONSES,
    FORWARD_RESPONSES,
    Envelope,
    LogoutOut,
    OwnPresenceIn,
    OwnPresenceOut,
    PairIn,
    PairOut,
    QROut,
    SessionCreateIn,
    SessionDeletedOut,
    SessionOut,
    SessionStateOut,
    StatsResetOut,
)
from waqtor.clock import iso_ms
from waqtor.engines import engine_class
from waqtor.gateway import Gateway
from waqtor.sessions.snapshot import Snapshot
from waqtor.sessions.state import public_view

NOT_FOUND: dict[int | str, dict[str, Any]] = {404: {"description": "No such session (`session_not_found`)."}}
router = APIRouter(prefix="/api/sessions", tags=["sessions"],
                   responses={**ERROR_RESPONSES, **NOT_FOUND})

Name = Annotated[str, Path(description="The session's name.", max_length=64)]
READ = [Depends(require("read", "path"))]
CONTROL = [Depends(require("control", "path"))]
SEND = [Depends(require("send", "path"))]


def session_view(gateway: Gateway, snapshot: Snapshot) -> dict[str, Any]:
    record = snapshot.record
    return {
        "name": record.name,
        "engine": record.engine,
        "desired": record.desired,
        "running": snapshot.running,
        "instance": snapshot.owner,
        "createdAt": iso_ms(record.created_at),
        # The default session's settings come from the environment and are not shown.
        "config": engine_class(record.engine).public_config(record.config),
        "state": public_view(snapshot.state, gateway.clock()),
    }


@router.get("", response_model=Envelope[list[SessionOut]], summary="Every session (a key limited to sessions: those)",
            dependencies=[Depends(require("read"))])
async def list_sessions(gateway: GatewayDep, identity: IdentityDep) -> dict[str, Any]:
    return {"success": True, "data": [session_view(gateway, s) for s in await gateway.sessions.snapshots()
                                      if identity.may_see(s.record.name)]}


@router.post("", response_model=Envelope[SessionOut], status_code=201, summary="Create and start a session",
             responses={400: {"description": "Bad engine settings (`invalid_engine_config`), or the sandbox is "
                                             "not enabled (`sandbox_disabled`)."},
                        409: {"description": "The name is taken (`session_exists`)."}},
             dependencies=[Depends(require("control"))])
async def create_session(gateway: GatewayDep, body: SessionCreateIn, identity: IdentityDep) -> dict[str, Any]:
    identity.check_session(body.name)
    snapshot = await gateway.sessions.create(body.name, body.engine, body.config)
    return {"success": True, "data": session_view(gateway, snapshot)}


@router.get("/{name}", response_model=Envelope[SessionOut], summary="One session", dependencies=READ)
async def get_session(gateway: GatewayDep, name: Name) -> dict[str, Any]:
    return {"success": True, "data": session_view(gateway, await gateway.sessions.snapshot(name))}


@router.delete("/{name}", response_model=Envelope[SessionDeletedOut], summary="Stop and delete a session",
               responses={409: {"description": "`default` cannot be deleted (`default_session`)."},
                          **FORWARD_RESPONSES}, dependencies=CONTROL)
async def delete_session(gateway: GatewayDep, name: Name) -> dict[str, Any]:
    await gateway.sessions.delete(name)
    return {"success": True, "data": {"name": name, "deleted": True}}


@router.post("/{name}/start", response_model=Envelope[SessionOut], summary="Start a session (and keep it running)",
             responses={400: {"description": "A sandbox session while the sandbox is not enabled."},
                        **FORWARD_RESPONSES}, dependencies=CONTROL)
async def start_session(gateway: GatewayDep, name: Name) -> dict[str, Any]:
    return {"success": True, "data": session_view(gateway, await gateway.sessions.start_session(name))}


@router.post("/{name}/stop", response_model=Envelope[SessionOut], summary="Stop a session (and keep it stopped)",
             responses=FORWARD_RESPONSES, dependencies=CONTROL)
async def stop_session(gateway: GatewayDep, name: Name) -> dict[str, Any]:
    return {"success": True, "data": session_view(gateway, await gateway.sessions.stop_session(name))}


@router.post("/{name}/restart", response_model=Envelope[SessionOut], summary="Stop and start a session",
             responses=FORWARD_RESPONSES, dependencies=CONTROL)
async def restart_session(gateway: GatewayDep, name: Name) -> dict[str, Any]:
    return {"success": True, "data": session_view(gateway, await gateway.sessions.restart(name))}


@router.post("/{name}/logout", response_model=Envelope[LogoutOut], summary="Unlink a session's account",
             responses={400: {"description": "The engine cannot log out (`logout_not_supported`)."},
                        409: {"description": "The session is stopped (`session_stopped`)."}, **FORWARD_RESPONSES},
             dependencies=CONTROL)
async def logout_session(gateway: GatewayDep, name: Name) -> dict[str, Any]:
    status = await gateway.sessions.logout(name)
    return {"success": True,
            "data": {"message": "Logged out. Link a phone again with the new QR code or a pairing code.",
                     "status": status}}


@router.get("/{name}/state", response_model=Envelope[SessionStateOut], summary="A session's state", dependencies=READ)
async def session_state(gateway: GatewayDep, name: Name, request: Request) -> Response:
    return state_answers(request).response(await gateway.sessions.state_of(name), gateway.clock())


@router.get("/{name}/qr", response_model=Envelope[QROut], response_model_exclude_none=True,
            summary="A session's QR code", responses=QR_IMAGE_RESPONSES, dependencies=READ)
async def session_qr_code(gateway: GatewayDep, name: Name, fmt: QRFormat = "json") -> Any:
    return qr_response(await gateway.sessions.state_of(name), fmt)


@router.post("/{name}/stats/reset", response_model=Envelope[StatsResetOut], summary="Zero a session's counters",
             responses=FORWARD_RESPONSES, dependencies=CONTROL)
async def session_reset_stats(gateway: GatewayDep, name: Name) -> dict[str, Any]:
    return {"success": True, "data": await reset_view(gateway, name)}


@router.post("/{name}/pair", response_model=Envelope[PairOut], responses=PAIR_RESPONSES,
             summary="Link a phone to a session with a pairing code", dependencies=CONTROL)
async def session_pair(gateway: GatewayDep, body: PairIn, name: Name) -> dict[str, Any]:
    return {"success": True, "data": await pair_view(gateway, name, body)}


@router.post("/{name}/presence", response_model=Envelope[OwnPresenceOut], responses=OWN_PRESENCE_RESPONSES,
             summary="Show a session's account online or offline", dependencies=SEND)
async def session_presence(gateway: GatewayDep, body: OwnPresenceIn, name: Name) -> dict[str, Any]:
    return {"success": True, "data": await gateway.messages.chats.own_presence(name, body.state)}
