"""`messagesSent` for campaign messages, published together.

A campaign with no delay sends hundreds of messages a second. The stored counter moves with the log
(`MessageRepository.mark_sent`), but taking each message into the session's live state
(`SessionMonitor.count`) publishes a `session_update` to every client per message, and the sender
waited for it before its next message. Here the messages a session sent wait up to `interval` seconds
and are taken in with one `session_update`. `flush(session)` takes in what waits at once (before a
campaign is reported completed, when the session stops running here, at shutdown)."""

from __future__ import annotations

import asyncio
import logging

from waqtor.sessions.monitor import SessionMonitor
from waqtor.tasks import TaskSet

log = logging.getLogger(__name__)

INTERVAL = 0.25


class SentCounter:
    def __init__(self, tasks: TaskSet, interval: float = INTERVAL) -> None:
        self._tasks = tasks
        self._interval = interval
        self._waiting: dict[str, tuple[SessionMonitor, int]] = {}  # session → its monitor, messages sent
        self._timers: dict[str, asyncio.Task[None]] = {}

    def add(self, session: str, monitor: SessionMonitor) -> None:
        """One more message sent on `session`: counted within the interval."""
        _, waiting = self._waiting.get(session, (monitor, 0))
        self._waiting[session] = (monitor, waiting + 1)
        if session not in self._timers:
            self._timers[session] = self._tasks.spawn(self._later(session), f"count[{session}]")

    async def _later(self, session: str) -> None:
        await asyncio.sleep(self._interval)
        self._timers.pop(session, None)  # this task: flush must not cancel it
        await self.flush(session)

    async def flush(self, session: str) -> None:
        """Count now what `session` sent and is not counted yet (a failure is logged: a count is not
        worth failing a send or a shutdown for)."""
        timer = self._timers.pop(session, None)
        if timer is not None:
            timer.cancel()
        monitor, waiting = self._waiting.pop(session, (None, 0))
        if monitor is None or not waiting:
            return
        try:
            await monitor.count(sent=waiting)
        except Exception:
            log.exception("session %s: could not count %d sent campaign message(s)", session, waiting)

    async def flush_all(self) -> None:
        for session in list(self._waiting):
            await self.flush(session)
