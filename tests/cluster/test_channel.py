"""Commands between instances through Redis: a request reaches its instance, the answer or the error
comes back as the owner gave it, and a silent instance is reported unreachable."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import pytest
import redis.asyncio as aioredis

from waqtor.cluster.channel import LocalChannel, error_from_json, error_to_json
from waqtor.cluster.redis_channel import RedisChannel
from waqtor.errors import Conflict, NotFound, RateLimited, Unavailable, WaqtorError


@pytest.fixture
async def pair(redis_url: str) -> AsyncIterator[tuple[RedisChannel, RedisChannel, list[dict[str, Any]]]]:
    seen: list[dict[str, Any]] = []

    async def handler(request: dict[str, Any]) -> dict[str, Any]:
        seen.append(request)
        match request.get("do"):
            case "conflict":
                raise Conflict("not now", code="not_waiting_for_scan", details={"phase": "connected"})
            case "missing":
                raise NotFound("no such thing", code="session_not_found")
            case "slow-down":
                raise RateLimited("queue full", retry_after=12.5, code="send_queue_full")
            case "crash":
                raise RuntimeError("boom with internals")
        return {"echo": request, "by": "b"}

    a = RedisChannel(redis_url, "a", timeout=5)
    b = RedisChannel(redis_url, "b", timeout=5)
    await a.start(handler)
    await b.start(handler)
    yield a, b, seen
    await a.stop()
    await b.stop()


async def test_a_command_reaches_its_instance_and_its_answer_comes_back(pair: Any) -> None:
    a, _b, seen = pair
    assert await a.call("b", {"session": "shop", "op": "scan", "args": {"phone": "1"}}) == {
        "echo": {"session": "shop", "op": "scan", "args": {"phone": "1"}}, "by": "b"}
    assert seen == [{"session": "shop", "op": "scan", "args": {"phone": "1"}}]


@pytest.mark.parametrize(("do", "kind", "status", "code"), [
    ("conflict", Conflict, 409, "not_waiting_for_scan"),
    ("missing", NotFound, 404, "session_not_found"),
    ("slow-down", RateLimited, 429, "send_queue_full"),
])
async def test_the_owners_error_comes_back_as_the_same_error(pair: Any, do: str, kind: type[WaqtorError],
                                                              status: int, code: str) -> None:
    a, _b, _seen = pair
    with pytest.raises(kind) as raised:
        await a.call("b", {"do": do})
    assert (raised.value.status, raised.value.code) == (status, code)


async def test_details_and_retry_after_travel_with_the_error(pair: Any) -> None:
    a, _b, _seen = pair
    with pytest.raises(Conflict) as conflict:
        await a.call("b", {"do": "conflict"})
    assert conflict.value.details == {"phase": "connected"} and conflict.value.message == "not now"
    with pytest.raises(RateLimited) as limited:
        await a.call("b", {"do": "slow-down"})
    assert limited.value.retry_after == 12.5


async def test_an_unexpected_failure_comes_back_as_an_internal_error_without_internals(pair: Any) -> None:
    a, _b, _seen = pair
    with pytest.raises(WaqtorError) as raised:
        await a.call("b", {"do": "crash"})
    assert raised.value.status == 500 and "boom" not in raised.value.message


async def test_commands_to_one_instance_are_answered_concurrently(redis_url: str) -> None:
    arrived = 0
    all_in = asyncio.Event()

    async def handler(request: dict[str, Any]) -> dict[str, Any]:
        nonlocal arrived
        arrived += 1
        if arrived == 5:
            all_in.set()
        await all_in.wait()  # nobody is answered until all five are being handled at once
        return {"n": request["n"]}

    a, b = RedisChannel(redis_url, "a", timeout=10), RedisChannel(redis_url, "b", timeout=10)
    await b.start(handler)
    try:
        answers = await asyncio.gather(*(a.call("b", {"n": n}) for n in range(5)))
    finally:
        await a.stop()
        await b.stop()
    assert [answer["n"] for answer in answers] == list(range(5))


async def test_an_instance_that_does_not_answer_is_reported_unreachable(redis_url: str) -> None:
    a = RedisChannel(redis_url, "a", timeout=0.3)
    try:
        with pytest.raises(Unavailable) as raised:
            await a.call("gone", {"op": "scan"})
    finally:
        await a.stop()
    assert raised.value.code == "instance_unreachable" and raised.value.status == 503


async def test_a_request_found_after_its_deadline_is_not_carried_out(redis_url: str) -> None:
    seen: list[dict[str, Any]] = []

    async def handler(request: dict[str, Any]) -> dict[str, Any]:
        seen.append(request)
        return {}

    a = RedisChannel(redis_url, "a", timeout=0.2)
    with pytest.raises(Unavailable):
        await a.call("late", {"op": "send"})  # nobody serves "late" yet
    late = RedisChannel(redis_url, "late", timeout=5)
    await late.start(handler)
    asker = RedisChannel(redis_url, "c", timeout=5)
    try:
        assert await asker.call("late", {"op": "ping"}) == {}
    finally:
        for channel in (late, a, asker):
            await channel.stop()
    assert seen == [{"op": "ping"}], "the stale send was dropped, the fresh ping answered"


async def test_without_redis_a_session_elsewhere_is_unreachable_and_the_answer_says_why() -> None:
    with pytest.raises(Unavailable, match="WAQTOR_BUS_URL=redis://") as raised:
        await LocalChannel().call("elsewhere", {"op": "scan"})
    assert raised.value.code == "instance_unreachable"


def test_errors_round_trip_through_json() -> None:
    original = Unavailable("moving", retry_after=3, code="session_moving", details={"to": "b"})
    again = error_from_json(error_to_json(original))
    assert isinstance(again, Unavailable)
    assert (again.status, again.code, again.message, again.details, again.retry_after) == (
        503, "session_moving", "moving", {"to": "b"}, 3)


async def test_a_request_sent_twice_is_carried_out_once(redis_url: str) -> None:
    import json
    import time as clock

    seen: list[dict[str, Any]] = []

    async def handler(request: dict[str, Any]) -> dict[str, Any]:
        seen.append(request)
        return {}

    b = RedisChannel(redis_url, "b", timeout=5)
    await b.start(handler)
    client = aioredis.from_url(redis_url.split("?")[0])
    prefix = redis_url.split("prefix=")[1]
    try:
        message = json.dumps({"body": {"op": "send"}, "reply": f"{prefix}:cmd-reply:x", "from": "a",
                              "deadline": clock.time() + 30})
        await client.lpush(f"{prefix}:cmd:b", message, message)
        assert await client.brpop([f"{prefix}:cmd-reply:x"], timeout=5) is not None
        assert await client.brpop([f"{prefix}:cmd-reply:x"], timeout=0.5) is None
    finally:
        await client.aclose()
        await b.stop()
    assert seen == [{"op": "send"}]
