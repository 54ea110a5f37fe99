"""Campaign messages are taken into `messagesSent` together: one `session_update` for all those sent
within the interval (the stored counter moved with each message's log row)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from tests.conftest import Harness, eventually, in_process, make_settings
from waqtor.messaging.counts import SentCounter
from waqtor.sessions.monitor import SessionMonitor
from waqtor.tasks import TaskSet


@pytest.fixture
async def linked(data_dir: Path) -> AsyncIterator[tuple[Harness, SessionMonitor, TaskSet]]:
    async with in_process(make_settings(data_dir)) as gw:
        await gw.scan()
        tasks = TaskSet("test")
        yield gw, gw.gateway.sessions.get("default").monitor, tasks
        await tasks.close()


async def test_messages_added_before_a_flush_are_counted_with_one_session_update(
    linked: tuple[Harness, SessionMonitor, TaskSet],
) -> None:
    gw, monitor, tasks = linked
    before = monitor.state.messages_sent
    counter = SentCounter(tasks, interval=3600)  # only the flush writes
    subscription = gw.gateway.bus.subscribe()
    for _ in range(7):
        counter.add("default", monitor)
    assert monitor.state.messages_sent == before
    await counter.flush("default")
    updates = []
    while subscription.pending():
        event = await subscription.get()
        if event.type == "session_update":
            updates.append(event.data["stats"]["messagesSent"])
    assert updates == [before + 7]
    await eventually(lambda: len(tasks) == 0, what="the flush to stop the timer")
    await counter.flush("default")  # nothing waits: no write
    assert subscription.pending() == 0


async def test_the_messages_are_counted_when_the_interval_ends(
    linked: tuple[Harness, SessionMonitor, TaskSet],
) -> None:
    _, monitor, tasks = linked
    before = monitor.state.messages_sent
    counter = SentCounter(tasks, interval=0.01)
    counter.add("default", monitor)
    counter.add("default", monitor)

    def counted() -> bool:
        return monitor.state.messages_sent == before + 2

    await eventually(counted, what="the count at the end of the interval")
