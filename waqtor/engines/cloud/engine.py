"""The cloud engine: one number on the official WhatsApp Cloud API, through pywa (`pywa_async`).

There is no QR code and no device to link: a Cloud API "session" is a phone number id and a token. The
session is connected while Meta accepts the token (checked at start, and whenever a call is refused);
a refused token halts it with `lastError` `token_refused`; an unreachable Graph API is retried with the
same backoff as the other engines. Inbound messages and statuses arrive on the gateway's public webhook
route, which hands the raw body here to check Meta's signature. The webhook's health shows in the same
state: deliveries refused for their signature (`webhook_refused`) or a verification with the wrong verify
token (`webhook_unverified`) become `lastError` while the number stays connected, until a good one.

A delivery is processed whole: every message and status of every change of every entry. When one cannot
be handled the delivery is answered 503 (after the others were handled), so Meta delivers it again;
what a redelivery repeats is dropped by its WhatsApp id (here, for the ids handled recently, and by the
message log, which keeps one received message per id and moves a sent one forward only).

Meta's rate limits (`translate.RATE_LIMIT_CODES`) refuse a send with `ThrottledByWhatsApp`, which the
send queue answers by pausing and trying again (`waqtor.messaging.service`); a refused token halts the
session (`token_refused`); any other refusal fails that one message (`whatsapp_error`).
"""

from __future__ import annotations

import asyncio
import contextvars
import dataclasses
import logging
import random
import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

import httpx

from waqtor.engines.backoff import backoff_delay
from waqtor.engines.base import (
    Connecting,
    Disconnected,
    Engine,
    EngineContext,
    MessageIn,
    MessageReaction,
    MessageStatus,
    OutgoingMessage,
    OutgoingReaction,
    Problem,
    Ready,
    SendResult,
    Solved,
    media_bytes,
)
from waqtor.engines.cloud import translate
from waqtor.errors import (
    EngineError,
    Forbidden,
    InvalidInput,
    NotSupportedByEngine,
    SessionNotReady,
    ThrottledByWhatsApp,
    Unauthorized,
    Unavailable,
)
from waqtor.tasks import TaskSet

log = logging.getLogger(__name__)

# lastError codes of the webhook's health (the token's are token_refused and cloud_unreachable).
WEBHOOK_REFUSED = "webhook_refused"
WEBHOOK_UNVERIFIED = "webhook_unverified"
REFUSED_REPORT_INTERVAL = 60.0
HANDLED_IDS = 10_000  # (kind, WhatsApp id, status) handled recently: a redelivery skips them

# What pywa's handlers made of the update being dispatched: events, or the error translating one.
_Pending = list[MessageIn | MessageStatus | MessageReaction | Exception]
_pending: contextvars.ContextVar[_Pending | None] = contextvars.ContextVar("cloud_pending", default=None)


def _http_client() -> httpx.AsyncClient:
    return httpx.AsyncClient(timeout=httpx.Timeout(30.0, connect=10.0))


