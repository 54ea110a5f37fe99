"""The Node receiver printed in docs/api-reference.md, run with `node`, verifies real deliveries."""

from __future__ import annotations

import asyncio
import os
import shutil
import time
from pathlib import Path

import httpx

from tests.conftest import Harness, free_port
from tests.webhook_receiver import delivery_settles, doc_block, register

NODE = shutil.which("node")


async def test_the_documented_node_receiver_accepts_deliveries_and_refuses_forgeries(
    gw: Harness, tmp_path: Path
) -> None:
    assert NODE is not None, "Node.js 20 is needed for this test (the machine provides it; apt-get install nodejs)"
    script = tmp_path / "receiver.js"
    script.write_text(doc_block("verify-node"))
    port = free_port()
    hook = await register(gw.client, f"http://127.0.0.1:{port}/waqtor", events=["message"])
    node = await asyncio.create_subprocess_exec(
        NODE,
        str(script),
        stdout=asyncio.subprocess.PIPE,
        env={**os.environ, "PORT": str(port), "WAQTOR_WEBHOOK_SECRET": hook["secret"]},
    )
    assert node.stdout is not None
    try:
        assert (await asyncio.wait_for(node.stdout.readline(), 15)).decode().strip() == f"listening on {port}"
        event = await gw.gateway.bus.publish("message", {"body": "héllo from the test"}, session="default")
        line = (await asyncio.wait_for(node.stdout.readline(), 15)).decode().strip()
        [logged] = await delivery_settles(gw.client, hook["id"], "delivered")
        assert line == f'{logged["id"]} message {{"body":"héllo from the test"}}'
        assert logged["eventId"] == event.id
        async with httpx.AsyncClient() as http:
            forged = await http.post(
                f"http://127.0.0.1:{port}/waqtor",
                content=b'{"event":"message"}',
                headers={
                    "X-Waqtor-Timestamp": str(int(time.time())),
                    "X-Waqtor-Signature": "sha256=" + "0" * 64,
                },
            )
        assert forged.status_code == 401
    finally:
        node.terminate()
        await node.wait()
