"""`GET /metrics`: Prometheus' text format (waqtor.metrics says what is measured).

Who may read it: a caller with a `read` key not limited to sessions (`X-API-Key`, `?apiKey=` or
`Authorization: Bearer <key>`), or, when `WAQTOR_METRICS_TOKEN` is set, with that token as
`Authorization: Bearer <token>`: Prometheus then holds a credential that reads metrics and nothing else.
"""

from __future__ import annotations

import hmac
from typing import Annotated, Any

from fastapi import APIRouter, Request, Security
from fastapi.responses import Response
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from waqtor.api.deps import api_key_header, api_key_query, authenticate, client_address, get_gateway, presented_key
from waqtor.api.schemas import ErrorEnvelope
from waqtor.errors import Forbidden
from waqtor.metrics import CONTENT_TYPE, Metrics

router = APIRouter(tags=["metrics"])

bearer = HTTPBearer(auto_error=False, description="WAQTOR_METRICS_TOKEN, or the API key.")


async def _admit(request: Request, key: str | None, token: str | None) -> None:
    """Let in the metrics token, or a key with the `read` scope over every session (metrics count every
    session's messages and campaigns); Unauthorized or Forbidden otherwise."""
    gateway = get_gateway(request)
    configured = gateway.settings.metrics_token
    if token is not None and configured is not None and hmac.compare_digest(
        token.encode(), configured.get_secret_value().encode()
    ):
        return
    identity = await authenticate(gateway, client_address(request.client), key or token)
    identity.require("read")
    if identity.sessions is not None:
        raise Forbidden("/metrics counts every session: use a key that is not limited to sessions, or "
                        "WAQTOR_METRICS_TOKEN", code="forbidden_session")


@router.get(
    "/metrics",
    response_class=Response,
    summary="Prometheus metrics",
    responses={
        200: {"description": "Every metric in Prometheus' text format.",
              "content": {"text/plain": {"schema": {"type": "string"}}}},
        401: {"model": ErrorEnvelope, "description": "No API key or metrics token, or a wrong one (`unauthorized`)."},
        403: {"model": ErrorEnvelope, "description": "A key without the `read` scope (`insufficient_scope`), or "
                                                     "limited to sessions (`forbidden_session`)."},
    },
)
async def metrics(
    request: Request,
    header: Annotated[str | None, Security(api_key_header)],
    query: Annotated[str | None, Security(api_key_query)],
    credentials: Annotated[HTTPAuthorizationCredentials | None, Security(bearer)],
) -> Any:
    await _admit(request, presented_key(header, query), credentials.credentials if credentials else None)
    registry: Metrics = request.app.state.metrics
    return Response(await registry.render(), media_type=CONTENT_TYPE, headers={"Cache-Control": "no-store"})
