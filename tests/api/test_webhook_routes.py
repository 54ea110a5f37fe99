"""`/api/webhooks`: registration, its checks, the secret shown once, and the delivery log's shape."""

from __future__ import annotations

from tests.conftest import Harness, LiveServer
from tests.webhook_receiver import deliveries, register

URL = "http://127.0.0.1:9/hooks/waqtor"


async def test_creation_answers_201_with_the_secret_and_defaults(gw: Harness) -> None:
    data = await register(gw.client, URL)
    assert data["id"].startswith("wh_")
    assert data["events"] == ["all"] and data["sessions"] == ["all"]
    assert data["enabled"] is True and data["headers"] == {} and data["consecutiveFailures"] == 0
    assert data["secret"].startswith("whsec_") and len(data["secret"]) > 40


async def test_the_secret_is_never_shown_again(gw: Harness) -> None:
    data = await register(gw.client, URL, secret="my-own-secret-0123456789")
    assert data["secret"] == "my-own-secret-0123456789"
    one = (await gw.client.get(f"/api/webhooks/{data['id']}")).json()["data"]
    listed = (await gw.client.get("/api/webhooks")).json()["data"]
    patched = (await gw.client.patch(f"/api/webhooks/{data['id']}", json={"enabled": True})).json()["data"]
    for view in (one, *listed, patched):
        assert "secret" not in view and "my-own-secret" not in str(view)


async def test_list_get_patch_and_delete(gw: Harness) -> None:
    first = await register(gw.client, URL, events=["message"])
    second = await register(gw.client, URL + "2", sessions=["default"], headers={"Authorization": "Bearer x"})
    assert [w["id"] for w in (await gw.client.get("/api/webhooks")).json()["data"]] == [
        first["id"],
        second["id"],
    ]
    response = await gw.client.patch(
        f"/api/webhooks/{first['id']}", json={"events": ["qr_code", "session_update"], "url": URL + "/v2"}
    )
    assert response.status_code == 200
    changed = response.json()["data"]
    assert changed["events"] == ["qr_code", "session_update"] and changed["url"] == URL + "/v2"
    assert changed["sessions"] == ["all"]
    response = await gw.client.delete(f"/api/webhooks/{first['id']}")
    assert response.json() == {"success": True, "data": {"id": first["id"], "deleted": True}}
    assert (await gw.client.get(f"/api/webhooks/{first['id']}")).status_code == 404
    assert [w["id"] for w in (await gw.client.get("/api/webhooks")).json()["data"]] == [second["id"]]


async def test_an_unknown_event_name_is_refused_naming_it(gw: Harness) -> None:
    response = await gw.client.post("/api/webhooks", json={"url": URL, "events": ["message", "mesage"]})
    assert response.status_code == 422
    error = response.json()["error"]
    assert error["code"] == "validation_error" and "mesage" in error["message"]
    assert error["details"][0]["field"] == "events"


async def test_a_url_that_is_not_http_is_refused(gw: Harness) -> None:
    for url in ("ftp://example.com/x", "javascript:alert(1)", "/relative", "http://"):
        response = await gw.client.post("/api/webhooks", json={"url": url})
        assert response.status_code == 422, url
        assert response.json()["error"]["details"][0]["field"] == "url"


async def test_headers_that_would_replace_ours_are_refused(gw: Harness) -> None:
    response = await gw.client.post(
        "/api/webhooks", json={"url": URL, "headers": {"X-Waqtor-Signature": "forged"}}
    )
    assert response.status_code == 422
    assert "X-Waqtor-Signature" in response.json()["error"]["message"]


async def test_unknown_fields_and_short_secrets_are_refused(gw: Harness) -> None:
    assert (await gw.client.post("/api/webhooks", json={"url": URL, "colour": "red"})).status_code == 422
    assert (await gw.client.post("/api/webhooks", json={"url": URL, "secret": "short"})).status_code == 422


