"""The WebSocket bridge at `/ws` (spec section 3).

One bus subscription feeds every client (`waqtor.ws.client`): a frame is sent at once when the
socket takes it, else it waits in the client's bounded queue for the client's own writer task, so a slow
client never delays the others: when its queue is full it is closed with 1013 and may come back with
`?after=<last id>` to resume. Frames are serialised once per event.

Limits on what a client may ask: `WAQTOR_WS_PER_KEY` connections per API key on this instance (one more
is closed with 1008), `WAQTOR_WS_COMMAND_RATE` commands per connection (a command beyond is dropped
with an error frame `rate_limited`, the connection kept), and one resume at a time per connection (a
`resume` while one runs gets an error frame `resume_in_progress`): a resume replays up to
`WAQTOR_WS_REPLAY` events, so a burst of them would have multiplied the replay.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import re
import time
from collections import deque
from typing import Any

from starlette.websockets import WebSocket, WebSocketDisconnect, WebSocketState

from waqtor.access.keys import KeyService
from waqtor.access.scopes import READ, Identity
from waqtor.access.throttle import AuthThrottle
from waqtor.access.tickets import Tickets
from waqtor.bus import Bus, ReplayGap, Subscription, SubscriptionOverflow
from waqtor.clock import Clock, iso_ms, now_ms, utcnow
from waqtor.config import Settings
from waqtor.errors import Close, PayloadTooLarge, RateLimited, Unauthorized, WaqtorError
from waqtor.events import Event
from waqtor.rate_window import parse_rate
from waqtor.sessions.manager import SessionManager
from waqtor.sessions.session import DEFAULT_SESSION
from waqtor.sessions.snapshot import Snapshot
from waqtor.sessions.state import public_view
from waqtor.tasks import TaskSet
from waqtor.ws.client import Client
from waqtor.ws.protocol import Command, ProtocolError, error_frame, parse_command
from waqtor.ws.rate import TokenBucket

log = logging.getLogger(__name__)


def _dumps(obj: dict[str, Any]) -> str:
    return json.dumps(obj, separators=(",", ":"), ensure_ascii=False)


class Bridge:
    """Owns every WebSocket client of this process and the bus subscription that feeds them."""

    def __init__(self, settings: Settings, bus: Bus, keys: KeyService, tickets: Tickets, throttle: AuthThrottle,
                 sessions: SessionManager, clock: Clock = utcnow) -> None:
        self._settings = settings
        self._clock = clock
        self._bus = bus
        self._keys = keys
        self._tickets = tickets
        self._throttle = throttle
        self._sessions = sessions
        self.clients: dict[int, Client] = {}
        self._all_gone = asyncio.Event()  # set whenever the last client has gone
        self._next_id = 1
        self._tasks = TaskSet("ws-bridge")
        self._command_rate = parse_rate(settings.ws_command_rate)
        self.dropped = 0

    async def start(self) -> None:
        self._keys.on_revoke(self.key_revoked)
        subscription = self._bus.subscribe()
        self._tasks.spawn(self._dispatch(subscription), "dispatch")

    async def stop(self) -> None:
        for client in list(self.clients.values()):
            client.close(Close.GOING_AWAY, "gateway shutting down; reconnect with ?after= to resume")
        self._all_gone.clear()
        if self.clients:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._all_gone.wait(), timeout=5)
        await self._tasks.close()

    # ---- fan-out ----------------------------------------------------------------------------------

    async def _dispatch(self, subscription: Subscription) -> None:
        last = 0
        while True:
            try:
                event = await subscription.get()
            except SubscriptionOverflow as overflow:
                log.error("ws bridge fell behind the bus after event %d; catching up from history", overflow.last_id)
                subscription = self._bus.subscribe()
                try:
                    missed = await self._bus.history(overflow.last_id)
                except ReplayGap:
                    for client in list(self.clients.values()):
                        client.close(Close.TRY_AGAIN, "gateway overloaded; reconnect with ?after= to resume")
                    continue
                for event in missed:
                    self._fan_out(event)
                    last = event.id
                continue
            if event.id <= last:
                continue
            last = event.id
            self._fan_out(event)

    def _fan_out(self, event: Event) -> None:
        text = event.to_json()
        for client in tuple(self.clients.values()):
            client.offer(event, text)

    # ---- one connection ---------------------------------------------------------------------------

    async def authenticate(self, ws: WebSocket) -> Identity:
        """The identity of a ticket (`?ticket=`) or a key (X-API-Key header, `?apiKey=`); Unauthorized,
        saying why, when it is refused."""
        address = ws.client.host if ws.client else "unknown"
        try:
            self._throttle.check(address)
            ticket = ws.query_params.get("ticket")
            if ticket is not None:
                identity = await self._tickets.redeem(ticket)
                refused = ("ticket refused: unknown, already used or expired; "
                           "get a new one from POST /api/session/websocket/ticket")
            else:
                identity = await self._keys.verify(ws.headers.get("x-api-key") or ws.query_params.get("apiKey"))
                refused = "API key refused: pass a valid key as ?apiKey= or X-API-Key"
            if identity is None:
                await self._throttle.failed(address)
                raise Unauthorized(refused)
        except RateLimited as exc:
            raise Unauthorized(f"too many failed authentications; retry in {max(1, round(exc.retry_after))} s",
                               code=exc.code) from None
        if not identity.has(READ):
            raise Unauthorized("API key refused: the WebSocket needs the read scope", code="insufficient_scope")
        return identity

    def key_revoked(self, key_id: str, reason: str) -> None:
        """Close every connection opened with the key `key_id` (or a ticket it issued), as a refused key
        is (1008), with `reason`."""
        for client in tuple(self.clients.values()):
            if client.identity.key_id == key_id:
                self._fail(client, Unauthorized(reason))

    def _too_many(self, identity: Identity) -> str | None:
        """Why one more connection of `identity`'s key is refused (WAQTOR_WS_PER_KEY), or None. Clients
        already closing do not count: one that reconnects after a 1013 is not refused by its own ghost."""
        cap = self._settings.ws_per_key
        if not cap:
            return None
        open_ = sum(1 for c in self.clients.values() if c.identity.key_id == identity.key_id and not c.closing)
        if open_ < cap:
            return None
        log.info("ws connection refused: %d open with the key %s", open_, identity.key_id or "of the gateway")
        return f"too many WebSockets open with this API key (at most {cap}); close one first"

    def _command_budget(self) -> TokenBucket | None:
        rate = self._command_rate
        return TokenBucket(rate.amount, rate.amount / rate.get_expiry()) if rate is not None else None

    async def serve(self, ws: WebSocket) -> None:
        """Run one client connection from accept to close."""
        await ws.accept()
        try:
            identity = await self.authenticate(ws)
        except Unauthorized as refused:
            await ws.close(refused.ws or Close.POLICY, refused.message)
            return
        too_many = self._too_many(identity)
        if too_many is not None:
            await ws.close(Close.POLICY, too_many)
            return
        after_raw = ws.query_params.get("after")
        client = Client(id=self._next_id, ws=ws, limit=self._settings.ws_send_queue, identity=identity,
                        held_limit=self._settings.ws_send_queue + self._settings.ws_replay,
                        commands=self._command_budget())
        self._next_id += 1
        self.clients[client.id] = client
        log.info("ws client %d connected (%d open)", client.id, len(self.clients))
        after: int | None = None
        if after_raw is not None:
            if re.fullmatch(r"[0-9]{1,18}", after_raw):
                after = int(after_raw)
                # Hold live events from this instant, so the replay that follows leaves no gap.
                client.held = []
            else:
                self._fail(client, ProtocolError("invalid_field", "`after` must be a non-negative integer"))
        reader = asyncio.create_task(self._read(client, after), name=f"ws{client.id}:read")
        writer = asyncio.create_task(client.write(), name=f"ws{client.id}:write")
        try:
            await client.done.wait()
        finally:
            reader.cancel()
            if client.close_code in (Close.TRY_AGAIN, Close.POLICY, Close.TOO_BIG, Close.GOING_AWAY):
                writer.cancel()
            else:
                # flush what is queued before a normal close
                client.wake.set()
            await asyncio.gather(reader, return_exceptions=True)
            try:
                await asyncio.wait_for(writer, timeout=2)
            except (TimeoutError, asyncio.CancelledError, Exception):
                writer.cancel()
            await client.stop_sending()
            self.clients.pop(client.id, None)
            if not self.clients:
                self._all_gone.set()
            if client.close_code == Close.TRY_AGAIN:
                self.dropped += 1
            if ws.application_state is WebSocketState.CONNECTED and ws.client_state is WebSocketState.CONNECTED:
                try:
                    await asyncio.wait_for(ws.close(client.close_code, client.close_reason), timeout=5)
                except Exception:
                    log.debug("ws client %d: close did not complete", client.id)
            log.info("ws client %d closed (%d %s)", client.id, client.close_code, client.close_reason)

    async def _read(self, client: Client, after: int | None) -> None:
        limit = self._settings.ws_max_frame
        try:
            if after is not None:
                self._start_resume(client, after)
            while True:
                message = await client.ws.receive()
                if message["type"] == "websocket.disconnect":
                    client.close(message.get("code", 1000), "client closed")
                    return
                wait = client.commands.take(time.monotonic()) if client.commands is not None else 0.0
                if wait:
                    self._fail(client, RateLimited(
                        f"too many commands on this connection (at most {self._settings.ws_command_rate}); "
                        "this one was dropped", retry_after=wait))
                    continue
                text = message.get("text")
                if text is None:
                    data = message.get("bytes") or b""
                    if len(data) > limit:
                        self._fail(client, PayloadTooLarge(f"frame over {limit} bytes"))
                        return
                    self._fail(client, ProtocolError("invalid_frame",
                                                     "binary frames are not supported; send JSON text"))
                    continue
                if len(text) > limit and len(text.encode("utf-8")) > limit:
                    self._fail(client, PayloadTooLarge(f"frame over {limit} bytes"))
                    return
                try:
                    await self._run(client, parse_command(text))
                except WaqtorError as exc:
                    self._fail(client, exc)
        except WebSocketDisconnect as exc:
            client.close(exc.code, "client closed")
        except Exception as exc:
            # A reader that died quietly would leave the connection open, receiving events and never
            # answering a command again: close it, so the client knows and reconnects.
            log.error("ws client %d: reading its frames failed", client.id, exc_info=exc)
            client.close(Close.INTERNAL, "internal error while reading; reconnect with ?after= to resume")
        finally:
            replay = client.replay
            if replay is not None:
                replay.cancel()
                await asyncio.gather(replay, return_exceptions=True)

    def _reply(self, client: Client, payload: dict[str, Any]) -> None:
        client.push(None, _dumps(payload))

    def _fail(self, client: Client, exc: WaqtorError) -> None:
        """Tell the client what went wrong, as `waqtor.errors.WIRE` says: an error frame (the connection
        stays open), or closing the connection with the error's close code."""
        if exc.ws is not None:
            client.close(exc.ws, exc.message)
        else:
            self._reply(client, error_frame(exc, now_ms()))

    # ---- commands -----------------------------------------------------------------------------------

    async def _run(self, client: Client, command: Command) -> None:
        sessions = self._sessions
        if command.type == "ping":
            self._reply(client, {"type": "pong", "timestamp": now_ms()})
        elif command.type == "get_state":
            client.identity.check_session(command.session or DEFAULT_SESSION)
            state = await sessions.state_of(command.session or DEFAULT_SESSION)
            self._reply(client, {"type": "session_state", "data": public_view(state, self._clock()),
                                 "timestamp": now_ms(), "session": state.session})
        elif command.type == "get_qr":
            client.identity.check_session(command.session or DEFAULT_SESSION)
            state = await sessions.state_of(command.session or DEFAULT_SESSION)
            data: dict[str, Any] = {"hasQR": state.has_qr, "qr": state.qr_code if state.has_qr else None}
            if state.has_qr and state.qr_expires_at is not None:
                data["expiresAt"] = iso_ms(state.qr_expires_at)
            if not state.has_qr:
                data["message"] = (Snapshot.note_for(state)
                                   or "No QR code available. Client may already be authenticated.")
            self._reply(client, {"type": "qr_code", "data": data, "timestamp": now_ms(), "session": state.session})
        elif command.type == "subscribe":
            for name in command.sessions or ():
                client.identity.check_session(name)
            client.subs.subscribe(command.events, command.sessions)
            self._reply(client, {"type": "subscribed", "events": client.subs.event_list(),
                                 "sessions": client.subs.session_list(), "timestamp": now_ms()})
        elif command.type == "unsubscribe":
            client.subs.unsubscribe(command.events, command.sessions)
            self._reply(client, {"type": "unsubscribed", "events": client.subs.event_list(),
                                 "sessions": client.subs.session_list(), "timestamp": now_ms()})
        elif command.type == "resume":
            assert command.after is not None
            self._start_resume(client, command.after)

    def _start_resume(self, client: Client, after: int) -> None:
        """Start replaying to `client` beside its reader, so it keeps answering commands meanwhile;
        ProtocolError (`resume_in_progress`) while a replay of the client's runs."""
        if client.replay is not None and not client.replay.done():
            raise ProtocolError("resume_in_progress",
                                "a resume is already running on this connection; wait for its `resumed` frame")
        client.replay = asyncio.create_task(self._replay(client, after), name=f"ws{client.id}:resume")

    async def _replay(self, client: Client, after: int) -> None:
        try:
            await self._resume(client, after)
        except WaqtorError as exc:
            self._fail(client, exc)
            self._release_held(client, after)
        except Exception as exc:
            log.error("ws client %d: resuming failed", client.id, exc_info=exc)
            client.close(Close.INTERNAL, "internal error while resuming; reconnect with ?after= to resume")

    def _release_held(self, client: Client, last: int) -> None:
        """Stop holding live events aside, and offer those held that come after event `last`."""
        held, client.held = client.held, None
        for event in held or ():
            if event.id > last:
                client.offer(event, event.to_json())

    async def _resume(self, client: Client, after: int) -> None:
        """Replay every kept event after `after` that the client wants, then the live ones: no gap, no
        duplicate. Live events that arrive meanwhile are held aside and released after the replay."""
        if client.held is None:
            client.held = []
        # Frames already queued are re-sent from history if they fall after `after`.
        client.queue = deque(item for item in client.queue if item[0] is None)
        replayed = 0
        last = after
        try:
            history = await self._bus.history(after)
        except ReplayGap as gap:
            self._fail(client, ProtocolError("replay_gap", str(gap), oldest=gap.oldest, after=after))
            self._release_held(client, after)
            return
        for event in history:
            if client.wants(event):
                # Pace the replay by the writer so a long catch-up never overflows the send queue.
                while len(client.queue) >= max(1, client.limit // 2) and not client.closing:
                    client.drained.clear()
                    await client.drained.wait()
                if client.closing:
                    return
                client.push(event.id, event.to_json())
                replayed += 1
            last = event.id
        self._reply(client, {"type": "resumed", "after": after, "replayed": replayed, "timestamp": now_ms()})
        self._release_held(client, last)

    def info(self, viewer: Identity | None = None) -> list[dict[str, Any]]:
        """The connected clients; for a `viewer`, only those whose key reaches no session it cannot."""
        return [client.info() for client in self.clients.values()
                if viewer is None or viewer.covers(client.identity)]
