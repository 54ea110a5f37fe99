"""The send queue on its own: order, tickets given up, and the refusal when full."""

from __future__ import annotations

import asyncio

import pytest

from tests.conftest import eventually
from waqtor.errors import RateLimited
from waqtor.messaging.sendqueue import SendQueues
from waqtor.rate_window import RateWindow, parse_rate


def queues(rate: str, size: int, delivered: list[tuple[str, int]]) -> SendQueues:
    async def deliver(session: str, message_id: int) -> None:
        delivered.append((session, message_id))

    item = parse_rate(rate)
    return SendQueues(lambda: RateWindow(item) if item else None, size, deliver)


async def test_sends_wait_in_order_and_a_given_up_place_is_skipped() -> None:
    delivered: list[tuple[str, int]] = []
    sq = queues("2/second", 10, delivered)
    queue = sq.get("default")
    assert await queue.admit() is None and await queue.admit() is None
    tickets = [await queue.admit() for _ in range(3)]
    assert all(t is not None for t in tickets)
    tickets[2].fill(5)  # type: ignore[union-attr]
    tickets[1].cancel()  # type: ignore[union-attr]
    await asyncio.sleep(0)
    tickets[0].fill(3)  # filled last, but first in line
    await eventually(lambda: len(delivered) == 2, timeout=10, what="two queued sends")
    assert delivered == [("default", 3), ("default", 5)]
    assert await sq.close() == []


async def test_a_full_queue_refuses_with_the_time_until_a_slot_frees() -> None:
    sq = queues("1/minute", 1, [])
    queue = sq.get("default")
    assert await queue.admit() is None
    assert await queue.admit() is not None
    with pytest.raises(RateLimited) as caught:
        await queue.admit()
    assert caught.value.code == "send_queue_full" and 0 < caught.value.retry_after <= 60
    assert len(queue.waiting) == 1
    await sq.close()


async def test_sessions_have_separate_windows() -> None:
    sq = queues("1/minute", 1, [])
    assert await sq.get("a").admit() is None
    assert await sq.get("b").admit() is None
    await sq.close()


async def test_closing_returns_the_logged_sends_still_waiting() -> None:
    sq = queues("1/minute", 5, [])
    queue = sq.get("default")
    await queue.admit()
    first, second = await queue.admit(), await queue.admit()
    first.fill(11)  # type: ignore[union-attr]
    second.cancel()  # type: ignore[union-attr]
    assert await sq.close() == [11]


async def test_a_pause_holds_new_sends_in_the_queue_and_a_retry_goes_first() -> None:
    delivered: list[tuple[str, int]] = []
    sq = queues("", 10, delivered)  # no send rate: the queue still exists for WhatsApp's own limit
    queue = sq.get("default")
    assert await queue.admit() is None
    queue.pause(0.05)
    assert queue.paused_for() > 0
    ticket = await queue.admit()
    assert ticket is not None, "while paused a send waits in the queue"
    ticket.fill(8)
    queue.retry(7)  # refused by WhatsApp's limit: back first in line
    await eventually(lambda: len(delivered) == 2, what="both sent after the pause")
    assert delivered == [("default", 7), ("default", 8)]
    assert queue.paused_for() == 0
    assert await sq.close() == []


async def test_a_send_that_joins_waits_in_the_queue_even_with_room_and_the_next_sends_wait_behind_it() -> None:
    delivered: list[tuple[str, int]] = []
    sq = queues("", 10, delivered)
    queue = sq.get("default")
    typing = await queue.admit(join=True)
    assert typing is not None, "a send that shows typing first always joins"
    behind = await queue.admit()
    assert behind is not None, "the queue is not empty: the next send waits its turn"
    behind.fill(8)
    typing.fill(7)
    await eventually(lambda: len(delivered) == 2, what="both sent")
    assert delivered == [("default", 7), ("default", 8)]
    assert await queue.admit() is None, "an empty queue without a rate sends at once again"
    await sq.close()
