"""`/webhooks/cloud/{session}`: where Meta delivers a Cloud API session's messages and statuses.

Public (Meta cannot send our API key): the GET answers Meta's subscription check with the session's
verify token, and every POST must carry Meta's `X-Hub-Signature-256` made with the session's app secret,
or it is refused (401 without one, 403 with a wrong one) and nothing in it is processed.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Header, Path, Query, Request
from fastapi.responses import PlainTextResponse

from waqtor.api.deps import GatewayDep
from waqtor.api.schemas import ErrorEnvelope
from waqtor.engines.cloud.engine import CloudEngine
from waqtor.errors import SessionNotFound, WaqtorError

MAX_BODY = 1 << 20  # Meta's deliveries are a few kilobytes; a public route reads no more than this


class BodyTooLarge(WaqtorError):
    code = "payload_too_large"
    status = 413


async def _read_body(request: Request) -> bytes:
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > MAX_BODY:
            raise BodyTooLarge(f"a webhook body may be at most {MAX_BODY} bytes")
        chunks.append(chunk)
    return b"".join(chunks)

router = APIRouter(prefix="/webhooks/cloud", tags=["cloud webhooks"])

Name = Annotated[str, Path(description="The Cloud API session's name.", max_length=64)]
REFUSALS: dict[int | str, dict[str, Any]] = {
    404: {"model": ErrorEnvelope, "description": "No Cloud API session of that name."},
    409: {"model": ErrorEnvelope, "description": "The session is stopped (`session_not_ready`)."},
}


def _engine(gateway: Any, name: str) -> CloudEngine:
    engine = gateway.sessions.get(name).engine
    if not isinstance(engine, CloudEngine):
        raise SessionNotFound(name)  # other engines have no webhook: the URL does not exist for them
    return engine


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
    answer = await _engine(gateway, name).verify_webhook(mode, token, challenge)
    return PlainTextResponse(answer)


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
    engine = _engine(gateway, name)
    await engine.handle_webhook(await _read_body(request), signature)
    return PlainTextResponse("ok")
