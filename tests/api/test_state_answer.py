"""The state routes answer bytes they make themselves (waqtor/api/routes/default_session.py, `StateAnswers`),
so FastAPI does not validate and serialise the view on every request: these must be the very bytes
FastAPI makes from the route's response model, for every shape of state, and a new state or a new
uptime must make new ones. The API key schemes stay documented on every scoped operation."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from tests.conftest import Harness, in_process
from waqtor.api.routes.default_session import StateAnswers
from waqtor.api.schemas import Envelope, SessionStateOut
from waqtor.config import Settings
from waqtor.sessions.state import SessionState, Status, public_view

T0 = datetime(2026, 1, 2, 3, 4, 5, 678_901, tzinfo=UTC)
ERROR = {"code": "stream_error", "message": "the connection dropped", "at": "2026-01-02T03:04:05.678Z"}


async def fastapi_bytes(view: dict[str, Any]) -> tuple[bytes, str]:
    """What FastAPI answers for `view` on a route with the state routes' response model."""
    app = FastAPI()

    @app.get("/state", response_model=Envelope[SessionStateOut])
    async def state() -> dict[str, Any]:
        return {"success": True, "data": view}

    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://oracle") as client:
        response = await client.get("/state")
    assert response.status_code == 200, response.text
    return response.content, response.headers["content-type"]


def make(engine: str = "sandbox", **fields: Any) -> SessionState:
    return SessionState(session=fields.pop("session", "default"), engine=engine, last_update=T0, **fields)


STATES = {
    "fresh": make(),
    "qr": make(status=Status.QR, qr_code="2@abc"),
    "connected": make("neonize", session="shop", status=Status.CONNECTED, authenticated=True,
                      phone="+49 151 2345-6789", pushname="Zoë \u2028 \"Shop\"", platform="android",
                      ready_since=T0 - timedelta(hours=5), messages_sent=7, messages_received=3),
    "error with details": make("cloud", last_error={**ERROR, "details": {"status": 401, "retry": None}}),
    "error without details": make("cloud", last_error=ERROR),
    "error with keys the model drops": make("cloud", last_error={"at": ERROR["at"], "extra": 1, **ERROR}),
}


@pytest.mark.parametrize("name", list(STATES))
async def test_the_answer_is_the_bytes_fastapi_makes_from_the_model(name: str) -> None:
    state, now = STATES[name], T0 + timedelta(seconds=90)
    expected, content_type = await fastapi_bytes(public_view(state, now))
    response = StateAnswers().response(state, now)
    assert response.body == expected
    assert response.headers["content-type"] == content_type
    assert response.headers["content-length"] == str(len(expected))


async def test_a_new_uptime_or_a_new_state_makes_a_new_answer() -> None:
    answers = StateAnswers()
    state = STATES["connected"]
    first = answers.body(state, T0)
    assert answers.body(state, T0 + timedelta(milliseconds=400)) is first  # the same second of uptime
    later = answers.body(state, T0 + timedelta(seconds=2))
    assert later == (await fastapi_bytes(public_view(state, T0 + timedelta(seconds=2))))[0] and later != first
    counted = state.replace(messages_sent=8)
    assert answers.body(counted, T0 + timedelta(seconds=2)) == (
        await fastapi_bytes(public_view(counted, T0 + timedelta(seconds=2))))[0]
    other = STATES["error with details"]  # another session keeps its own answer
    assert answers.body(other, T0) == (await fastapi_bytes(public_view(other, T0)))[0]
    at = T0 + timedelta(seconds=2)
    assert answers.body(counted, at) is answers.body(counted, at)


class FixedClock:
    def __init__(self) -> None:
        self.now = datetime.now(UTC)

    def __call__(self) -> datetime:
        return self.now


async def expect_route_answer(gw: Harness, clock: FixedClock, path: str) -> None:
    response = await gw.client.get(path)
    assert response.status_code == 200, response.text
    view = public_view(await gw.gateway.sessions.state_of("default"), clock())
    expected, content_type = await fastapi_bytes(view)
    assert response.content == expected
    assert response.headers["content-type"] == content_type


@pytest.mark.parametrize("path", ["/api/session/state", "/api/sessions/default/state"])
async def test_the_routes_answer_what_fastapi_would_as_the_session_changes(
    settings: Settings, path: str
) -> None:
    clock = FixedClock()
    async with in_process(settings, clock=clock) as gw:
        await expect_route_answer(gw, clock, path)
        await gw.scan(pushname="Bench Phone")
        await expect_route_answer(gw, clock, path)
        clock.now += timedelta(seconds=75)
        await expect_route_answer(gw, clock, path)
        assert (await gw.state())["uptime"] >= 75


async def test_every_scoped_operation_documents_both_key_schemes(settings: Settings) -> None:
    async with in_process(settings) as gw:
        spec = (await gw.client.get("/openapi.json")).json()
    schemes = spec["components"]["securitySchemes"]
    assert schemes["APIKeyHeader"] == {"type": "apiKey", "description": "An API key.", "in": "header",
                                       "name": "X-API-Key"}
    assert schemes["APIKeyQuery"]["in"] == "query" and schemes["APIKeyQuery"]["name"] == "apiKey"
    operations = {(method, path): op for path, ops in spec["paths"].items() for method, op in ops.items()}
    unscoped = {(method, path) for (method, path), op in operations.items() if "security" not in op}
    cloud = "/webhooks/cloud/{name}"
    assert unscoped == {("get", "/health"), ("get", cloud), ("post", cloud)}
    for (method, path), op in operations.items():
        if path.startswith("/api/"):
            assert op["security"][:2] == [{"APIKeyHeader": []}, {"APIKeyQuery": []}], (method, path)
    assert {"HTTPBearer": []} in operations[("get", "/metrics")]["security"]
