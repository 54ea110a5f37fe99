"""Group commit: writes that arrive while a transaction is in flight are written together in the next one.

Through SQLAlchemy's asyncio adapter every statement costs a greenlet switch and a thread round trip
for each of cursor, execute, fetch, close and commit (about 1 to 2 ms of CPU on a small machine), so
one statement per message caps the message log at a few hundred writes a second. A `GroupCommit`
takes items from many callers and hands them to its `write` function in batches; `write` runs one
transaction (usually one statement) for the whole batch and answers one result per item.

What a caller sees does not change: `submit(item)` returns only after the transaction holding its item
committed, with that item's own result, so a crash leaves exactly what it left before (an item whose
caller got no answer may or may not be written, as with any commit in flight). The first item of an
idle writer is written at once (no waiting for company); the items that arrive meanwhile form the next
batch.

- **Bounded**: at most `queue` items wait or are being written; a caller beyond that waits for room
  (the callers are slowed down, nothing is dropped).
- **One per key**: two items with the same `key` (e.g. two status moves of one message) never share a
  batch; the later one waits for the next, so they are written in the order they came.
- **Failures**: when the transaction fails it is rolled back whole, so no item of it is half-written.
  If the database is out of reach or full (`waqtor.storage.faults`), every caller of the batch gets the
  error (and may hold its item, retry, or report it); any other error (a bad item) is retried with
  each item in a transaction of its own, so one bad item fails only its own caller.
- A caller cancelled before its item was taken into a batch withdraws it (it is not written).
"""

from __future__ import annotations

import asyncio
import logging
from collections import deque
from collections.abc import Awaitable, Callable, Hashable, Sequence
from typing import Generic, TypeVar

from waqtor.storage.faults import storage_error

log = logging.getLogger(__name__)

T = TypeVar("T")
R = TypeVar("R")

BATCH = 256  # items per transaction at most
QUEUE = 4096  # items waiting or being written at most

Write = Callable[[Sequence[T]], Awaitable[Sequence[R]]]


class GroupCommit(Generic[T, R]):
    def __init__(self, name: str, write: Write[T, R], *, key: Callable[[T], Hashable] | None = None,
                 batch: int = BATCH, queue: int = QUEUE) -> None:
        if batch < 1 or queue < 1:
            raise ValueError("batch and queue must be at least 1")
        self.name = name
        self._write = write
        self._key = key
        self._batch = batch
        self._room = asyncio.Semaphore(queue)
        self._waiting: deque[tuple[T, asyncio.Future[R]]] = deque()
        self._drain: asyncio.Task[None] | None = None
        self.batches = 0  # transactions written (tests and profiles look at it)

    def __len__(self) -> int:
        return len(self._waiting)

    async def submit(self, item: T) -> R:
        """Write `item` with whatever else is waiting; its result once the transaction committed.
        Raises what the write raised for it."""
        async with self._room:
            future: asyncio.Future[R] = asyncio.get_running_loop().create_future()
            self._waiting.append((item, future))
            if self._drain is None:
                self._drain = asyncio.create_task(self._run(), name=f"group-commit[{self.name}]")
            return await future

    async def close(self) -> None:
        """Wait until everything submitted so far is written."""
        while self._drain is not None:
            await asyncio.shield(self._drain)

    def _take(self) -> list[tuple[T, asyncio.Future[R]]]:
        taken: list[tuple[T, asyncio.Future[R]]] = []
        kept: list[tuple[T, asyncio.Future[R]]] = []
        keys: set[Hashable] = set()
        while self._waiting and len(taken) < self._batch:
            item, future = self._waiting.popleft()
            if future.done():  # its caller was cancelled: withdrawn
                continue
            if self._key is not None:
                key = self._key(item)
                if key in keys:
                    kept.append((item, future))
                    continue
                keys.add(key)
            taken.append((item, future))
        self._waiting.extendleft(reversed(kept))
        return taken

    async def _run(self) -> None:
        try:
            while self._waiting:
                taken = self._take()
                if taken:
                    await self._commit(taken)
        finally:
            self._drain = None

    async def _commit(self, taken: list[tuple[T, asyncio.Future[R]]]) -> None:
        self.batches += 1
        try:
            results = await self._write([item for item, _ in taken])
            if len(results) != len(taken):
                raise RuntimeError(f"{self.name}: the write answered {len(results)} results for {len(taken)} items")
        except Exception as exc:  # every caller gets its write's failure
            if len(taken) > 1 and storage_error(exc) is None:
                log.warning("%s: a batch of %d failed (%r); writing its items one by one", self.name, len(taken), exc)
                for one in taken:
                    await self._commit([one])
                return
            for _, future in taken:
                if not future.done():
                    future.set_exception(exc)
            return
        except BaseException as exc:  # cancelled: the callers must not wait for ever
            for _, future in taken:
                if not future.done():
                    future.set_exception(exc if isinstance(exc, Exception) else asyncio.CancelledError())
            raise
        for (_, future), result in zip(taken, results, strict=True):
            if not future.done():
                future.set_result(result)
