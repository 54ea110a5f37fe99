"""Replies and reactions reach webhooks: a quoted reply's `message` carries `replyTo`, and `message_reaction`
is delivered to a webhook subscribed to it."""

from __future__ import annotations

from pathlib import Path

from tests.conftest import Harness, in_process, make_settings
from tests.webhook_receiver import FAST, Receiver, register

CONTACT = "4915100000001"


async def test_a_quoted_reply_and_a_reaction_are_delivered_to_webhooks(data_dir: Path, receiver: Receiver) -> None:
    async with in_process(make_settings(data_dir, **FAST)) as gw:
        await register(gw.client, receiver.url(), events=["message_reaction", "message"])
        await gw.scan()
        ours = (await gw.client.post("/api/messages/send", json={"to": CONTACT, "text": "Fresh bread!"})).json()
        ours = ours["data"]
        await inbound(gw, body="two please", replyTo=ours["waId"])
        await inbound(gw, kind="react", messageId=ours["waId"], emoji="👍")
        requests = await receiver.wait_for(3)
        (reply,) = [r.json["data"] for r in requests if r.json["data"].get("body") == "two please"]
        assert reply["replyTo"] == {"id": ours["id"], "waId": ours["waId"]}
        (reaction,) = [r.json["data"] for r in requests if r.json["event"] == "message_reaction"]
        assert (reaction["messageId"], reaction["emoji"], reaction["from"], reaction["removed"]) == (
            ours["id"], "👍", f"{CONTACT}@s.whatsapp.net", False)


async def inbound(gw: Harness, **body: object) -> None:
    response = await gw.client.post("/api/sandbox/inbound", json={"from": CONTACT, **body})
    assert response.status_code == 200, response.text
