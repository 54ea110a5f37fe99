"""A Redis restart is survived: while Redis is down the webhook outbox (in PostgreSQL) keeps delivering
and publishing waits; once it is back every instance reconnects, and nothing is lost.

The test runs its own Redis on a free port, started with `start_redis` from scripts/_services.sh (the
function that starts the machine's Redis), so restarting it disturbs no other test; it is shut down
whatever happens.
"""

from __future__ import annotations

import asyncio
import socket
import subprocess
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest

from tests.cluster.instances import ROOT, Cluster, frames_until, open_ws, running
from tests.cluster.test_instances import get, post, two
from tests.conftest import eventually, free_port
from tests.webhook_receiver import Receiver, Reply


class RedisServer:
    def __init__(self, port: int, directory: Path) -> None:
        self.port = port
        self.dir = directory
        self.url = f"redis://127.0.0.1:{port}/0"

    def _answers(self) -> bool:
        try:
            with socket.create_connection(("127.0.0.1", self.port), timeout=0.5) as sock:
                sock.sendall(b"PING\r\n")
                return sock.recv(16).startswith(b"+PONG")
        except OSError:
            return False

    async def start(self) -> None:
        await run(["bash", "-c", '. scripts/_services.sh && start_redis "$@"', "start_redis", str(self.port),
                   str(self.dir), str(self.dir / "redis.log")], cwd=ROOT, check=True)
        await eventually(self._answers, timeout=10, what="Redis answering")

    async def shutdown(self) -> None:
        await run(["redis-cli", "-h", "127.0.0.1", "-p", str(self.port), "shutdown", "nosave"], check=False)
        await eventually(lambda: not self._answers(), timeout=10, what="Redis gone")


async def run(argv: list[str], check: bool, cwd: Path | None = None) -> None:
    """`subprocess.run(argv, capture_output=True, check=check)` without blocking the event loop."""
    proc = await asyncio.create_subprocess_exec(*argv, cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    stdout, stderr = await proc.communicate()
    if check and proc.returncode:
        raise subprocess.CalledProcessError(proc.returncode, argv, stdout, stderr)


@pytest.fixture
async def redis_server(tmp_path: Path) -> AsyncIterator[RedisServer]:
    server = RedisServer(free_port(), tmp_path / "redis")
    await server.start()
    try:
        yield server
    finally:
        await server.shutdown()


async def test_instances_survive_a_redis_restart_and_the_outbox_loses_nothing(
        redis_server: RedisServer, make_cluster: Callable[..., Awaitable[Cluster]]) -> None:
    receiver = Receiver()
    await receiver.start()
    cluster = await make_cluster(redis_url=redis_server.url, webhook_poll_interval=0.2)
    try:
        async with running(cluster):
            receiver.always("/hook", Reply(status=503, headers={"Retry-After": "1"}))
            a, b = await two(cluster)
            hook = await post(a, "/api/webhooks", url=receiver.url("/hook"), events=["message"])
            await post(a, "/api/sandbox/scan")
            ws = await open_ws(b)
            try:
                await post(b, "/api/sandbox/inbound", **{"from": "4915199999999", "body": "before"})

                async def deliveries() -> list[dict[str, Any]]:
                    page = await get(b, f"/api/webhooks/{hook['id']}/deliveries")
                    return page["deliveries"]  # type: ignore[no-any-return]

                async def first_attempt_failed() -> bool:
                    rows = await deliveries()
                    return len(rows) == 1 and rows[0]["status"] == "failed"

                await eventually(first_attempt_failed, timeout=15, what="the first delivery waiting for a retry")

                await redis_server.shutdown()

                async def degraded() -> bool:
                    health = await b.health()
                    return health["status"] == "degraded" and health["bus"]["reachable"] is False

                await eventually(degraded, timeout=10, what="b reporting Redis unreachable")
                receiver.always("/hook", Reply(status=200))

                async def delivered(count: int) -> bool:
                    rows = await deliveries()
                    return len(rows) == count and all(r["status"] == "delivered" for r in rows)

                # The outbox lives in PostgreSQL: its retry goes out while Redis is down.
                await eventually(lambda: delivered(1), timeout=15, what="the retry delivered during the outage")
                # Publishing waits for Redis: this message's events go out once it is back.
                during = asyncio.create_task(post(a, "/api/sandbox/inbound",
                                                  **{"from": "4915199999999", "body": "during"}))
                await asyncio.sleep(0.3)
                assert not during.done()
                restarted = time.monotonic()
                await redis_server.start()
                await asyncio.wait_for(during, timeout=30)

                async def healthy(instance: Any) -> bool:
                    return (await instance.health())["status"] == "ok"

                await eventually(lambda: healthy(a), timeout=15, what="a healthy again")
                await eventually(lambda: healthy(b), timeout=15, what="b healthy again")
                # b forwards to a over the reconnected command channel.
                await post(b, "/api/sandbox/inbound", **{"from": "4915199999999", "body": "after"})
                frames = await frames_until(ws, lambda f: f["type"] == "message" and f["data"]["body"] == "after",
                                            timeout=20)
                assert time.monotonic() - restarted < 60
            finally:
                await ws.close()
            bodies = [f["data"]["body"] for f in frames if f["type"] == "message"]
            assert "during" in bodies and bodies.index("during") < bodies.index("after")
            await eventually(lambda: delivered(3), timeout=20, what="every message delivered once")
            got = [r.json["data"]["body"] for r in receiver.requests if r.json["data"].get("direction") == "in"]
            assert sorted(set(got)) == ["after", "before", "during"]
            assert got.count("during") == 1 and got.count("after") == 1
    finally:
        await receiver.stop()
