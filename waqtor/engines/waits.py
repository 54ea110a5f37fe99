"""Small asyncio waits the engines share."""

from __future__ import annotations

import asyncio
from typing import Any


def settle(future: asyncio.Future[Any], value: Any) -> None:
    """Give `future` its result unless it already has one (callbacks may race with cancellation)."""
    if not future.done():
        future.set_result(value)


async def first_of(*waits: Any, timeout: float | None) -> None:
    """Return when the first of `waits` (futures, or coroutines; None is skipped) finishes, or after
    `timeout` seconds. Futures are left as they are; coroutines still running are cancelled."""
    pending = []
    owned = []
    for item in waits:
        if item is None:
            continue
        if asyncio.isfuture(item):
            pending.append(item)
        else:
            task = asyncio.ensure_future(item)
            owned.append(task)
            pending.append(task)
    try:
        await asyncio.wait(pending, timeout=timeout, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for task in owned:
            task.cancel()
