"""The monitor's periodic write and its published updates."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from sqlalchemy import select

from tests.conftest import ShiftedClock, eventually, in_process, make_settings
from waqtor.storage.tables import session_state


async def last_update_in_db(gw) -> object:  # type: ignore[no-untyped-def]
    async with gw.gateway.storage.engine.connect() as conn:
        return (await conn.execute(select(session_state.c.last_update, session_state.c.uptime))).one()


async def test_the_row_is_rewritten_every_interval_with_fresh_uptime(data_dir: Path) -> None:
    clock = ShiftedClock()
    async with in_process(make_settings(data_dir, monitor_interval=0.05), clock=clock) as gw:
        await gw.scan()
        first = await last_update_in_db(gw)
        async def advanced() -> bool:
            return (await last_update_in_db(gw))[0] > first[0]
        await eventually(advanced, what="a periodic write")
        clock.offset = timedelta(days=365)  # a year after the session became ready
        async def uptime_written() -> bool:
            return (await last_update_in_db(gw))[1] > 3600
        await eventually(uptime_written, what="uptime in the periodic write")


async def test_every_tick_publishes_a_session_update(data_dir: Path) -> None:
    async with in_process(make_settings(data_dir, monitor_interval=0.05)) as gw:
        subscription = gw.gateway.bus.subscribe()
        seen = []
        async def two_updates() -> bool:
            while subscription.pending():
                event = await subscription.get()
                if event.type == "session_update":
                    seen.append(event)
            return len(seen) >= 2
        await eventually(two_updates, what="two session_update events from ticks")
        assert seen[0].session == "default"
        assert {"status", "ready", "stats", "lastUpdate"} <= seen[0].data.keys()


async def test_the_monitor_leaves_message_events_to_the_message_service(data_dir: Path) -> None:
    from datetime import UTC, datetime

    from waqtor.engines.base import MessageIn

    async with in_process(make_settings(data_dir)) as gw:
        await gw.scan()
        monitor = gw.gateway.sessions.get("default").monitor
        subscription = gw.gateway.bus.subscribe()
        await monitor.handle(MessageIn(id="A", chat="1@s.whatsapp.net", sender="1@s.whatsapp.net", type="text",
                                       text="x", timestamp=datetime.now(UTC)))
        assert subscription.pending() == 0
        assert monitor.state.messages_received == 0


async def counters_in_db(gw) -> tuple[int, int]:  # type: ignore[no-untyped-def]
    async with gw.gateway.storage.engine.connect() as conn:
        row = (await conn.execute(select(session_state.c.messages_sent, session_state.c.messages_received))).one()
    return row[0], row[1]


async def test_counts_made_at_once_all_reach_the_published_state(data_dir: Path) -> None:
    import asyncio

    async with in_process(make_settings(data_dir)) as gw:
        await gw.scan()
        monitor = gw.gateway.sessions.get("default").monitor
        subscription = gw.gateway.bus.subscribe()
        await asyncio.gather(*(monitor.count(received=1) for _ in range(20)), monitor.count(sent=2))
        updates = []
        while subscription.pending():
            event = await subscription.get()
            if event.type == "session_update":
                updates.append(event.data["stats"])
        assert monitor.state.messages_received == 20 and monitor.state.messages_sent == 2
        assert 1 <= len(updates) <= 21
        assert updates[-1] == {"messagesSent": 2, "messagesReceived": 20}


async def test_the_stored_counters_move_with_the_message_log_not_with_state_writes(data_dir: Path) -> None:
    import asyncio

    async with in_process(make_settings(data_dir)) as gw:
        await gw.scan()
        inbound = [gw.client.post("/api/sandbox/inbound", json={"from": "+4915112345678", "body": f"m{n}"})
                   for n in range(10)]
        sends = [gw.client.post("/api/messages/send", json={"to": "+4915112345678", "text": f"s{n}"})
                 for n in range(3)]
        assert {r.status_code for r in await asyncio.gather(*inbound, *sends)} == {200}
        assert await counters_in_db(gw) == (3, 10)
        monitor = gw.gateway.sessions.get("default").monitor
        # A state write carries no counters: one from a stale copy of the state cannot undo a count.
        await gw.gateway.storage.sessions.save_state(monitor.state.replace(messages_sent=0, messages_received=0),
                                                     monitor.state.last_update)
        assert await counters_in_db(gw) == (3, 10)
        assert (await gw.client.post("/api/session/stats/reset")).status_code == 200
        assert await counters_in_db(gw) == (0, 0) and monitor.state.messages_received == 0


async def test_a_presence_update_is_published_without_touching_the_state_and_not_once_detached(data_dir: Path) -> None:
    from datetime import UTC, datetime

    from waqtor.engines.base import PresenceUpdate

    async with in_process(make_settings(data_dir)) as gw:
        await gw.scan()
        monitor = gw.gateway.sessions.get("default").monitor
        before = monitor.state
        subscription = gw.gateway.bus.subscribe()
        update = PresenceUpdate(chat="1@s.whatsapp.net", sender="1@s.whatsapp.net", state="available",
                                timestamp=datetime(2026, 12, 8, 2, 0, tzinfo=UTC))
        await monitor.handle(update)
        assert subscription.pending() == 1
        event = await subscription.get()
        assert (event.type, event.session, event.data["state"], event.data["timestamp"]) == (
            "presence_update", "default", "available", "2026-12-08T02:00:00.000Z")
        assert monitor.state is before
        monitor.detach()  # another instance runs the session now: it publishes what its engine tells
        await monitor.handle(update)
        assert subscription.pending() == 0
