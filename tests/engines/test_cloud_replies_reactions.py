"""Replies and reactions on the Cloud API engine: webhook payloads parsed by pywa through the engine's own
route, and what the engine asks of Meta's Graph API (faked at the HTTP edge, tests/engines/test_cloud_engine)."""

from __future__ import annotations

import json
from typing import Any

from tests.conftest import Harness
from tests.engines import test_cloud_engine
from tests.engines.test_cloud_engine import CONTACT, TEXT, Meta, logged_in, message_sends, post, webhook
from waqtor import events

# The fixtures: Meta's Graph API faked, and a gateway with a connected Cloud API session.
meta = test_cloud_engine.meta
cloud = test_cloud_engine.cloud

OUR_WAMID = "wamid.HBgLMTU1NTAxMDAxOTkVAgARGBI"  # what the fake Meta answers every send with


def from_ana(message: dict[str, Any]) -> dict[str, Any]:
    return webhook({"contacts": [CONTACT], "messages": [
        {"from": "4915199999999", "from_user_id": "US.13491208655302741918", "timestamp": "1761650000", **message}]})


async def test_a_reply_asks_meta_to_quote_the_message_by_its_whatsapp_id(cloud: Harness, meta: Meta) -> None:
    assert (await post(cloud, TEXT)).status_code == 200
    quoted = (await logged_in(cloud))["wamid.IN0001"]
    sent = await cloud.client.post("/api/messages/send", json={"to": "+4915199999999", "text": "Yes, until 6.",
                                                               "replyTo": quoted["id"]})
    assert sent.status_code == 200, sent.text
    assert sent.json()["data"]["replyTo"] == {"id": quoted["id"], "waId": "wamid.IN0001"}
    (request,) = message_sends(meta)
    assert json.loads(request.content)["context"] == {"message_id": "wamid.IN0001"}


async def test_an_inbound_reply_names_our_message_by_both_ids(cloud: Harness) -> None:
    ours = (await cloud.client.post("/api/messages/send", json={"to": "+4915199999999", "text": "Fresh bread!"}))
    reply = from_ana({"id": "wamid.IN0002", "type": "text", "text": {"body": "Two please"},
                      "context": {"from": "15550100199", "id": OUR_WAMID}})
    assert (await post(cloud, reply)).status_code == 200
    logged = (await logged_in(cloud))["wamid.IN0002"]
    assert logged["replyTo"] == {"id": ours.json()["data"]["id"], "waId": OUR_WAMID}


async def test_a_reaction_is_sent_as_meta_s_reaction_message_and_kept_on_the_message(
        cloud: Harness, meta: Meta) -> None:
    assert (await post(cloud, TEXT)).status_code == 200
    message_id = (await logged_in(cloud))["wamid.IN0001"]["id"]
    reacted = await cloud.client.post(f"/api/messages/{message_id}/reaction", json={"emoji": "👍"})
    assert reacted.status_code == 200, reacted.text
    assert [(r["fromMe"], r["emoji"]) for r in reacted.json()["data"]["reactions"]] == [(True, "👍")]
    removed = await cloud.client.post(f"/api/messages/{message_id}/reaction", json={"emoji": ""})
    assert removed.json()["data"]["reactions"] == []
    bodies = [json.loads(request.content) for request in message_sends(meta)]
    assert [(body["type"], body["to"], body["reaction"]) for body in bodies] == [
        ("reaction", "4915199999999", {"message_id": "wamid.IN0001", "emoji": "👍"}),
        ("reaction", "4915199999999", {"message_id": "wamid.IN0001", "emoji": ""}),
    ]


async def test_an_inbound_reaction_is_stored_on_its_message_and_published(cloud: Harness) -> None:
    ours = (await cloud.client.post("/api/messages/send", json={"to": "+4915199999999", "text": "Fresh bread!"}))
    subscription = cloud.gateway.bus.subscribe()
    reaction = from_ana({"id": "wamid.R1", "type": "reaction", "reaction": {"message_id": OUR_WAMID, "emoji": "😍"}})
    assert (await post(cloud, reaction)).status_code == 200
    event = await subscription.get()
    while event.type != events.MESSAGE_REACTION:
        event = await subscription.get()
    assert {key: event.data[key] for key in ("messageId", "waId", "from", "fromMe", "emoji", "removed")} == {
        "messageId": ours.json()["data"]["id"], "waId": OUR_WAMID, "from": "4915199999999@s.whatsapp.net",
        "fromMe": False, "emoji": "😍", "removed": False}
    message = (await cloud.client.get(f"/api/messages/{ours.json()['data']['id']}")).json()["data"]
    assert [(r["from"], r["emoji"]) for r in message["reactions"]] == [("4915199999999@s.whatsapp.net", "😍")]
    assert await logged_in(cloud) == {}  # a reaction is not a message of its own
