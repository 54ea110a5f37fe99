"""The neonize engine: one WhatsApp Web linked device per session, through neonize's sync client.

Threads. neonize's `connect()` blocks for the life of the connection, so every attempt runs it in a
thread of its own; neonize calls our handlers from its threads, and they hand engine events to the loop
through a bounded `Handoff`. Blocking calls (sends, pairing, logout, stop) run in `asyncio.to_thread`.

Go calls. A Go-backed method on a client whose Go side does not exist aborts the whole process: every
one goes through a `GoGuard` (guard.py). `Stop` itself is always safe.

The connection. A supervisor task runs attempts one after another: each ends with a `Verdict` (see
translate.py). A watchdog cuts an attempt that shows no sign of life within `connect_timeout`, and the
gateway, not whatsmeow, notices when the last QR code expired unscanned. Failed attempts back off
exponentially with jitter; a logged-out, outdated or replaced session stays down; a banned one waits for
the ban to end.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import dataclasses
import itertools
import logging
import random
import threading
import weakref
from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any, Literal, TypeVar
from urllib.parse import urlsplit

from waqtor.engines.backoff import backoff_delay
from waqtor.engines.base import (
    AccountInfo,
    Authenticated,
    Connecting,
    ContactProfile,
    Disconnected,
    Engine,
    EngineContext,
    LoggedOut,
    MessageIn,
    OutgoingMessage,
    OutgoingReaction,
    PairingCode,
    ProfilePicture,
    Ready,
    SendResult,
    media_bytes,
)
from waqtor.engines.handoff import Handoff
from waqtor.engines.neonize import store, translate
from waqtor.engines.neonize.guard import GoGuard
from waqtor.engines.waits import first_of, settle
from waqtor.errors import Conflict, EngineError, InvalidInput, SessionNotReady
from waqtor.tasks import TaskSet

log = logging.getLogger(__name__)
T = TypeVar("T")

Phase = Literal["stopped", "connecting", "qr", "linking", "connected", "disconnected", "halted"]

QR_GRACE = timedelta(seconds=10)  # whatsmeow's own timers run a little past ours
THREAD_JOIN = 5.0  # seconds to wait for a stopped client's thread before leaving it to finish alone
CALLS_DRAIN = 10.0  # seconds a closing client waits for Go calls in flight
# whatsmeow closes the login socket this long after it opened, pairing code or not; a code asked for with
# less than PAIR_MIN_LEFT of it left gets a fresh socket first, so there is time to type it.
LOGIN_WINDOW = timedelta(seconds=160)
PAIR_MIN_LEFT = timedelta(seconds=60)
PROXY_SCHEMES = ("http", "https", "socks5")
# neonize keys its Go clients by an id: a fresh one for every attempt, so that a late `Stop` of an old
# attempt can never reach a newer one.
_CLIENT_IDS = itertools.count(1)

# neonize opens (and on first use migrates) the shared store at the start of each connect: one at a time.
_startup_locks: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, asyncio.Lock] = weakref.WeakKeyDictionary()


def _startup_lock() -> asyncio.Lock:
    loop = asyncio.get_running_loop()
    lock = _startup_locks.get(loop)
    if lock is None:
        lock = _startup_locks[loop] = asyncio.Lock()
    return lock


def _build_client(dsn: str, jid: str | None, session: str) -> Any:
    """A neonize client on the store `dsn`: the stored device `jid`, or a new device to pair."""
    from neonize.client import NewClient
    from neonize.proto.Neonize_pb2 import JID

    # neonize warns at every start that media need ffmpeg: the gateway's sends do not use it.
    logging.getLogger("neonize.utils.ffmpeg").setLevel(logging.ERROR)

    store.prepare(dsn)
    device = JID(IsEmpty=False, **translate.parse_device_jid(jid)) if jid else None
    client = NewClient(dsn, jid=device, uuid=session, new_device=device is None)
    # neonize keys its Go-side clients by this id and would use the phone number when given a JID: two
    # sessions linked to the same phone must not share one, and neither may two attempts of one session.
    client.uuid = f"waqtor/{session}/{next(_CLIENT_IDS)}".encode()
    # Its finalizer stops the Go client of the same id when the object is collected, which could be a
    # newer attempt's; the engine stops every client itself.
    client._stop_finalizer.detach()  # noqa: SLF001  neonize offers no public way to keep it from stopping
    return client


class NeonizeEngine(Engine):
    name = "neonize"
    # Tests replace this to put a fake Go layer under a real neonize client.
    make_client: Callable[[str, str | None, str], Any] = staticmethod(_build_client)

    @classmethod
    def validate_config(cls, config: dict[str, Any]) -> dict[str, Any]:
        """One setting: `proxy`, the URL of an HTTP or SOCKS5 proxy the connection goes through
        (`socks5://user:pass@host:1080`)."""
        unknown = sorted(set(config) - {"proxy"})
        if unknown:
            raise InvalidInput(f"the neonize engine takes only `proxy` (got {', '.join(unknown)})",
                               code="invalid_engine_config")
        proxy = config.get("proxy")
        if proxy is None:
            return {}
        if not isinstance(proxy, str):
            raise InvalidInput("`proxy` must be a URL such as socks5://host:1080", code="invalid_engine_config")
        try:
            parts = urlsplit(proxy)
            port = parts.port
        except ValueError:
            parts, port = None, None
        if parts is None or parts.scheme not in PROXY_SCHEMES or not parts.hostname or port is None:
            raise InvalidInput(f"`proxy` must be a URL with a scheme ({', '.join(PROXY_SCHEMES)}), a host and a "
                               "port, such as socks5://host:1080", code="invalid_engine_config")
        return {"proxy": proxy}

    @classmethod
    def public_config(cls, config: dict[str, Any]) -> dict[str, Any]:
        proxy = config.get("proxy")
        if not isinstance(proxy, str):
            return dict(config)
        parts = urlsplit(proxy)
        if parts.password is None:
            return dict(config)
        host = parts.netloc.rpartition("@")[2]
        return {**config, "proxy": parts._replace(netloc=f"{parts.username}:********@{host}").geturl()}

    def __init__(self, ctx: EngineContext) -> None:
        super().__init__(ctx)
        self._dsn = store.store_dsn(ctx.settings)
        self._tasks = TaskSet(f"neonize[{ctx.session}]", on_crash=self.report_crash)
        self._handoff: Handoff | None = None
        self._supervisor: asyncio.Task[None] | None = None
        self._client: Any = None
        self._thread: threading.Thread | None = None
        self._guard = GoGuard(ctx.session)
        self._verdict: asyncio.Future[translate.Verdict] | None = None
        self._alive: asyncio.Event | None = None
        self._attempts = 0
        self._qr_index = 0
        self._qr_expires: datetime | None = None
        self._socket_since: datetime | None = None
        self._login_open = asyncio.Event()  # the attempt's login socket is up (its first QR code came)
        self._account: AccountInfo | None = None
        self.phase: Phase = "stopped"

    # ---- lifecycle ------------------------------------------------------------------------------

    async def start(self) -> None:
        if self._supervisor is not None:
            return
        self._handoff = Handoff(f"neonize[{self.ctx.session}]", asyncio.get_running_loop())
        self._tasks.spawn(self._handoff.pump(self._consume), "events")
        self._supervisor = self._tasks.spawn(self._supervise(), "connection")

    async def stop(self) -> None:
        await self._stop_supervisor()
        await self._tasks.close()
        self._handoff = None
        self.phase = "stopped"

    async def _stop_supervisor(self) -> None:
        task, self._supervisor = self._supervisor, None
        if task is not None:
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)
        await self._close_client()

    async def logout(self) -> None:
        client = self._client
        if self.phase == "connected" and client is not None:
            try:
                await asyncio.to_thread(self._guard.call, client, client.logout)
            except EngineError as exc:
                log.warning("session %s: WhatsApp did not confirm the logout (%s); forgetting the link here",
                            self.ctx.session, exc.message)
        restart = self._supervisor is not None
        await self._stop_supervisor()
        await self.forget()
        self._account = None
        if restart and self._handoff is not None:
            self._relaunch()

    def _relaunch(self) -> None:
        """A new connection supervisor (the old one stopped), its backoff starting over."""
        self._attempts = 0
        self._supervisor = self._tasks.spawn(self._supervise(), "connection")

    async def forget(self) -> None:
        link = await self.ctx.store.load()
        jid = (link or {}).get("jid")
        if jid:
            await store.forget_device(self._dsn, jid)
        await self.ctx.store.save(None)

    # ---- the connection supervisor ---------------------------------------------------------------

    async def _supervise(self) -> None:
        try:
            while True:
                verdict, had_life = await self._attempt()
                delay = await self._conclude(verdict, had_life)
                if delay is None:
                    return
                await asyncio.sleep(delay)
        finally:
            await self._close_client()

    async def _attempt(self) -> tuple[translate.Verdict, bool]:
        loop = asyncio.get_running_loop()
        self.phase = "connecting"
        self._qr_index, self._qr_expires, self._socket_since = 0, None, None
        self._login_open.clear()
        self._verdict = loop.create_future()
        self._alive = alive = asyncio.Event()
        await self._post(Connecting())
        try:
            link = await self._restore_link()
            client = await asyncio.to_thread(self.make_client, self._dsn, link, self.ctx.session)
            self._register(client)
        except Exception as exc:  # a store it cannot open or a client it cannot build: retry later
            log.exception("session %s: could not prepare the WhatsApp client", self.ctx.session)
            return translate.connect_error(str(exc) or type(exc).__name__), False
        done: asyncio.Future[str | None] = loop.create_future()
        self._client = client
        self._guard.attach(client)
        self._thread = threading.Thread(target=self._run, args=(client, done), daemon=True,
                                        name=f"neonize[{self.ctx.session}]")
        timeout = self.ctx.settings.connect_timeout
        deadline = loop.time() + timeout
        async with _startup_lock():
            self._thread.start()
            await first_of(done, alive.wait(), timeout=timeout)
        while True:
            if done.done():
                error = done.result()
                if error is not None:
                    return translate.connect_error(error), alive.is_set()
                return translate.connect_error("the connection ended"), alive.is_set()
            if self._verdict.done():
                return self._verdict.result(), alive.is_set()
            if not alive.is_set():
                wait: float | None = deadline - loop.time()
                if wait is not None and wait <= 0:
                    return translate.connect_timeout(timeout), False
            elif (qr_expires := self._shown_qr_expiry()) is not None:
                wait = (qr_expires + QR_GRACE - datetime.now(UTC)).total_seconds()
                if wait <= 0:
                    if self._linking():  # paired, but the connection never came up
                        return translate.connect_timeout(timeout), True
                    return translate.qr_timeout(), True
            else:
                wait = None
            await first_of(done, self._verdict, alive.wait() if not alive.is_set() else None, timeout=wait)

    def _linking(self) -> bool:
        """Paired, and waiting for the connection (a method for the same reason as `_shown_qr_expiry`)."""
        return self.phase == "linking"

    def _proxy(self) -> Any:
        proxy = self.ctx.config.get("proxy")
        if not proxy:
            return None
        from neonize._binder import ProxySettings

        return ProxySettings(proxy_address=proxy)

    def _shown_qr_expiry(self) -> datetime | None:
        """When the QR code on show expires (once paired: when the login must be done); None while none is
        shown. (A method, so the attempt's loop reads the fields as `_on_qr` left them: mypy keeps an
        attribute narrowed across `await`.)"""
        return self._qr_expires if self.phase in ("qr", "linking") else None

    def _run(self, client: Any, done: asyncio.Future[str | None]) -> None:
        """The attempt's thread: neonize's blocking connect; its end (with the error, if any) goes to the loop."""
        error: str | None = None
        try:
            client.connect(self._proxy())
        except Exception as exc:  # neonize raises NeonizeError; anything else is reported the same way
            error = str(exc) or type(exc).__name__
        handoff = self._handoff
        if handoff is not None:
            handoff.call_soon(settle, done, error)

    async def _conclude(self, verdict: translate.Verdict, had_life: bool) -> float | None:
        """Close the attempt's client and report the verdict; the seconds to wait before the next
        attempt, or None to stay down."""
        await self._close_client()
        self.phase = "disconnected"
        if verdict.forget_link:
            await self.ctx.store.save(None)
            self._account = None
        event = verdict.event
        if verdict.action == "halt" and isinstance(event, LoggedOut) and self.ctx.settings.relink_after_logout:
            # The phone unlinked us: offer a new QR code at once, as after a logout through the API.
            log.warning("session %s: %s; offering a new QR code", self.ctx.session, event.message)
            self._attempts = 0
            await self._post(event)
            return 0.0
        if verdict.action == "halt":
            self.phase = "halted"
            log.error("session %s: %s (not reconnecting)", self.ctx.session, event.message)
            await self._post(event)
            return None
        if had_life:
            self._attempts = 0
        if verdict.action == "wait" and verdict.retry_at is not None:
            self._attempts = 0
            delay = max(0.0, (verdict.retry_at - datetime.now(UTC)).total_seconds())
        else:
            self._attempts += 1
            delay = backoff_delay(self._attempts, minimum=self.ctx.settings.reconnect_min,
                                  maximum=self.ctx.settings.reconnect_max, draw=random.random())
        details = {**event.details, "attempt": self._attempts, "retryInSeconds": round(delay, 1)}
        if isinstance(event, Disconnected):
            event = dataclasses.replace(event, details=details)
        log.warning("session %s: %s (retry %d in %.1f s)", self.ctx.session, event.message, self._attempts, delay)
        await self._post(event)
        return delay

    async def _restore_link(self) -> str | None:
        """The JID of the session's stored device, or None to pair a new one."""
        link = await self.ctx.store.load()
        jid = (link or {}).get("jid")
        if not isinstance(jid, str):
            return None
        # Opening a JID the store no longer holds is one of the calls that abort the process.
        if not await store.device_exists(self._dsn, jid):
            log.warning("session %s: its linked device is gone from the store; pairing anew", self.ctx.session)
            await self.ctx.store.save(None)
            return None
        return jid

    async def _close_client(self) -> None:
        client, thread = self._client, self._thread
        self._client = self._thread = None
        if client is None:
            return
        await asyncio.to_thread(self._guard.close, CALLS_DRAIN)
        try:
            await asyncio.to_thread(GoGuard.stop, client)
        except Exception:
            log.exception("session %s: stopping the WhatsApp client failed", self.ctx.session)
        if thread is not None and thread.is_alive():
            await asyncio.to_thread(thread.join, THREAD_JOIN)
            if thread.is_alive():
                log.warning("session %s: the old connection attempt is still dialling; it ends on its own",
                            self.ctx.session)

    # ---- neonize's callbacks (its threads) ---------------------------------------------------------

    def _register(self, client: Any) -> None:
        from neonize import events as ev

        for kind in (ev.ConnectedEv, ev.PairStatusEv, ev.LoggedOutEv, ev.TemporaryBanEv, ev.StreamReplacedEv,
                     ev.ClientOutdatedEv, ev.ConnectFailureEv, ev.DisconnectedEv, ev.KeepAliveTimeoutEv,
                     ev.KeepAliveRestoredEv, ev.StreamErrorEv, ev.MessageEv, ev.ReceiptEv, ev.PresenceEv,
                     ev.ChatPresenceEv):
            client.event(kind)(self._on_event)
        client.event.qr(self._on_qr)

    def _on_qr(self, client: Any, data: bytes) -> None:
        if client is not self._client:
            return
        self._guard.alive(client)
        now = datetime.now(UTC)
        code = translate.qr_code(data, self._qr_index, now)
        first = self._qr_index == 0
        if first:
            self._socket_since = now  # the login socket opened with the first code
        self._qr_index += 1
        self._qr_expires = code.expires_at
        self.phase = "qr"
        if first and self._handoff is not None:
            # Only once the phase says so: a pairing waiting on this checks the phase as soon as it wakes.
            self._handoff.call_soon(self._login_open.set)
        self._signal_alive()
        self._put(code)

    def _on_event(self, client: Any, event: Any) -> None:
        if client is not self._client:
            return
        try:
            self._dispatch(client, event)
        except Exception:  # never raise into neonize's thread
            log.exception("session %s: handling %s failed", self.ctx.session, type(event).__name__)

    def _with_media(self, client: Any, event: Any, message: MessageIn) -> MessageIn | _Download:
        """The message as it goes to the loop. One with a file the gateway may keep starts the download
        in a thread of its own (never in neonize's, which must go on delivering events) and travels as a
        `_Download`, which the loop waits for in turn (`_downloaded`). A file declared over the media
        limit is not fetched: the message goes on without it, with the reason."""
        media = message.media
        if not media or message.type not in translate.DOWNLOADABLE:
            return message
        limit = self.ctx.settings.media_max
        declared = media.get("size") or 0
        if declared > limit:
            return self._without_file(message, f"the file is {declared} bytes, over the media limit of {limit} bytes")
        body = translate.unwrap(event.Message)
        done: concurrent.futures.Future[bytes] = concurrent.futures.Future()

        def fetch() -> None:
            if not done.set_running_or_notify_cancel():  # running futures cannot be cancelled by a timeout
                return
            try:
                data = self._guard.call(client, client.download_any, body)
            except BaseException as exc:  # handed to the loop, which logs it with the message
                done.set_exception(exc)
            else:
                done.set_result(bytes(data or b""))

        threading.Thread(target=fetch, daemon=True, name=f"neonize[{self.ctx.session}]:media").start()
        return _Download(message, done)

    async def _downloaded(self, item: _Download) -> MessageIn:
        """The message with its file's bytes under media["data"]; without them, and the reason under
        media["error"], when the download failed, outlasted WAQTOR_MEDIA_DOWNLOAD_TIMEOUT (the thread is
        left to finish alone), or brought more bytes than the media limit (a declared size of 0 or none
        proves nothing: the bytes received decide)."""
        timeout = self.ctx.settings.media_download_timeout
        limit = self.ctx.settings.media_max
        try:
            data = await asyncio.wait_for(asyncio.wrap_future(item.data), timeout)
        except TimeoutError:
            reason = f"the download took longer than {timeout:g} s"
        except Exception as exc:
            reason = f"the download failed: {getattr(exc, 'message', None) or exc}"
        else:
            if not data:
                reason = "WhatsApp gave an empty file"
            elif len(data) > limit:
                reason = f"the file is {len(data)} bytes, over the media limit of {limit} bytes"
            else:
                return dataclasses.replace(item.message, media={**(item.message.media or {}), "data": data})
        return self._without_file(item.message, reason)

    def _own_device(self, client: Any) -> str | None:
        """The JID of this linked device (`user:device@server`), to recognise our own sends coming back."""
        device = client.me
        if device is None or not device.HasField("JID") or not device.JID.User:
            try:
                device = self._guard.call(client, client.get_me)
            except Exception:  # not connected any more: nothing to compare with
                return None
        return translate.device_jid_string(device.JID) if device.JID.User else None

    def _vote(self, client: Any, event: Any) -> None:
        """A poll vote: decrypted by neonize (whatsmeow's DecryptPollVote, with the poll's secret from its
        store), then its chosen options' hashes go to the loop. One that cannot be decrypted (a poll this
        device never saw) is dropped with a warning."""
        try:
            decrypted = self._guard.call(client, client.decrypt_poll_vote, event)
        except Exception as exc:
            log.warning("session %s: a poll vote could not be decrypted: %s", self.ctx.session,
                        getattr(exc, "message", None) or exc)
            return
        vote = translate.poll_vote(event, decrypted.selectedOptions)
        if vote is not None:
            self._put(vote)

    def _dispatch(self, client: Any, event: Any) -> None:
        name = event.DESCRIPTOR.name
        if name == "Message" and translate.poll_update(event) is not None:
            self._vote(client, event)
        elif name == "Message":
            own = self._own_device(client) if event.Info.MessageSource.IsFromMe else None
            item = translate.message_in(event, own)
            if isinstance(item, MessageIn):
                self._put(self._with_media(client, event, item))
            elif item is not None:
                self._put(item)
        elif name == "Receipt":
            for status in translate.statuses(event):
                self._put(status)
        elif name in ("Presence", "ChatPresence"):
            update = translate.presence(event, datetime.now(UTC))
            if update is not None:
                self._put(update)
        elif name == "Connected":
            self._guard.alive(client)
            self._connected(client)
        elif name == "PairStatus" and event.Status == event.SUCCESS:
            # Linked: the QR codes' deadline is over; the attempt now has until the connection comes up.
            self.phase = "linking"
            self._qr_expires = datetime.now(UTC) + timedelta(seconds=self.ctx.settings.connect_timeout)
            self._put(_Remember(translate.device_jid_string(event.ID)))
            self._put(Authenticated())
        elif name == "KeepAliveRestored":
            if self._account is not None:
                self.phase = "connected"
                self._put(Ready(self._account))
        else:
            verdict = translate.connection_verdict(event, datetime.now(UTC))
            if verdict is None:
                return
            if verdict.action == "keep":
                self.phase = "disconnected"
                self._put(verdict.event)
            elif self._handoff is not None:
                self._handoff.call_soon(self._end_attempt, client, verdict)

    def _connected(self, client: Any) -> None:
        device = self._guard.call(client, client.get_me)
        if translate.account(device) is None and client.me is not None:
            device = client.me  # the Device neonize pushed at login
        info = translate.account(device)
        if info is None:
            log.error("session %s: connected, but WhatsApp did not say which account", self.ctx.session)
            return
        self._account = info
        self.phase = "connected"
        self._signal_alive()
        self._put(_Remember(translate.device_jid_string(device.JID)))
        self._put(Ready(info))

    def _signal_alive(self) -> None:
        alive, handoff = self._alive, self._handoff
        if alive is not None and handoff is not None:
            handoff.call_soon(alive.set)

    def _end_attempt(self, client: Any, verdict: translate.Verdict) -> None:
        if client is self._client and self._verdict is not None and not self._verdict.done():
            self._verdict.set_result(verdict)

    def _put(self, item: Any) -> None:
        if self._handoff is not None:
            self._handoff.put(item)

    async def _post(self, item: Any) -> None:
        if self._handoff is not None:
            await self._handoff.queue.put(item)

    async def _consume(self, item: Any) -> None:
        if isinstance(item, _Remember):
            await self.ctx.store.save({"jid": item.jid})
        elif isinstance(item, _Download):
            await self.ctx.emit(await self._downloaded(item))
        else:
            await self.ctx.emit(item)

    # ---- what the routes drive --------------------------------------------------------------------

    async def pair(self, phone: str) -> PairingCode:
        """A pairing code for `phone`, valid until whatsmeow closes the login socket (LOGIN_WINDOW after it
        opened). With less than PAIR_MIN_LEFT of the window left, a fresh socket is opened first."""
        from neonize.utils.enum import ClientName, ClientType

        if self.phase != "qr" or self._client is None:
            raise Conflict(f"session {self.ctx.session!r} is not waiting for a phone to link (it is {self.phase})",
                           code="not_waiting_for_link")
        if self._login_left() < PAIR_MIN_LEFT:
            await self._fresh_login()
        client, opened = self._client, self._socket_since
        if self.phase != "qr" or client is None or opened is None:
            raise Conflict(f"session {self.ctx.session!r} is not waiting for a phone to link (it is {self.phase})",
                           code="not_waiting_for_link")
        try:
            code = await asyncio.to_thread(self._guard.call, client, client.PairPhone, phone, True,
                                           ClientName.LINUX, ClientType.CHROME)
        except EngineError as exc:
            raise EngineError(f"WhatsApp refused the pairing request: {exc.message}", code="pairing_refused") from None
        return PairingCode(code=code, expires_at=opened + LOGIN_WINDOW)

    def _login_left(self) -> timedelta:
        opened = self._socket_since
        if opened is None:
            return timedelta(0)
        return opened + LOGIN_WINDOW - datetime.now(UTC)

    async def _fresh_login(self) -> None:
        """Close the attempt whose login socket is about to close, and wait for a new one's first QR code."""
        log.info("session %s: the login socket closes in %.0f s; opening a fresh one for the pairing code",
                 self.ctx.session, max(0.0, self._login_left().total_seconds()))
        await self._stop_supervisor()
        self.phase, self._socket_since = "connecting", None
        self._login_open.clear()
        self._relaunch()
        await first_of(self._login_open.wait(), self._supervisor, timeout=self.ctx.settings.connect_timeout)
        if not self._login_open.is_set():
            raise EngineError("WhatsApp did not open a new login in time; try again", code="pairing_refused")

    async def send(self, message: OutgoingMessage) -> SendResult:
        from waqtor.engines.neonize import outgoing

        client = self._client
        if self.phase != "connected" or client is None:
            raise SessionNotReady(f"session {self.ctx.session!r} is not connected (it is {self.phase})")
        data = await asyncio.to_thread(media_bytes, message.media) if message.media is not None else None
        def upload(raw: bytes, kind: Any) -> Any:
            return self._guard.call(client, client.upload, raw, kind)

        if message.type == "poll":
            def create(question: str, options: list[str], kind: Any) -> Any:
                return self._guard.call(client, client.build_poll_vote_creation, question, options, kind)

            body = await asyncio.to_thread(outgoing.poll, message, create, self._own_jid())
        else:
            body = await asyncio.to_thread(outgoing.build, message, upload, data, self._own_jid())
        return await self._send_body(client, message.to, body)

    async def react(self, reaction: OutgoingReaction) -> SendResult:
        """Send the account's reaction (a ReactionMessage built as whatsmeow's BuildReaction does)."""
        from waqtor.engines.neonize import outgoing

        client = self._client
        if self.phase != "connected" or client is None:
            raise SessionNotReady(f"session {self.ctx.session!r} is not connected (it is {self.phase})")
        body = outgoing.reaction(reaction, self._own_jid(), int(datetime.now(UTC).timestamp() * 1000))
        return await self._send_body(client, reaction.chat, body)

    def _own_jid(self) -> str | None:
        return f"{self._account.phone}@s.whatsapp.net" if self._account is not None else None

    async def _send_body(self, client: Any, to: str, body: Any) -> SendResult:
        from waqtor.engines.neonize import outgoing

        response = await asyncio.to_thread(self._guard.call, client, client.send_message, outgoing.recipient(to), body)
        return SendResult(id=response.ID, timestamp=datetime.fromtimestamp(response.Timestamp, UTC))

    async def is_on_whatsapp(self, jids: Sequence[str]) -> dict[str, bool] | None:
        """Ask WhatsApp (whatsmeow's IsOnWhatsApp, one query for all) which numbers have an account."""
        return {jid: account is not None for jid, account in (await self.check_numbers(jids)).items()}

    # ---- contacts -------------------------------------------------------------------------------------

    async def _contacts_call(self, fn: Callable[..., T], *args: Any) -> T:
        """`fn(client, *args)` from waqtor.engines.neonize.contacts, in a thread through the guard."""
        client = self._client
        if self.phase != "connected" or client is None:
            raise SessionNotReady(f"session {self.ctx.session!r} is not connected (it is {self.phase})")
        return await asyncio.to_thread(self._guard.call, client, fn, client, *args)

    async def check_numbers(self, jids: Sequence[str]) -> dict[str, str | None]:
        from waqtor.engines.neonize import contacts

        return await self._contacts_call(contacts.check, list(jids))

    async def contact_profile(self, jid: str) -> ContactProfile:
        from waqtor.engines.neonize import contacts

        return await self._contacts_call(contacts.profile, jid)

    async def profile_picture(self, jid: str) -> ProfilePicture | None:
        from waqtor.engines.neonize import contacts

        return await self._contacts_call(contacts.picture, jid)

    async def set_blocked(self, jid: str, blocked: bool) -> None:
        from waqtor.engines.neonize import contacts

        await self._contacts_call(contacts.block, jid, blocked)

    def _live_client(self) -> Any:
        client = self._client
        if self.phase != "connected" or client is None:
            raise SessionNotReady(f"session {self.ctx.session!r} is not connected (it is {self.phase})")
        return client

    async def edit_message(self, chat: str, message_id: str, text: str) -> datetime:
        """Send WhatsApp's edit of the account's message (neonize's edit_message: a protocolMessage
        MESSAGE_EDIT carrying the new text)."""
        from neonize.proto.waE2E.WAWebProtobufsE2E_pb2 import Message

        from waqtor.engines.neonize import outgoing

        client = self._live_client()
        response = await asyncio.to_thread(self._guard.call, client, client.edit_message, outgoing.recipient(chat),
                                           message_id, Message(conversation=text))
        return datetime.fromtimestamp(response.Timestamp, UTC)

    async def revoke_message(self, chat: str, message_id: str) -> datetime:
        """Send WhatsApp's deletion for everyone of the account's message (neonize's revoke_message, as
        its sender: the account's own JID)."""
        from waqtor.engines.neonize import outgoing

        client = self._live_client()

        def revoke() -> Any:
            return client.revoke_message(outgoing.recipient(chat), client.get_me().JID, message_id)

        response = await asyncio.to_thread(self._guard.call, client, revoke)
        return datetime.fromtimestamp(response.Timestamp, UTC)

    async def mark_read(self, chat: str, messages: Sequence[tuple[str, str]]) -> None:
        """neonize's mark_read: one read receipt per sender (a group's messages have several)."""
        from neonize.utils.enum import ReceiptType

        from waqtor.engines.neonize import outgoing

        client = self._live_client()
        by_sender: dict[str, list[str]] = {}
        for wa_id, sender in messages:
            by_sender.setdefault(sender, []).append(wa_id)

        def mark() -> None:
            for sender, ids in by_sender.items():
                client.mark_read(*ids, chat=outgoing.recipient(chat), sender=outgoing.recipient(sender),
                                 receipt=ReceiptType.READ)

        await asyncio.to_thread(self._guard.call, client, mark)

    async def send_chat_presence(self, chat: str, state: str) -> None:
        """neonize's send_chat_presence: composing (text or audio: recording) or paused."""
        from neonize.utils.enum import ChatPresence, ChatPresenceMedia

        from waqtor.engines.neonize import outgoing

        client = self._live_client()
        shown = ChatPresence.CHAT_PRESENCE_PAUSED if state == "paused" else ChatPresence.CHAT_PRESENCE_COMPOSING
        media = (ChatPresenceMedia.CHAT_PRESENCE_MEDIA_AUDIO if state == "recording"
                 else ChatPresenceMedia.CHAT_PRESENCE_MEDIA_TEXT)
        await asyncio.to_thread(self._guard.call, client, client.send_chat_presence, outgoing.recipient(chat), shown,
                                media)

    async def subscribe_presence(self, jid: str) -> None:
        """neonize's subscribe_presence: whatsmeow then delivers the contact's Presence events."""
        from waqtor.engines.neonize import outgoing

        client = self._live_client()
        await asyncio.to_thread(self._guard.call, client, client.subscribe_presence, outgoing.recipient(jid))

    async def send_presence(self, state: str) -> None:
        """neonize's send_presence: the account online (available) or offline (unavailable)."""
        from neonize.utils.enum import Presence

        client = self._live_client()
        shown = Presence.AVAILABLE if state == "available" else Presence.UNAVAILABLE
        await asyncio.to_thread(self._guard.call, client, client.send_presence, shown)


@dataclasses.dataclass(frozen=True, slots=True)
class _Remember:
    """Keep the JID of the session's device in its engine store (handed through the queue, in order)."""

    jid: str


@dataclasses.dataclass(frozen=True, slots=True)
class _Download:
    """A received message whose file is being downloaded in a thread: it reaches the gateway, in its turn,
    once the bytes are there or the wait is over."""

    message: MessageIn
    data: concurrent.futures.Future[bytes]
