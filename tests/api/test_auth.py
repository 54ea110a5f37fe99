"""Every /api route needs the key: in the header or the query; missing or wrong answers 401."""

from __future__ import annotations

import httpx
import pytest

from tests.conftest import API_KEY, Harness


def api_routes(gw: Harness) -> list[tuple[str, str]]:
    """Every /api operation the app publishes in its OpenAPI document."""
    routes = []
    for path, operations in gw.app.openapi()["paths"].items():
        if path.startswith("/api"):
            routes.extend((method.upper(), path) for method in operations)
    return routes


def anonymous(gw: Harness) -> httpx.AsyncClient:
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=gw.app), base_url="http://gateway")


async def test_every_api_route_refuses_a_missing_key(gw: Harness) -> None:
    routes = api_routes(gw)
    assert len(routes) >= 8
    async with anonymous(gw) as client:
        for method, path in routes:
            response = await client.request(method, path.replace("{name}", "default"))
            assert response.status_code == 401, (method, path)
            body = response.json()
            assert body["success"] is False
            assert body["error"]["code"] == "unauthorized"
            assert "API key" in body["error"]["message"]


async def test_every_api_route_refuses_a_wrong_key_in_header_or_query(gw: Harness) -> None:
    async with anonymous(gw) as client:
        for method, path in api_routes(gw):
            path = path.replace("{name}", "default")
            by_header = await client.request(method, path, headers={"X-API-Key": API_KEY + "x"})
            by_query = await client.request(method, path, params={"apiKey": "wrong"})
            assert by_header.status_code == 401, (method, path)
            assert by_query.status_code == 401, (method, path)
            assert by_header.json()["error"]["code"] == "unauthorized"


@pytest.mark.parametrize("where", ["header", "query"])
async def test_the_key_is_accepted_in_header_or_query(gw: Harness, where: str) -> None:
    async with anonymous(gw) as client:
        if where == "header":
            response = await client.get("/api/session/state", headers={"X-API-Key": API_KEY})
        else:
            response = await client.get("/api/session/state", params={"apiKey": API_KEY})
    assert response.status_code == 200


async def test_health_and_docs_need_no_key(gw: Harness) -> None:
    async with anonymous(gw) as client:
        assert (await client.get("/health")).status_code == 200
        assert (await client.get("/openapi.json")).status_code == 200
        assert (await client.get("/docs")).status_code == 200


async def test_openapi_declares_the_key_as_security_scheme(gw: Harness) -> None:
    spec = (await gw.client.get("/openapi.json")).json()
    schemes = spec["components"]["securitySchemes"]
    assert {"in": "header", "name": "X-API-Key", "type": "apiKey"}.items() <= schemes["APIKeyHeader"].items()
    assert {"in": "query", "name": "apiKey", "type": "apiKey"}.items() <= schemes["APIKeyQuery"].items()
    state_op = spec["paths"]["/api/session/state"]["get"]
    assert {"APIKeyHeader": []} in state_op["security"]
