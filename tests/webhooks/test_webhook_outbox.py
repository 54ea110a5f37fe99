"""The outbox: rows exist when publish returns, only for webhooks that want the event; deliveries
survive a restart of the gateway, and events published while the database is down are not lost."""

from __future__ import annotations

from pathlib import Path

from tests.conftest import Harness, eventually, in_process, make_settings
from tests.pg import fresh_database, set_connections_allowed
from tests.webhook_receiver import FAST, Receiver, Reply, delivery_settles, register
from waqtor.storage.records import WebhookRecord

UNREACHABLE = "http://127.0.0.1:9/nobody-listens"


async def stored(gw: Harness, webhook_id: str) -> list[int | None]:
    return [d.event_id for d in await gw.gateway.storage.webhooks.deliveries(webhook_id)]


async def test_the_delivery_row_exists_when_publish_returns(gw: Harness) -> None:
    hook = await register(gw.client, UNREACHABLE)
    event = await gw.gateway.bus.publish("message", {"body": "x"}, session="default")
    assert await stored(gw, hook["id"]) == [event.id]


async def test_an_event_no_webhook_wants_is_not_stored(gw: Harness) -> None:
    hook = await register(gw.client, UNREACHABLE, events=["qr_code"], sessions=["sales"])
    await gw.gateway.bus.publish("message", {}, session="sales")
    await gw.gateway.bus.publish("qr_code", {}, session="default")
    wanted = await gw.gateway.bus.publish("qr_code", {}, session="sales")
    assert await stored(gw, hook["id"]) == [wanted.id]


async def test_gateway_wide_events_pass_a_sessions_filter(gw: Harness) -> None:
    hook = await register(gw.client, UNREACHABLE, sessions=["sales"])
    event = await gw.gateway.bus.publish("webhook_disabled", {"webhook": "wh_other"})
    assert await stored(gw, hook["id"]) == [event.id]


async def test_a_deleted_webhook_gets_nothing_more(gw: Harness) -> None:
    hook = await register(gw.client, UNREACHABLE)
    await gw.client.delete(f"/api/webhooks/{hook['id']}")
    await gw.gateway.bus.publish("message", {})
    assert await stored(gw, hook["id"]) == []


async def test_a_webhook_added_by_another_instance_is_picked_up_by_the_periodic_reload(
    data_dir: Path,
) -> None:
    from datetime import UTC, datetime

    async with in_process(make_settings(data_dir, webhook_refresh_interval=0.05)) as gw:
        # written straight to the shared database, as another gateway instance would
        await gw.gateway.storage.webhooks.create(
            WebhookRecord(
                id="wh_elsewhere",
                url=UNREACHABLE,
                events=("all",),
                sessions=("all",),
                secret="s" * 20,
                enabled=True,
                headers={},
                created_at=datetime.now(UTC),
            )
        )
        await eventually(
            lambda: any(t.webhook_id == "wh_elsewhere" for t in gw.gateway.webhooks.outbox.targets),
            what="the reload",
        )
        event = await gw.gateway.bus.publish("message", {})
        assert await stored(gw, "wh_elsewhere") == [event.id]


async def test_deliveries_pending_across_a_restart_all_arrive_once_the_receiver_is_back(
    data_dir: Path,
) -> None:
    receiver = Receiver()  # its port is chosen, nothing listens there yet
    settings = make_settings(data_dir, **{**FAST, "webhook_max_attempts": 1000})
    async with in_process(settings) as gw:
        hook = await register(gw.client, receiver.url(), events=["message"])
        await gw.scan()
        for n in range(3):
            await gw.client.post(
                "/api/sandbox/inbound", json={"from": "4915100000001", "body": f"before {n}"}
            )
        await delivery_settles(gw.client, hook["id"], "failed", count=3)
    async with in_process(settings) as gw:
        for n in range(2):
            await gw.client.post("/api/sandbox/inbound", json={"from": "4915100000001", "body": f"after {n}"})
        async with receiver:
            await receiver.wait_for(5)
            await delivery_settles(gw.client, hook["id"], "delivered", count=5)
    bodies = sorted(r.json["data"]["body"] for r in receiver.requests)
    assert bodies == ["after 0", "after 1", "before 0", "before 1", "before 2"]
    assert len({r.delivery for r in receiver.requests}) == 5, "each delivered exactly once"


