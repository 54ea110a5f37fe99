"""How many campaign imports run at once on this instance.

Reading a recipient list is the heaviest thing a caller can ask for: the JSON or CSV is parsed in a
thread and a long list's numbers are checked in worker processes (waqtor.campaigns.numbers), each
import holding its whole list in memory. `ImportSlots` lets `limit` imports run at once and refuses
the next at once with RateLimited (`too_many_imports`, 429 with Retry-After) rather than queueing it.

An import's slot is held until its last piece of work has returned, not only while its caller waits:
a thread cannot be stopped, so a caller that goes away while its file is read would otherwise free a
slot whose thread (and worker processes) still run, and could start import after import.
"""

from __future__ import annotations

import asyncio
import contextvars
import functools
import threading
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import ParamSpec, TypeVar

from waqtor.errors import RateLimited

P = ParamSpec("P")
T = TypeVar("T")

RETRY_AFTER = 5.0  # seconds: about what reading a long list takes


class ImportJob:
    """One admitted import: `run` does a piece of its work in a thread. It holds its slot while the
    `ImportSlots.hold` block is open and while any of its threads runs; the last to finish frees it."""

    def __init__(self, free: Callable[[], None]) -> None:
        self._free = free
        self._holders = 1  # the block that admitted it
        self._lock = threading.Lock()

    def _take(self) -> None:
        with self._lock:
            self._holders += 1

    def drop(self) -> None:
        """One holder is done; the last one frees the slot (called from any thread)."""
        with self._lock:
            self._holders -= 1
            last = self._holders == 0
        if last:
            self._free()

    async def run(self, work: Callable[P, T], *args: P.args, **kwargs: P.kwargs) -> T:
        """`work(*args, **kwargs)` in a thread, off the event loop (like asyncio.to_thread, context
        variables included); its result or what it raised. Cancelling the caller leaves the thread
        running, and holding the slot, until it returns."""

        def held() -> T:
            try:
                return work(*args, **kwargs)
            finally:
                self.drop()

        context = contextvars.copy_context()
        self._take()
        try:
            future = asyncio.get_running_loop().run_in_executor(None, functools.partial(context.run, held))
        except BaseException:
            self.drop()  # the thread never started
            raise
        # Shielded: a cancelled caller must not cancel work still waiting for a thread, or `held` would
        # never run to free the slot. What it raises after its caller left is fetched, not warned about.
        future.add_done_callback(lambda done: done.cancelled() or done.exception())
        return await asyncio.shield(future)


class ImportSlots:
    """At most `limit` imports at once (see the module's docstring)."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self._busy = 0
        self._lock = threading.Lock()

    @property
    def busy(self) -> int:
        """Imports holding a slot now."""
        return self._busy

    def _free(self) -> None:
        with self._lock:
            self._busy -= 1

    @asynccontextmanager
    async def hold(self) -> AsyncIterator[ImportJob]:
        """A slot for one import for the block, and longer while its threads run; RateLimited
        (`too_many_imports`) at once when every slot is taken."""
        with self._lock:
            if self._busy >= self.limit:
                raise RateLimited(
                    f"{self.limit} campaign import(s) are being read already (WAQTOR_CAMPAIGN_MAX_IMPORTS); "
                    f"try again in a few seconds",
                    retry_after=RETRY_AFTER, code="too_many_imports",
                )
            self._busy += 1
        job = ImportJob(self._free)
        try:
            yield job
        finally:
            job.drop()
