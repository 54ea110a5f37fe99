"""Failed authentications are throttled per client address, on REST and the WebSocket, and the count is
shared by every instance through Redis."""

from __future__ import annotations

import asyncio
from pathlib import Path

import httpx
import pytest
from pydantic import ValidationError
from websockets.exceptions import ConnectionClosed

from tests.api.test_auth import anonymous
from tests.conftest import API_KEY, in_process, live_server, make_settings
from tests.ws_client import command, open_ws

WRONG = "wrong-key-" + "0" * 20


async def test_after_the_allowed_failures_every_request_of_the_address_is_refused_with_429(tmp_path: Path) -> None:
    async with in_process(make_settings(tmp_path, auth_failures="3/minute")) as gw, anonymous(gw) as client:
        for _ in range(3):
            assert (await client.get("/api/session/state", headers={"X-API-Key": WRONG})).status_code == 401
        for key in (WRONG, API_KEY):
            refused = await client.get("/api/session/state", headers={"X-API-Key": key})
            assert refused.status_code == 429
            assert refused.json()["error"]["code"] == "too_many_failed_auth"
            assert 1 <= int(refused.headers["Retry-After"]) <= 60


async def test_a_missing_key_counts_as_a_failure(tmp_path: Path) -> None:
    async with in_process(make_settings(tmp_path, auth_failures="2/minute")) as gw, anonymous(gw) as client:
        assert (await client.get("/api/session/state")).status_code == 401
        assert (await client.get("/api/session/state")).status_code == 401
        assert (await client.get("/api/session/state")).json()["error"]["code"] == "too_many_failed_auth"


async def test_correct_keys_are_never_counted(tmp_path: Path) -> None:
    async with in_process(make_settings(tmp_path, auth_failures="2/minute")) as gw:
        for _ in range(5):
            assert (await gw.client.get("/api/session/state")).status_code == 200


async def test_the_websocket_refuses_a_throttled_address_with_1008(tmp_path: Path) -> None:
    async with live_server(make_settings(tmp_path, auth_failures="2/minute")) as live:
        async with httpx.AsyncClient(base_url=live.http) as client:
            for _ in range(2):
                await client.get("/api/session/state", headers={"X-API-Key": WRONG})
        ws = await open_ws(live)  # the right key, from a blocked address
        with pytest.raises(ConnectionClosed) as closed:
            await asyncio.wait_for(ws.recv(), 5)
        assert closed.value.rcvd is not None and closed.value.rcvd.code == 1008
        assert "too many failed authentications" in closed.value.rcvd.reason


async def test_failed_websocket_attempts_count_too(tmp_path: Path) -> None:
    async with live_server(make_settings(tmp_path, auth_failures="2/minute")) as live:
        for _ in range(2):
            ws = await open_ws(live, key=WRONG)
            with pytest.raises(ConnectionClosed):
                await asyncio.wait_for(ws.recv(), 5)
        async with httpx.AsyncClient(base_url=live.http, headers={"X-API-Key": API_KEY}) as client:
            refused = await client.get("/api/session/state")
        assert refused.status_code == 429 and refused.json()["error"]["code"] == "too_many_failed_auth"


async def test_a_forged_x_forwarded_for_from_an_untrusted_peer_does_not_change_the_counted_address(
        tmp_path: Path) -> None:
    async with live_server(make_settings(tmp_path, auth_failures="3/minute")) as live, \
            httpx.AsyncClient(base_url=live.http) as client:
        for i in range(3):
            wrong = await client.get("/api/session/state", headers={"X-API-Key": WRONG,
                                                                    "X-Forwarded-For": f"203.0.113.{i}"})
            assert wrong.status_code == 401
        refused = await client.get("/api/session/state", headers={"X-API-Key": API_KEY,
                                                                  "X-Forwarded-For": "198.51.100.9"})
        assert refused.status_code == 429 and refused.json()["error"]["code"] == "too_many_failed_auth"


async def test_behind_a_trusted_proxy_failures_count_per_client_and_spare_the_others(tmp_path: Path) -> None:
    settings = make_settings(tmp_path, auth_failures="3/minute", trusted_proxies="10.9.8.7, 127.0.0.0/8")
    async with live_server(settings) as live, httpx.AsyncClient(base_url=live.http) as proxy:
        # What nginx's $proxy_add_x_forwarded_for sends: whatever the client wrote, then its real address.
        for i in range(3):
            wrong = await proxy.get("/api/session/state", headers={"X-API-Key": WRONG,
                                                                   "X-Forwarded-For": f"192.0.2.{i}, 203.0.113.7"})
            assert wrong.status_code == 401
        for key in (API_KEY, WRONG):  # the right key too: no answer tells a guess that would be right
            refused = await proxy.get("/api/session/state", headers={"X-API-Key": key,
                                                                     "X-Forwarded-For": "203.0.113.7"})
            assert refused.status_code == 429 and refused.json()["error"]["code"] == "too_many_failed_auth"
        ws = await open_ws(live, headers={"X-Forwarded-For": "203.0.113.7"})
        with pytest.raises(ConnectionClosed) as closed:
            await asyncio.wait_for(ws.recv(), 5)
        assert closed.value.rcvd is not None and closed.value.rcvd.code == 1008
        other = await proxy.get("/api/session/state", headers={"X-API-Key": API_KEY,
                                                               "X-Forwarded-For": "203.0.113.8"})
        assert other.status_code == 200
        async with await open_ws(live, headers={"X-Forwarded-For": "203.0.113.8"}) as ws:
            assert (await command(ws, "pong", type="ping"))["type"] == "pong"


@pytest.mark.parametrize("value", ["*", "10.0.0.300", "example.com", "10.0.0.1/24", "10.0.0.0/33"])
def test_a_trusted_proxy_that_is_not_an_address_or_a_network_is_refused(tmp_path: Path, value: str) -> None:
    with pytest.raises(ValidationError, match="WAQTOR_TRUSTED_PROXIES"):
        make_settings(tmp_path, trusted_proxies=f"10.1.1.1, {value}")


def test_trusted_proxies_are_read_as_a_list(tmp_path: Path) -> None:
    settings = make_settings(tmp_path, trusted_proxies=" 10.0.0.5, 10.1.0.0/16,,::1 ")
    assert settings.trusted_proxy_list == ["10.0.0.5", "10.1.0.0/16", "::1"]
    assert make_settings(tmp_path).trusted_proxy_list == []


async def test_instances_sharing_redis_count_the_same_failures(tmp_path: Path, redis_url: str) -> None:
    first = make_settings(tmp_path / "a", auth_failures="3/minute", rate_limit_storage=redis_url)
    second = make_settings(tmp_path / "b", auth_failures="3/minute", rate_limit_storage=redis_url)
    async with in_process(first) as a, in_process(second) as b, anonymous(a) as on_a, anonymous(b) as on_b:
        for _ in range(3):
            assert (await on_a.get("/api/session/state", headers={"X-API-Key": WRONG})).status_code == 401
        refused = await on_b.get("/api/session/state", headers={"X-API-Key": WRONG})
        assert refused.status_code == 429 and refused.json()["error"]["code"] == "too_many_failed_auth"


async def test_throttling_off_with_zero(tmp_path: Path) -> None:
    async with in_process(make_settings(tmp_path, auth_failures="0")) as gw, anonymous(gw) as client:
        for _ in range(30):
            assert (await client.get("/api/session/state", headers={"X-API-Key": WRONG})).status_code == 401
        async with live_server(gw.settings) as live, await open_ws(live) as ws:
            assert (await command(ws, "pong", type="ping"))["type"] == "pong"