async def test_unknown_ids_answer_404_with_stable_codes(gw: Harness) -> None:
    for method, path in (
        ("GET", "/api/webhooks/wh_nope"),
        ("PATCH", "/api/webhooks/wh_nope"),
        ("DELETE", "/api/webhooks/wh_nope"),
        ("POST", "/api/webhooks/wh_nope/test"),
        ("GET", "/api/webhooks/wh_nope/deliveries"),
    ):
        response = await gw.client.request(method, path, json={} if method == "PATCH" else None)
        assert response.status_code == 404, (method, path)
        assert response.json()["error"]["code"] == "webhook_not_found"
    data = await register(gw.client, URL)
    response = await gw.client.post(f"/api/webhooks/{data['id']}/deliveries/dlv_nope/redeliver")
    assert response.status_code == 404 and response.json()["error"]["code"] == "delivery_not_found"


async def test_the_delivery_log_filter_is_checked(gw: Harness) -> None:
    data = await register(gw.client, URL)
    response = await gw.client.get(f"/api/webhooks/{data['id']}/deliveries", params={"status": "lost"})
    assert response.status_code == 422
    response = await gw.client.get(f"/api/webhooks/{data['id']}/deliveries", params={"limit": 0})
    assert response.status_code == 422


async def test_a_disabled_webhook_refuses_tests_with_409(gw: Harness) -> None:
    data = await register(gw.client, URL, enabled=False)
    assert data["disabledReason"] == "disabled through the API"
    response = await gw.client.post(f"/api/webhooks/{data['id']}/test")
    assert response.status_code == 409 and response.json()["error"]["code"] == "webhook_disabled"


async def test_a_test_delivery_is_queued_with_202(gw: Harness) -> None:
    data = await register(gw.client, URL)
    response = await gw.client.post(f"/api/webhooks/{data['id']}/test")
    assert response.status_code == 202
    delivery = response.json()["data"]
    assert delivery["event"] == "test" and delivery["eventId"] is None and delivery["webhookId"] == data["id"]
    assert [d["id"] for d in await deliveries(gw.client, data["id"])] == [delivery["id"]]


async def test_the_delivery_log_pages_with_next(gw: Harness) -> None:
    data = await register(gw.client, URL)
    made = [(await gw.client.post(f"/api/webhooks/{data['id']}/test")).json()["data"]["id"] for _ in range(5)]
    first = (await gw.client.get(f"/api/webhooks/{data['id']}/deliveries", params={"limit": 2})).json()[
        "data"
    ]
    assert [d["id"] for d in first["deliveries"]] == made[::-1][:2]
    second = (
        await gw.client.get(
            f"/api/webhooks/{data['id']}/deliveries", params={"limit": 3, "before": first["next"]}
        )
    ).json()["data"]
    assert [d["id"] for d in second["deliveries"]] == made[::-1][2:]
    assert second["next"] is None


async def test_a_url_pointing_at_the_gateway_is_refused(live: LiveServer) -> None:
    async with live.client() as http:
        for host in ("127.0.0.1", "localhost", "127.0.0.2", "[::1]"):
            response = await http.post(
                "/api/webhooks", json={"url": f"http://{host}:{live.port}/api/session/state"}
            )
            assert response.status_code == 400, host
            assert response.json()["error"]["code"] == "webhook_points_at_gateway"
        other = await http.post("/api/webhooks", json={"url": f"http://127.0.0.1:{live.port + 1}/hook"})
        assert other.status_code == 201


async def test_the_host_the_api_was_reached_on_is_refused(gw: Harness) -> None:
    # The in-process client reaches the gateway as http://gateway (port 80).
    response = await gw.client.post("/api/webhooks", json={"url": "http://gateway/api/whatever"})
    assert response.status_code == 400 and response.json()["error"]["code"] == "webhook_points_at_gateway"
    data = await register(gw.client, URL)
    response = await gw.client.patch(f"/api/webhooks/{data['id']}", json={"url": "http://GATEWAY:80/x"})
    assert response.status_code == 400


async def test_a_gateway_bound_to_every_address_refuses_its_own_addresses(data_dir) -> None:  # type: ignore[no-untyped-def]
    import socket

    from tests.conftest import live_server, make_settings

    async with live_server(make_settings(data_dir, host="0.0.0.0")) as server, server.client() as http:
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
            probe.connect(("192.0.2.1", 9))  # no packet is sent: this only picks the outgoing address
            own = probe.getsockname()[0]
        response = await http.post("/api/webhooks", json={"url": f"http://{own}:{server.port}/x"})
        assert response.status_code == 400, own
