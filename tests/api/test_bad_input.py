"""A caller's mistake is a 4xx in the error envelope with a stable code, never a 500."""

from __future__ import annotations

import re

import pytest

from tests.conftest import Harness


def assert_error(response, status: int, code: str) -> None:  # type: ignore[no-untyped-def]
    assert response.status_code == status, response.text
    body = response.json()
    assert body["success"] is False
    assert body["error"]["code"] == code
    assert body["error"]["message"]


async def test_unknown_route_is_404_not_found(gw: Harness) -> None:
    assert_error(await gw.client.get("/api/nothing/here"), 404, "not_found")


async def test_wrong_method_is_405(gw: Harness) -> None:
    assert_error(await gw.client.delete("/api/session/state"), 405, "method_not_allowed")


# A plausible value for each path parameter, so a route is reached and only its body is wrong.
PATH_VALUES = {"name": "default", "session": "default", "campaign_id": "0" * 32, "webhook_id": "0" * 32,
               "delivery_id": "0" * 32, "message_id": "1", "media_id": "0" * 32}


def json_body_routes(gw: Harness) -> list[tuple[str, str]]:
    """Every (method, path) of the API that takes a JSON body, from the gateway's own OpenAPI document."""
    routes = []
    for path, operations in gw.app.openapi()["paths"].items():
        for method, operation in operations.items():
            if "application/json" in operation.get("requestBody", {}).get("content", {}):
                routes.append((method.upper(), re.sub(r"\{(\w+)\}", lambda m: PATH_VALUES.get(m[1], "x"), path)))
    return routes


async def test_malformed_json_is_400_invalid_json_on_every_route_that_takes_json(gw: Harness) -> None:
    routes = json_body_routes(gw)
    assert ("POST", "/api/sessions") in routes and ("POST", "/api/webhooks") in routes
    for method, path in routes:
        response = await gw.client.request(method, path, content=b"{not json",
                                           headers={"content-type": "application/json"})
        assert response.status_code == 400, f"{method} {path}: {response.text}"
        assert response.json()["error"]["code"] == "invalid_json", f"{method} {path}"


@pytest.mark.parametrize(
    ("path", "body"),
    [
        ("/api/sandbox/inbound", {"from": 4915100000001, "body": "x"}),
        ("/api/sandbox/inbound", {"from": "not-a-phone", "body": "x"}),
        ("/api/sandbox/inbound", {"from": "4915100000001"}),
        ("/api/sandbox/inbound", {"from": "4915100000001", "body": ""}),
        ("/api/sandbox/inbound", {"from": "4915100000001", "body": "x", "extra": 1}),
        ("/api/sandbox/inbound", ["not", "an", "object"]),
        ("/api/sandbox/fail", {"kind": "explode"}),
        ("/api/sandbox/fail", {}),
        ("/api/sandbox/scan", {"phone": "12"}),
        ("/api/sandbox/scan", {"pushname": ""}),
        ("/api/sandbox/scan", {"session": 5}),
    ],
)
async def test_invalid_bodies_are_422_validation_error_naming_the_field(gw: Harness, path: str, body) -> None:  # type: ignore[no-untyped-def]
    response = await gw.client.post(path, json=body)
    assert_error(response, 422, "validation_error")
    assert response.json()["error"]["details"]


async def test_unknown_session_is_404_session_not_found(gw: Harness) -> None:
    response = await gw.client.post("/api/sandbox/scan", json={"session": "nope"})
    assert_error(response, 404, "session_not_found")


async def test_inbound_before_linking_is_409_session_not_ready(gw: Harness) -> None:
    response = await gw.client.post("/api/sandbox/inbound", json={"from": "4915100000001", "body": "hi"})
    assert_error(response, 409, "session_not_ready")


async def test_scan_when_already_linked_is_409(gw: Harness) -> None:
    await gw.scan()
    assert_error(await gw.client.post("/api/sandbox/scan"), 409, "not_waiting_for_scan")


async def test_fault_on_an_unlinked_sandbox_is_409(gw: Harness) -> None:
    assert_error(await gw.client.post("/api/sandbox/fail", json={"kind": "logout"}), 409, "not_linked")
    assert_error(await gw.client.post("/api/sandbox/fail", json={"kind": "disconnect"}), 409, "session_not_ready")


async def test_the_gateway_still_answers_after_bad_input(gw: Harness) -> None:
    await gw.client.post("/api/sandbox/inbound", content=b"\xff\xfe", headers={"content-type": "application/json"})
    assert (await gw.client.get("/api/session/state")).status_code == 200
