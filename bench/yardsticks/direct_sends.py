"""Yardstick for the campaign runner: the same number of messages sent one at a time straight through
the gateway's message service (`MessageService.send`), with no campaign, no HTTP and no runner.

It builds the gateway's own app (`create_app`) with the settings the benchmark gives the gateway
process (sandbox engine, fresh SQLite data dir, no send rate), runs its lifespan, links the sandbox,
and sends `--messages` texts to distinct numbers, each awaited before the next, as the runner sends
one message at a time per session. Every send is the whole message path: logged `queued`, published,
handed to the sandbox, marked `sent`, counted; the delivered and read acknowledgements that follow
(WAQTOR_SANDBOX_ACK_DELAY) are written while the later sends run, as they are during a campaign.
It prints one JSON line: `{"messages", "seconds", "cpu_seconds"}`.

    python -m bench.yardsticks.direct_sends --messages 1000 --data-dir /tmp/x
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import time
from pathlib import Path

import httpx

from waqtor.app import create_app
from waqtor.config import Settings
from waqtor.messaging.phones import Recipient
from waqtor.messaging.service import Draft

API_KEY = "bench-key-0123456789abcdef"


def phone(i: int) -> str:
    """The i-th of the benchmark's distinct German mobile numbers, in E.164."""
    return f"+49151{10_000_000 + i:08d}"


async def measure(messages: int, data_dir: Path) -> dict[str, float]:
    settings = Settings(engine="sandbox", data_dir=data_dir, api_key=API_KEY, rate_limit="0", send_rate="0")
    app = create_app(settings)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://gateway",
                                     headers={"X-API-Key": API_KEY}) as client:
            (await client.post("/api/sandbox/scan", json={})).raise_for_status()
        service = app.state.gateway.messages
        drafts = [Draft(to=Recipient(jid=f"{phone(i)[1:]}@s.whatsapp.net", phone=phone(i)),
                      text=f"Hello {i}, this is the benchmark") for i in range(messages)]
        cpu, began = time.process_time(), time.perf_counter()
        for draft in drafts:
            sent = await service.send("default", draft)
            if sent.status != "sent":
                raise RuntimeError(f"a direct send ended {sent.status}: {sent.error}")
        seconds, cpu = time.perf_counter() - began, time.process_time() - cpu
    return {"messages": messages, "seconds": seconds, "cpu_seconds": cpu}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--messages", type=int, required=True)
    parser.add_argument("--data-dir", type=Path, required=True)
    args = parser.parse_args()
    os.environ.setdefault("WAQTOR_LOG_LEVEL", "warning")
    print(json.dumps(asyncio.run(measure(args.messages, args.data_dir))), flush=True)


if __name__ == "__main__":
    main()
