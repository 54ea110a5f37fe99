"""`GET /health`: open to everyone, for load balancers and `curl` checks.

503 `degraded` when the database or the bus's Redis cannot be reached (`database.reachable`,
`bus.reachable` say which): a load balancer then sends no requests to this instance (another one may
still reach both). `held` counts what waits in memory for the database; it comes back to `ok` by itself.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from fastapi.responses import JSONResponse

from waqtor import __version__
from waqtor.api.deps import GatewayDep
from waqtor.api.schemas import HealthOut
from waqtor.sessions.session import DEFAULT_SESSION

router = APIRouter(tags=["health"])


@router.get(
    "/health",
    response_model=HealthOut,
    responses={503: {"model": HealthOut, "description": "The database or the bus's Redis is unreachable."}},
    summary="Gateway health",
)
async def health(gateway: GatewayDep) -> Any:
    database = await gateway.storage.ping()
    bus = await gateway.bus.backend.healthy()
    session = None
    engine = gateway.settings.engine
    if database:
        try:
            state = await gateway.sessions.state_of(DEFAULT_SESSION)
        except Exception:  # health reports what it can read
            state = None
        if state is not None:
            engine = state.engine
            session = {"name": state.session, "status": str(state.status), "ready": state.ready}
    healthy = database and bus
    body = HealthOut(
        status="ok" if healthy else "degraded",
        version=__version__,
        engine=engine,
        sandbox=engine == "sandbox",
        session=session,
        database={"reachable": database},
        bus={"backend": "redis" if gateway.settings.bus_url.startswith("redis") else "memory", "reachable": bus},
        instance={"id": gateway.sessions.instance, "sessions": sorted(s.name for s in gateway.sessions.local()),
                  "instances": len(gateway.sessions.live_instances)},
        held={"inbound": len(gateway.messages.backlog), "webhookRows": len(gateway.webhooks.outbox.held)},
    )
    return JSONResponse(body.model_dump(), status_code=200 if healthy else 503)
