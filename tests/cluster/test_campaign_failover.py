"""A campaign runs through the failover of its session's owner: `kill -9` of the instance sending it
mid-way, another instance takes the session over and finishes the campaign, and the message log shows
every recipient sent exactly once (a message cut off mid-hand-over is `unknown` and never sent again).
"""

from __future__ import annotations

import json
from collections import Counter
from typing import Any

from tests.campaigns.helpers import phones, recipients
from tests.cluster.instances import Cluster, Instance
from tests.cluster.test_instances import TAKEOVER, get, post, runs, two
from tests.conftest import eventually

SENT = {"sent", "delivered", "read"}
TOTAL = 150


async def campaign(instance: Instance, cid: str) -> dict[str, Any]:
    return await get(instance, f"/api/campaigns/{cid}")


async def every_recipient(instance: Instance, cid: str) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = []
    cursor = None
    while True:
        params = "?limit=1000" + (f"&cursor={cursor}" if cursor else "")
        page = await get(instance, f"/api/campaigns/{cid}/recipients{params}")
        found += page["recipients"]
        if not (cursor := page["nextCursor"]):
            return found


async def campaign_log(instance: Instance, cid: str) -> list[dict[str, Any]]:
    async with instance.client() as client:
        export = await client.get("/api/messages/export", params={"format": "jsonl", "direction": "out"})
    assert export.status_code == 200, export.text
    return [m for m in map(json.loads, export.text.splitlines()) if m["campaignId"] == cid]


async def test_a_campaign_survives_the_death_of_its_sessions_owner_and_sends_each_recipient_once(
        cluster: Cluster) -> None:
    a, b = await two(cluster)
    await post(a, "/api/sandbox/scan", phone="4915100000009")
    throttle = {"minDelay": 0.02, "maxDelay": 0.04, "perMinute": None, "perHour": None, "perDay": None}
    created = await post(b, "/api/campaigns", name="Failover", message={"text": "Hi {name}"},
                         recipients=recipients(phones(TOTAL)), throttle=throttle, start=True)
    cid = created["campaign"]["id"]

    async def sent_some() -> bool:
        return (await campaign(b, cid))["counts"]["pending"] <= TOTAL - 20

    await eventually(sent_some, timeout=30, what="a sending its first recipients")
    a.kill()
    left = await campaign(b, cid)
    assert left["counts"]["pending"] > 0, "the kill came after the campaign had ended"
    await eventually(lambda: runs(b, "default"), timeout=TAKEOVER, what="b taking the session over")

    async def completed() -> bool:
        return (await campaign(b, cid))["status"] == "completed"

    await eventually(completed, timeout=60, what="b completing the campaign")
    done = await campaign(b, cid)
    every = await every_recipient(b, cid)
    log = await campaign_log(b, cid)

    assert len(every) == TOTAL and done["counts"]["pending"] == done["counts"]["sending"] == 0
    assert {r["status"] for r in every} <= SENT | {"unknown"}
    accepted = Counter(m["chat"] for m in log if m["waId"] is not None)
    for recipient in every:
        jid = recipient["phone"].lstrip("+") + "@s.whatsapp.net"
        # Sent: exactly one message WhatsApp took. Unknown: logged, never confirmed, never sent again.
        assert accepted[jid] == (0 if recipient["status"] == "unknown" else 1), recipient
    assert not [m for m in log if m["status"] == "queued"], "nothing is left queued after the takeover"
    counts = done["counts"]
    assert sum(counts[s] for s in SENT) == sum(accepted.values()), "the campaign's counts agree with the log"
    assert counts.get("unknown", 0) == sum(1 for r in every if r["status"] == "unknown")
