"""One WebSocket client of the bridge: what it subscribed to, and the frames on their way to it.

A frame goes out at once when nothing of the client's is waiting: the send is stepped right where the
event is fanned out, and it completes there when the socket takes it without waiting, as it almost
always does (the server's send only waits while the socket's buffer is full). Only a send that must
wait, and every frame behind it, goes through the client's bounded queue and its own writer task, so a
slow client never delays the others: when its queue is full it is closed with 1013 and may come back
with `?after=<last id>` to resume. Frames leave in the order they were pushed, either way.

Sending at once saves waking one task per client for every event, the largest cost of a broadcast to
many clients (bench/profiles.md, "Fan-out").
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import deque
from collections.abc import Coroutine
from dataclasses import dataclass, field
from typing import Any

from starlette.websockets import WebSocket, WebSocketDisconnect

from waqtor.access.scopes import Identity
from waqtor.errors import Close
from waqtor.events import Event
from waqtor.ws.protocol import Subscriptions
from waqtor.ws.rate import TokenBucket

log = logging.getLogger(__name__)

# What a send raises when the connection is gone.
SEND_FAILURES = (WebSocketDisconnect, RuntimeError, OSError)


@dataclass(eq=False)
class Client:
    id: int
    ws: WebSocket
    limit: int
    identity: Identity = field(default_factory=Identity.gateway)
    subs: Subscriptions = field(default_factory=Subscriptions)
    queue: deque[tuple[int | None, str]] = field(default_factory=deque)
    wake: asyncio.Event = field(default_factory=asyncio.Event)
    drained: asyncio.Event = field(default_factory=asyncio.Event)
    held_limit: int = 0
    done: asyncio.Event = field(default_factory=asyncio.Event)
    held: list[Event] | None = None  # live events kept aside while a resume replays history
    commands: TokenBucket | None = None  # the commands it may send (WAQTOR_WS_COMMAND_RATE); None: no limit
    replay: asyncio.Task[None] | None = None  # the resume under way, at most one
    close_code: int = Close.NORMAL
    close_reason: str = ""
    closing: bool = False
    last_event_id: int = 0
    # The writer is sending (or a send that had to wait is being finished): later frames queue.
    busy: bool = False
    _finishing: asyncio.Task[None] | None = None
    _waiting_send: Coroutine[Any, Any, None] | None = None

    def push(self, event_id: int | None, text: str) -> None:
        """Send a frame now if nothing is ahead of it, else queue it; a client whose queue is full is
        closed with 1013."""
        if self.closing:
            return
        if not self.queue and not self.busy:
            self._send_now(event_id, text)
            return
        if len(self.queue) >= self.limit:
            self.close(Close.TRY_AGAIN, f"client too slow: more than {self.limit} frames behind; "
                                        f"reconnect with ?after={self.last_event_id} to resume")
            return
        self.queue.append((event_id, text))
        self.wake.set()

    def offer(self, event: Event, text: str) -> None:
        if self.held is not None:
            if len(self.held) >= self.held_limit:
                self.close(Close.TRY_AGAIN, "client too slow while resuming; resume again")
                return
            self.held.append(event)
            return
        if self.wants(event):
            self.push(event.id, text)

    def wants(self, event: Event) -> bool:
        """Whether this client subscribed to the event and its key may see it."""
        return self.identity.may_see(event.session) and self.subs.wants(event.type, event.session)

    def close(self, code: int, reason: str) -> None:
        if not self.closing:
            self.closing = True
            self.close_code = code
            self.close_reason = reason[:120]
            self.done.set()
            self.drained.set()
            self.wake.set()

    def info(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "readyState": "CLOSING" if self.closing else "OPEN",
            "authenticated": True,
            "subscriptions": self.subs.event_list(),
            "sessions": self.subs.session_list(),
            "queued": len(self.queue),
        }

    # ---- sending ------------------------------------------------------------------------------------

    def _send_now(self, event_id: int | None, text: str) -> None:
        """Step the send once, here: done when the socket took the frame; otherwise it is finished by a
        task of its own, and frames pushed meanwhile queue behind it."""
        send = self.ws.send_text(text)
        try:
            waiting = send.send(None)
        except StopIteration:
            self._sent(event_id)
            return
        except Exception as exc:
            # Not this client's business to stop the fan-out that called it: only this client goes.
            send.close()
            self._failed(exc)
            return
        self.busy = True
        self._waiting_send = send
        self._finishing = asyncio.get_running_loop().create_task(self._finish(send, waiting, event_id),
                                                                 name=f"ws{self.id}:send")

    async def _finish(self, send: Coroutine[Any, Any, None], waiting: Any, event_id: int | None) -> None:
        """Drive a send that had to wait to its end, as a task would have: wait for what it waits on,
        then resume it, until it returns."""
        try:
            while True:
                if isinstance(waiting, asyncio.Future):
                    # What a task does with the future it is handed (asyncio's protocol between the two).
                    waiting._asyncio_future_blocking = False  # noqa: SLF001
                    await asyncio.wait((waiting,))
                else:  # a bare yield: give the loop one turn
                    await asyncio.sleep(0)
                try:
                    waiting = send.send(None)
                except StopIteration:
                    self._sent(event_id)
                    return
        except Exception as exc:
            self._failed(exc)
        except asyncio.CancelledError:
            task = asyncio.current_task()
            if task is not None and task.cancelling():
                raise  # stopped by stop_sending()
            self.close(Close.LOST, "connection lost")  # what the send waited on was cancelled
        finally:
            send.close()  # a no-op once it returned; else it is told it will not be resumed
            self.busy = False
            self._waiting_send = None
            self._finishing = None
            self.wake.set()

    def _failed(self, exc: Exception) -> None:
        """A send failed: closed as lost when the connection went, else with 1011 (and logged)."""
        if isinstance(exc, SEND_FAILURES):
            self.close(Close.LOST, "connection lost")
            return
        log.error("ws client %d: sending a frame failed", self.id, exc_info=exc)
        self.close(Close.INTERNAL, "internal error while sending; reconnect with ?after= to resume")

    def _sent(self, event_id: int | None) -> None:
        if event_id is not None:
            self.last_event_id = event_id

    async def write(self) -> None:
        """The writer task: send what queued, in order, until the client closes."""
        try:
            while True:
                while self.queue and self._finishing is None:
                    event_id, text = self.queue.popleft()
                    self.busy = True
                    try:
                        await self.ws.send_text(text)
                    finally:
                        self.busy = False
                    self._sent(event_id)
                if not self.queue and not self.busy:
                    self.drained.set()
                if self.closing and not self.queue and self._finishing is None:
                    return
                self.wake.clear()
                await self.wake.wait()
        except Exception as exc:
            self._failed(exc)
        finally:
            self.busy = False

    async def stop_sending(self) -> None:
        """Stop a send still being finished (the connection is going away)."""
        finishing = self._finishing
        if finishing is None:
            return
        finishing.cancel()
        with contextlib.suppress(asyncio.CancelledError, *SEND_FAILURES):
            await finishing
        # A task cancelled before its first step never ran its own clean-up: do it here.
        if self._waiting_send is not None:
            self._waiting_send.close()
        self._waiting_send = None
        self._finishing = None
        self.busy = False
