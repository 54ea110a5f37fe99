"""Owned background tasks: every long-lived task belongs to a TaskSet that its owner closes."""

from __future__ import annotations

import asyncio
import contextvars
import logging
from collections.abc import Callable, Coroutine
from typing import Any

from waqtor.logs import request_id

log = logging.getLogger(__name__)


class TaskSet:
    """Tasks started by one owner. A crash is logged with its traceback, kept in `crashed` and told to
    `on_crash(task name, exception)` when given; `close()` cancels whatever still runs and waits for it."""

    def __init__(self, owner: str, on_crash: Callable[[str, BaseException], None] | None = None) -> None:
        self.owner = owner
        self._tasks: set[asyncio.Task[Any]] = set()
        self.crashed: list[str] = []
        self._on_crash = on_crash

    def spawn(self, coro: Coroutine[Any, Any, Any], name: str) -> asyncio.Task[Any]:
        # A task outlives the request that may have started it: its log lines must not carry that
        # request's id.
        context = contextvars.copy_context()
        context.run(request_id.set, None)
        task = asyncio.create_task(coro, name=f"{self.owner}:{name}", context=context)
        self._tasks.add(task)
        task.add_done_callback(self._finished)
        return task

    def _finished(self, task: asyncio.Task[Any]) -> None:
        self._tasks.discard(task)
        if task.cancelled():
            return
        exc = task.exception()
        if exc is not None:
            self.crashed.append(task.get_name())
            log.error("background task %s crashed", task.get_name(), exc_info=exc)
            if self._on_crash is not None:
                self._on_crash(task.get_name(), exc)

    def __len__(self) -> int:
        return len(self._tasks)

    async def close(self) -> None:
        tasks = list(self._tasks)
        for task in tasks:
            task.cancel()
        if tasks:
            await asyncio.gather(*tasks, return_exceptions=True)
        self._tasks.clear()
