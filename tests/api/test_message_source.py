"""Where every message came from (`source`: api, campaign, phone, contact): in the log, on the `message`
events (which the webhooks carry as they are), and as a filter of GET /api/messages."""

from __future__ import annotations

from typing import Any

from tests.api.test_bad_input import assert_error
from tests.campaigns.helpers import create, recipients, wait_for
from tests.conftest import Harness
from waqtor.events import MESSAGE

ANA = "4915100000001"


async def listed(gw: Harness, **query: str) -> list[dict[str, Any]]:
    response = await gw.client.get("/api/messages", params=query)
    assert response.status_code == 200, response.text
    return response.json()["data"]["messages"]  # type: ignore[no-any-return]


async def test_each_message_says_where_it_came_from_and_the_log_filters_by_it(gw: Harness) -> None:
    await gw.scan()
    subscription = gw.gateway.bus.subscribe()
    sent = (await gw.client.post("/api/messages/send", json={"to": "+" + ANA, "text": "from the API"})).json()["data"]
    campaign = await create(gw.client, recipients=recipients(["+4915100000002"]), start=True)
    await wait_for(gw.client, campaign["id"], "completed")
    for body in ({"from": ANA, "body": "from Ana"}, {"from": ANA, "body": "from my phone", "fromMe": True}):
        assert (await gw.client.post("/api/sandbox/inbound", json=body)).status_code == 200
    by_source = {source: await listed(gw, source=source) for source in ("api", "campaign", "phone", "contact")}
    assert {source: [row["body"] for row in rows] for source, rows in by_source.items()} == {
        "api": ["from the API"], "campaign": ["Hi P0!"], "phone": ["from my phone"], "contact": ["from Ana"]}
    assert by_source["api"][0]["id"] == sent["id"] and by_source["campaign"][0]["campaignId"] == campaign["id"]
    assert [row["source"] for row in await listed(gw, source="contact", direction="in")] == ["contact"]
    published = []
    while subscription.pending():
        event = await subscription.get()
        if event.type == MESSAGE:
            published.append((event.data["body"], event.data["source"]))
    assert set(published) == {("from the API", "api"), ("Hi P0!", "campaign"), ("from my phone", "phone"),
                              ("from Ana", "contact")}


async def test_an_unknown_source_is_a_validation_error(gw: Harness) -> None:
    assert_error(await gw.client.get("/api/messages", params={"source": "robot"}), 422, "validation_error")
