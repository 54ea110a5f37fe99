"""Campaign events reach a WebSocket client subscribed to `campaign`, from start to completion."""

from __future__ import annotations

from tests.campaigns.helpers import definition, phones, recipients
from tests.conftest import LiveServer
from tests.ws_client import command, open_ws, recv_type


async def test_a_client_follows_a_campaign_over_the_websocket(live: LiveServer) -> None:
    async with live.client() as http, await open_ws(live) as ws:
        await http.post("/api/sandbox/scan")
        await command(ws, "subscribed", type="subscribe", events=["campaign"])
        created = await http.post("/api/campaigns", json=definition(recipients=recipients(phones(3)), start=True))
        cid = created.json()["data"]["campaign"]["id"]
        kinds = []
        while "completed" not in kinds:
            frame = await recv_type(ws, "campaign", timeout=10)
            assert frame["session"] == "default" and frame["data"]["campaignId"] == cid
            kinds.append(frame["data"]["kind"])
        assert kinds[0] == "started" and "recipient" in kinds
        while (frame := await recv_type(ws, "campaign", timeout=10))["data"]["kind"] != "progress":
            pass
        assert set(frame["data"]["counts"]) == {"pending", "sending", "sent", "delivered", "read", "failed",
                                                "skipped", "unknown"}
