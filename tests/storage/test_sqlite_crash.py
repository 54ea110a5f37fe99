"""`kill -9` of a gateway process while it writes its SQLite database (a burst of sends and of received
messages, some with a file): the database is in WAL mode and intact afterwards, every message the
gateway answered for is there, each message is recorded whole or not at all, and after the restart the
session's counters agree with the message log.
"""

from __future__ import annotations

import asyncio
import base64
import json
import sqlite3
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.cluster.instances import Instance
from tests.conftest import API_KEY, eventually
from tests.messaging.samples import sample

ENV = {
    "WAQTOR_HOST": "127.0.0.1", "WAQTOR_ENGINE": "sandbox", "WAQTOR_SANDBOX_ENABLED": "true",
    "WAQTOR_API_KEY": API_KEY, "WAQTOR_SANDBOX_ACK_DELAY": "0.01", "WAQTOR_RATE_LIMIT": "0",
    "WAQTOR_SEND_RATE": "100000/minute", "WAQTOR_LOG_LEVEL": "warning",
}
IMAGE = base64.b64encode(sample("png", 20_000)).decode()


@pytest.fixture
async def gateway(tmp_path: Path) -> AsyncIterator[Instance]:
    instance = Instance("gateway", tmp_path, ENV)
    instance.launch()
    try:
        await instance.ready()
        yield instance
    except BaseException:
        print(instance.tail())
        raise
    finally:
        await instance.stop()


class Burst:
    """Clients that send and receive messages as fast as the gateway answers, until cancelled; what the
    gateway answered for is kept."""

    def __init__(self, instance: Instance) -> None:
        self.instance = instance
        self.received: list[str] = []  # WhatsApp ids of received messages the gateway took
        self.sent: list[int] = []  # log ids of messages the gateway answered as sent

    async def receive(self, client: httpx.AsyncClient, n: int) -> None:
        for i in range(10_000):
            body: dict[str, Any] = {"from": f"+49151{n:04d}{i:04d}", "body": f"in {n}/{i}"}
            if i % 5 == 0:
                body["media"] = {"data": IMAGE, "fileName": f"photo{n}-{i}.png"}
            answer = await client.post("/api/sandbox/inbound", json=body)
            if answer.status_code == 200:
                self.received.append(answer.json()["data"]["id"])

    async def send(self, client: httpx.AsyncClient, n: int) -> None:
        for i in range(10_000):
            answer = await client.post("/api/messages/send", json={"to": f"+49152{n:04d}{i:04d}", "text": f"out {i}"})
            if answer.status_code == 200:
                self.sent.append(answer.json()["data"]["id"])

    async def run_until_killed(self, answered: int) -> None:
        async with self.instance.client() as client:
            workers = [asyncio.create_task(self.receive(client, n)) for n in range(3)]
            workers += [asyncio.create_task(self.send(client, n)) for n in range(3)]
            try:
                await eventually(lambda: len(self.received) + len(self.sent) >= answered, timeout=60,
                                 what=f"{answered} messages answered")
                self.instance.kill()  # mid-burst: requests are in flight
            finally:
                await asyncio.gather(*workers, return_exceptions=True)


def database(instance: Instance) -> Path:
    return instance.dir / "data" / "waqtor.db"


def check_file(path: Path) -> tuple[str, str, list[Any]]:
    with sqlite3.connect(path) as conn:
        mode = conn.execute("PRAGMA journal_mode").fetchone()[0]
        integrity = conn.execute("PRAGMA integrity_check").fetchone()[0]
        orphans = conn.execute("PRAGMA foreign_key_check").fetchall()
    return mode, integrity, orphans


async def every_message(client: httpx.AsyncClient) -> list[dict[str, Any]]:
    export = await client.get("/api/messages/export", params={"format": "jsonl"})
    assert export.status_code == 200, export.text
    return [json.loads(line) for line in export.text.splitlines()]


async def test_a_kill_during_a_burst_of_writes_leaves_the_database_whole_and_the_counters_right(
        gateway: Instance) -> None:
    async with gateway.client() as client:
        assert (await client.post("/api/sandbox/scan")).status_code == 200
    burst = Burst(gateway)
    await burst.run_until_killed(answered=150)

    mode, integrity, orphans = check_file(database(gateway))
    assert (mode, integrity, orphans) == ("wal", "ok", [])

    gateway.launch()
    await gateway.ready()
    async with gateway.client() as client:
        async def connected() -> bool:
            return (await client.get("/api/session/state")).json()["data"]["status"] == "connected"

        await eventually(connected, timeout=30, what="the session back after the restart")
        log = await every_message(client)
        incoming = [m for m in log if m["direction"] == "in"]
        outgoing = [m for m in log if m["direction"] == "out"]
        # Nothing the gateway answered for is lost, and nothing is there twice.
        assert set(burst.received) <= {m["waId"] for m in incoming}
        assert set(burst.sent) <= {m["id"] for m in outgoing}
        assert len({m["waId"] for m in incoming}) == len(incoming)
        # Whole or absent: a received file is readable, a send cut off is failed rather than left queued.
        for message in incoming:
            if message["media"] is not None:
                assert (await client.get(message["media"]["url"])).status_code == 200, message
        assert not [m for m in outgoing if m["status"] == "queued"]
        stats = (await client.get("/api/session/state")).json()["data"]["stats"]
        assert stats == {"messagesReceived": len(incoming),
                         "messagesSent": sum(1 for m in outgoing if m["sentAt"] is not None)}
    assert not list((gateway.dir / "data" / "media" / ".incoming").glob("*.part")), "no partial upload is kept"
