"""Rate limits shared by every instance through Redis: the REST limit per API key and the send rate
per session hold across instances, and default to the bus's Redis."""

from __future__ import annotations

from pathlib import Path

import redis.asyncio as aioredis

from tests.api.test_bad_input import assert_error
from tests.conftest import REDIS_URL, in_process, make_settings
from waqtor.rate_window import RateWindow, parse_rate

UNREACHABLE = "redis://127.0.0.1:1/0"


async def test_two_instances_count_one_api_key_against_one_window(tmp_path: Path, redis_url: str) -> None:
    first = make_settings(tmp_path / "a", rate_limit="3/minute", rate_limit_storage=redis_url)
    second = make_settings(tmp_path / "b", rate_limit="3/minute", rate_limit_storage=redis_url)
    async with in_process(first) as a, in_process(second) as b:
        assert (await a.client.get("/api/session/state")).headers["X-RateLimit-Remaining"] == "2"
        assert (await b.client.get("/api/session/state")).headers["X-RateLimit-Remaining"] == "1"
        assert (await a.client.get("/api/session/state")).status_code == 200
        assert_error(await b.client.get("/api/session/state"), 429, "rate_limited")


def test_the_limits_live_in_the_buss_redis_unless_told_otherwise(tmp_path: Path) -> None:
    bus = f"{REDIS_URL}?prefix=shop"
    assert make_settings(tmp_path).resolved_rate_limit_storage == "memory://"
    assert make_settings(tmp_path, bus_url=bus).resolved_rate_limit_storage == bus
    assert make_settings(tmp_path, bus_url=bus, rate_limit_storage="memory://").resolved_rate_limit_storage == \
        "memory://"


async def test_the_default_limits_share_the_buss_redis_under_its_prefix(tmp_path: Path, redis_url: str) -> None:
    async with in_process(make_settings(tmp_path, rate_limit="3/minute", bus_url=redis_url)) as gw:
        await gw.client.get("/api/session/state")
    prefix = redis_url.split("prefix=")[1]
    client = aioredis.from_url(REDIS_URL)
    try:
        keys = [key.decode() async for key in client.scan_iter(f"{prefix}:limits:*")]
    finally:
        await client.aclose()
    assert [key for key in keys if "rest:key:" in key]


async def test_while_the_shared_store_is_unreachable_the_rest_limit_lets_requests_through(tmp_path: Path) -> None:
    settings = make_settings(tmp_path, rate_limit="1/minute", rate_limit_storage=UNREACHABLE)
    async with in_process(settings) as gw:
        for _ in range(3):
            response = await gw.client.get("/api/session/state")
            assert response.status_code == 200 and "X-RateLimit-Remaining" not in response.headers


async def test_a_sessions_send_window_continues_on_the_instance_that_takes_it_over(redis_url: str) -> None:
    rate = parse_rate("2/minute")
    assert rate is not None
    old_owner, new_owner = RateWindow(rate, redis_url, "send"), RateWindow(rate, redis_url, "send")
    try:
        assert (await old_owner.hit("default")).allowed and (await old_owner.hit("default")).allowed
        refused = await new_owner.hit("default")
        assert not refused.allowed and refused.retry_after() > 0
        assert (await new_owner.hit("other")).allowed, "each session has its own window"
    finally:
        await old_owner.close()
        await new_owner.close()


async def test_a_send_while_the_shared_store_is_unreachable_is_503(tmp_path: Path) -> None:
    settings = make_settings(tmp_path, send_rate="5/minute", rate_limit_storage=UNREACHABLE)
    async with in_process(settings) as gw:
        await gw.scan()
        response = await gw.client.post("/api/messages/send", json={"to": "+4915112345678", "text": "hi"})
    assert_error(response, 503, "rate_limit_store_unreachable")
    assert response.headers["Retry-After"] == "1"
