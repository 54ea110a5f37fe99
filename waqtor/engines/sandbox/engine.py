"""The sandbox engine: a simulated WhatsApp account with no network, for development, demos and tests.

It behaves like a real linked device as far as the gateway can see: it offers rotating QR codes until
`scan()` links it, keeps its link in the engine store (so it survives a restart), receives messages
through `inbound()`, and suffers the faults `fail()` injects. A message it sends moves to delivered
and then read, `WAQTOR_SANDBOX_ACK_DELAY` seconds apart, unless `set_contact()` made the recipient
behave otherwise (not on WhatsApp, failing, never reading, replying). `inbound()` also plays messages
written on the account's own phone, contact cards, button replies and quoted replies; `edit()` and
`revoke()` edit or delete for everyone a message it carried, and `react()` reacts to one. The account's own
reactions (`Engine.react`) are kept in `reactions`. `presence_from()` has a contact go online or offline,
or type in its chat; the contacts the account subscribed to are in `presence_subscriptions`, and the
presence it last showed itself in `own_presence`. It always says what it is in its logs.
"""

from __future__ import annotations

import asyncio
import logging
import random
from collections import OrderedDict, deque
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any, Literal

from waqtor.engines.base import (
    AccountInfo,
    Authenticated,
    Connecting,
    ContactProfile,
    Disconnected,
    Engine,
    EngineContext,
    LoggedOut,
    MessageEdited,
    MessageIn,
    MessageReaction,
    MessageRevoked,
    MessageStatus,
    OutgoingMessage,
    OutgoingReaction,
    PairingCode,
    PollSpec,
    PollVote,
    PresenceUpdate,
    ProfilePicture,
    QRCode,
    Ready,
    SendResult,
    poll_option_hash,
)
from waqtor.engines.sandbox import translate
from waqtor.engines.sandbox.contacts import EVERYONE, ContactBehaviour, picture
from waqtor.errors import Conflict, EngineError, InvalidInput, NotFound, SessionNotReady
from waqtor.messaging.mime import detect
from waqtor.tasks import TaskSet

log = logging.getLogger(__name__)

PAIRING_TTL = timedelta(seconds=160)

Phase = Literal["stopped", "connecting", "qr", "connected", "disconnected"]

REMEMBERED = 10_000  # messages the sandbox remembers for edits and deletions


