"""Items from an engine's threads to the event loop, in order, through one bounded queue.

Overflow policy: a producer thread that finds the queue full waits (which holds back the vendor's event
loop; whatsmeow buffers in Go meanwhile) for up to `put_timeout` seconds, then drops the item with an
error in the log. The loop's own thread never waits: when the queue is full there, the item is dropped
and logged.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import logging
import threading
from collections.abc import Awaitable, Callable
from typing import Any

log = logging.getLogger(__name__)


class Handoff:
    """A bounded queue fed from any thread and drained by `pump()` on the loop."""

    def __init__(self, owner: str, loop: asyncio.AbstractEventLoop, maxsize: int = 1000,
                 put_timeout: float = 30.0) -> None:
        self.owner = owner
        self.loop = loop
        self.queue: asyncio.Queue[Any] = asyncio.Queue(maxsize)
        self._put_timeout = put_timeout
        self._loop_thread = threading.get_ident()
        self.dropped = 0

    def put(self, item: Any) -> None:
        """Queue `item` from any thread (see the overflow policy above); never raises."""
        if threading.get_ident() == self._loop_thread:
            try:
                self.queue.put_nowait(item)
            except asyncio.QueueFull:
                self._drop(item, "queue full")
            return
        try:
            future = asyncio.run_coroutine_threadsafe(self.queue.put(item), self.loop)
        except RuntimeError:  # the loop is closed: the gateway is gone
            self._drop(item, "event loop closed")
            return
        try:
            future.result(timeout=self._put_timeout)
        except (concurrent.futures.TimeoutError, TimeoutError):
            future.cancel()
            self._drop(item, f"queue full for {self._put_timeout:g} s")
        except (concurrent.futures.CancelledError, RuntimeError):
            self._drop(item, "event loop stopping")

    def _drop(self, item: Any, why: str) -> None:
        self.dropped += 1
        log.error("%s: dropped %s (%s)", self.owner, type(item).__name__, why)

    def call_soon(self, callback: Callable[..., Any], *args: Any) -> None:
        """Run `callback(*args)` on the loop, from any thread; ignored once the loop is closed."""
        try:
            self.loop.call_soon_threadsafe(callback, *args)
        except RuntimeError:
            log.debug("%s: loop closed, %s not run", self.owner, getattr(callback, "__name__", callback))

    async def pump(self, consume: Callable[[Any], Awaitable[None]]) -> None:
        """Hand every item to `consume`, in order, forever; a failing item is logged and skipped."""
        while True:
            item = await self.queue.get()
            try:
                await consume(item)
            except Exception:
                log.exception("%s: handling %s failed", self.owner, type(item).__name__)
