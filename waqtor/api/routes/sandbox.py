"""`/api/sandbox/*`: drive the simulated accounts. Mounted only when the sandbox is offered (default engine
`sandbox`, or WAQTOR_SANDBOX_ENABLED=true)."""

from __future__ import annotations

from typing import Any, Literal

from fastapi import APIRouter, Depends
from pydantic import BaseModel, ConfigDict, Field

from waqtor.api.deps import GatewayDep, require_key
from waqtor.api.schemas import ERROR_RESPONSES, Envelope
from waqtor.engines.sandbox.engine import SandboxEngine
from waqtor.errors import InvalidInput
from waqtor.sessions.manager import DEFAULT_SESSION
from waqtor.sessions.state import iso_ms

router = APIRouter(prefix="/api/sandbox", tags=["sandbox"], dependencies=[Depends(require_key)],
                   responses={**ERROR_RESPONSES, 409: {"description": "The sandbox is not in a state for this."}})

PHONE = r"^\+?[0-9]{6,15}$"


class _Body(BaseModel):
    model_config = ConfigDict(extra="forbid")
    session: str = Field(DEFAULT_SESSION, description="Session to act on.")


class ScanIn(_Body):
    phone: str | None = Field(None, pattern=PHONE, description="Phone of the simulated account (digits).")
    pushname: str | None = Field(None, min_length=1, max_length=128)


class InboundIn(_Body):
    from_: str = Field(alias="from", pattern=PHONE, description="Sender's phone number (digits, optional +).")
    body: str = Field(min_length=1, max_length=65_536)


class FailIn(_Body):
    kind: Literal["disconnect", "logout"]


class AccountOut(BaseModel):
    phone: str
    pushname: str | None
    platform: str | None


class InboundOut(BaseModel):
    id: str
    from_: str = Field(serialization_alias="from")
    body: str
    timestamp: str


class FailOut(BaseModel):
    kind: str
    status: str


def _sandbox(gateway: Any, name: str) -> SandboxEngine:
    engine = gateway.sessions.get(name).engine
    if not isinstance(engine, SandboxEngine):
        raise InvalidInput(f"session {name!r} does not run on the sandbox engine", code="not_sandbox")
    return engine


@router.post("/scan", response_model=Envelope[AccountOut], summary="Link the simulated phone (scan the QR)")
async def scan(gateway: GatewayDep, body: ScanIn | None = None) -> dict[str, Any]:
    body = body or ScanIn()
    account = await _sandbox(gateway, body.session).scan(
        phone=body.phone.lstrip("+") if body.phone else None, pushname=body.pushname
    )
    return {"success": True, "data": {"phone": account.phone, "pushname": account.pushname,
                                      "platform": account.platform}}


@router.post("/inbound", response_model=Envelope[InboundOut], response_model_by_alias=True,
             summary="Deliver an incoming message")
async def inbound(gateway: GatewayDep, body: InboundIn) -> dict[str, Any]:
    message = await _sandbox(gateway, body.session).inbound(body.from_.lstrip("+"), body.body)
    return {"success": True, "data": {"id": message.id, "from_": message.sender, "body": body.body,
                                      "timestamp": iso_ms(message.timestamp)}}


@router.post("/fail", response_model=Envelope[FailOut], summary="Inject a fault")
async def fail(gateway: GatewayDep, body: FailIn) -> dict[str, Any]:
    await _sandbox(gateway, body.session).fail(body.kind)
    status = gateway.sessions.get(body.session).monitor.state.status
    return {"success": True, "data": {"kind": body.kind, "status": str(status)}}
