"""Scheduled campaigns, daily windows and caps in the running gateway, on a clock the test moves: the
runner is woken by hand and looked at once it sleeps again (no test waits for time to pass)."""

from __future__ import annotations

from pathlib import Path

from tests.campaigns.helpers import Clock, create, gateway_with_clock, get, phones, recipients, runner_looked, wait_for
from tests.conftest import make_settings

NO_CAPS = {"minDelay": 0, "maxDelay": 0, "perMinute": None, "perHour": None, "perDay": None}


async def test_a_scheduled_campaign_starts_at_its_time_and_not_before(data_dir: Path) -> None:
    clock = Clock()
    async with gateway_with_clock(make_settings(data_dir), clock) as gw:
        await gw.scan()
        start = clock.now.replace(hour=15)
        campaign = await create(gw.client, recipients=recipients(phones(3)), start=True,
                                schedule={"startAt": start.isoformat()})
        assert campaign["status"] == "scheduled"
        clock.advance(hours=2, minutes=59)
        await runner_looked(gw)
        waiting = await get(gw.client, campaign["id"])
        assert waiting["status"] == "scheduled" and waiting["counts"]["pending"] == 3
        clock.advance(minutes=1)
        await runner_looked(gw)
        done = await wait_for(gw.client, campaign["id"], "completed")
        assert done["startedAt"] == "2025-10-28T15:00:00.000Z"


async def test_a_campaign_sends_only_inside_its_daily_window(data_dir: Path) -> None:
    clock = Clock()  # 12:00 UTC is 16:00 in Dubai
    async with gateway_with_clock(make_settings(data_dir), clock) as gw:
        await gw.scan()
        window = {"start": "09:00", "end": "13:00", "timezone": "Asia/Dubai", "days": ["mon", "tue", "wed"]}
        campaign = await create(gw.client, recipients=recipients(phones(2)), start=True, throttle=NO_CAPS,
                                schedule={"window": window})
        await runner_looked(gw)
        closed = await get(gw.client, campaign["id"])
        assert closed["status"] == "running" and closed["counts"]["pending"] == 2
        clock.advance(hours=16, minutes=59)  # 08:59 on Wednesday in Dubai
        await runner_looked(gw)
        assert (await get(gw.client, campaign["id"]))["counts"]["pending"] == 2
        clock.advance(minutes=1)
        await runner_looked(gw)
        await wait_for(gw.client, campaign["id"], "completed")


async def test_the_caps_hold_until_their_window_has_passed(data_dir: Path) -> None:
    clock = Clock()
    async with gateway_with_clock(make_settings(data_dir), clock) as gw:
        await gw.scan()
        throttle = {**NO_CAPS, "perMinute": 2, "perHour": 3}
        campaign = await create(gw.client, recipients=recipients(phones(5)), start=True, throttle=throttle)
        cid = campaign["id"]

        async def sent() -> int:
            counts = (await get(gw.client, cid))["counts"]
            return counts["sent"] + counts["delivered"] + counts["read"]

        await runner_looked(gw)
        assert await sent() == 2
        clock.advance(seconds=59)
        await runner_looked(gw)
        assert await sent() == 2
        clock.advance(seconds=1)
        await runner_looked(gw)
        assert await sent() == 3  # the hour's cap
        clock.advance(minutes=59)
        await runner_looked(gw)
        assert await sent() == 5
        await wait_for(gw.client, cid, "completed")


async def test_the_random_delay_separates_two_messages_of_the_session(data_dir: Path) -> None:
    clock = Clock()
    async with gateway_with_clock(make_settings(data_dir), clock) as gw:
        await gw.scan()
        throttle = {**NO_CAPS, "minDelay": 30, "maxDelay": 30}
        first = await create(gw.client, recipients=recipients(phones(2)), start=True, throttle=throttle)
        second = await create(gw.client, recipients=recipients(phones(2, start=50)), start=True, throttle=throttle)
        await runner_looked(gw)
        one = await get(gw.client, first["id"])
        two = await get(gw.client, second["id"])
        assert one["counts"]["pending"] + two["counts"]["pending"] == 3  # one message, then 30 s for any other
        clock.advance(seconds=29)
        await runner_looked(gw)
        assert (await get(gw.client, first["id"]))["counts"]["pending"] + (
            await get(gw.client, second["id"]))["counts"]["pending"] == 3
        clock.advance(seconds=1)
        await runner_looked(gw)
        assert (await get(gw.client, first["id"]))["counts"]["pending"] + (
            await get(gw.client, second["id"]))["counts"]["pending"] == 2


async def test_a_scheduled_campaign_deleted_before_its_time_leaves_the_others_sending(data_dir: Path) -> None:
    clock = Clock()
    async with gateway_with_clock(make_settings(data_dir), clock) as gw:
        await gw.scan()
        start = clock.now.replace(hour=13)
        gone = await create(gw.client, recipients=recipients(phones(2)), start=True,
                            schedule={"startAt": start.isoformat()})
        kept = await create(gw.client, recipients=recipients(phones(2, start=10)), start=True,
                            schedule={"startAt": start.isoformat()})
        await runner_looked(gw)  # the sender knows both
        assert (await gw.client.delete(f"/api/campaigns/{gone['id']}")).status_code == 200
        clock.advance(hours=1)
        await runner_looked(gw)
        await wait_for(gw.client, kept["id"], "completed")
