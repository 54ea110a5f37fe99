"""Shared pieces of the campaign tests: definitions, a clock the test moves, and waits on the runner."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from tests.conftest import API_KEY, Harness
from waqtor.app import create_app
from waqtor.config import Settings

FAST = {"minDelay": 0, "maxDelay": 0, "perMinute": None, "perHour": None, "perDay": None}


def phones(count: int, start: int = 0) -> list[str]:
    return [f"+4915{110000000 + start + n}" for n in range(count)]


def definition(**changes: Any) -> dict[str, Any]:
    """A campaign that sends as fast as it may (the tests' own throttle), unless changed."""
    body: dict[str, Any] = {"name": "Autumn sale", "message": {"text": "Hi {name}!"}, "throttle": dict(FAST)}
    body.update(changes)
    return body


def recipients(numbers: list[str]) -> list[dict[str, Any]]:
    return [{"phone": phone, "name": f"P{n}"} for n, phone in enumerate(numbers)]


async def create(client: httpx.AsyncClient, **changes: Any) -> dict[str, Any]:
    """POST a JSON campaign (20 recipients unless given) and return the created campaign."""
    body = definition(**changes)
    body.setdefault("recipients", recipients(phones(20)))
    response = await client.post("/api/campaigns", json=body)
    assert response.status_code == 201, response.text
    return response.json()["data"]["campaign"]  # type: ignore[no-any-return]


async def upload(client: httpx.AsyncClient, csv_text: str, **changes: Any) -> httpx.Response:
    files = {"recipients": ("list.csv", csv_text.encode(), "text/csv")}
    return await client.post("/api/campaigns", files=files, data={"campaign": json.dumps(definition(**changes))})


async def get(client: httpx.AsyncClient, cid: str) -> dict[str, Any]:
    response = await client.get(f"/api/campaigns/{cid}")
    assert response.status_code == 200, response.text
    return response.json()["data"]  # type: ignore[no-any-return]


async def act(client: httpx.AsyncClient, cid: str, action: str) -> httpx.Response:
    return await client.post(f"/api/campaigns/{cid}/{action}")


async def wait_for(client: httpx.AsyncClient, cid: str, status: str, timeout: float = 15,
                   **counts: int) -> dict[str, Any]:
    """Wait until the campaign is in `status` with at least the given counts; returns it."""
    deadline = time.monotonic() + timeout
    while True:
        seen = await get(client, cid)
        if seen["status"] == status and all(seen["counts"][k] >= v for k, v in counts.items()):
            return seen
        if time.monotonic() > deadline:
            pytest.fail(f"campaign {cid} did not reach {status} {counts}: it is {seen['status']} {seen['counts']}")
        await asyncio.sleep(0.01)


async def all_recipients(client: httpx.AsyncClient, cid: str) -> list[dict[str, Any]]:
    found, cursor = [], None
    while True:
        params = {"limit": 1000} | ({"cursor": cursor} if cursor else {})
        data = (await client.get(f"/api/campaigns/{cid}/recipients", params=params)).json()["data"]
        found += data["recipients"]
        cursor = data["nextCursor"]
        if cursor is None:
            return found


async def contact(client: httpx.AsyncClient, phone: str, **behaviour: Any) -> None:
    response = await client.post("/api/sandbox/contacts", json={"phone": phone, **behaviour})
    assert response.status_code == 200, response.text


async def paused_after_three_failures(client: httpx.AsyncClient) -> dict[str, Any]:
    """Run a campaign of 8 numbers that all fail, with `stopAfterFailures` 3: it must pause with
    `too_many_failures` after exactly 3 of them, the other 5 still pending. Returns the campaign."""
    numbers = phones(8)
    for phone in numbers:
        await contact(client, phone, fail="send")
    campaign = await create(client, recipients=recipients(numbers), start=True, options={"stopAfterFailures": 3})
    paused = await wait_for(client, campaign["id"], "paused")
    assert paused["reason"]["code"] == "too_many_failures"
    assert paused["counts"]["failed"] == 3 and paused["counts"]["pending"] == 5, paused["counts"]
    return paused


class Clock:
    """A clock the test moves by hand; it stands still otherwise."""

    def __init__(self, now: datetime = datetime(2025, 10, 28, 12, 0, tzinfo=UTC)) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> None:
        self.now += timedelta(**delta)


@asynccontextmanager
async def gateway_with_clock(settings: Settings, clock: Clock) -> AsyncIterator[Harness]:
    app = create_app(settings, clock=clock)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://gateway",
                                     headers={"X-API-Key": API_KEY}) as client:
            yield Harness(app, client, settings)


async def runner_looked(gw: Harness, session: str = "default") -> None:
    """Wake the session's campaign sender and wait until it has done what it can and sleeps again."""
    sender = gw.gateway.campaigns.runner.sender(session)
    assert sender is not None, f"no campaign sender runs for {session}"
    sender.wake(reload=True)
    await asyncio.wait_for(sender.idle.wait(), 10)
