"""documentation/QUICKSTART.md works as written: its curl commands run, in order, against a live gateway
on the sandbox engine, and leave the gateway where the guide says they do."""

from __future__ import annotations

import asyncio
import os
import re
from pathlib import Path

from tests.conftest import API_KEY, LiveServer, eventually

ROOT = Path(__file__).resolve().parents[1]
GUIDE = ROOT / "documentation" / "QUICKSTART.md"


def curl_blocks(text: str) -> list[str]:
    """The guide's bash blocks that call the API (the others start the gateway or set the key)."""
    return [block for block in re.findall(r"```bash\n(.*?)```", text, re.DOTALL) if "curl " in block]


async def run(block: str, base: str) -> tuple[int, str]:
    """Run a block as bash would, its URLs pointing at the test's gateway; an HTTP error fails it."""
    script = ("set -euo pipefail\ncurl() { command curl -sS --fail-with-body \"$@\"; echo; }\n"
              + block.replace("http://localhost:8080", base))
    process = await asyncio.create_subprocess_exec(
        "bash", "-c", script, env={**os.environ, "KEY": API_KEY},
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT,
    )
    output, _ = await process.communicate()
    return process.returncode or 0, output.decode()


def test_the_guide_has_a_command_for_each_step() -> None:
    commands = "\n".join(curl_blocks(GUIDE.read_text()))
    for route in ("/health", "/api/sandbox/scan", "/api/sandbox/inbound", "/api/messages/send", "/api/messages?",
                  "/api/webhooks", "/api/campaigns"):
        assert route in commands, f"QUICKSTART.md has no command for {route}"


async def test_every_command_of_the_guide_works_against_a_live_gateway(live: LiveServer) -> None:
    for block in curl_blocks(GUIDE.read_text()):
        code, output = await run(block, live.http)
        assert code == 0, f"{block}\n-> exit {code}: {output}"

    async with live.client() as client:
        state = (await client.get("/api/session/state")).json()["data"]
        assert state["status"] == "connected"

        async def campaign_done() -> bool:
            (campaign,) = (await client.get("/api/campaigns")).json()["data"]["campaigns"]
            return bool(campaign["status"] == "completed")

        await eventually(campaign_done, what="the guide's campaign to complete")
        log = (await client.get("/api/messages")).json()["data"]["messages"]
        assert sorted(m["direction"] for m in log) == ["in", "out", "out", "out"]
        (webhook,) = (await client.get("/api/webhooks")).json()["data"]
        assert webhook["url"] == "https://example.com/waqtor-hook"
