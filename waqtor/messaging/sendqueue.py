"""The outbound send rate of each session, which protects the WhatsApp account from looking like a bot.

Each session may send `WAQTOR_SEND_RATE` messages per period (a moving window). A send within the
rate goes out at once. Beyond it, the send waits in the session's queue, in order of arrival, and a
worker sends it when the window has room. The queue holds at most `WAQTOR_SEND_QUEUE_SIZE` sends:
overflow policy is *refuse* — a send that finds it full is refused with 429 `send_queue_full` and a
Retry-After, and nothing is logged for it. While a queue is not empty every new send joins its end,
so the order of acceptance is the order of sending. A send that shows "typing…" first (`typingSeconds`)
always joins the queue: the worker shows the typing, then sends it, and the sends behind it wait.

WhatsApp's own rate limit (Meta's, on the Cloud API) pauses a session's queue (`pause`): until the pause
ends every new send joins the queue, and the worker sends nothing; the refused message goes back to the
front of the queue (`retry`). This works with or without `WAQTOR_SEND_RATE`.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import deque
from collections.abc import Awaitable, Callable

from waqtor.errors import RateLimited, Unavailable
from waqtor.rate_window import RateWindow
from waqtor.tasks import TaskSet

log = logging.getLogger(__name__)

Deliver = Callable[[str, int], Awaitable[None]]
UNREACHABLE_PAUSE = 1.0


class Ticket:
    """A place in a session's queue; `fill` gives it the logged message's id, `cancel` gives it up."""

    def __init__(self) -> None:
        self.message_id: int | None = None
        self.cancelled = False
        self.abandoned = False  # its queue was given up (shutdown, or the session left this instance)
        self._ready = asyncio.Event()

    def fill(self, message_id: int) -> None:
        self.message_id = message_id
        self._ready.set()

    def cancel(self) -> None:
        self.cancelled = True
        self._ready.set()

    async def ready(self) -> None:
        await self._ready.wait()


class SessionQueue:
    """One session's window and queue. `deliver(session, message_id)` sends a queued message; it
    must handle its own failures (an exception is logged and the queue moves on)."""

    def __init__(self, session: str, window: RateWindow | None, size: int, deliver: Deliver, tasks: TaskSet) -> None:
        self.session = session
        self._window = window
        self._size = size
        self._deliver = deliver
        self._tasks = tasks
        self.waiting: deque[Ticket] = deque()
        self._worker: asyncio.Task[None] | None = None
        self._paused_until = 0.0  # time.monotonic() until which nothing is sent (WhatsApp's rate limit)

    def pause(self, seconds: float) -> None:
        """Send nothing for `seconds` (a longer pause already set stays)."""
        self._paused_until = max(self._paused_until, time.monotonic() + seconds)

    def paused_for(self) -> float:
        """Seconds left of the pause; 0 when there is none."""
        return max(0.0, self._paused_until - time.monotonic())

    async def wait_pause(self) -> None:
        """Return once the pause (which may grow meanwhile) is over."""
        # Not a busy wait: it sleeps exactly until the pause ends, then looks whether it grew meanwhile.
        while (left := self.paused_for()) > 0:  # noqa: ASYNC110
            await asyncio.sleep(left)

    def retry(self, message_id: int) -> None:
        """Send the logged message `message_id` again, first in line, once the pause is over."""
        ticket = Ticket()
        ticket.fill(message_id)
        self.waiting.appendleft(ticket)
        self._start_worker()

    def _start_worker(self) -> None:
        if self._worker is None:
            self._worker = self._tasks.spawn(self._drain(), f"send-queue[{self.session}]")

    async def admit(self, *, join: bool = False) -> Ticket | None:
        """None: send now (a slot of the window is taken). A Ticket: the send waits in the queue; fill
        it with the message id once logged. RateLimited(code="send_queue_full") when the queue is full.
        `join`: always a Ticket (a send that shows typing first: the sends after it wait their turn)."""
        if not join and not self.waiting and not self.paused_for() and (
                self._window is None or (await self._window.hit(self.session)).allowed):
            return None
        if len(self.waiting) >= self._size:
            retry = self.paused_for()
            if self._window is not None:
                retry = max(retry, (await self._window.peek(self.session)).retry_after())
            raise RateLimited(
                f"the send queue of session {self.session!r} is full ({self._size} messages wait for the "
                f"send rate); try again later",
                retry_after=retry,
                code="send_queue_full",
            )
        ticket = Ticket()
        self.waiting.append(ticket)
        self._start_worker()
        return ticket

    async def acquire(self) -> None:
        """Wait for a slot of the window and take it, without joining the queue (campaigns, which
        send one message at a time per session, wait here instead of filling the queue)."""
        await self.wait_pause()
        if self._window is None:
            return
        # Not a busy wait: the window says when its next slot frees, and may be shared with other instances.
        while not (decision := await self._window.hit(self.session)).allowed:  # noqa: ASYNC110
            await asyncio.sleep(max(0.005, decision.retry_after()))

    async def _drain(self) -> None:
        try:
            while self.waiting:
                ticket = self.waiting[0]
                await ticket.ready()
                if not ticket.cancelled:
                    await self._slot()
                self.waiting.remove(ticket)  # a retry may have gone before it meanwhile
                if ticket.cancelled or ticket.message_id is None:
                    continue
                try:
                    await self._deliver(self.session, ticket.message_id)
                except Exception:
                    log.exception("session %s: sending queued message %s failed", self.session, ticket.message_id)
        finally:
            self._worker = None

    async def _slot(self) -> None:
        """Wait until the pause is over and the window gives a slot; while its store cannot be reached, try
        again each second."""
        while True:
            await self.wait_pause()
            if self._window is None:
                return
            try:
                decision = await self._window.hit(self.session)
            except Unavailable as exc:
                log.warning("session %s: queued sends wait: %s", self.session, exc.message)
                await asyncio.sleep(UNREACHABLE_PAUSE)
                continue
            if decision.allowed:
                return
            await asyncio.sleep(max(0.005, decision.retry_after()))

    def abandon(self) -> list[int]:
        """Forget every waiting send (at shutdown); returns the ids of the logged ones."""
        if self._worker is not None:
            self._worker.cancel()
        ids = [t.message_id for t in self.waiting if not t.cancelled and t.message_id is not None]
        for ticket in self.waiting:
            ticket.abandoned = True
        self.waiting.clear()
        return ids


class SendQueues:
    """Every session's queue, created on first use, with the workers in one TaskSet. The window is
    shared by every session's queue (keyed by session name); in a shared store it continues across
    instances, so a session taken over by another instance keeps its rate."""

    def __init__(self, make_window: Callable[[], RateWindow | None], size: int, deliver: Deliver) -> None:
        self._window = make_window()
        self._size = size
        self._deliver = deliver
        self._queues: dict[str, SessionQueue] = {}
        self._tasks = TaskSet("send-queues")

    def get(self, session: str) -> SessionQueue:
        queue = self._queues.get(session)
        if queue is None:
            queue = self._queues[session] = SessionQueue(session, self._window, self._size, self._deliver, self._tasks)
        return queue

    def drop(self, session: str) -> list[int]:
        """Forget the session's queue (it no longer runs here); returns the ids of logged messages that
        were still waiting. Its worker, if one runs, ends by itself once the queue is empty."""
        queue = self._queues.pop(session, None)
        return [] if queue is None else queue.abandon()

    async def close(self) -> list[int]:
        """Stop the workers; returns the ids of logged messages that were still waiting."""
        await self._tasks.close()
        abandoned = [mid for queue in self._queues.values() for mid in queue.abandon()]
        if self._window is not None:
            await self._window.close()
        return abandoned