async def test_events_published_while_the_database_is_down_are_delivered_when_it_is_back(
    data_dir: Path,
) -> None:
    async with fresh_database() as url, Receiver() as receiver:
        settings = make_settings(data_dir, database_url=url, webhook_outbox_timeout=2, **FAST)
        async with in_process(settings) as gw:
            hook = await register(gw.client, receiver.url(), events=["message"])
            watcher = gw.gateway.bus.subscribe()
            await set_connections_allowed(url, False)
            try:
                sent = [
                    await gw.gateway.bus.publish("message", {"n": n}, session="default") for n in range(3)
                ]
                assert [await watcher.get() for _ in range(3)] == sent  # WebSocket clients lose nothing
                assert len(gw.gateway.webhooks.outbox.held) == 3
            finally:
                await set_connections_allowed(url, True)
            await receiver.wait_for(3)
            await delivery_settles(gw.client, hook["id"], "delivered", count=3)
            assert sorted(r.json["id"] for r in receiver.requests) == [e.id for e in sent]
            assert len(gw.gateway.webhooks.outbox.held) == 0
            assert gw.gateway.bus.hook_failures == 0


async def test_when_the_buffer_is_full_the_oldest_held_rows_are_dropped(data_dir: Path) -> None:
    async with fresh_database() as url, Receiver() as receiver:
        settings = make_settings(
            data_dir, database_url=url, webhook_outbox_timeout=2, webhook_outbox_buffer=2, **FAST
        )
        async with in_process(settings) as gw:
            hook = await register(gw.client, receiver.url(), events=["message"])
            await set_connections_allowed(url, False)
            try:
                sent = [await gw.gateway.bus.publish("message", {"n": n}) for n in range(4)]
                assert gw.gateway.webhooks.outbox.dropped == 2
            finally:
                await set_connections_allowed(url, True)
            await delivery_settles(gw.client, hook["id"], "delivered", count=2)
            assert sorted(r.json["id"] for r in await receiver.wait_for(2)) == [e.id for e in sent[2:]]


async def test_an_attempt_cut_short_by_a_shutdown_is_sent_again_after_the_restart(data_dir: Path) -> None:
    settings = make_settings(data_dir, **FAST)
    async with Receiver() as receiver:
        receiver.answer("/hook", Reply(hang=True))  # the first attempt never gets an answer
        async with in_process(settings) as gw:
            hook = await register(gw.client, receiver.url(), events=["message"])
            await gw.gateway.bus.publish("message", {"n": 1})
            await receiver.wait_for(1)
        async with in_process(settings) as gw:
            first, again = await receiver.wait_for(2)
            [logged] = await delivery_settles(gw.client, hook["id"], "delivered")
    assert first.delivery == again.delivery == logged["id"]
    assert logged["attempts"] == 1, "the attempt cut short is not counted"


async def test_a_delivery_held_by_an_instance_that_died_is_taken_over_when_its_lease_expires(
    data_dir: Path,
) -> None:
    from datetime import UTC, datetime, timedelta

    from waqtor.storage.records import DeliveryRecord

    async with Receiver() as receiver, in_process(make_settings(data_dir, **FAST)) as gw:
        hook = await register(gw.client, receiver.url(), events=["message"])
        now = datetime.now(UTC)
        lease_end = now + timedelta(seconds=0.5)
        # as an instance leaves a row it had claimed when it dies: held, under a lease that runs out
        await gw.gateway.storage.webhooks.enqueue(
            [
                DeliveryRecord(
                    id="dlv_orphan",
                    webhook_id=hook["id"],
                    event_id=1,
                    event="message",
                    session=None,
                    payload='{"id":1}',
                    status="delivering",
                    attempts=0,
                    created_at=now,
                    next_attempt_at=now,
                    lease_owner="dead-host:1:x/1",
                    lease_expires_at=lease_end,
                )
            ]
        )
        [request] = await receiver.wait_for(1)
        assert request.delivery == "dlv_orphan"
        await delivery_settles(gw.client, hook["id"], "delivered")
        taken = await gw.gateway.storage.webhooks.delivery(hook["id"], "dlv_orphan")
        assert taken is not None and taken.last_attempt_at is not None and taken.last_attempt_at >= lease_end
