"""The bus contract: every backend passes the same tests (memory now; Redis joins in scale-out)."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator

import pytest
import redis.asyncio as aioredis

from tests.conftest import REDIS_URL, eventually
from waqtor.bus import Bus, ReplayGap, SubscriptionOverflow, backend_factory


@pytest.fixture(params=["memory", "redis"])
async def bus(request: pytest.FixtureRequest) -> AsyncIterator[Bus]:
    prefix = f"test-{uuid.uuid4().hex}"
    url = "memory://" if request.param == "memory" else f"{REDIS_URL}?prefix={prefix}"
    bus = Bus(backend_factory(url, replay=100)(), queue_size=50)
    await bus.start()
    yield bus
    await bus.stop()
    if request.param == "redis":
        client = aioredis.from_url(REDIS_URL)
        await client.delete(f"{prefix}:bus:seq", f"{prefix}:bus:events")
        await client.aclose()


async def delivered(bus: Bus, event_id: int) -> None:
    """Wait until `event_id` has reached this process's subscribers (Redis delivers asynchronously)."""
    probe = bus.subscribe()
    try:
        while True:
            event = await probe.get()
            if event.id >= event_id:
                return
    finally:
        probe.close()


async def test_ids_increase_and_timestamps_are_ms(bus: Bus) -> None:
    first = await bus.publish("message", {"n": 1}, session="default")
    second = await bus.publish("message", {"n": 2})
    assert second.id == first.id + 1
    assert first.timestamp > 1_600_000_000_000
    assert first.session == "default" and second.session is None


async def test_every_subscriber_gets_every_event_in_order(bus: Bus) -> None:
    subs = [bus.subscribe() for _ in range(3)]
    sent = [await bus.publish("message", {"n": n}) for n in range(10)]
    for sub in subs:
        got = [await sub.get() for _ in range(10)]
        assert got == sent


async def test_a_subscriber_sees_only_events_delivered_after_it_subscribed(bus: Bus) -> None:
    probe = bus.subscribe()
    earlier = await bus.publish("message", {"n": 0})
    assert await probe.get() == earlier
    sub = bus.subscribe()
    later = await bus.publish("message", {"n": 1})
    assert await sub.get() == later
    assert sub.pending() == 0


async def test_history_returns_kept_events_after_an_id(bus: Bus) -> None:
    base = await bus.last_id()
    sent = [await bus.publish("qr_code", {"n": n}) for n in range(5)]
    assert await bus.history(base) == sent
    assert await bus.history(sent[2].id) == sent[3:]
    assert await bus.history(sent[-1].id) == []


async def test_history_past_what_is_kept_raises_replay_gap_with_the_oldest(bus: Bus) -> None:
    base = await bus.last_id()
    sent = [await bus.publish("message", {"n": n}) for n in range(150)]
    with pytest.raises(ReplayGap) as gap:
        await bus.history(base)
    assert gap.value.oldest == sent[50].id
    assert await bus.history(sent[49].id) == sent[50:]


async def test_a_subscriber_that_falls_behind_is_cut_off_after_draining(bus: Bus) -> None:
    sub = bus.subscribe(queue_size=5)
    sent = [await bus.publish("message", {"n": n}) for n in range(8)]
    # On Redis the events reach the subscription a moment after publish returns: consuming before the
    # sixth has arrived would keep it from ever falling behind.
    await eventually(lambda: sub.closed, timeout=10, what="the subscription cut off after its fifth event")
    assert [await sub.get() for _ in range(5)] == sent[:5]
    with pytest.raises(SubscriptionOverflow) as overflow:
        await sub.get()
    assert overflow.value.last_id == sent[4].id
    # it can catch up from history
    assert await bus.history(overflow.value.last_id) == sent[5:]


async def test_a_closed_subscription_receives_nothing_more(bus: Bus) -> None:
    sub = bus.subscribe()
    witness = bus.subscribe()
    sub.close()
    event = await bus.publish("message", {})
    assert await witness.get() == event
    assert sub.pending() == 0


async def test_ids_are_shared_by_every_instance(bus: Bus) -> None:
    first = await bus.publish("message", {})
    assert await bus.last_id() == first.id
    second = await bus.publish("message", {})
    assert second.id == first.id + 1


async def test_event_json_round_trips(bus: Bus) -> None:
    from waqtor.events import Event

    event = await bus.publish("message", {"text": "héllo", "n": [1, 2]}, session="s")
    assert Event.from_json(event.to_json()) == event
    assert event.to_wire() == {"type": "message", "data": {"text": "héllo", "n": [1, 2]}, "id": event.id,
                               "timestamp": event.timestamp, "session": "s"}


def test_an_unknown_bus_url_is_a_config_error_naming_it() -> None:
    from waqtor.errors import ConfigError

    with pytest.raises(ConfigError, match="kafka"):
        backend_factory("kafka://x", replay=10)


async def test_two_redis_instances_share_events_ids_and_history() -> None:
    from waqtor.bus.redis import RedisBus

    url = f"{REDIS_URL}?prefix=test-{uuid.uuid4().hex}"
    one, two = Bus(RedisBus(url, 100)), Bus(RedisBus(url, 100))
    await one.start()
    await two.start()
    try:
        sub_one, sub_two = one.subscribe(), two.subscribe()
        first = await one.publish("message", {"from": "one"})
        second = await two.publish("message", {"from": "two"})
        assert second.id == first.id + 1
        assert [await sub_one.get(), await sub_one.get()] == [first, second]
        assert [await sub_two.get(), await sub_two.get()] == [first, second]
        assert await two.history(first.id - 1) == [first, second]
    finally:
        await one.stop()
        await two.stop()
async def test_a_publish_hook_has_run_when_publish_returns(bus: Bus) -> None:
    from waqtor.events import Event

    seen: list[Event] = []

    async def hook(event: Event) -> None:
        seen.append(event)

    bus.add_publish_hook(hook)
    event = await bus.publish("message", {"n": 1}, session="s")
    assert seen == [event] and event.id > 0


async def test_a_failing_publish_hook_loses_nothing_for_subscribers_or_other_hooks(
    bus: Bus, caplog: pytest.LogCaptureFixture
) -> None:
    from waqtor.events import Event

    later: list[int] = []

    async def broken(event: Event) -> None:
        raise RuntimeError("database down")

    async def working(event: Event) -> None:
        later.append(event.id)

    bus.add_publish_hook(broken)
    bus.add_publish_hook(working)
    sub = bus.subscribe()
    event = await bus.publish("message", {"n": 1})
    assert await sub.get() == event
    assert later == [event.id]
    assert bus.hook_failures == 1
    assert any(r.levelname == "ERROR" and str(event.id) in r.getMessage() for r in caplog.records)


async def test_a_removed_publish_hook_runs_no_more(bus: Bus) -> None:
    from waqtor.events import Event

    seen: list[Event] = []

    async def hook(event: Event) -> None:
        seen.append(event)

    remove = bus.add_publish_hook(hook)
    remove()
    await bus.publish("message", {})
    assert seen == []
