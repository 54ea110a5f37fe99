"""PostgreSQL out of reach for a while: the gateway says it is degraded and which dependency is down,
holds the messages it receives meanwhile (in order, up to WAQTOR_INBOUND_BUFFER), stores them once the
database is back, and is healthy again by itself.

The database is a throwaway one, taken down by refusing its connections (tests/pg.py); the machine's
PostgreSQL server keeps running for every other test.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from tests.conftest import Harness, eventually, in_process, make_settings
from tests.pg import fresh_database, set_connections_allowed

SENDER = "+4915112345678"


async def receive(gw: Harness, body: str) -> None:
    response = await gw.client.post("/api/sandbox/inbound", json={"from": SENDER, "body": body})
    assert response.status_code == 200, response.text


async def health(gw: Harness) -> tuple[int, dict[str, Any]]:
    response = await gw.client.get("/health")
    return response.status_code, response.json()


async def bodies(gw: Harness) -> list[str]:
    response = await gw.client.get("/api/messages", params={"direction": "in"})
    if response.status_code != 200:
        return []
    return [m["body"] for m in reversed(response.json()["data"]["messages"])]


async def test_messages_received_while_the_database_is_down_are_stored_in_order_when_it_is_back(
        data_dir: Path) -> None:
    async with fresh_database() as url, in_process(make_settings(data_dir, database_url=url, lease_ttl=60)) as gw:
        await gw.scan()
        await receive(gw, "before")
        await set_connections_allowed(url, False)
        try:
            for n in range(3):
                await receive(gw, f"during {n}")
            status, body = await health(gw)
            assert status == 503 and body["status"] == "degraded"
            assert body["database"] == {"reachable": False} and body["bus"]["reachable"] is True
            assert body["held"]["inbound"] == 3
            # A send cannot be logged now: the caller is told to come back, not given a 500.
            sent = await gw.client.post("/api/messages/send", json={"to": SENDER, "text": "not now"})
            assert sent.status_code == 503 and sent.json()["error"]["code"] == "database_unavailable"
            assert sent.headers["Retry-After"]
        finally:
            await set_connections_allowed(url, True)

        async def stored() -> bool:
            return await bodies(gw) == ["before", "during 0", "during 1", "during 2"]

        await eventually(stored, timeout=30, what="the held messages stored once the database is back")
        status, body = await health(gw)
        assert (status, body["status"], body["held"]["inbound"]) == (200, "ok", 0)
        assert (await gw.state())["stats"]["messagesReceived"] == 4
        await receive(gw, "after")
        assert (await bodies(gw))[-1] == "after"


async def test_when_the_held_messages_pass_the_limit_the_oldest_are_dropped(data_dir: Path) -> None:
    async with fresh_database() as url:
        settings = make_settings(data_dir, database_url=url, lease_ttl=60, inbound_buffer=2)
        async with in_process(settings) as gw:
            await gw.scan()
            await set_connections_allowed(url, False)
            try:
                for n in range(4):
                    await receive(gw, f"during {n}")
                assert gw.gateway.messages.backlog.dropped == 2
            finally:
                await set_connections_allowed(url, True)

            async def stored() -> bool:
                return await bodies(gw) == ["during 2", "during 3"]

            await eventually(stored, timeout=30, what="the two newest held messages stored")