class CloudEngine(Engine):
    name = "cloud"
    redelivers = True  # Meta delivers a webhook call again until it is answered 2xx
    qr_note = ("The WhatsApp Cloud API has no QR code: the number is registered in Meta's WhatsApp Manager, "
               "not linked from a phone.")
    # Tests replace this with a client on httpx.MockTransport.
    make_http_client: Callable[[], httpx.AsyncClient] = staticmethod(_http_client)

    def __init__(self, ctx: EngineContext) -> None:
        super().__init__(ctx)
        self._config = translate.validate_config(ctx.config)
        self._tasks = TaskSet(f"cloud[{ctx.session}]", on_crash=self.report_crash)
        self._http: httpx.AsyncClient | None = None
        self._wa: Any = None
        self.connected = False
        self._refused = 0  # webhook deliveries refused since the last good one
        self._refused_reported = 0.0
        self._handled: OrderedDict[tuple[str, ...], None] = OrderedDict()

    @classmethod
    def validate_config(cls, config: dict[str, Any]) -> dict[str, Any]:
        return translate.validate_config(config)

    @classmethod
    def public_config(cls, config: dict[str, Any]) -> dict[str, Any]:
        return translate.public_config(config)

    # ---- lifecycle ------------------------------------------------------------------------------

    async def start(self) -> None:
        from pywa_async.client import WhatsApp

        self._http = self.make_http_client()
        self._wa = wa = WhatsApp(
            phone_id=self._config["phoneId"],
            token=self._config["token"],
            session=self._http,
            server=None,
            verify_token=self._config["verifyToken"],
            app_secret=self._config["appSecret"],
            validate_updates=True,
            # Duplicates are dropped by WhatsApp id (`_handled`, the message log); pywa's own check by the
            # body's hash would drop the redelivery of a delivery that failed.
            skip_duplicate_updates=False,
        )
        wa.add_handlers(*self._handlers())
        self._tasks.spawn(self._check_token(), "token-check")

    def _handlers(self) -> list[Any]:
        from pywa_async.handlers import MessageHandler, MessageStatusHandler

        # pywa logs and swallows what a handler raises: they only translate, and `handle_webhook` emits.
        def collect(make: Callable[[], MessageIn | MessageStatus | MessageReaction]) -> None:
            pending = _pending.get()
            if pending is None:  # dispatched outside handle_webhook: nothing waits for it
                log.warning("session %s: a Cloud API update arrived outside a webhook delivery", self.ctx.session)
                return
            try:
                pending.append(make())
            except Exception as exc:  # any failure to translate refuses the delivery
                pending.append(exc)

        async def on_message(_: Any, message: Any) -> None:
            collect(lambda: translate.message_in(message))

        async def on_status(_: Any, update: Any) -> None:
            collect(lambda: translate.status(update))

        return [MessageHandler(on_message), MessageStatusHandler(on_status)]

    async def _with_media(self, message: MessageIn) -> MessageIn:
        """The message with its file's bytes under media["data"], fetched from Meta (the media URL, then
        the file, both with the token) within WAQTOR_MEDIA_DOWNLOAD_TIMEOUT and the media limit; without
        them, and the reason under media["error"], when it cannot be fetched or kept: a failed download must
        not lose the message itself. The file is read as it arrives and given up past the limit, whatever
        size Meta declared (a missing or zero `file_size` proves nothing)."""
        from pywa_async.errors import WhatsAppError

        media = message.media
        if not media or not media.get("id") or message.type not in translate.DOWNLOADABLE or self._wa is None:
            return message
        limit = self.ctx.settings.media_max
        timeout = self.ctx.settings.media_download_timeout
        try:
            async with asyncio.timeout(timeout):
                found = await self._wa.get_media_url(media_id=media["id"])
                if (found.file_size or 0) > limit:
                    return self._without_file(
                        message, f"the file is {found.file_size} bytes, over the media limit of {limit} bytes")
                data = await self._read_within(found.url, limit)
        except TimeoutError:
            return self._without_file(message, f"the download took longer than {timeout:g} s")
        except (WhatsAppError, httpx.HTTPError, KeyError, ValueError) as exc:
            return self._without_file(message, f"the download failed: {type(exc).__name__}")
        if data is None:
            return self._without_file(message, f"the file is over the media limit of {limit} bytes")
        if not data:
            return self._without_file(message, "Meta gave an empty file")
        return dataclasses.replace(message, media={**media, "data": data})

    async def _read_within(self, url: str, limit: int) -> bytes | None:
        """The file at Meta's `url`, read as it arrives; None as soon as it is over `limit` bytes (the
        rest is never read)."""
        got = bytearray()
        chunks = self._wa.stream_media(url=url)  # an async generator: closing it ends the download
        try:
            async for chunk in chunks:
                got += chunk
                if len(got) > limit:
                    return None
        finally:
            await chunks.aclose()
        return bytes(got)

    async def stop(self) -> None:
        await self._tasks.close()
        self.connected = False
        if self._http is not None:
            await self._http.aclose()
            self._http = None
        self._wa = None

    async def logout(self) -> None:
        raise InvalidInput("a Cloud API number cannot be logged out from the gateway: it stays registered with "
                           "Meta; revoke its token in Meta's dashboard or delete the session",
                           code="logout_not_supported")

    async def _check_token(self) -> None:
        """Ask Meta for the number's details until it answers: connected, halted, or retried with backoff."""
        from pywa_async.errors import WhatsAppError

        await self.ctx.emit(Connecting())
        attempt = 0
        while True:
            try:
                number = await self._wa.get_business_phone_number()
            except WhatsAppError as exc:
                if translate.token_refused(exc.code, exc.status_code):
                    await self._token_refused(exc)
                    return
                problem = f"the Cloud API refused the phone number check: {exc.message} (code {exc.code})"
            except httpx.HTTPError as exc:
                problem = f"cannot reach the Cloud API: {exc}"
            else:
                self.connected = True
                await self.ctx.emit(Ready(translate.account(number)))
                return
            attempt += 1
            delay = backoff_delay(attempt, minimum=self.ctx.settings.reconnect_min,
                                  maximum=self.ctx.settings.reconnect_max, draw=random.random())
            log.warning("session %s: %s (retry %d in %.1f s)", self.ctx.session, problem, attempt, delay)
            await self.ctx.emit(Disconnected(code="cloud_unreachable", message=problem, reconnecting=True,
                                             details={"attempt": attempt, "retryInSeconds": round(delay, 1)}))
            await asyncio.sleep(delay)

    async def _token_refused(self, exc: Any) -> None:
        self.connected = False
        message = f"Meta refused the access token: {exc.message} (code {exc.code}); set a valid token"
        log.error("session %s: %s", self.ctx.session, message)
        await self.ctx.emit(Disconnected(code="token_refused", message=message, reconnecting=False,
                                         details={"metaCode": exc.code}))

    # ---- webhooks (the gateway's public route calls these) ------------------------------------------

    async def verify_webhook(self, mode: str | None, token: str | None, challenge: str | None) -> str:
        """Meta's subscription check: the challenge to echo, or Forbidden when the verify token is wrong."""
        if self._wa is None:
            raise SessionNotReady(f"session {self.ctx.session!r} is stopped")
        if mode != "subscribe" or not challenge:
            raise InvalidInput("expected hub.mode=subscribe with a hub.challenge", code="invalid_challenge")
        answer, status = await self._wa.webhook_challenge_handler(vt=token, ch=challenge)
        if status != 200 or answer is None:
            await self.ctx.emit(Problem(
                WEBHOOK_UNVERIFIED, "Meta's webhook verification was refused: the verify token it sent is not "
                "this session's verifyToken; set the same token in Meta's app dashboard and here"))
            raise Forbidden("the verify token does not match this session's", code="verify_token_mismatch")
        await self.ctx.emit(Solved(WEBHOOK_UNVERIFIED))
        return str(answer)

    async def handle_webhook(self, body: bytes, signature: str | None) -> None:
        """Process one webhook delivery; Unauthorized without a signature, Forbidden with a wrong one (in
        both cases nothing is processed)."""
        if self._wa is None:
            raise SessionNotReady(f"session {self.ctx.session!r} is stopped")
        refused = await self._wa.webhook_update_validator(update=body, hmac_header=signature)
        if refused is not None:
            missing = refused[1] == 401
            await self._delivery_refused("signature_missing" if missing else "signature_mismatch")
            if missing:
                raise Unauthorized("the X-Hub-Signature-256 header is missing", code="signature_missing")
            raise Forbidden("the X-Hub-Signature-256 signature does not match", code="signature_mismatch")
        if self._refused:
            self._refused, self._refused_reported = 0, 0.0
            await self.ctx.emit(Solved(WEBHOOK_REFUSED))
        failed: list[str] = []
        for piece in translate.split_delivery(body):
            pending: _Pending = []
            token = _pending.set(pending)
            try:
                await self._wa.webhook_update_handler(piece)
            finally:
                _pending.reset(token)
            for item in pending:
                try:
                    if isinstance(item, Exception):
                        raise item
                    await self._handle(item)
                except Exception as exc:
                    log.error("session %s: could not handle an item of a webhook delivery: %r", self.ctx.session, exc)
                    failed.append(type(exc).__name__)
        if failed:
            raise Unavailable(f"{len(failed)} item(s) of the webhook delivery could not be handled "
                              f"({', '.join(sorted(set(failed)))}); Meta delivers it again",
                              code="webhook_handling_failed")

    async def _handle(self, event: MessageIn | MessageStatus | MessageReaction) -> None:
        """Emit one message, status or reaction unless it was handled recently (a redelivery)."""
        key: tuple[str, ...]
        if isinstance(event, MessageIn):
            key = ("in", event.id)
        elif isinstance(event, MessageReaction):
            key = ("reaction", event.id, event.sender, event.emoji, event.timestamp.isoformat())
        else:
            key = ("status", event.id, event.status)
        if key in self._handled:
            return
        if isinstance(event, MessageIn):
            event = await self._with_media(event)
        await self.ctx.emit(event)
        self._handled[key] = None
        while len(self._handled) > HANDLED_IDS:
            self._handled.popitem(last=False)

    async def _delivery_refused(self, reason: str) -> None:
        """Show refused deliveries as the session's lastError: the first at once, then at most once a
        minute (the route is public, so anyone can post to it; the count says how many were refused)."""
        self._refused += 1
        now = time.monotonic()
        if self._refused > 1 and now - self._refused_reported < REFUSED_REPORT_INTERVAL:
            return
        self._refused_reported = now
        await self.ctx.emit(Problem(
            WEBHOOK_REFUSED, f"{self._refused} webhook deliveries refused since the last good one "
            f"({reason}): if they come from Meta, this session's appSecret is not the app's secret",
            {"refused": self._refused, "reason": reason}))

    # ---- sending ----------------------------------------------------------------------------------

    async def send(self, message: OutgoingMessage) -> SendResult:
        to = self._recipient(message.to)
        return await self._call(lambda: self._send(to, message))

    async def react(self, reaction: OutgoingReaction) -> SendResult:
        """Send the account's reaction (the Cloud API's reaction message; an empty emoji removes it)."""
        to = self._recipient(reaction.chat)
        wa = self._wa
        assert wa is not None
        if reaction.emoji:
            return await self._call(lambda: wa.send_reaction(to=to, emoji=reaction.emoji,
                                                             message_id=reaction.message_id))
        return await self._call(lambda: wa.remove_reaction(to=to, message_id=reaction.message_id))

    def _recipient(self, jid: str) -> str:
        """The number to send to; SessionNotReady when not connected, NotSupportedByEngine for a @lid chat."""
        if not self.connected or self._wa is None:
            raise SessionNotReady(f"session {self.ctx.session!r} is not connected to the Cloud API")
        to, _, server = jid.partition("@")
        if server == "lid":
            raise NotSupportedByEngine(self.name, f"send to a WhatsApp privacy id ({jid}); use the phone number")
        return to

    async def _call(self, make: Callable[[], Awaitable[Any]]) -> SendResult:
        """Run one send of pywa's (`make()`), its refusals as the gateway's errors."""
        from pywa_async.errors import WhatsAppError

        try:
            sent = await make()
        except WhatsAppError as exc:
            if translate.token_refused(exc.code, exc.status_code):
                await self._token_refused(exc)
                raise EngineError(f"Meta refused the access token: {exc.message} (code {exc.code})",
                                  code="token_refused") from None
            if translate.throttled(exc.code):
                headers = exc.raw_response.headers if exc.raw_response is not None else None
                raise ThrottledByWhatsApp(f"WhatsApp's rate limit: {exc.message} (code {exc.code})",
                                          hint=translate.retry_hint(headers)) from None
            raise EngineError(f"the Cloud API refused the message: {exc.message} (code {exc.code})",
                              code="whatsapp_error") from None
        except httpx.HTTPError as exc:
            raise EngineError(f"cannot reach the Cloud API: {exc}", code="cloud_unreachable") from None
        from datetime import UTC, datetime

        return SendResult(id=sent.id, timestamp=datetime.now(UTC))

    async def mark_read(self, chat: str, messages: Sequence[tuple[str, str]]) -> None:
        """Meta's "mark as read" of the newest message: WhatsApp marks every earlier one of the chat read
        with it, so one request does for all."""
        from pywa_async.errors import WhatsAppError

        if not self.connected or self._wa is None:
            raise SessionNotReady(f"session {self.ctx.session!r} is not connected to the Cloud API")
        newest, _sender = messages[-1]
        try:
            await self._wa.mark_message_as_read(message_id=newest)
        except WhatsAppError as exc:
            raise EngineError(f"the Cloud API refused to mark messages read: {exc.message} (code {exc.code})",
                              code="whatsapp_error") from None
        except httpx.HTTPError as exc:
            raise EngineError(f"cannot reach the Cloud API: {exc}", code="cloud_unreachable") from None

    async def _send(self, to: str, message: OutgoingMessage) -> Any:
        wa = self._wa
        if message.type == "text":
            if not message.text:
                raise InvalidInput("a text message needs `text`", code="text_missing")
            return await wa.send_message(to=to, text=message.text, reply_to_message_id=message.reply_to)
        if message.type == "location" and message.location is not None:
            where = message.location
            return await wa.send_location(to=to, latitude=where.latitude, longitude=where.longitude,
                                          name=where.name, address=where.address,
                                          reply_to_message_id=message.reply_to)
        if message.type == "template" and message.template is not None:
            spec = message.template
            return await wa.send_template(to=to, name=spec.name, language=translate.template_language(spec.language),
                                          params=[dict(part) for part in spec.components] or None,
                                          reply_to_message_id=message.reply_to)
        if message.type == "contact" and message.contact is not None:
            return await wa.send_contact(to=to, contact=translate.cloud_contact(message.contact),
                                         reply_to_message_id=message.reply_to)
        if message.media is None:
            raise InvalidInput(f"a {message.type} message needs `media`", code="media_missing")
        data = await asyncio.to_thread(media_bytes, message.media)
        mime = message.media.mimetype
        caption = message.text or None
        common = {"to": to, "mime_type": mime, "reply_to_message_id": message.reply_to}
        if message.type == "image":
            return await wa.send_image(image=data, caption=caption, **common)
        if message.type == "video":
            return await wa.send_video(video=data, caption=caption, **common)
        if message.type == "audio":
            return await wa.send_audio(audio=data, **common)
        if message.type == "voice":
            return await wa.send_voice(voice=data, **common)
        if message.type == "document":
            return await wa.send_document(document=data, caption=caption,
                                          filename=message.media.file_name or "file", **common)
        raise InvalidInput(f"unknown message type {message.type!r}", code="invalid_message_type")
