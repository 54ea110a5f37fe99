"""Deliveries to a real HTTP receiver on loopback: the wire format and signature, events from gateway
actions, retries, refusals, Retry-After, disabling, redelivery, and receivers that hang or flood."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import Harness, ShiftedClock, in_process, make_settings
from tests.test_netguard import resolving
from tests.webhook_receiver import (
    FAST,
    Receiver,
    Reply,
    deliveries,
    delivery_settles,
    doc_python_verifier,
    register,
)
from waqtor.webhooks.sender import status_text

verify = doc_python_verifier()


@pytest.fixture
async def gw(data_dir: Path) -> AsyncIterator[Harness]:
    async with in_process(make_settings(data_dir, **FAST)) as harness:
        yield harness


async def inbound(gw: Harness, body: str) -> None:
    response = await gw.client.post("/api/sandbox/inbound", json={"from": "+4915100000001", "body": body})
    assert response.status_code == 200, response.text


async def publish(gw: Harness, n: int = 0, type: str = "message") -> Any:
    return await gw.gateway.bus.publish(type, {"n": n}, session="default")


async def test_a_message_arrives_signed_in_the_documented_format(gw: Harness, receiver: Receiver) -> None:
    hook = await register(gw.client, receiver.url(), events=["message"])
    await gw.scan()
    events = gw.gateway.bus.subscribe()
    await inbound(gw, "hello")
    published = await anext(e async for e in events if e.type == "message")
    [request] = await receiver.wait_for(1)
    assert verify(hook["secret"], request.headers, request.body)
    assert request.json == {
        "id": published.id,
        "event": "message",
        "session": "default",
        "timestamp": published.timestamp,
        "data": published.data,
    }
    assert request.json["data"]["body"] == "hello"
    assert request.headers["x-waqtor-event"] == "message"
    assert request.headers["content-type"] == "application/json"
    assert request.delivery.startswith("dlv_")
    [logged] = await delivery_settles(gw.client, hook["id"], "delivered")
    assert logged["id"] == request.delivery and logged["attempts"] == 1 and logged["lastStatusCode"] == 200


async def test_session_updates_from_a_scan_reach_a_webhook_that_wants_them(
    gw: Harness, receiver: Receiver
) -> None:
    await register(gw.client, receiver.url(), events=["session_update"], sessions=["default"])
    await gw.scan()
    requests = await receiver.wait_for(2)
    statuses = [r.json["data"]["status"] for r in requests]
    assert "connected" in statuses
    assert {r.json["event"] for r in requests} == {"session_update"}


async def test_extra_headers_are_sent(gw: Harness, receiver: Receiver) -> None:
    hook = await register(gw.client, receiver.url(), headers={"Authorization": "Bearer team-token"})
    await gw.client.post(f"/api/webhooks/{hook['id']}/test")
    [request] = await receiver.wait_for(1)
    assert request.headers["authorization"] == "Bearer team-token"
    assert request.json["event"] == "test" and request.json["data"]["webhook"] == hook["id"]
    assert verify(hook["secret"], request.headers, request.body)


async def test_a_test_event_goes_only_to_the_webhook_tested(gw: Harness, receiver: Receiver) -> None:
    tested = await register(gw.client, receiver.url("/tested"))
    other = await register(gw.client, receiver.url("/other"))
    await gw.client.post(f"/api/webhooks/{tested['id']}/test")
    await receiver.wait_for(1, "/tested")
    await publish(gw)  # an event both want, sent after the test
    await receiver.wait_for(1, "/other")
    assert [r.json["event"] for r in receiver.at("/other")] == ["message"]
    assert await deliveries(gw.client, other["id"], status="pending") == []


async def test_a_failing_receiver_is_retried_until_it_recovers(gw: Harness, receiver: Receiver) -> None:
    receiver.answer("/flaky", Reply(500, body=b"database on fire"), Reply(503))
    hook = await register(gw.client, receiver.url("/flaky"))
    await publish(gw)
    requests = await receiver.wait_for(3, "/flaky")
    assert len({r.delivery for r in requests}) == 1, "retries keep the delivery id"
    assert all(verify(hook["secret"], r.headers, r.body) for r in requests)
    [logged] = await delivery_settles(gw.client, hook["id"], "delivered")
    assert logged["attempts"] == 3 and logged["lastStatusCode"] == 200


async def test_the_log_shows_a_failed_attempt_and_when_the_next_is(
    data_dir: Path, receiver: Receiver
) -> None:
    async with in_process(make_settings(data_dir, **{**FAST, "webhook_backoff_base": 60})) as gw:
        # The receiver's page is its own: lastError keeps the status and its standard reason, not the page.
        receiver.always("/broken", Reply(502, body=b"<html>internal host db-7.corp:5432 " + b"x" * 300))
        hook = await register(gw.client, receiver.url("/broken"))
        await publish(gw)
        [logged] = await delivery_settles(gw.client, hook["id"], "failed")
        assert logged["lastStatusCode"] == 502 and logged["lastError"] == "HTTP 502: Bad Gateway"
        assert logged["attempts"] == 1 and logged["nextAttemptAt"] > logged["lastAttemptAt"]


@pytest.mark.parametrize("status", [400, 401, 404, 410, 422])
async def test_a_4xx_is_not_retried(gw: Harness, receiver: Receiver, status: int) -> None:
    receiver.answer("/refuses", Reply(status))
    hook = await register(gw.client, receiver.url("/refuses"))
    refused = await publish(gw, 1)
    [dead] = await delivery_settles(gw.client, hook["id"], "dead")
    assert (dead["attempts"], dead["lastStatusCode"], dead["nextAttemptAt"]) == (1, status, None)
    await publish(gw, 2)  # the receiver accepts the next one
    await delivery_settles(gw.client, hook["id"], "delivered")
    assert [r.json["id"] for r in receiver.at("/refuses")] == [refused.id, refused.id + 1]


async def test_408_is_retried(gw: Harness, receiver: Receiver) -> None:
    receiver.answer("/busy", Reply(408))
    hook = await register(gw.client, receiver.url("/busy"))
    await publish(gw)
    await receiver.wait_for(2, "/busy")
    [logged] = await delivery_settles(gw.client, hook["id"], "delivered")
    assert logged["attempts"] == 2


async def test_429_waits_the_retry_after_the_receiver_asks_for(data_dir: Path, receiver: Receiver) -> None:
    # A backoff of a minute would make this test time out: only Retry-After can bring the retry in 1 s.
    async with in_process(make_settings(data_dir, **{**FAST, "webhook_backoff_base": 60})) as gw:
        receiver.answer("/limited", Reply(429, headers={"Retry-After": "1"}))
        hook = await register(gw.client, receiver.url("/limited"))
        await publish(gw)
        first, second = await receiver.wait_for(2, "/limited")
        assert second.at - first.at >= 0.9, "retried before Retry-After"
        [logged] = await delivery_settles(gw.client, hook["id"], "delivered")
        assert logged["attempts"] == 2


async def test_retry_after_is_capped(data_dir: Path, receiver: Receiver) -> None:
    settings = {**FAST, "webhook_backoff_base": 60, "webhook_retry_after_max": 0.1}
    async with in_process(make_settings(data_dir, **settings)) as gw:
        receiver.answer("/greedy", Reply(503, headers={"Retry-After": "86400"}))
        hook = await register(gw.client, receiver.url("/greedy"))
        await publish(gw)
        await receiver.wait_for(2, "/greedy")
        await delivery_settles(gw.client, hook["id"], "delivered")


async def test_a_webhook_that_keeps_failing_is_disabled_and_says_so(
    data_dir: Path, receiver: Receiver
) -> None:
    settings = {**FAST, "webhook_max_attempts": 2, "webhook_disable_after": 3}
    async with in_process(make_settings(data_dir, **settings)) as gw:
        receiver.always("/down", Reply(500))
        failing = await register(gw.client, receiver.url("/down"), events=["message"])
        await register(gw.client, receiver.url("/watch"), events=["webhook_disabled"])
        events = gw.gateway.bus.subscribe()
        for n in range(3):
            await publish(gw, n)
        await delivery_settles(gw.client, failing["id"], "dead", count=3)
        disabled = await anext(e async for e in events if e.type == "webhook_disabled")
        assert disabled.data["webhook"] == failing["id"] and disabled.data["consecutiveFailures"] == 3
        assert disabled.data["url"] == receiver.url("/down") and disabled.session is None
        [told] = await receiver.wait_for(1, "/watch")
        assert told.json["event"] == "webhook_disabled" and told.json["data"]["webhook"] == failing["id"]
        state = (await gw.client.get(f"/api/webhooks/{failing['id']}")).json()["data"]
        assert (
            state["enabled"] is False
            and state["consecutiveFailures"] == 3
            and "3 deliveries" in state["disabledReason"]
        )
        assert len(receiver.at("/down")) == 6  # three deliveries, two attempts each
        await publish(gw, 99)  # a disabled webhook gets no new deliveries
        assert len(await deliveries(gw.client, failing["id"])) == 3


async def test_a_webhook_enabled_again_sends_what_was_queued_for_it(data_dir: Path) -> None:
    receiver = Receiver()  # not listening yet
    async with in_process(make_settings(data_dir, **{**FAST, "webhook_max_attempts": 1000})) as gw:
        hook = await register(gw.client, receiver.url())
        await publish(gw)
        await delivery_settles(gw.client, hook["id"], "failed")
        await gw.client.patch(f"/api/webhooks/{hook['id']}", json={"enabled": False})
        async with receiver:
            response = await gw.client.patch(f"/api/webhooks/{hook['id']}", json={"enabled": True})
            assert response.json()["data"]["disabledReason"] is None
            await receiver.wait_for(1)
            await delivery_settles(gw.client, hook["id"], "delivered")


async def test_redelivery_sends_the_same_delivery_again(gw: Harness, receiver: Receiver) -> None:
    hook = await register(gw.client, receiver.url())
    await publish(gw)
    [first] = await receiver.wait_for(1)
    [logged] = await delivery_settles(gw.client, hook["id"], "delivered")
    response = await gw.client.post(f"/api/webhooks/{hook['id']}/deliveries/{logged['id']}/redeliver")
    assert response.status_code == 202
    assert response.json()["data"]["status"] == "pending" and response.json()["data"]["attempts"] == 0
    _, again = await receiver.wait_for(2)
    assert again.delivery == first.delivery == logged["id"]
    assert again.body == first.body
    assert verify(hook["secret"], again.headers, again.body)
    [relogged] = await delivery_settles(gw.client, hook["id"], "delivered")
    assert relogged["attempts"] == 1


async def test_a_dead_delivery_can_be_redelivered_once_the_receiver_is_fixed(
    gw: Harness, receiver: Receiver
) -> None:
    receiver.answer("/strict", Reply(400, body=b"missing field"))
    hook = await register(gw.client, receiver.url("/strict"))
    await publish(gw)
    [dead] = await delivery_settles(gw.client, hook["id"], "dead")
    await gw.client.post(f"/api/webhooks/{hook['id']}/deliveries/{dead['id']}/redeliver")
    [fixed] = await delivery_settles(gw.client, hook["id"], "delivered")
    assert fixed["id"] == dead["id"] and fixed["lastStatusCode"] == 200


async def test_a_hanging_and_a_flooding_receiver_do_not_hold_up_the_others(
    data_dir: Path, receiver: Receiver
) -> None:
    settings = {
        **FAST,
        "webhook_timeout": 60,
        "webhook_concurrency": 4,
        "webhook_concurrency_per_webhook": 1,
        "webhook_max_response": 1024,
    }
    async with in_process(make_settings(data_dir, **settings)) as gw:
        receiver.always("/hang", Reply(hang=True))
        receiver.always("/flood", Reply(endless=True))
        hang = await register(gw.client, receiver.url("/hang"))
        flood = await register(gw.client, receiver.url("/flood"))
        fast = await register(gw.client, receiver.url("/fast"))
        for n in range(5):
            await publish(gw, n)
        await delivery_settles(gw.client, fast["id"], "delivered", count=5)
        await delivery_settles(gw.client, flood["id"], "delivered", count=5)
        # all that while, the first attempt to /hang is still waiting for its answer
        assert len(receiver.at("/hang")) == 1
        assert [d["status"] for d in await deliveries(gw.client, hang["id"])].count("delivering") == 1
        # each endless answer was cut after what the gateway reads plus what the sockets buffer
        assert len(receiver.streamed) == 5 and max(receiver.streamed) < 32 * 2**20


async def test_an_attempt_without_an_answer_in_time_fails_and_is_retried(
    data_dir: Path, receiver: Receiver
) -> None:
    async with in_process(make_settings(data_dir, **{**FAST, "webhook_timeout": 0.3})) as gw:
        receiver.answer("/slow", Reply(hang=True))
        hook = await register(gw.client, receiver.url("/slow"))
        await publish(gw)
        [logged] = await delivery_settles(gw.client, hook["id"], "delivered")
        assert logged["attempts"] == 2
        assert len(receiver.at("/slow")) == 2


async def test_a_redirect_is_not_followed(gw: Harness, receiver: Receiver) -> None:
    receiver.answer("/moved", Reply(301, headers={"Location": receiver.url("/elsewhere")}))
    hook = await register(gw.client, receiver.url("/moved"))
    await publish(gw)
    await receiver.wait_for(2, "/moved")
    await delivery_settles(gw.client, hook["id"], "delivered")
    assert receiver.at("/elsewhere") == []


async def test_finished_deliveries_leave_the_log_after_the_retention_and_waiting_ones_stay(
        data_dir: Path, receiver: Receiver) -> None:
    clock = ShiftedClock()
    settings = make_settings(data_dir, webhook_retention_days=30, **{**FAST, "webhook_backoff_base": 60})
    async with in_process(settings, clock=clock) as gw:
        assert gw.gateway.webhooks.retention.days == 30
        done = await register(gw.client, receiver.url("/done"), events=["message"])
        await publish(gw, 1)
        await delivery_settles(gw.client, done["id"], "delivered")
        # A receiver that fails: its delivery waits for a retry, long past the retention.
        receiver.always("/down", Reply(503))
        waiting = await register(gw.client, receiver.url("/down"), events=["campaign"])
        await publish(gw, 2, type="campaign")
        await delivery_settles(gw.client, waiting["id"], "failed")

        clock.offset = timedelta(days=29)
        assert await gw.gateway.webhooks.retention.sweep() == 0
        clock.offset = timedelta(days=31)
        assert await gw.gateway.webhooks.retention.sweep() == 1
        assert await deliveries(gw.client, done["id"]) == []
        # Still owed (the shifted clock has made its retry due, so it may be on its way again).
        [kept] = await deliveries(gw.client, waiting["id"])
        assert kept["status"] in ("failed", "delivering")


async def test_retention_zero_keeps_every_delivery(data_dir: Path, receiver: Receiver) -> None:
    clock = ShiftedClock()
    async with in_process(make_settings(data_dir, webhook_retention_days=0, **FAST), clock=clock) as gw:
        hook = await register(gw.client, receiver.url("/kept"), events=["message"])
        await publish(gw, 1)
        await delivery_settles(gw.client, hook["id"], "delivered")
        clock.offset = timedelta(days=3650)
        assert await gw.gateway.webhooks.retention.sweep() == 0
        assert len(await deliveries(gw.client, hook["id"])) == 1


async def test_a_webhook_shows_how_many_deliveries_it_still_owes(data_dir: Path, receiver: Receiver) -> None:
    # A minute before any retry: the failed deliveries stay `failed` while the test looks.
    async with in_process(make_settings(data_dir, **{**FAST, "webhook_backoff_base": 60})) as gw:
        await _owed(gw, receiver)


async def _owed(gw: Harness, receiver: Receiver) -> None:
    healthy = await register(gw.client, receiver.url("/fine"), events=["message"])
    receiver.always("/down", Reply(503))
    behind = await register(gw.client, receiver.url("/down"), events=["message"])
    assert behind["waiting"] == 0
    for n in range(3):
        await publish(gw, n)
    await delivery_settles(gw.client, healthy["id"], "delivered", count=3)
    await delivery_settles(gw.client, behind["id"], "failed", count=3)
    listed = {w["id"]: w["waiting"] for w in (await gw.client.get("/api/webhooks")).json()["data"]}
    assert listed == {healthy["id"]: 0, behind["id"]: 3}
    assert (await gw.client.get(f"/api/webhooks/{behind['id']}")).json()["data"]["waiting"] == 3


async def test_a_name_that_resolves_to_a_metadata_address_at_delivery_is_not_called(
    gw: Harness, receiver: Receiver, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The receiver's address comes first: a delivery that checked only one address would reach it.
    resolving(monkeypatch, {"hooks.example.test": ["127.0.0.1", "169.254.169.254"]})
    hook = await register(gw.client, f"http://hooks.example.test:{receiver.port}/hook")
    await publish(gw)
    [logged] = await delivery_settles(gw.client, hook["id"], "failed")
    assert logged["lastStatusCode"] is None
    assert logged["lastError"] == (f"connection failed: hooks.example.test:{receiver.port} refused: "
                                   "169.254.169.254 is a metadata address")
    assert receiver.at("/hook") == []


async def test_a_name_that_resolves_to_the_gateway_at_delivery_is_not_called(
    data_dir: Path, receiver: Receiver, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The receiver stands in for the gateway: the gateway's port is its port.
    names = {"hooks.example.test": ["93.184.215.14"]}
    resolving(monkeypatch, names)
    async with in_process(make_settings(data_dir, **{**FAST, "port": receiver.port})) as gw:
        hook = await register(gw.client, f"http://hooks.example.test:{receiver.port}/hook")  # not the gateway now
        names["hooks.example.test"] = ["127.0.0.1"]
        await publish(gw)
        [logged] = await delivery_settles(gw.client, hook["id"], "failed")
        assert logged["lastError"] == (f"connection failed: hooks.example.test:{receiver.port} refused: "
                                       f"127.0.0.1:{receiver.port} is this gateway")
    assert receiver.at("/hook") == []


@pytest.mark.parametrize(("status", "text"), [(503, "HTTP 503: Service Unavailable"), (599, "HTTP 599")])
def test_a_failed_attempts_error_is_the_status_and_its_standard_reason(status: int, text: str) -> None:
    assert status_text(status) == text
