"""Failed authentications are throttled per client address, on REST and the WebSocket, and the count is
shared by every instance through Redis."""

from __future__ import annotations

import asyncio
from pathlib import Path

import httpx
import pytest
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
