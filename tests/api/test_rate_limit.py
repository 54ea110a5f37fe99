"""The REST rate limit per API key: headers on every /api answer, 429 at the edge, nothing else counted."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from pydantic import ValidationError

from tests.api.test_bad_input import assert_error
from tests.conftest import API_KEY, in_process, live_server, make_settings
from tests.ws_client import command, open_ws
from waqtor.access.gateway_key import hash_key
from waqtor.api.rate_limit import caller
from waqtor.app import create_app
from waqtor.errors import ConfigError


async def test_requests_up_to_the_limit_pass_and_count_down(data_dir: Path) -> None:
    async with in_process(make_settings(data_dir, rate_limit="3/minute")) as gw:
        seen = []
        for _ in range(3):
            response = await gw.client.get("/api/session/state")
            assert response.status_code == 200
            seen.append(response.headers["X-RateLimit-Remaining"])
            assert response.headers["X-RateLimit-Limit"] == "3"
            assert time.time() < int(response.headers["X-RateLimit-Reset"]) <= time.time() + 61
        assert seen == ["2", "1", "0"]


async def test_one_request_over_the_limit_is_429_rate_limited_with_retry_after(data_dir: Path) -> None:
    async with in_process(make_settings(data_dir, rate_limit="3/minute")) as gw:
        for _ in range(3):
            await gw.client.get("/api/session/state")
        response = await gw.client.get("/api/session/state")
        assert_error(response, 429, "rate_limited")
        assert 1 <= int(response.headers["Retry-After"]) <= 60
        assert response.headers["X-RateLimit-Remaining"] == "0"
        assert "3/minute" in response.json()["error"]["message"]


async def test_every_api_answer_counts_errors_included(data_dir: Path) -> None:
    async with in_process(make_settings(data_dir, rate_limit="2/minute")) as gw:
        assert (await gw.client.get("/api/nothing")).headers["X-RateLimit-Remaining"] == "1"
        assert (await gw.client.post("/api/messages/send", json={})).headers["X-RateLimit-Remaining"] == "0"
        assert_error(await gw.client.get("/api/session/state"), 429, "rate_limited")


async def test_each_key_has_its_own_budget_and_the_query_key_shares_the_headers(data_dir: Path) -> None:
    async with in_process(make_settings(data_dir, rate_limit="2/minute")) as gw:
        await gw.client.get("/api/session/state")
        await gw.client.get("/api/session/state", headers={"X-API-Key": ""}, params={"apiKey": API_KEY})
        assert_error(await gw.client.get("/api/session/state"), 429, "rate_limited")
        other = await gw.client.get("/api/session/state", headers={"X-API-Key": "some-other-key-000000"})
        assert_error(other, 401, "unauthorized")  # counted on its own: the exhausted key is not its problem
        assert other.headers["X-RateLimit-Remaining"] == "1"


async def test_health_and_the_websocket_are_not_rate_limited(data_dir: Path) -> None:
    async with live_server(make_settings(data_dir, rate_limit="1/minute")) as live, live.client() as http:
        await http.get("/api/session/state")
        assert (await http.get("/api/session/state")).status_code == 429
        health = await http.get("/health")
        assert health.status_code == 200 and "X-RateLimit-Limit" not in health.headers
        async with await open_ws(live) as ws:
            assert (await command(ws, "pong", type="ping"))["type"] == "pong"


@pytest.mark.parametrize("disabled", ["", "0"])
async def test_an_empty_or_zero_limit_disables_it(data_dir: Path, disabled: str) -> None:
    async with in_process(make_settings(data_dir, rate_limit=disabled)) as gw:
        for _ in range(5):
            response = await gw.client.get("/api/session/state")
            assert response.status_code == 200 and "X-RateLimit-Limit" not in response.headers


def test_the_limit_is_keyed_on_a_hash_of_the_key_never_the_key() -> None:
    scope = {"type": "http", "headers": [(b"x-api-key", API_KEY.encode())], "query_string": b"",
             "client": ("1.2.3.4", 5)}
    assert caller(scope) == "key:" + hash_key(API_KEY)
    assert API_KEY not in caller(scope)
    query = {"type": "http", "headers": [], "query_string": f"apiKey={API_KEY}".encode(), "client": ("1.2.3.4", 5)}
    assert caller(query) == caller(scope)
    anonymous = {"type": "http", "headers": [], "query_string": b"", "client": ("1.2.3.4", 5)}
    assert caller(anonymous) == "addr:1.2.3.4"


@pytest.mark.parametrize("rate", ["lots", "10/fortnight", "0/minute", "-5/second"])
def test_a_malformed_rate_is_refused_at_start_up(data_dir: Path, rate: str) -> None:
    with pytest.raises(ValidationError, match="<count>/<period>"):
        make_settings(data_dir, rate_limit=rate)
    with pytest.raises(ValidationError, match="<count>/<period>"):
        make_settings(data_dir, send_rate=rate)


def test_an_unusable_rate_limit_storage_is_a_config_error(data_dir: Path) -> None:
    with pytest.raises(ConfigError, match="nowhere://"):
        create_app(make_settings(data_dir, rate_limit_storage="nowhere://x"))
