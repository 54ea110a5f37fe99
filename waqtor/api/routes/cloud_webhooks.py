"""`/webhooks/cloud/{session}`: where Meta delivers a Cloud API session's messages and statuses.

Public (Meta cannot send our API key). Both run on the instance that runs the session (Meta may call
any instance behind the load balancer). The GET answers Meta's subscription check with the session's
verify token, and every POST must carry Meta's `X-Hub-Signature-256` made with the session's app secret,
or it is refused (401 without one, 403 with a wrong one) and nothing in it is processed.
"""

from __future__ import annotations

import base64
from typing import Annotated, Any

from fastapi import APIRouter, Header, Path, Query, Request
from fastapi.responses import PlainTextResponse

from waqtor.api.bodies import read_body
from waqtor.api.deps import GatewayDep
from waqtor.api.schemas import ErrorEnvelope
from waqtor.errors import Conflict, PayloadTooLarge, SessionNotFound, SessionNotReady
from waqtor.gateway import Gateway

MAX_BODY = 1 << 20  # Meta's deliveries are a few kilobytes; a public route reads no more than this


def _too_large(_size: int | None) -> PayloadTooLarge:
    return PayloadTooLarge(f"a webhook body may be at most {MAX_BODY} bytes")

router = APIRouter(prefix="/webhooks/cloud", tags=["cloud webhooks"])

Name = Annotated[str, Path(description="The Cloud API session's name.", max_length=64)]
REFUSALS: dict[int | str, dict[str, Any]] = {
    404: {"model": ErrorEnvelope, "description": "No Cloud API session of that name."},
    409: {"model": ErrorEnvelope, "description": "The session is stopped (`session_not_ready`)."},
    503: {"model": ErrorEnvelope, "description": "The session is moving to another instance (`session_moving`)."},
}


async def _command(gateway: Gateway, name: str, op: str, args: dict[str, Any]) -> dict[str, Any]:
    """Run a Cloud API webhook command (`waqtor.engines.cloud.commands`) on the instance that runs the
    session."""
    if (await gateway.sessions.state_of(name)).engine != "cloud":
        raise SessionNotFound(name)  # other engines have no webhook: the URL does not exist for them
    try:
        return await gateway.sessions.command(name, op, args)
    except Conflict as exc:
        if exc.code == "session_stopped":
            raise SessionNotReady(f"session {name!r} is stopped") from None
        raise


@router.get("/{name}", response_class=PlainTextResponse, summary="Meta's webhook verification",
            responses={**REFUSALS, 200: {"content": {"text/plain": {}}, "description": "The echoed challenge."},
                       400: {"model": ErrorEnvelope, "description": "Not a subscription check."},
                       403: {"model": ErrorEnvelope, "description": "Wrong verify token."}})
async def verify(
    gateway: GatewayDep,
    name: Name,
    mode: Annotated[str | None, Query(alias="hub.mode")] = None,
    token: Annotated[str | None, Query(alias="hub.verify_token")] = None,
    challenge: Annotated[str | None, Query(alias="hub.challenge", max_length=256)] = None,
) -> PlainTextResponse:
    answer = await _command(gateway, name, "cloud.verify", {"mode": mode, "token": token, "challenge": challenge})
    return PlainTextResponse(answer["answer"])


@router.post("/{name}", response_class=PlainTextResponse, summary="Meta's webhook deliveries",
             responses={**REFUSALS, 200: {"content": {"text/plain": {}}, "description": "Accepted: `ok`."},
                        400: {"model": ErrorEnvelope, "description": "The body is not JSON."},
                        401: {"model": ErrorEnvelope, "description": "No signature (`signature_missing`)."},
                        403: {"model": ErrorEnvelope, "description": "Wrong signature (`signature_mismatch`)."},
                        413: {"model": ErrorEnvelope, "description": "The body is over 1 MiB."}})
async def deliver(
    request: Request,
    gateway: GatewayDep,
    name: Name,
    signature: Annotated[str | None, Header(alias="X-Hub-Signature-256")] = None,
) -> PlainTextResponse:
    body = base64.b64encode(await read_body(request, MAX_BODY, _too_large)).decode("ascii")
    await _command(gateway, name, "cloud.deliver", {"body": body, "signature": signature})
    return PlainTextResponse("ok")