class SandboxEngine(Engine):
    name = "sandbox"

    def __init__(self, ctx: EngineContext) -> None:
        super().__init__(ctx)
        self._rng = random.Random()
        self._tasks = TaskSet(f"sandbox[{ctx.session}]", on_crash=self.report_crash)
        self._link: dict[str, Any] | None = None
        self._qr_task: asyncio.Task[None] | None = None
        self._pairing_phone: str | None = None
        self._pairing_expires = datetime.now(UTC)
        self.phase: Phase = "stopped"
        self.contacts: dict[str, ContactBehaviour] = {}
        # The messages it carried (WhatsApp id → chat, sent by the account): what an edit or deletion may name.
        self._messages: OrderedDict[str, tuple[str, bool]] = OrderedDict()
        self.blocked: set[str] = set()  # the contacts the account blocked
        # What the account told its contacts: messages marked read, and typing or recording shown.
        self.reads: deque[tuple[str, list[str]]] = deque(maxlen=REMEMBERED)
        self.presences: deque[tuple[str, str]] = deque(maxlen=REMEMBERED)
        # The account's reactions it sent: (chat, WhatsApp id of the message) → emoji.
        self.reactions: OrderedDict[tuple[str, str], str] = OrderedDict()
        self.polls: OrderedDict[str, PollSpec] = OrderedDict()  # the polls sent, by WhatsApp id (to vote on)
        self.presence_subscriptions: set[str] = set()
        self.own_presence: str | None = None

    # ---- lifecycle ---------------------------------------------------------------------------

    async def start(self) -> None:
        log.info("session %s runs on the SANDBOX engine: a simulated account, nothing reaches WhatsApp",
                 self.ctx.session)
        self._link = await self.ctx.store.load()
        await self._connect()

    async def stop(self) -> None:
        await self._tasks.close()
        self._qr_task = None
        self._pairing_phone = None
        self.phase = "stopped"

    async def logout(self) -> None:
        self._cancel_qr()
        self._link = None
        await self.ctx.store.save(None)
        await self._connect()

    async def _connect(self) -> None:
        self.phase = "connecting"
        await self.ctx.emit(Connecting())
        if self._link is not None:
            await self._become_ready()
        else:
            self.phase = "qr"
            await self._show_qr()  # the first code is there when start() or logout() returns
            self._qr_task = self._tasks.spawn(self._rotate_qr(), "qr")

    async def _become_ready(self) -> None:
        assert self._link is not None
        await self.ctx.emit(Authenticated())
        self.phase = "connected"
        await self.ctx.emit(
            Ready(AccountInfo(phone=self._link["phone"], pushname=self._link["pushname"], platform="android",
                              platform_raw="android"))
        )

    async def _show_qr(self) -> None:
        expires = datetime.now(UTC) + timedelta(seconds=self.ctx.settings.sandbox_qr_interval)
        await self.ctx.emit(QRCode(translate.qr_code(self._rng), expires))

    async def _rotate_qr(self) -> None:
        while True:
            await asyncio.sleep(self.ctx.settings.sandbox_qr_interval)
            await self._show_qr()

    def _cancel_qr(self) -> None:
        if self._qr_task is not None:
            self._qr_task.cancel()
            self._qr_task = None

    # ---- what the sandbox routes drive ----------------------------------------------------------

    async def pair(self, phone: str) -> PairingCode:
        """A simulated pairing code for `phone`; the next `scan()` links that phone, as if its owner typed
        the code. Conflict when the sandbox is not waiting for a link."""
        if self.phase != "qr":
            raise Conflict(f"session {self.ctx.session!r} is not waiting for a phone to link (it is {self.phase})",
                           code="not_waiting_for_link")
        self._pairing_phone = phone
        log.info("session %s (SANDBOX): pairing code requested for a phone ending %s", self.ctx.session, phone[-4:])
        # As on WhatsApp Web, the code is good while the login it belongs to lasts (160 s there).
        self._pairing_expires = datetime.now(UTC) + PAIRING_TTL
        return PairingCode(code=translate.pairing_code(self._rng), expires_at=self._pairing_expires)

    async def scan(self, phone: str | None = None, pushname: str | None = None) -> AccountInfo:
        """Link the simulated phone, as if its owner scanned the QR code (or typed the pairing code, when
        one was asked for); Conflict when no QR is shown."""
        if self.phase != "qr":
            raise Conflict(f"session {self.ctx.session!r} is not showing a QR code (it is {self.phase})",
                           code="not_waiting_for_scan")
        self._cancel_qr()
        if self._pairing_phone is not None and datetime.now(UTC) >= self._pairing_expires:
            self._pairing_phone = None  # the code expired before it was typed
        phone = phone or self._pairing_phone
        self._pairing_phone = None
        self._link = {
            "phone": phone or translate.simulated_phone(self._rng),
            "pushname": pushname or "Sandbox User",
        }
        await self.ctx.store.save(self._link)
        await self._become_ready()
        return AccountInfo(phone=self._link["phone"], pushname=self._link["pushname"], platform="android")

    async def inbound(
        self, sender: str, body: str | None, media: tuple[bytes, str | None] | None = None, *, from_me: bool = False,
        contacts: list[dict[str, str]] | None = None, reply: dict[str, str] | None = None,
        reply_to: str | None = None,
    ) -> MessageIn:
        """Deliver a message from `sender` (digits or a JID) to the account: a text, a file (`media` = data
        and file name) with `body` as its caption, contact cards (`contacts`, each `displayName` and
        `vcard`), or a tap on a button or list row (`reply`: `id`, `title`, `kind`). With `from_me` the
        account's own phone wrote it to `sender`'s chat; a contact's message carries its `name` (set with
        `set_contact`) as its push name. `reply_to` quotes the message with that WhatsApp id
        in the chat (NotFound, `message_not_found`, for one the sandbox did not carry there)."""
        self._require_connected()
        jid = sender if "@" in sender else f"{sender}@s.whatsapp.net"
        if reply_to is not None:
            self._in_chat(jid, reply_to)
        kind, attached, content, text = "text", None, None, body
        if media is not None:
            data, name = media
            detected = detect(data)
            kind, attached = detected.kind, {"data": data, "mimetype": detected.mimetype, "fileName": name}
        elif contacts:
            kind, text = "contact", contacts[0]["displayName"]
            content = {**contacts[0], "contacts": contacts} if len(contacts) > 1 else dict(contacts[0])
        elif reply is not None:
            kind, text, content = "reply", reply["title"], dict(reply)
        message = MessageIn(
            id=translate.message_id(self._rng),
            chat=jid,
            sender=self._own_jid() if from_me else jid,
            type=kind,
            text=text,
            timestamp=datetime.now(UTC),
            push_name=None if from_me else self.contacts.get(jid, EVERYONE).name,
            media=attached,
            from_me=from_me,
            content=content,
            reply_to=reply_to,
        )
        self._remember(message.id, jid, from_me)
        await self.ctx.emit(message)
        return message

    async def edit(self, chat: str, message_id: str, body: str, *, from_me: bool = False) -> MessageEdited:
        """The sender of message `message_id` in `chat` (the contact, or with `from_me` the account's
        phone) edits it to `body`. NotFound (`message_not_found`) for a message the sandbox did not carry
        in that chat from that side (it remembers the last 10,000, until it restarts)."""
        jid = self._known(chat, message_id, from_me)
        edited = MessageEdited(id=message_id, chat=jid, text=body, timestamp=datetime.now(UTC),
                               sender=self._own_jid() if from_me else jid, from_me=from_me)
        await self.ctx.emit(edited)
        return edited

    async def revoke(self, chat: str, message_id: str, *, from_me: bool = False) -> MessageRevoked:
        """The sender of message `message_id` in `chat` deletes it for everyone (see `edit`)."""
        jid = self._known(chat, message_id, from_me)
        revoked = MessageRevoked(id=message_id, chat=jid, timestamp=datetime.now(UTC),
                                 by=self._own_jid() if from_me else jid, from_me=from_me)
        await self.ctx.emit(revoked)
        return revoked

    async def react(self, reaction: OutgoingReaction) -> SendResult:
        """The account reacts: kept in `reactions` (an empty emoji takes it away)."""
        self._require_connected()
        key = (reaction.chat, reaction.message_id)
        self.reactions.pop(key, None)
        if reaction.emoji:
            self.reactions[key] = reaction.emoji
            while len(self.reactions) > REMEMBERED:
                self.reactions.popitem(last=False)
        return SendResult(id=translate.message_id(self._rng), timestamp=datetime.now(UTC))

    async def react_from(self, chat: str, message_id: str, emoji: str, *, from_me: bool = False) -> MessageReaction:
        """The contact of `chat` (with `from_me`, the account's phone) reacts with `emoji` ("" removes) to the
        message `message_id` of the chat, whoever sent it. NotFound (`message_not_found`) for a message the
        sandbox did not carry in that chat."""
        jid = chat if "@" in chat else f"{chat}@s.whatsapp.net"
        self._in_chat(jid, message_id)
        reaction = MessageReaction(id=message_id, chat=jid, sender=self._own_jid() if from_me else jid, emoji=emoji,
                                   timestamp=datetime.now(UTC), from_me=from_me)
        await self.ctx.emit(reaction)
        return reaction

    async def vote_from(self, chat: str, message_id: str, options: Sequence[str], *, from_me: bool = False) -> PollVote:
        """The contact of `chat` (with `from_me`, the account's phone) votes for `options` (none takes the
        vote away) on the poll `message_id` the account sent to the chat; the vote carries the options'
        hashes, as WhatsApp's does. NotFound (`message_not_found`) for a poll the sandbox did not send
        there, InvalidInput (`invalid_vote`) for an answer the poll does not have, or several on a
        single-answer poll."""
        jid = chat if "@" in chat else f"{chat}@s.whatsapp.net"
        self._in_chat(jid, message_id)
        poll = self.polls.get(message_id)
        if poll is None:
            raise NotFound(f"the sandbox sent no poll {message_id!r} to chat {jid}", code="message_not_found")
        unknown = [option for option in options if option not in poll.options]
        if unknown:
            raise InvalidInput(f"options: the poll has no answer {unknown[0]!r}", code="invalid_vote")
        if len(options) > 1 and not poll.multiple:
            raise InvalidInput("options: the poll takes one answer", code="invalid_vote")
        vote = PollVote(id=message_id, chat=jid, sender=self._own_jid() if from_me else jid,
                        options=tuple(poll_option_hash(option) for option in options), timestamp=datetime.now(UTC),
                        from_me=from_me)
        await self.ctx.emit(vote)
        return vote

    def _in_chat(self, jid: str, message_id: str) -> None:
        self._require_connected()
        carried = self._messages.get(message_id)
        if carried is None or carried[0] != jid:
            raise NotFound(f"the sandbox carried no message {message_id!r} in chat {jid}", code="message_not_found")

    def _own_jid(self) -> str:
        return f"{(self._link or {}).get('phone', '')}@s.whatsapp.net"

    def _remember(self, message_id: str, chat: str, from_me: bool) -> None:
        self._messages[message_id] = (chat, from_me)
        while len(self._messages) > REMEMBERED:
            self._messages.popitem(last=False)

    def _known(self, chat: str, message_id: str, from_me: bool) -> str:
        self._require_connected()
        jid = chat if "@" in chat else f"{chat}@s.whatsapp.net"
        if self._messages.get(message_id) != (jid, from_me):
            side = "the account" if from_me else jid
            raise NotFound(f"the sandbox carried no message {message_id!r} sent by {side} in chat {jid}",
                           code="message_not_found")
        return jid

    def set_contact(self, jid: str, behaviour: ContactBehaviour) -> None:
        """Make the contact `jid` behave as `behaviour` from now on (kept in memory only)."""
        self.contacts[jid] = behaviour

    async def fail(self, kind: Literal["disconnect", "logout", "temporary_ban", "crash"]) -> None:
        """Inject a fault: a dropped connection that heals itself, a temporary ban that ends after
        `WAQTOR_SANDBOX_RECONNECT_DELAY` seconds (reported like the neonize engine reports one), an
        unlink from the phone, or a crash of the engine itself (one of its tasks raises: the gateway
        replaces the engine)."""
        if kind == "crash":
            if self.phase == "stopped":
                raise SessionNotReady(f"session {self.ctx.session!r} is not running")
            self._tasks.spawn(self._crash(), "crash")
            await asyncio.sleep(0)  # the task runs, and fails, before the caller is answered
            return
        if kind in ("disconnect", "temporary_ban"):
            self._require_connected()
            self.phase = "disconnected"
            if kind == "disconnect":
                event = Disconnected(code="connection_lost", message="connection lost (sandbox fault)",
                                     reconnecting=True)
            else:
                seconds = self.ctx.settings.sandbox_reconnect_delay
                event = Disconnected(
                    code="temporary_ban",
                    message=f"WhatsApp temporarily banned this account (sandbox fault); the gateway reconnects "
                            f"when the ban ends in {seconds:g} s. Send fewer, slower messages.",
                    reconnecting=True,
                    details={"banCode": 0, "banReason": "SANDBOX", "expiresInSeconds": seconds},
                )
            await self.ctx.emit(event)
            self._tasks.spawn(self._reconnect_later(), "reconnect")
        else:
            if self._link is None:
                raise Conflict(f"session {self.ctx.session!r} is not linked", code="not_linked")
            self._cancel_qr()
            self._link = None
            await self.ctx.store.save(None)
            self.phase = "disconnected"
            await self.ctx.emit(LoggedOut(code="logged_out", message="the phone unlinked this device (sandbox fault)"))
            await self._connect()

    async def _crash(self) -> None:
        raise RuntimeError("simulated crash (sandbox fault)")

    async def _reconnect_later(self) -> None:
        await asyncio.sleep(self.ctx.settings.sandbox_reconnect_delay)
        if self.phase == "disconnected":
            await self._connect()

    def _require_connected(self) -> None:
        if self.phase != "connected":
            raise SessionNotReady(f"session {self.ctx.session!r} is not connected (it is {self.phase})")

    # ---- sending --------------------------------------------------------------------------------

    async def send(self, message: OutgoingMessage) -> SendResult:
        self._require_connected()
        contact = self.contacts.get(message.to, EVERYONE)
        if not contact.on_whatsapp:
            raise InvalidInput(f"{message.to} is not on WhatsApp (sandbox contact)", code="not_on_whatsapp")
        if contact.fail == "send":
            raise EngineError(contact.error, code="send_failed")
        result = SendResult(id=translate.message_id(self._rng), timestamp=datetime.now(UTC))
        self._remember(result.id, message.to, True)
        if message.poll is not None:
            self.polls[result.id] = message.poll
            while len(self.polls) > REMEMBERED:
                self.polls.popitem(last=False)
        self._tasks.spawn(self._progress(result.id, message, contact), f"acks:{result.id}")
        return result

    async def _progress(self, wa_id: str, message: OutgoingMessage, contact: ContactBehaviour) -> None:
        """The recipient's side: delivery, reading (playing a voice note or video), and a reply."""
        delay = self.ctx.settings.sandbox_ack_delay

        async def step(status: str, error: str | None = None) -> None:
            await asyncio.sleep(delay)
            await self.ctx.emit(MessageStatus(wa_id, status, datetime.now(UTC), error=error))

        if contact.fail == "delivery":
            await step("failed", contact.error)
            return
        await step("delivered")
        if contact.reads:
            await step("read")
            if message.type in ("audio", "video"):
                await step("played")
        if contact.reply is not None:
            await asyncio.sleep(delay)
            if self.phase == "connected":
                await self.inbound(message.to, contact.reply)

    async def is_on_whatsapp(self, jids: Sequence[str]) -> dict[str, bool] | None:
        self._require_connected()
        return {jid: self.contacts.get(jid, EVERYONE).on_whatsapp for jid in jids}

    # ---- contacts ---------------------------------------------------------------------------------

    def _contact(self, jid: str) -> ContactBehaviour:
        self._require_connected()
        contact = self.contacts.get(jid, EVERYONE)
        if not contact.on_whatsapp:
            raise InvalidInput(f"{jid} is not on WhatsApp (sandbox contact)", code="not_on_whatsapp")
        return contact

    async def contact_profile(self, jid: str) -> ContactProfile:
        contact = self._contact(jid)
        return ContactProfile(jid=jid, name=contact.name, about=contact.about, business=contact.business)

    async def profile_picture(self, jid: str) -> ProfilePicture | None:
        if not self._contact(jid).picture:
            return None
        return ProfilePicture(data=picture(jid), picture_id=jid.partition("@")[0])

    async def set_blocked(self, jid: str, blocked: bool) -> None:
        self._contact(jid)
        if blocked:
            self.blocked.add(jid)
        else:
            self.blocked.discard(jid)

    async def edit_message(self, chat: str, message_id: str, text: str) -> datetime:
        """The simulated contact sees the edit: nothing to send, the account must only be connected."""
        self._require_connected()
        log.info("session %s (SANDBOX): edited message %s in chat %s", self.ctx.session, message_id, chat)
        return datetime.now(UTC)

    async def revoke_message(self, chat: str, message_id: str) -> datetime:
        """The simulated contact sees the deletion (see `edit_message`)."""
        self._require_connected()
        log.info("session %s (SANDBOX): deleted message %s for everyone in chat %s", self.ctx.session, message_id,
                 chat)
        return datetime.now(UTC)

    async def mark_read(self, chat: str, messages: Sequence[tuple[str, str]]) -> None:
        """Recorded in `reads` (chat, WhatsApp ids), the last REMEMBERED marks."""
        self._require_connected()
        self.reads.append((chat, [wa_id for wa_id, _sender in messages]))

    async def send_chat_presence(self, chat: str, state: str) -> None:
        """Recorded in `presences` (chat, state), the last REMEMBERED."""
        self._require_connected()
        self.presences.append((chat, state))

    # ---- presence -----------------------------------------------------------------------------------

    async def subscribe_presence(self, jid: str) -> None:
        """Recorded in `presence_subscriptions`. The sandbox tells a contact's presence whether or not the
        account subscribed (`presence_from`): a test decides when a contact is online."""
        self._contact(jid)
        if jid not in self.presence_subscriptions and len(self.presence_subscriptions) >= REMEMBERED:
            self.presence_subscriptions.pop()
        self.presence_subscriptions.add(jid)

    async def send_presence(self, state: str) -> None:
        """Recorded in `own_presence`."""
        self._require_connected()
        self.own_presence = state

    async def presence_from(self, contact: str, state: str, last_seen: datetime | None = None) -> PresenceUpdate:
        """The contact `contact` (a phone's digits or a JID) goes `available` or `unavailable` (seen last at
        `last_seen`, when given), or is `typing`, `recording` or `paused` in its chat with the account."""
        self._require_connected()
        jid = contact if "@" in contact else f"{contact}@s.whatsapp.net"
        update = PresenceUpdate(chat=jid, sender=jid, state=state, timestamp=datetime.now(UTC),
                                last_seen=last_seen if state == "unavailable" else None)
        await self.ctx.emit(update)
        return update
