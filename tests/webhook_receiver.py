"""A real HTTP receiver for webhook tests: uvicorn on a loopback port, in the test's event loop.

It records every request and answers as the test scripts it, per path: a status, headers, a body, a
delay, a hang until the receiver stops, or a huge streamed body. It can be started late (the port is
chosen up front, so a gateway can be pointed at it while nothing listens) and stopped and started again.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from collections import defaultdict, deque
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import uvicorn
from starlette.datastructures import Headers

from tests.conftest import free_port


@dataclass
class Reply:
    status: int = 200
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes = b"ok"
    delay: float = 0.0  # seconds before answering
    hang: bool = False  # never answer, until the receiver stops
    endless: bool = False  # stream a body without end, in chunks, until the client goes away


@dataclass
class Received:
    path: str
    headers: Headers
    body: bytes
    at: float  # time.monotonic() on arrival

    @property
    def json(self) -> dict[str, Any]:
        return json.loads(self.body)  # type: ignore[no-any-return]

    @property
    def delivery(self) -> str:
        return self.headers["x-waqtor-delivery"]


class Receiver:
    def __init__(self) -> None:
        self.port = free_port()
        self.requests: list[Received] = []
        self._scripts: dict[str, deque[Reply]] = defaultdict(deque)
        self._defaults: dict[str, Reply] = {}
        self._release = asyncio.Event()
        self._server: uvicorn.Server | None = None
        self._task: asyncio.Task[None] | None = None
        self.arrived = asyncio.Event()
        self.streamed: list[int] = []  # bytes of body sent by each endless answer before the client left

    def url(self, path: str = "/hook") -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def answer(self, path: str, *replies: Reply) -> None:
        """Answer the next requests to `path` with `replies`, one each, in order."""
        self._scripts[path].extend(replies)

    def always(self, path: str, reply: Reply) -> None:
        """Answer `path` with `reply` once its scripted replies are used up (default: 200 "ok")."""
        self._defaults[path] = reply

    def at(self, path: str) -> list[Received]:
        return [r for r in self.requests if r.path == path]

    async def wait_for(self, count: int, path: str | None = None, timeout: float = 10.0) -> list[Received]:
        """Wait until `count` requests (to `path`, if given) have arrived; returns them."""
        deadline = time.monotonic() + timeout
        while True:
            got = self.requests if path is None else self.at(path)
            if len(got) >= count:
                return list(got)
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise AssertionError(
                    f"receiver got {len(got)} requests{f' to {path}' if path else ''}, wanted {count}"
                )
            self.arrived.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.arrived.wait(), min(remaining, 0.5))

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        assert scope["type"] == "http"
        chunks = []
        while True:
            message = await receive()
            chunks.append(message.get("body", b""))
            if not message.get("more_body"):
                break
        path = scope["path"]
        self.requests.append(Received(path, Headers(scope=scope), b"".join(chunks), time.monotonic()))
        self.arrived.set()
        script = self._scripts[path]
        reply = script.popleft() if script else self._defaults.get(path, Reply())
        if reply.hang:
            await self._release.wait()
            return
        if reply.delay:
            await asyncio.sleep(reply.delay)
        headers = [(k.lower().encode(), v.encode()) for k, v in reply.headers.items()]
        await send({"type": "http.response.start", "status": reply.status, "headers": headers})
        if reply.endless:
            chunk = b"x" * 65_536
            sent = 0
            gone = asyncio.ensure_future(receive())  # completes with http.disconnect
            try:
                while not gone.done():
                    await send({"type": "http.response.body", "body": chunk, "more_body": True})
                    sent += len(chunk)
                    await asyncio.sleep(0)
            finally:
                gone.cancel()
                self.streamed.append(sent)
        else:
            await send({"type": "http.response.body", "body": reply.body})

    async def start(self) -> None:
        self._release = asyncio.Event()
        config = uvicorn.Config(
            self,
            host="127.0.0.1",
            port=self.port,
            lifespan="off",
            log_level="warning",
            access_log=False,
            log_config=None,
            timeout_graceful_shutdown=1,
        )
        self._server = uvicorn.Server(config)
        self._task = asyncio.create_task(self._server.serve())
        deadline = time.monotonic() + 10
        while not self._server.started:
            if self._task.done():
                self._task.result()
                raise RuntimeError("receiver stopped during start-up")
            if time.monotonic() > deadline:
                raise TimeoutError("receiver did not start")
            await asyncio.sleep(0.01)

    async def stop(self) -> None:
        self._release.set()
        if self._server is not None and self._task is not None:
            self._server.should_exit = True
            await asyncio.wait_for(self._task, timeout=10)
            self._server = None
            self._task = None

    async def __aenter__(self) -> Receiver:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()


# ---- helpers shared by the webhook tests -------------------------------------------------------------

ROOT = Path(__file__).resolve().parents[1]

FAST: dict[str, Any] = {
    # Retries in tenths of a second, and looks at the outbox every 0.2 s, so tests need no long waits.
    "webhook_backoff_base": 0.05,
    "webhook_backoff_max": 0.2,
    "webhook_poll_interval": 0.2,
    "webhook_timeout": 5.0,
}


def doc_block(marker: str) -> str:
    """The code block that follows `<!-- marker -->` in docs/api-reference.md, as the docs print it."""
    reference = (ROOT / "docs" / "api-reference.md").read_text()
    after = reference.split(f"<!-- {marker} -->", 1)[1]
    return after.split("```", 2)[1].split("\n", 1)[1]


def doc_python_verifier() -> Any:
    """`verify_waqtor_signature` exactly as docs/api-reference.md shows it."""
    namespace: dict[str, Any] = {}
    exec(compile(doc_block("verify-python"), "api-reference.md#verify-python", "exec"), namespace)
    return namespace["verify_waqtor_signature"]


async def register(client: Any, url: str, **fields: Any) -> dict[str, Any]:
    response = await client.post("/api/webhooks", json={"url": url, **fields})
    assert response.status_code == 201, response.text
    return response.json()["data"]  # type: ignore[no-any-return]


async def deliveries(client: Any, webhook_id: str, **params: Any) -> list[dict[str, Any]]:
    response = await client.get(f"/api/webhooks/{webhook_id}/deliveries", params=params)
    assert response.status_code == 200, response.text
    return response.json()["data"]["deliveries"]  # type: ignore[no-any-return]


async def delivery_settles(
    client: Any, webhook_id: str, status: str, count: int = 1, timeout: float = 10.0
) -> list[dict[str, Any]]:
    """Wait until `count` deliveries of the webhook are in `status`; returns them."""
    deadline = time.monotonic() + timeout
    while True:
        rows = await deliveries(client, webhook_id, status=status)
        if len(rows) >= count:
            return rows
        if time.monotonic() > deadline:
            every = await deliveries(client, webhook_id)
            raise AssertionError(
                f"wanted {count} {status} deliveries; the log has "
                f"{[(d['status'], d['attempts'], d['lastError']) for d in every]}"
            )
        await asyncio.sleep(0.02)
