"""The sends one session's campaign sender has in flight at once (see `sender`): a bounded set of tasks.

Only a campaign with no throttle at all, on a session with no send rate, sends through it: nothing
orders its sends in time, and the writes of sends in flight together are committed together
(`waqtor.storage.groupcommit`). Each task is one recipient's whole send, in its usual order.
"""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine
from typing import Any

SIZE = 64  # sends in flight at once on one session at most


class SendWindow:
    def __init__(self, name: str, size: int = SIZE) -> None:
        self.name = name
        self.size = size
        self._tasks: set[asyncio.Task[None]] = set()
        self._landed = asyncio.Event()

    def __len__(self) -> int:
        return len(self._tasks)

    @property
    def full(self) -> bool:
        return len(self._tasks) >= self.size

    def launch(self, send: Coroutine[Any, Any, None]) -> None:
        """Run `send` in flight (the caller checked there is room); it must not raise."""
        task = asyncio.create_task(send, name=f"campaign-send[{self.name}]")
        self._tasks.add(task)
        task.add_done_callback(self._land)

    def _land(self, task: asyncio.Task[None]) -> None:
        self._tasks.discard(task)
        self._landed.set()

    async def landing(self) -> None:
        """Wait until a send in flight ends (at once when none is in flight)."""
        if self._tasks:
            self._landed.clear()
            await self._landed.wait()

    async def drain(self) -> None:
        """Wait until every send in flight has ended."""
        while self._tasks:
            await asyncio.gather(*list(self._tasks), return_exceptions=True)

    async def cut_off(self) -> None:
        """Cancel the sends in flight (a sender stopped past its grace): settled at the next start."""
        for task in self._tasks:
            task.cancel()
        await self.drain()
