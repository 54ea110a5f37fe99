"""What an engine reports while the database cannot take it: received messages, status changes, edits and
deletions, held in memory in arrival order and stored once the database is back.

`offer(session, event)` hands the event to the message service at once; when that fails because the
database is out of reach or full (`waqtor.storage.faults`), the event is held instead of lost, and a
background task (owned by the message service) stores what is held, oldest first, with a growing pause
between tries (0.2 s doubling to 10 s). While events are held, new ones queue behind them, so they are
stored in the order they came and the database is not tried once per event during an outage. The
buffer holds `WAQTOR_INBOUND_BUFFER` events; beyond, the oldest is dropped and logged (ERROR), as an
engine cannot be told to wait. Storing is idempotent (a received message is logged once per WhatsApp
id; a status change only moves a message forward), so an event stored after all by a try that seemed to
fail does no harm when stored again. An event that fails for another reason (a bug), or is refused as
"unreachable" `STRIKES` times while the database answers, is logged and dropped: it must not hold up
the others. A full disk (a received file) is waited out like an outage.
"""

from __future__ import annotations

import asyncio
import logging
from collections import deque
from collections.abc import Awaitable, Callable

from waqtor.engines.base import MessageEvent
from waqtor.errors import Unavailable
from waqtor.storage.faults import storage_error

log = logging.getLogger(__name__)

FIRST_PAUSE = 0.2
MAX_PAUSE = 10.0
STRIKES = 5

Event = MessageEvent
Handle = Callable[[str, Event], Awaitable[None]]
Reachable = Callable[[], Awaitable[bool]]


class Backlog:
    def __init__(self, handle: Handle, limit: int, reachable: Reachable) -> None:
        self._handle = handle
        self._reachable = reachable
        self._limit = limit
        self.held: deque[tuple[str, Event]] = deque()
        self.dropped = 0
        self._wake = asyncio.Event()

    def __len__(self) -> int:
        return len(self.held)

    async def offer(self, session: str, event: Event) -> None:
        """Store `event` now, or hold it when the database cannot take it; other failures are raised."""
        if self.held:
            self._hold(session, event)
            return
        try:
            await self._handle(session, event)
        except Exception as exc:
            known = storage_error(exc)
            if known is None:
                raise
            log.error("session %s: the database cannot take what the engine reports (%s); holding it in "
                      "memory and storing it when the database is back", session, known.code)
            self._hold(session, event)

    def _hold(self, session: str, event: Event) -> None:
        if len(self.held) >= self._limit:
            lost_session, lost = self.held.popleft()
            self.dropped += 1
            log.error("session %s: LOST a %s (WhatsApp id %s): %d events were already held while the database "
                      "was unreachable (WAQTOR_INBOUND_BUFFER)", lost_session, type(lost).__name__, lost.id,
                      self._limit)
        self.held.append((session, event))
        self._wake.set()

    async def run(self) -> None:
        """Store what is held whenever something is, for ever (the owner cancels it)."""
        while True:
            await self._wake.wait()
            self._wake.clear()
            stored = await self.flush()
            if stored:
                log.info("stored %d message event(s) held while the database was unreachable", stored)

    async def flush(self, *, once: bool = False) -> int:
        """Store what is held, oldest first, pausing between failed tries (`once`: give up at the first);
        returns how many were stored."""
        stored, pause, strikes = 0, FIRST_PAUSE, 0
        while self.held:
            session, event = self.held[0]
            try:
                await self._handle(session, event)
            except Exception as exc:
                known = storage_error(exc)
                if isinstance(known, Unavailable) and not once:
                    # "Unreachable" while the database answers a ping: maybe this event, not the database.
                    strikes = strikes + 1 if await self._reachable() else 0
                if known is None or strikes >= STRIKES:
                    log.exception("session %s: dropped a held %s (WhatsApp id %s) that cannot be stored", session,
                                  type(event).__name__, event.id)
                    self.held.popleft()
                    strikes = 0
                    continue
                if once:
                    break
                await asyncio.sleep(pause)
                pause = min(pause * 2, MAX_PAUSE)
                continue
            self.held.popleft()
            stored += 1
            pause, strikes = FIRST_PAUSE, 0
        return stored
