"""A contact's presence reaches webhooks: `presence_update` is delivered to a webhook subscribed to it."""

from __future__ import annotations

from pathlib import Path

from tests.conftest import in_process, make_settings
from tests.webhook_receiver import FAST, Receiver, register

CONTACT = "4915100000001"


async def test_a_contact_going_offline_is_delivered_to_webhooks(data_dir: Path, receiver: Receiver) -> None:
    async with in_process(make_settings(data_dir, **FAST)) as gw:
        await register(gw.client, receiver.url(), events=["presence_update"])
        await gw.scan()
        answer = await gw.client.post("/api/sandbox/presence", json={"from": CONTACT, "state": "unavailable",
                                                                     "lastSeen": "2026-12-08T01:00:00Z"})
        assert answer.status_code == 200, answer.text
        (request,) = await receiver.wait_for(1)
        assert request.json["event"] == "presence_update"
        data = request.json["data"]
        assert (data["session"], data["from"], data["state"], data["lastSeen"]) == (
            "default", f"{CONTACT}@s.whatsapp.net", "unavailable", "2026-12-08T01:00:00.000Z")
