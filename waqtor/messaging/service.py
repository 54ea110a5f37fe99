"""The message service: it sends messages and is the one writer of the message log.

Sending — `send_request(request)` checks what a caller asked for (the recipient, the session's
readiness, the contact card, the file, the template) and `submit`s the message: `send` here when this
instance runs the session, else carried (as JSON) to the owner, which calls `send`. `send(session,
draft)`: the session must be ready (else 409 `session_not_ready` at once);
the message takes a slot of the session's send rate or a place in its queue (`sendqueue`), is logged
as `queued` and published as a `message` event (direction `out`), then handed to the engine, at once
or when its turn comes. When the engine accepts it, it is `sent` (a `message_ack`) and counted in
the session's `messagesSent`. A refusal marks it `failed` with the error, except WhatsApp's own rate
limit (`ThrottledByWhatsApp`): the session's queue then pauses (for the pause WhatsApp asked for, else
a doubling backoff) and the message goes back to the front of the queue, still `queued`; it fails with
`rate_limited_by_whatsapp` only after THROTTLE_ATTEMPTS refusals. A template (`SendRequest.template`)
is refused first, whatever the session's state, when the session's engine cannot send one. A draft
with `typing` seconds (and the engine able to show typing, checked first too) always joins the session's
queue: its turn shows "typing…" in the chat that long (`ChatActions.show_typing`), then sends it.

Campaigns — `send_for_campaign(...)` waits for a slot of the session's send rate (never the queue),
logs the message `queued` with its campaign and recipient, and hands it to the engine; it returns
the message `sent` or `failed`; it is counted in `messagesSent` together with the others sent within
a quarter of a second (`counts.SentCounter`), and `flush_counts(session)` counts what waits at once.
Listeners added with `add_status_listener` hear every later status change of a sent message (the
acknowledgements), after its `message_ack` is published.

Receiving — `handle(session, event)` takes the engine's `MessageIn`, `MessageStatus`, `MessageEdited` and
`MessageRevoked` (a `MessageReaction` goes to `reactions`, `waqtor.messaging.reacting`): an incoming message
is logged as `received` with source `contact` (its file stored), counted in `messagesReceived` and
published as `message`; one the account sent from its phone or another linked device (`from_me`) is
logged `sent` with direction `out` and source `phone`, once per WhatsApp id (an echo of a send of the
gateway's own is not logged twice), and published as `message`; a status change moves the logged message
forward only and is published as `message_ack`; an edit replaces the logged text (keeping the earlier one
in `edits`) and a deletion for everyone marks the message, published as `message_edited` and
`message_revoked` (also when the log does not have the message).
While the database cannot take them they are held in memory, in order, and stored when it is back
(`backlog`).

A session's queue lives where the session runs. When the session stops running here its waiting
sends are marked failed (`interrupted`); when an instance takes a session over, what the previous
owner left queued is marked failed the same way, before its engine starts. Nothing is sent twice.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
from collections import OrderedDict, defaultdict
from collections.abc import Awaitable, Callable, Mapping
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

from waqtor import events
from waqtor.bus import Bus
from waqtor.clock import Clock
from waqtor.config import Settings
from waqtor.engines import POLLS, PRESENCE, TEMPLATES, require_feature
from waqtor.engines.base import (
    ContactCard,
    Location,
    MessageEdited,
    MessageEvent,
    MessageIn,
    MessageReaction,
    MessageRevoked,
    MessageStatus,
    OutgoingMedia,
    OutgoingMessage,
    PollSpec,
    PollVote,
    Quoted,
    SendResult,
    new_poll,
)
from waqtor.errors import (
    Conflict,
    EngineError,
    InvalidInput,
    NotFound,
    PayloadTooLarge,
    SessionNotReady,
    ThrottledByWhatsApp,
    WaqtorError,
)
from waqtor.messaging import phones, vcard
from waqtor.messaging import status as st
from waqtor.messaging.backlog import Backlog
from waqtor.messaging.changes import MessageChanges
from waqtor.messaging.chats import ChatActions
from waqtor.messaging.counts import SentCounter
from waqtor.messaging.download import fetch, http_client
from waqtor.messaging.draft import Draft, draft_from_json, draft_to_json, template_from_json, template_json
from waqtor.messaging.media import MediaStore, chunks_of
from waqtor.messaging.phones import Recipient
from waqtor.messaging.polls import Polls
from waqtor.messaging.reacting import Reactions
from waqtor.messaging.request import ContactRequest, MediaSource, MediaUpload, SendRequest, StoredMedia
from waqtor.messaging.sendqueue import SendQueues
from waqtor.messaging.templates import builtin_values, render
from waqtor.messaging.views import ack_view, edit_view, message_view, revoke_view
from waqtor.messaging.whatsapp_templates import summary
from waqtor.rate_window import RateWindow, parse_rate
from waqtor.sessions.manager import SessionManager
from waqtor.sessions.session import Session
from waqtor.storage import Storage
from waqtor.storage.records import MediaRecord, MessageRecord
from waqtor.tasks import TaskSet

__all__ = ["Draft", "MessageService"]

log = logging.getLogger(__name__)

INTERRUPTED = "interrupted: the gateway stopped before this message was handed to WhatsApp"
ORPHAN_ACKS = 1_000  # acknowledgements kept for messages whose WhatsApp id is not logged yet
RECENT_SENT = 5_000  # messages sent by this instance kept by WhatsApp id, so their acks skip a look-up
MAX_ID = 128
# WhatsApp's rate limit: a refused message is tried this many times in all, pausing its session's queue
# for the pause WhatsApp asks for, else THROTTLE_FIRST seconds doubling each time, at most THROTTLE_MAX.
THROTTLE_ATTEMPTS = 6
THROTTLE_FIRST = 2.0
THROTTLE_MAX = 300.0

# Hears (message as it now stands, its previous status) after each acknowledged status change.
StatusListener = Callable[[MessageRecord, str], Awaitable[None]]


def _aware(value: Any, fallback: datetime) -> datetime:
    if not isinstance(value, datetime):
        return fallback
    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)


def _short(value: Any, limit: int = MAX_ID) -> str | None:
    return value[:limit] if isinstance(value, str) and value else None


class MessageService:
    def __init__(self, settings: Settings, storage: Storage, bus: Bus, sessions: SessionManager, clock: Clock) -> None:
        self._settings = settings
        self._repo = storage.messages
        self._bus = bus
        self._sessions = sessions
        self._clock = clock
        self._tz = ZoneInfo(settings.timezone)
        self.media = MediaStore(settings, storage.media, clock)
        rate = parse_rate(settings.send_rate)
        self._queues = SendQueues(
            lambda: RateWindow(rate, settings.resolved_rate_limit_storage, "send") if rate else None,
            settings.send_queue_size, self._deliver_queued,
        )
        self._orphans: OrderedDict[tuple[str, str], list[MessageStatus]] = OrderedDict()
        # The last known form of recently sent messages. An acknowledgement starts from it instead of
        # reading the log (a round trip per ack, two per message on the way to read); `_advance`
        # moves the row only from the status it holds (compare-and-set) and reads the log again when
        # that fails, so a stale entry costs a read, never a wrong move.
        self._recent: OrderedDict[tuple[str, str], MessageRecord] = OrderedDict()
        self._locks: defaultdict[str, asyncio.Lock] = defaultdict(asyncio.Lock)
        self._tasks = TaskSet("messages")
        self._listeners: list[StatusListener] = []
        self._throttled: OrderedDict[int, int] = OrderedDict()  # message id -> refusals for WhatsApp's rate limit
        self._typing: dict[int, float] = {}  # queued message id -> seconds of typing to show before it is sent
        self.backlog = Backlog(self._store_event, settings.inbound_buffer, storage.ping)
        self._counts = SentCounter(self._tasks)
        self.http = http_client(settings.media_allow_private)
        self.reactions = Reactions(storage.messages, bus, sessions, clock, self.require_ready)
        self.polls = Polls(storage.messages, bus, clock)  # votes on the log's polls (`poll_vote`)
        sessions.handle("messages.send", self._send_here)
        # Edits and deletions the API asks for (`waqtor.messaging.changes`); they end in `edited`/`revoked`.
        self.changes = MessageChanges(self._repo, sessions, clock, self.media, self.edited, self.revoked,
                                      self.require_ready)
        # Read receipts and typing (`waqtor.messaging.chats`), and the auto-read of WAQTOR_AUTO_READ.
        self.chats = ChatActions(settings, self._repo, sessions, clock, self.require_ready)
        sessions.add_hooks(started=self._session_started, stopped=self._session_stopped,
                           deleted=self._session_deleted)

    async def flush_counts(self, session: str) -> None:
        """Count in `messagesSent` now the campaign messages `session` sent that wait to be counted."""
        await self._counts.flush(session)

    def add_status_listener(self, listener: StatusListener) -> None:
        """Call `listener` after every acknowledged status change (a failure of it is logged)."""
        self._listeners.append(listener)

    # ---- lifecycle --------------------------------------------------------------------------------

    async def start(self) -> None:
        """Ready the media directory (private, partial uploads a crash left removed), and start the media
        retention sweep."""
        await asyncio.to_thread(self.media.prepare)
        self._tasks.spawn(self.media.run_cleanup(self._settings.media_cleanup_interval), "media-retention")
        self._tasks.spawn(self.backlog.run(), "backlog")

    async def stop(self) -> None:
        """Stop the send queues (waiting messages are marked failed) and the retention sweep."""
        abandoned = await self._queues.close()
        if abandoned:
            await self._repo.fail_queued(self._clock(), INTERRUPTED, abandoned)
            log.warning("%d queued message(s) were not sent before shutdown; marked failed", len(abandoned))
        await self._counts.flush_all()
        await self._tasks.close()
        await self.chats.close()
        await self.backlog.flush(once=True)
        if self.backlog.held:
            log.error("LOST %d received message(s) or status change(s) at shutdown: the database did not take "
                      "them", len(self.backlog.held))
        await self.http.aclose()

    async def _session_started(self, session: str) -> None:
        interrupted = await self._repo.fail_queued(self._clock(), INTERRUPTED, session=session)
        if interrupted:
            log.warning("session %s: %d message(s) left queued by its previous run are marked failed",
                        session, interrupted)

    async def _session_stopped(self, session: str) -> None:
        await self._counts.flush(session)
        abandoned = self._queues.drop(session)
        for message_id in abandoned:
            self._typing.pop(message_id, None)
        if abandoned:
            await self._repo.fail_queued(self._clock(), INTERRUPTED, abandoned)
            log.warning("session %s: %d queued message(s) were not sent before it stopped running here; "
                        "marked failed", session, len(abandoned))

    async def _session_deleted(self, session: str) -> None:
        """A deleted session takes its message log and the files only it had with it: a new session of
        the same name starts with an empty history."""
        for cache in (self._recent, self._orphans):
            for key in [key for key in cache if key[0] == session]:
                del cache[key]
        media_ids = await self._repo.delete_session(session)
        files = await self.media.unused(media_ids)
        await self.media.discard(files)
        log.info("session %s: its message log and %d file(s) were deleted with it", session, len(files))

    # ---- sending ----------------------------------------------------------------------------------

    async def send_request(self, request: SendRequest) -> dict[str, Any]:
        """Check and send what a caller asked for, from the instance that runs the session; the message
        as `message_view` shows it. In this order, each failing fast: the recipient (InvalidInput
        `invalid_phone`), the session (SessionNotFound, SessionNotReady), before any download; the
        contact's number; the file (downloaded or stored: `fetch`'s and the store's errors); the
        template (MissingVariables); then what `submit` raises."""
        session = request.session
        to = phones.normalize(request.to, self._settings.default_region)
        # Templates, polls and typing are refused by an engine without them whatever its state.
        asked = ((TEMPLATES, request.template is not None), (POLLS, request.poll is not None),
                 (PRESENCE, bool(request.typing)))
        await self.require_ready(session, *(feature for feature, wanted in asked if wanted))
        contact = self._card(request.contact) if request.contact is not None else None
        media = await self.obtain_media(request.media) if request.media is not None else None
        text = request.text
        if text is not None and request.variables is not None:
            text = self.render(text, to, request.variables)
        if media is not None:
            kind = media.kind
        elif request.template is not None:
            kind, text = "template", summary(request.template)
        elif request.location is not None:
            kind = "location"
        elif request.poll is not None:
            kind, text = "poll", request.poll.question
        else:
            kind = "contact" if contact is not None else "text"
        draft = Draft(to=to, type=kind, text=text, media=media, location=request.location, contact=contact,
                      reply_to=request.reply_to, template=request.template, typing=request.typing,
                      poll=request.poll)
        # Readiness was checked just now; a download leaves the session time to change, so `send`
        # checks again after one.
        return await self.submit(session, draft, ready_checked=media is None)

    def _card(self, contact: ContactRequest) -> ContactCard:
        if contact.vcard is not None:
            return ContactCard(vcard.display_name(contact.vcard), contact.vcard)
        assert contact.name is not None and contact.phone is not None
        number = phones.normalize(contact.phone, self._settings.default_region)
        if number.phone is None:
            raise InvalidInput("phone: a contact card needs a phone number, not a group or a @lid chat",
                               code="invalid_phone")
        return ContactCard(contact.name, vcard.build(contact.name, number.phone))

    async def obtain_media(self, source: MediaSource) -> MediaRecord:
        """The file a send names: stored from an upload, downloaded, or found by its id. Raises the
        store's, `fetch`'s or `MediaStore.get`'s errors."""
        if isinstance(source, MediaUpload):
            return await self.media.save(source.chunks, source.file_name, source.kind)
        if isinstance(source, StoredMedia):
            return await self.media.get(source.id, source.sessions)
        return await fetch(self.media, self.http, source.url, timeout=self._settings.media_download_timeout,
                           given_name=source.file_name, requested=source.kind)

    async def submit(self, session: str, draft: Draft, *, ready_checked: bool = False) -> dict[str, Any]:
        """Send `draft` on `session` from the instance that runs it: here without a detour, else carried
        to its owner; the message as `message_view` shows it. Raises what `send` raises, or Unavailable
        while the session is moving. `ready_checked`: the caller has just checked the session is ready
        here, with nothing awaited since."""
        if self._sessions.runs_here(session):
            return message_view(await self.send(session, draft, ready_checked=ready_checked))
        return await self._sessions.command(session, "messages.send", draft_to_json(draft))

    async def _send_here(self, session: Session, args: dict[str, Any]) -> dict[str, Any]:
        draft = await draft_from_json(args, self.media.get)
        return message_view(await self.send(session.name, draft))

    def render(self, template: str, to: Recipient, variables: Mapping[str, object]) -> str:
        """`template` with `{phone}`, `{date}`, `{time}` (in WAQTOR_TIMEZONE) and `variables` filled in;
        MissingVariables when one has no value."""
        values: dict[str, object] = {**builtin_values(to.phone, self._clock().astimezone(self._tz)), **variables}
        return render(template, values)

    async def require_ready(self, session: str, *features: str) -> None:
        """SessionNotFound, NotSupportedByEngine when the session's engine cannot offer one of `features`
        (first: an engine that cannot never will, connected or not), or SessionNotReady unless `session` is
        connected (wherever it runs)."""
        state = await self._sessions.state_of(session)
        for feature in features:
            require_feature(state.engine, feature)
        if not state.ready:
            raise SessionNotReady(f"session {session!r} is not ready to send (it is {state.status})")

    async def send(self, session: str, draft: Draft, *, campaign_id: str | None = None,
                   ready_checked: bool = False) -> MessageRecord:
        """Log and send `draft` on `session`; returns the message as it stands (`sent`, or `queued`
        behind the send rate). Raises SessionNotFound, SessionNotReady, NotFound (`message_not_found`) or
        Conflict (`message_not_sent`) for a `replyTo` it cannot quote (`quotable`), RateLimited
        (`send_queue_full`), or the engine's refusal (the message is then logged `failed`).
        `ready_checked`: see `submit`."""
        if not ready_checked:
            await self.require_ready(session)
        quoted = await self.quotable(session, draft.reply_to) if draft.reply_to is not None else None
        ticket = await self._queues.get(session).admit(join=draft.typing > 0)
        now = self._clock()
        try:
            record = await self._repo.insert(self._values(session, draft, now, campaign_id, quoted), draft.media)
        except BaseException:
            if ticket is not None:
                ticket.cancel()
            raise
        await self._bus.publish(events.MESSAGE, message_view(record), session=session)
        if ticket is not None:
            if draft.typing > 0:
                self._typing[record.id] = draft.typing
            ticket.fill(record.id)
            if ticket.abandoned:  # the session stopped running here meanwhile
                self._typing.pop(record.id, None)
                await self._repo.fail_queued(self._clock(), INTERRUPTED, [record.id])
                return (await self._repo.get(record.id)) or record
            return record
        return await self._deliver(record, raise_errors=True)

    async def send_for_campaign(self, session: str, draft: Draft, *, campaign_id: str,
                                recipient_id: int) -> MessageRecord:
        """Send one campaign message: wait for a slot of the session's send rate, log it `queued`
        (with the campaign and recipient), publish it, and hand it to the engine. Returns it `sent`,
        or `failed` with the engine's error (never raises that). Raises SessionNotFound, or
        SessionNotReady before anything is logged."""
        await self.require_ready(session)
        await self._queues.get(session).acquire()
        await self.require_ready(session)
        now = self._clock()
        values = self._values(session, draft, now, campaign_id)
        values["campaign_recipient_id"] = recipient_id
        record = await self._repo.insert(values, draft.media)
        await self._bus.publish(events.MESSAGE, message_view(record), session=session)
        return await self._deliver(record, raise_errors=False, count_now=False, requeue=False)

    async def quotable(self, session: str, reply_to: str) -> MessageRecord:
        """The message of `session`'s log that `reply_to` names: a number is looked up as the log's id first,
        then (as anything else) as a WhatsApp id. NotFound (`message_not_found`) when the session's log has
        no such message; Conflict (`message_not_sent`) when it never reached WhatsApp (queued or failed),
        so WhatsApp has nothing to quote."""
        record = None
        if reply_to.isdecimal() and len(reply_to) <= 18:
            record = await self._repo.get(int(reply_to))
            if record is not None and record.session != session:
                record = None
        if record is None:
            record = await self._repo.find_by_wa_id(session, reply_to)
        if record is None:
            raise NotFound(f"replyTo: session {session!r} has no message {reply_to!r} (neither the log's id nor "
                           "a WhatsApp id)", code="message_not_found")
        if record.wa_id is None:
            raise Conflict(f"replyTo: message {record.id} never reached WhatsApp (it is {record.status}), so it "
                           "cannot be quoted", code="message_not_sent")
        return record

    @staticmethod
    def _values(session: str, draft: Draft, now: datetime, campaign_id: str | None,
                quoted: MessageRecord | None = None) -> dict[str, Any]:
        content: dict[str, Any] | None = None
        if draft.location is not None:
            content = dataclasses.asdict(draft.location)
        elif draft.contact is not None:
            content = {"displayName": draft.contact.display_name, "vcard": draft.contact.vcard}
        elif draft.template is not None:
            content = template_json(draft.template)
        elif draft.poll is not None:
            content = new_poll(draft.poll.question, draft.poll.options, draft.poll.multiple)
        return {
            "session": session,
            "direction": "out",
            "chat": draft.to.jid,
            "sender": None,
            "type": draft.type,
            "text": draft.text,
            "content": content,
            "reply_to": quoted.wa_id if quoted is not None else None,
            "reply_to_id": quoted.id if quoted is not None else None,
            "status": st.QUEUED,
            "source": "campaign" if campaign_id is not None else "api",
            "campaign_id": campaign_id,
            "timestamp": now,
            "queued_at": now,
            "created_at": now,
        }

    async def _quoted(self, record: MessageRecord) -> Quoted | None:
        """The message `record` quotes, as an engine needs it (None when it quotes none, or it is gone)."""
        target = await self._repo.get(record.reply_to_id) if record.reply_to_id is not None else None
        if target is None or target.wa_id is None:
            return None
        return Quoted(id=target.wa_id, sender=target.sender, from_me=target.direction == "out", type=target.type,
                      text=target.text)

    def _outgoing(self, record: MessageRecord, quoted: Quoted | None) -> OutgoingMessage:
        content = record.content or {}
        media = record.media
        return OutgoingMessage(
            to=record.chat,
            type=record.type,
            text=record.text,
            reply_to=record.reply_to,
            quoted=quoted,
            media=OutgoingMedia(
                id=media.id, path=str(self.media.path(media)), kind=media.kind, mimetype=media.mimetype,
                size=media.size, file_name=media.file_name,
            ) if media else None,
            location=Location(**content) if record.type == "location" else None,
            contact=ContactCard(content["displayName"], content["vcard"]) if record.type == "contact" else None,
            template=template_from_json(content) if record.type == "template" and content else None,
            poll=PollSpec(str(content["question"]), tuple(str(option["name"]) for option in content["options"]),
                          bool(content["multiple"])) if record.type == "poll" and content else None,
        )

    async def _deliver_queued(self, session: str, message_id: int) -> None:
        typing = self._typing.pop(message_id, None)
        record = await self._repo.get(message_id)
        if record is not None and record.status == st.QUEUED:
            await self._deliver(record, raise_errors=False, typing=typing)

    async def _deliver(self, record: MessageRecord, *, raise_errors: bool, count_now: bool = True,
                       requeue: bool = True, typing: float | None = None) -> MessageRecord:
        """Hand a logged message to its engine; it ends `sent` or `failed`. It is counted in
        `messagesSent` before this returns, or with `count_now=False` soon (`SentCounter`). Refused
        for WhatsApp's rate limit, it goes back to its session's queue still `queued` (`requeue`), or
        is tried again here once the queue's pause is over (campaigns, which wait for their result).
        `typing`: seconds of "typing…" shown in the chat first."""
        quoted = await self._quoted(record) if record.reply_to is not None else None
        while True:
            try:
                if not self._sessions.runs_here(record.session):
                    raise SessionNotReady(f"session {record.session!r} does not run on this instance any more")
                session = self._sessions.get(record.session)
                if typing is not None:
                    await self.chats.show_typing(session.engine, record.chat, typing)
                    typing = None  # once, not again when WhatsApp's rate limit sends it back
                result = await session.engine.send(self._outgoing(record, quoted))
            except ThrottledByWhatsApp as exc:
                if not self._throttle(record, exc):
                    return await self._failed(record, exc, raise_errors)
                if requeue:
                    self._queues.get(record.session).retry(record.id)
                    return record
                await self._queues.get(record.session).wait_pause()
                continue
            except Exception as exc:
                return await self._failed(record, exc, raise_errors)
            self._throttled.pop(record.id, None)
            return await self._sent(record, session, result, count_now)

    def _throttle(self, record: MessageRecord, exc: ThrottledByWhatsApp) -> bool:
        """Count a refusal for WhatsApp's rate limit and pause the session's queue; False when the message
        has been refused THROTTLE_ATTEMPTS times (it fails)."""
        refusals = self._throttled.pop(record.id, 0) + 1
        if refusals >= THROTTLE_ATTEMPTS:
            exc.message = f"{exc.message}; refused {refusals} times, given up"
            return False
        self._throttled[record.id] = refusals
        while len(self._throttled) > ORPHAN_ACKS:
            self._throttled.popitem(last=False)
        pause = exc.hint if exc.hint is not None else THROTTLE_FIRST * 2 ** (refusals - 1)
        pause = min(pause, THROTTLE_MAX)
        self._queues.get(record.session).pause(pause)
        log.warning("session %s: WhatsApp's rate limit refused message %s (%d of %d): its sends wait %.1f s",
                    record.session, record.id, refusals, THROTTLE_ATTEMPTS, pause)
        return True

    async def _failed(self, record: MessageRecord, exc: Exception, raise_errors: bool) -> MessageRecord:
        """Mark a message the engine did not take `failed` with the error; raise it with `raise_errors`."""
        error = exc if isinstance(exc, WaqtorError) else EngineError(f"the engine failed to send: {exc!r}")
        if error is not exc:
            log.error("session %s: engine failed to send message %s", record.session, record.id, exc_info=exc)
        await self._advance(record, st.FAILED, self._clock(), f"{error.code}: {error.message}")
        if raise_errors:
            if error.details is None:
                error.details = {"id": record.id, "status": st.FAILED}
            raise error from None
        return (await self._repo.get(record.id)) or record

    async def _sent(self, record: MessageRecord, session: Session, result: SendResult,
                    count_now: bool) -> MessageRecord:
        """Mark a message the engine took `sent`, publish and count it."""
        sent_at = _aware(result.timestamp, self._clock())
        # Written before taking the session's lock, not under it: held across the write, the lock made
        # every concurrent send of the session wait for the others' writes one by one. No early
        # acknowledgement is lost: `acknowledge` looks the id up and keeps an orphan under the lock,
        # so its look-up either comes after this write (and finds the message) or before the lock is
        # taken below (and its orphan is picked up there).
        marked = await self._repo.mark_sent(record.id, result.id, sent_at, record.session)
        async with self._locks[record.session]:
            early = self._orphans.pop((record.session, result.id), [])
            sent = dataclasses.replace(record, status=st.SENT, wa_id=result.id, sent_at=sent_at)
            if marked:
                self._remember(sent)
        if marked:
            await self._bus.publish(events.MESSAGE_ACK, ack_view(sent, st.QUEUED, sent_at), session=record.session)
            if not count_now:
                self._counts.add(record.session, session.monitor)
            else:
                try:
                    await session.monitor.count(sent=1)
                except Exception:
                    log.exception("session %s: could not count a sent message", record.session)
            if not early:
                # Exactly the row just written: reading it back was a fourth round trip per send.
                return sent
            for event in early:
                await self.acknowledge(record.session, event)
        return (await self._repo.get(record.id)) or record

    async def _advance(self, record: MessageRecord, new: str, at: datetime, error: str | None = None) -> MessageRecord:
        """Move `record` to `new` if that is forward, and publish the `message_ack`; a move that is not
        forward (a late or repeated acknowledgement) changes nothing."""
        current = record
        while st.can_move(current.status, new):
            if await self._repo.move(current.id, current.status, new, at, error):
                step: dict[str, Any] = {st.STEP_COLUMN[new]: at}  # the status's `<step>_at` datetime field
                moved = dataclasses.replace(
                    current, status=new, error=error if new == st.FAILED else current.error, **step,
                )
                await self._bus.publish(events.MESSAGE_ACK, ack_view(moved, current.status, at),
                                        session=current.session)
                for listener in self._listeners:
                    try:
                        await listener(moved, current.status)
                    except Exception:
                        log.exception("session %s: a status listener failed on message %s", moved.session, moved.id)
                return moved
            fresh = await self._repo.get(current.id)  # someone else moved it: look again
            if fresh is None:
                break
            current = fresh
        return current

    # ---- what the engine reports ------------------------------------------------------------------

    async def handle(self, session: str, event: MessageEvent) -> None:
        """The message half of an engine's sink (see `waqtor.sessions.engine_events`): stored now, or held
        while the database cannot take it (`waqtor.messaging.backlog`)."""
        await self.backlog.offer(session, event)

    async def _store_event(self, session: str, event: MessageEvent) -> None:
        if isinstance(event, MessageIn):
            await self.receive(session, event)
        elif isinstance(event, MessageStatus):
            await self.acknowledge(session, event)
        elif isinstance(event, MessageEdited):
            await self.edited(session, event)
        elif isinstance(event, MessageReaction):
            await self.reactions.received(session, event)
        elif isinstance(event, PollVote):
            await self.polls.received(session, event)
        else:
            await self.revoked(session, event)

    async def edited(self, session: str, event: MessageEdited) -> None:
        """Apply an edit to the logged message (any direction) and publish `message_edited`; an edit the
        log already holds is not published again."""
        wa_id, chat = _short(event.id), _short(event.chat)
        if wa_id is None or chat is None:
            log.warning("session %s: ignored an edit without message id or chat", session)
            return
        text = event.text if isinstance(event.text, str) else None
        at = _aware(event.timestamp, self._clock())
        record, previous = None, None
        if await self._repo.find_by_wa_id(session, wa_id) is not None:
            changed = await self._repo.edit(session, wa_id, text, at)
            if changed is None:
                return
            record, previous = changed
        view = edit_view(session, wa_id, record, chat, _short(event.sender), bool(event.from_me), text, previous, at)
        await self._bus.publish(events.MESSAGE_EDITED, view, session=session)

    async def revoked(self, session: str, event: MessageRevoked) -> None:
        """Mark the logged message (any direction) deleted for everyone and publish `message_revoked`; a
        deletion the log already holds is not published again."""
        wa_id, chat = _short(event.id), _short(event.chat)
        if wa_id is None or chat is None:
            log.warning("session %s: ignored a deletion without message id or chat", session)
            return
        at = _aware(event.timestamp, self._clock())
        record = None
        if await self._repo.find_by_wa_id(session, wa_id) is not None:
            record = await self._repo.revoke(session, wa_id, at, _short(event.by))
            if record is None:
                return
        view = revoke_view(session, wa_id, record, chat, _short(event.by), bool(event.from_me), at)
        await self._bus.publish(events.MESSAGE_REVOKED, view, session=session)

    async def receive(self, session: str, event: MessageIn) -> MessageRecord | None:
        """Log, count and publish an incoming message (or, `from_me`, one the account sent from its phone or
        another device: logged `sent`, direction `out`, source `phone`, not counted); None when it was
        already logged (WhatsApp delivers a message again after a reconnect; our own sends come back) or
        is unusable. A file the engine could not fetch leaves the message without it, the reason in
        `error`."""
        wa_id, chat = _short(event.id), _short(event.chat)
        if wa_id is None or chat is None:
            log.warning("session %s: ignored an incoming message without id or chat", session)
            return None
        media = event.media if isinstance(event.media, dict) else {}
        data = media.get("data")
        has_file = isinstance(data, bytes | bytearray) and bool(data)
        from_me = event.from_me is True
        direction = "out" if from_me else "in"
        # A redelivered message is refused by the log's unique (session, direction, wa_id) index when it
        # is inserted (insert_new answers None). Only a message with a file is looked up first, so that a
        # duplicate's file is not stored: for a text that look-up was a third database round trip. A
        # message of the account's own is looked up too: one the gateway sent has its id already.
        if (has_file or from_me) and await self._repo.find_by_wa_id(session, wa_id, direction) is not None:
            return None
        now = self._clock()
        attached = None
        missing = None if has_file else media.get("error")
        if has_file:
            assert isinstance(data, bytes | bytearray)
            try:
                attached = await self.media.save(chunks_of(bytes(data)), _short(media.get("fileName"), 200),
                                                 enforce_limits=False)
            except PayloadTooLarge:  # an engine that did not count the bytes it received
                missing = f"the file is {len(data)} bytes, over the media limit of {self.media.largest} bytes"
                log.warning("session %s: message %s is logged without its file: %s", session, wa_id, missing)
        known = isinstance(event.type, str) and event.type.isalnum() and len(event.type) <= 16
        kind = event.type if known else "unknown"
        at = _aware(event.timestamp, now)
        reply_to = _short(event.reply_to)
        quoted = await self._repo.find_by_wa_id(session, reply_to) if reply_to is not None else None
        values: dict[str, Any] = {
            "session": session,
            "direction": direction,
            "chat": chat,
            "sender": _short(event.sender),
            "type": kind,
            "text": event.text if isinstance(event.text, str) else None,
            "content": event.content if isinstance(event.content, dict) and event.content else None,
            "wa_id": wa_id,
            "reply_to": reply_to,
            "reply_to_id": quoted.id if quoted is not None else None,
            "push_name": _short(event.push_name, 256),
            "status": st.SENT if from_me else st.RECEIVED,
            "error": f"media not stored: {missing}"[:2000] if isinstance(missing, str) else None,
            "source": "phone" if from_me else "contact",
            "timestamp": at,
            "created_at": now,
        }
        if from_me:
            values["sent_at"] = at
        record = await self._repo.insert_new(values, attached, count=None if from_me else "messages_received")
        if record is None:
            return None
        if not from_me:
            await self._sessions.get(session).monitor.count(received=1)
        await self._bus.publish(events.MESSAGE, message_view(record), session=session)
        if not from_me:
            self.chats.read_on_arrival(session, record)
        return record

    async def acknowledge(self, session: str, event: MessageStatus) -> None:
        """Apply a status report to the logged message with that WhatsApp id. A report for an id not
        logged yet (it can beat the end of the send) is kept until the id is logged."""
        if event.status not in st.ENGINE_STATUSES or _short(event.id) is None:
            log.warning("session %s: ignored status %r for %r", session, event.status, event.id)
            return
        key = (session, event.id)
        async with self._locks[session]:
            record = self._recent.get(key) or await self._repo.find_by_wa_id(session, event.id, "out")
            if record is None:
                self._orphans.setdefault(key, []).append(event)
                while len(self._orphans) > ORPHAN_ACKS:
                    self._orphans.popitem(last=False)
                return
        error = _short(event.error, 2000) if event.status == st.FAILED else None
        moved = await self._advance(record, event.status, _aware(event.timestamp, self._clock()), error)
        if key in self._recent:
            self._recent[key] = moved

    def _remember(self, record: MessageRecord) -> None:
        assert record.wa_id is not None
        self._recent[(record.session, record.wa_id)] = record
        while len(self._recent) > RECENT_SENT:
            self._recent.popitem(last=False)
