"""Spec section 2: `/api/session/*` addresses the session `default`. The helpers here serve the same
routes under `/api/sessions/{name}/` too."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import Response
from pydantic import TypeAdapter

from waqtor import qr_image
from waqtor.api.deps import GatewayDep, get_gateway, require
from waqtor.api.schemas import (
    ERROR_RESPONSES,
    FORWARD_RESPONSES,
    Envelope,
    ErrorEnvelope,
    OwnPresenceIn,
    OwnPresenceOut,
    PairIn,
    PairOut,
    QROut,
    SessionStateOut,
    StatsResetOut,
)
from waqtor.clock import iso_ms
from waqtor.errors import NotFound
from waqtor.gateway import Gateway
from waqtor.messaging import phones
from waqtor.sessions.session import DEFAULT_SESSION
from waqtor.sessions.snapshot import Snapshot
from waqtor.sessions.state import SessionState, public_view

router = APIRouter(prefix="/api/session", tags=["session"], responses=ERROR_RESPONSES)

NO_QR_MESSAGE = "No QR code available. Client may already be authenticated."

PAIR_RESPONSES: dict[int | str, dict[str, Any]] = {
    400: {"description": "Not a phone number (`invalid_phone`), or the engine has no pairing code "
                         "(`pairing_not_supported`)."},
    409: {"description": "The session is not waiting for a phone to link (`not_waiting_for_link`), or is stopped."},
    502: {"description": "WhatsApp refused the pairing request (`pairing_refused`)."},
    **FORWARD_RESPONSES,
}

OWN_PRESENCE_RESPONSES: dict[int | str, dict[str, Any]] = {
    409: {"model": ErrorEnvelope, "description": "`session_not_ready`: the session is not connected."},
    422: {"model": ErrorEnvelope, "description": "`not_supported_by_engine` (the Cloud API engine), or "
          "`validation_error`."},
    502: {"model": ErrorEnvelope, "description": "WhatsApp refused (`whatsapp_error`)."},
    **FORWARD_RESPONSES,
}


def qr_view(has_qr: bool, code: str | None, expires: str | None, note: str | None = None) -> dict[str, Any]:
    """The spec's QR answer; `note` replaces the usual message for engines that never show a QR."""
    if has_qr:
        return {"hasQR": True, "qr": code, "expiresAt": expires}
    return {"hasQR": False, "message": note or NO_QR_MESSAGE}


def session_qr(state: SessionState) -> dict[str, Any]:
    expires = iso_ms(state.qr_expires_at) if state.qr_expires_at else None
    return qr_view(state.has_qr, state.qr_code, expires, Snapshot.note_for(state))


async def reset_view(gateway: Gateway, name: str) -> dict[str, Any]:
    return {"message": "Statistics reset", **(await gateway.sessions.reset_stats(name))}


async def pair_view(gateway: Gateway, name: str, body: PairIn) -> dict[str, Any]:
    recipient = phones.normalize(body.phone, gateway.settings.default_region)
    if recipient.phone is None:
        raise phones.invalid_phone(body.phone, "not_a_phone", "link a phone number, not a chat or group id")
    phone = recipient.phone.lstrip("+")
    pairing = await gateway.sessions.pair(name, phone)
    return {
        "code": pairing["code"],
        "phone": phone,
        "expiresAt": pairing["expiresAt"],
        "message": "On the phone open WhatsApp > Linked devices > Link a device > Link with phone number "
                   "instead, and type this code.",
    }


