"""An unthrottled campaign keeps a bounded window of recipients in flight (their writes are committed
together); a throttled one still sends one message at a time. Either way each recipient gets one message."""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from tests.campaigns.helpers import create, paused_after_three_failures, phones, recipients, wait_for
from tests.conftest import Harness, make_settings
from waqtor.campaigns.window import SIZE as WINDOW
from waqtor.config import Settings
from waqtor.storage.tables import messages


@pytest.fixture
def settings(data_dir: Path) -> Settings:
    # No send rate on the session: the window is only for sends nothing orders in time.
    return make_settings(data_dir, send_rate="0")


@pytest.fixture
async def linked(gw: Harness) -> Harness:
    await gw.scan()
    return gw


def watch_in_flight(gw: Harness) -> dict[str, int]:
    """Count the campaign sends running at once through the message service."""
    service = gw.gateway.messages
    original = service.send_for_campaign
    seen = {"now": 0, "most": 0, "calls": 0}

    async def counted(*args: Any, **kwargs: Any) -> Any:
        seen["now"] += 1
        seen["calls"] += 1
        seen["most"] = max(seen["most"], seen["now"])
        try:
            return await original(*args, **kwargs)
        finally:
            seen["now"] -= 1

    service.send_for_campaign = counted  # type: ignore[method-assign]
    return seen


async def messages_per_recipient(gw: Harness, cid: str) -> Counter[int]:
    query = select(messages.c.campaign_recipient_id).where(messages.c.campaign_id == cid)
    async with gw.gateway.storage.engine.connect() as conn:
        return Counter(row[0] for row in await conn.execute(query))


async def test_an_unthrottled_campaign_sends_a_bounded_window_at_once_and_each_recipient_once(
        linked: Harness) -> None:
    seen = watch_in_flight(linked)
    count = 3 * WINDOW
    campaign = await create(linked.client, recipients=recipients(phones(count)), start=True)
    done = await wait_for(linked.client, campaign["id"], "completed", timeout=60)
    assert done["counts"]["pending"] == done["counts"]["sending"] == 0
    assert done["counts"]["sent"] + done["counts"]["delivered"] + done["counts"]["read"] == count
    assert 1 < seen["most"] <= WINDOW and seen["calls"] == count
    per_recipient = await messages_per_recipient(linked, campaign["id"])
    assert len(per_recipient) == count and set(per_recipient.values()) == {1}
    state = await linked.state()
    assert state["stats"]["messagesSent"] == count


async def test_a_throttled_campaign_sends_one_message_at_a_time(linked: Harness) -> None:
    seen = watch_in_flight(linked)
    throttle = {"minDelay": 0.001, "maxDelay": 0.001, "perMinute": None, "perHour": None, "perDay": None}
    campaign = await create(linked.client, recipients=recipients(phones(12)), start=True, throttle=throttle)
    await wait_for(linked.client, campaign["id"], "completed", timeout=30)
    assert seen["most"] == 1 and seen["calls"] == 12
    assert set((await messages_per_recipient(linked, campaign["id"])).values()) == {1}


async def test_a_capped_campaign_sends_one_message_at_a_time(linked: Harness) -> None:
    seen = watch_in_flight(linked)
    throttle = {"minDelay": 0, "maxDelay": 0, "perMinute": 1000, "perHour": None, "perDay": None}
    campaign = await create(linked.client, recipients=recipients(phones(12)), start=True, throttle=throttle)
    await wait_for(linked.client, campaign["id"], "completed", timeout=30)
    assert seen["most"] == 1 and seen["calls"] == 12


async def test_an_unthrottled_campaign_still_pauses_after_exactly_its_failures_in_a_row(linked: Harness) -> None:
    await paused_after_three_failures(linked.client)  # with the window: no more in flight than may fail
