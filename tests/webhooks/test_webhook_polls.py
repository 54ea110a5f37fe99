"""Poll votes reach webhooks: `poll_vote` is delivered to a webhook subscribed to it."""

from __future__ import annotations

from pathlib import Path

from tests.conftest import in_process, make_settings
from tests.webhook_receiver import FAST, Receiver, register
from tests.webhooks.test_webhook_presence import CONTACT


async def test_a_contact_s_vote_is_delivered_to_webhooks(data_dir: Path, receiver: Receiver) -> None:
    async with in_process(make_settings(data_dir, **FAST)) as gw:
        await register(gw.client, receiver.url(), events=["poll_vote"])
        await gw.scan()
        poll = (await gw.client.post("/api/messages/send-poll", json={"to": CONTACT, "question": "Rye or spelt?",
                                                                      "options": ["Rye", "Spelt"]})).json()["data"]
        answer = await gw.client.post("/api/sandbox/inbound", json={"from": CONTACT, "kind": "vote",
                                                                    "messageId": poll["waId"], "options": ["Spelt"]})
        assert answer.status_code == 200, answer.text
        (request,) = await receiver.wait_for(1)
        assert request.json["event"] == "poll_vote"
        data = request.json["data"]
        assert (data["messageId"], data["from"], data["options"]) == (
            poll["id"], f"{CONTACT}@s.whatsapp.net", ["Spelt"])