class StateAnswers:
    """The JSON body of the state answer, made once for each state a session goes through.

    The route answers these bytes itself, so FastAPI does not validate and serialise the view on
    every request (bench/profiles.md); they are made the way FastAPI makes them, by validating the
    view against the route's model and dumping that to JSON. A session's state is a new frozen object
    whenever it changes, and of the view only `uptime` depends on the time, so the body is made again
    when the state object or the uptime differs from the last answer's."""

    ADAPTER: TypeAdapter[Envelope[SessionStateOut]] = TypeAdapter(Envelope[SessionStateOut])

    def __init__(self) -> None:
        self._last: dict[str, tuple[SessionState, int, bytes]] = {}

    def body(self, state: SessionState, now: datetime) -> bytes:
        uptime = state.uptime(now)
        last = self._last.get(state.session)
        if last is not None and last[0] is state and last[1] == uptime:
            return last[2]
        view = {"success": True, "data": public_view(state, now)}
        envelope = self.ADAPTER.validate_python(view, from_attributes=True)
        body = self.ADAPTER.dump_json(envelope, by_alias=True)
        self._last[state.session] = (state, uptime, body)
        return body

    def response(self, state: SessionState, now: datetime) -> Response:
        return Response(self.body(state, now), media_type="application/json")


def state_answers(request: Request) -> StateAnswers:
    """This app's cache of state answers (made with the app, in create_app)."""
    answers: StateAnswers = request.app.state.state_answers  # set by create_app
    return answers


@router.get("/state", response_model=Envelope[SessionStateOut], summary="Current session state",
            dependencies=[Depends(require("read", "default"))])
async def get_state(request: Request) -> Response:
    # The request rather than GatewayDep: one dependency fewer for FastAPI to solve on the busiest route.
    gateway = get_gateway(request)
    return state_answers(request).response(await gateway.sessions.state_of(DEFAULT_SESSION), gateway.clock())


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

QRFormat = Annotated[Literal["json", "png", "svg"], Query(
    alias="format",
    description="`json` (default): the code as text; `png` or `svg`: the code drawn as an image.",
)]


def qr_response(state: SessionState, fmt: Literal["json", "png", "svg"]) -> Any:
    """The QR state of a session as the JSON envelope, or its code drawn as a PNG or SVG image."""
    if fmt == "json":
        return {"success": True, "data": session_qr(state)}
    if not state.has_qr or not state.qr_code:
        raise NotFound(NO_QR_MESSAGE, code="no_qr")
    body, media_type = qr_image.render(state.qr_code, fmt)
    # The code links a phone to this gateway: no cache may keep it after it rotates.
    headers = {"Cache-Control": "no-store", "Content-Disposition": f'inline; filename="qr.{fmt}"'}
    return Response(body, media_type=media_type, headers=headers)


@router.get("/qr", response_model=Envelope[QROut], response_model_exclude_none=True,
            summary="Current QR code", responses=QR_IMAGE_RESPONSES, dependencies=[Depends(require("read", "default"))])
async def get_qr(gateway: GatewayDep, fmt: QRFormat = "json") -> Any:
    return qr_response(await gateway.sessions.state_of(DEFAULT_SESSION), fmt)


@router.post("/stats/reset", response_model=Envelope[StatsResetOut], summary="Zero the message counters",
             responses=FORWARD_RESPONSES, dependencies=[Depends(require("control", "default"))])
async def reset_stats(gateway: GatewayDep) -> dict[str, Any]:
    return {"success": True, "data": await reset_view(gateway, DEFAULT_SESSION)}


@router.post("/pair", response_model=Envelope[PairOut], responses=PAIR_RESPONSES,
             summary="Link a phone with a pairing code instead of the QR",
             dependencies=[Depends(require("control", "default"))])
async def pair(gateway: GatewayDep, body: PairIn) -> dict[str, Any]:
    return {"success": True, "data": await pair_view(gateway, DEFAULT_SESSION, body)}


@router.post("/presence", response_model=Envelope[OwnPresenceOut], responses=OWN_PRESENCE_RESPONSES,
             summary="Show the account online or offline", dependencies=[Depends(require("send", "default"))])
async def own_presence(gateway: GatewayDep, body: OwnPresenceIn) -> dict[str, Any]:
    return {"success": True, "data": await gateway.messages.chats.own_presence(DEFAULT_SESSION, body.state)}
