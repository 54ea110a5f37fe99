"""The runner on the sandbox: campaigns go from the list to every recipient's final status, one message
at a time per session, and stop, wait and continue as the session and the user say."""

from __future__ import annotations

import asyncio
import json
from itertools import pairwise
from typing import Any

import pytest

from tests.campaigns.helpers import (
    act,
    all_recipients,
    contact,
    create,
    definition,
    get,
    paused_after_three_failures,
    phones,
    recipients,
    runner_looked,
    upload,
    wait_for,
)
from tests.conftest import Harness, eventually
from tests.messaging.samples import sample
from waqtor.engines.sandbox.engine import SandboxEngine
from waqtor.events import CAMPAIGN


@pytest.fixture
async def linked(gw: Harness) -> Harness:
    await gw.scan()
    return gw


def by_phone(found: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    return {r["phone"]: r for r in found}


async def test_a_csv_campaign_ends_with_every_recipient_in_its_right_status(linked: Harness) -> None:
    client = linked.client
    normal, unread, refused, undelivered, absent = phones(5)
    await contact(client, unread, reads=False)
    await contact(client, refused, fail="send", error="blocked by the recipient")
    await contact(client, undelivered, fail="delivery", error="no such device")
    await contact(client, absent, onWhatsApp=False)
    rows = "\n".join(f"{p};Person {n};#{n}" for n, p in enumerate([normal, unread, refused, undelivered, absent]))
    response = await upload(client, f"Phone;Name;Order\n{rows}\n", message={"text": "Hi {name}, order {Order}"},
                            options={"checkWhatsApp": True}, start=True)
    assert response.status_code == 201, response.text
    cid = response.json()["data"]["campaign"]["id"]
    await wait_for(client, cid, "completed")

    async def settled() -> bool:
        found = by_phone(await all_recipients(client, cid))
        return (found[normal]["status"], found[unread]["status"], found[undelivered]["status"]) == (
            "read", "delivered", "failed")

    await eventually(settled, 10, "the acknowledgements")
    found = by_phone(await all_recipients(client, cid))
    assert found[refused]["status"] == "failed" and "blocked by the recipient" in found[refused]["reason"]
    assert found[undelivered]["reason"] == "no such device"
    assert found[absent]["status"] == "skipped" and found[absent]["reason"].startswith("not_on_whatsapp")
    assert found[absent]["messageId"] is None
    message = (await client.get(f"/api/messages/{found[normal]['messageId']}")).json()["data"]
    assert message["body"] == "Hi Person 0, order #0" and message["campaignId"] == cid
    assert message["status"] == "read"
    campaign = await get(client, cid)
    assert campaign["counts"] == {"pending": 0, "sending": 0, "sent": 0, "delivered": 1, "read": 1, "failed": 2,
                                  "skipped": 1, "unknown": 0}
    assert campaign["percent"] == 100.0 and campaign["etaSeconds"] is None and campaign["finishedAt"]
    assert (await linked.state())["stats"]["messagesSent"] == 3  # the refused one never left


async def test_a_number_not_on_whatsapp_fails_when_the_campaign_does_not_check(linked: Harness) -> None:
    absent, present = phones(2)
    await contact(linked.client, absent, onWhatsApp=False)
    campaign = await create(linked.client, recipients=recipients([absent, present]), start=True)
    await wait_for(linked.client, campaign["id"], "completed")
    found = by_phone(await all_recipients(linked.client, campaign["id"]))
    assert found[absent]["status"] == "failed" and found[absent]["reason"].startswith("not_on_whatsapp")


async def test_a_campaign_with_media_sends_the_file_with_the_text_as_caption(linked: Harness) -> None:
    files = {"recipients": ("list.csv", f"phone,name\n{phones(1)[0]},Ana\n".encode(), "text/csv"),
             "media": ("leaflet.png", sample("png", 2048), "image/png")}
    response = await linked.client.post("/api/campaigns", files=files, data={
        "campaign": json.dumps(definition(message={"text": "For you, {name}"}, start=True))})
    assert response.status_code == 201, response.text
    campaign = response.json()["data"]["campaign"]
    assert campaign["message"]["type"] == "image" and campaign["message"]["media"]["fileName"] == "leaflet.png"
    await wait_for(linked.client, campaign["id"], "completed")
    [recipient] = await all_recipients(linked.client, campaign["id"])
    message = (await linked.client.get(f"/api/messages/{recipient['messageId']}")).json()["data"]
    assert message["type"] == "image" and message["body"] == "For you, Ana"
    assert message["media"]["id"] == campaign["message"]["media"]["id"]


async def test_events_tell_the_story_and_progress_is_coalesced(linked: Harness) -> None:
    subscription = linked.gateway.bus.subscribe()
    campaign = await create(linked.client, recipients=recipients(phones(40)), start=True)
    cid = campaign["id"]
    seen: list[Any] = []

    async def collect() -> None:
        async for event in subscription:
            if event.type == CAMPAIGN and event.data["campaignId"] == cid:
                seen.append(event)
                done = any(e.data["kind"] == "completed" for e in seen)  # read receipts may beat it
                if done and event.data["kind"] == "progress" and event.data["counts"]["read"] == 40:
                    return

    await asyncio.wait_for(collect(), 20)
    subscription.close()
    kinds = [e.data["kind"] for e in seen]
    assert kinds[0] == "started" and "completed" in kinds
    assert {e.session for e in seen} == {"default"}
    steps: dict[int, list[str]] = {}
    for event in seen:
        if event.data["kind"] == "recipient":
            steps.setdefault(event.data["recipientId"], []).append(event.data["status"])
    order = ["sending", "sent", "delivered", "read"]
    assert len(steps) == 40
    for statuses in steps.values():  # each recipient's events move forward, from sending to read
        assert statuses[0] == "sending" and statuses[-1] == "read"
        assert [order.index(s) for s in statuses] == sorted({order.index(s) for s in statuses})
    progress = [e for e in seen if e.data["kind"] == "progress"]
    gaps = [b.timestamp - a.timestamp for a, b in pairwise(progress)]
    assert all(gap >= 450 for gap in gaps), gaps  # at most two a second (ms, with the clock's rounding)
    assert progress[-1].data["percent"] == 100.0 and progress[-1].data["total"] == 40
    assert set(progress[-1].data) >= {"counts", "percent", "etaSeconds", "status"}


async def test_two_campaigns_on_one_session_never_send_at_the_same_time(
    linked: Harness, monkeypatch: pytest.MonkeyPatch
) -> None:
    in_flight, most = 0, 0
    original = SandboxEngine.send

    async def watched(self: SandboxEngine, message: Any) -> Any:
        nonlocal in_flight, most
        in_flight += 1
        most = max(most, in_flight)
        try:
            await asyncio.sleep(0.002)  # room for a second send to overlap, if anything allowed it
            return await original(self, message)
        finally:
            in_flight -= 1

    monkeypatch.setattr(SandboxEngine, "send", watched)
    first = await create(linked.client, recipients=recipients(phones(15)), start=True)
    second = await create(linked.client, recipients=recipients(phones(15, start=100)), start=True)
    await wait_for(linked.client, first["id"], "completed")
    await wait_for(linked.client, second["id"], "completed")
    assert most == 1


async def test_the_session_rate_holds_for_campaigns_too(linked: Harness) -> None:
    window = linked.gateway.messages._queues.get("default")  # the session's own send rate
    taken = 0
    original = window.acquire

    async def counted() -> None:
        nonlocal taken
        taken += 1
        await original()

    window.acquire = counted  # type: ignore[method-assign]
    campaign = await create(linked.client, recipients=recipients(phones(5)), start=True)
    await wait_for(linked.client, campaign["id"], "completed")
    assert taken == 5


async def test_a_temporary_ban_pauses_the_campaign_until_someone_resumes_it(linked: Harness) -> None:
    client = linked.client
    campaign = await create(linked.client, recipients=recipients(phones(40)), start=True,
                            throttle={"minDelay": 0.05, "maxDelay": 0.05, "perMinute": None, "perHour": None,
                                      "perDay": None})
    cid = campaign["id"]
    await wait_for(client, cid, "running", sending=0, read=2)
    updates = linked.gateway.bus.subscribe()
    assert (await client.post("/api/sandbox/fail", json={"kind": "temporary_ban"})).status_code == 200
    paused = await wait_for(client, cid, "paused")
    assert paused["reason"]["code"] == "temporary_ban" and paused["reason"]["resumesByItself"] is False
    # The ban lasts only WAQTOR_SANDBOX_RECONNECT_DELAY here, so read what the session reported then.
    errors = []
    while updates.pending():
        event = await updates.get()
        if event.type == "session_update" and event.data["lastError"]:
            errors.append(event.data["lastError"]["code"])
    updates.close()
    assert "temporary_ban" in errors
    sender = linked.gateway.campaigns.runner.sender("default")
    assert sender is not None
    await eventually(lambda: sender.sees_ready, 5, "the sender to see the session ready after the ban")
    await runner_looked(linked)
    still = await get(client, cid)
    assert still["status"] == "paused" and still["counts"]["pending"] > 0
    assert (await act(client, cid, "resume")).status_code == 200
    await wait_for(client, cid, "completed")


@pytest.mark.parametrize(("kind", "reason"), [("disconnect", "connection_lost"), ("logout", "logged_out")])
async def test_a_disconnect_or_logout_pauses_and_a_reconnect_resumes(linked: Harness, kind: str, reason: str) -> None:
    client = linked.client
    subscription = linked.gateway.bus.subscribe()
    campaign = await create(client, recipients=recipients(phones(30)), start=True,
                            throttle={"minDelay": 0.05, "maxDelay": 0.05, "perMinute": None, "perHour": None,
                                      "perDay": None})
    cid = campaign["id"]
    await wait_for(client, cid, "running", read=2)
    await client.post("/api/sandbox/fail", json={"kind": kind})
    if kind == "logout":
        await eventually(lambda: linked.gateway.sessions.get("default").monitor.state.has_qr, 5, "a QR code")
        await linked.scan()
    await wait_for(client, cid, "completed")
    paused = []
    async for event in subscription:
        if event.type == CAMPAIGN and event.data["kind"] in ("paused", "resumed"):
            paused.append((event.data["kind"], (event.data["reason"] or {}).get("code")))
            if event.data["kind"] == "resumed":
                break
    subscription.close()
    assert paused == [("paused", reason), ("resumed", None)]


async def test_too_many_failures_in_a_row_pause_the_campaign(linked: Harness) -> None:
    paused = await paused_after_three_failures(linked.client)
    assert paused["reason"]["resumesByItself"] is False


async def test_cancelling_a_running_campaign_skips_the_rest(linked: Harness) -> None:
    campaign = await create(linked.client, recipients=recipients(phones(30)), start=True,
                            throttle={"minDelay": 0.05, "maxDelay": 0.05, "perMinute": None, "perHour": None,
                                      "perDay": None})
    await wait_for(linked.client, campaign["id"], "running", read=1)
    assert (await act(linked.client, campaign["id"], "cancel")).status_code == 200
    cancelled = await wait_for(linked.client, campaign["id"], "cancelled")
    assert cancelled["finishedAt"] and cancelled["etaSeconds"] is None

    async def nothing_in_flight() -> bool:  # the message being sent at the cancel still finishes
        return (await get(linked.client, campaign["id"]))["counts"]["sending"] == 0

    await eventually(nothing_in_flight, 5, "the last send to finish")
    found = await all_recipients(linked.client, campaign["id"])
    skipped = [r for r in found if r["status"] == "skipped"]
    assert skipped and all(r["reason"].startswith("cancelled") for r in skipped)
    assert not [r for r in found if r["status"] in ("pending", "sending")]
    assert [r for r in found if r["status"] in ("sent", "delivered", "read")]


async def test_deleting_the_session_fails_its_campaigns(gw: Harness) -> None:
    created = await gw.client.post("/api/sessions", json={"name": "shop", "engine": "sandbox"})
    assert created.status_code == 201, created.text
    campaign = await create(gw.client, session="shop")
    assert (await gw.client.delete("/api/sessions/shop")).status_code == 200
    failed = await get(gw.client, campaign["id"])
    assert failed["status"] == "failed" and failed["reason"]["code"] == "session_deleted"


async def test_a_campaign_waits_while_its_session_is_not_connected(gw: Harness) -> None:
    campaign = await create(gw.client, recipients=recipients(phones(3)), start=True)
    await runner_looked(gw)
    waiting = await get(gw.client, campaign["id"])
    assert waiting["status"] == "running" and waiting["counts"]["pending"] == 3
    await gw.scan()
    await wait_for(gw.client, campaign["id"], "completed")


async def test_a_campaign_runs_to_completion_on_postgresql(data_dir: Any) -> None:
    from tests.conftest import in_process, make_settings
    from tests.pg import fresh_database

    async with fresh_database() as url, in_process(make_settings(data_dir, database_url=url)) as gw:
        await gw.scan()
        campaign = await create(gw.client, recipients=recipients(phones(12)), start=True)
        await wait_for(gw.client, campaign["id"], "completed")
        found = await all_recipients(gw.client, campaign["id"])
        assert len(found) == 12 and all(r["status"] in ("sent", "delivered", "read") for r in found)
