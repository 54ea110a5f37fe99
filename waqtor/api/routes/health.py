"""`GET /health`: open to everyone, for load balancers and `curl` checks."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from fastapi.responses import JSONResponse

from waqtor import __version__
from waqtor.api.deps import GatewayDep
from waqtor.api.schemas import HealthOut
from waqtor.sessions.manager import DEFAULT_SESSION

router = APIRouter(tags=["health"])


@router.get(
    "/health",
    response_model=HealthOut,
    responses={503: {"model": HealthOut, "description": "The database is unreachable."}},
    summary="Gateway health",
)
async def health(gateway: GatewayDep) -> Any:
    reachable = await gateway.storage.ping()
    state = gateway.sessions.get(DEFAULT_SESSION).monitor.state
    body = HealthOut(
        status="ok" if reachable else "degraded",
        version=__version__,
        engine=state.engine,
        sandbox=state.engine == "sandbox",
        session={"name": state.session, "status": str(state.status), "ready": state.ready},
        database={"reachable": reachable},
    )
    return JSONResponse(body.model_dump(), status_code=200 if reachable else 503)
