"""The bus contract: every backend passes the same tests (memory now; Redis joins in scale-out)."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from waqtor.bus import Bus, ReplayGap, SubscriptionOverflow, backend_factory


@pytest.fixture(params=["memory://"])
async def bus(request: pytest.FixtureRequest) -> AsyncIterator[Bus]:
    bus = Bus(backend_factory(request.param, replay=100)(), queue_size=50)
    await bus.start()
    yield bus
    await bus.stop()


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


async def test_a_subscriber_sees_only_events_after_it_subscribed(bus: Bus) -> None:
    await bus.publish("message", {"n": 0})
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
    assert [await sub.get() for _ in range(5)] == sent[:5]
    with pytest.raises(SubscriptionOverflow) as overflow:
        await sub.get()
    assert overflow.value.last_id == sent[4].id
    # it can catch up from history
    assert await bus.history(overflow.value.last_id) == sent[5:]


async def test_a_closed_subscription_receives_nothing_more(bus: Bus) -> None:
    sub = bus.subscribe()
    sub.close()
    await bus.publish("message", {})
    assert sub.pending() == 0


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
