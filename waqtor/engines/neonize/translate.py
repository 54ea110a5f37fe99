"""neonize's protobuf events in, the gateway's engine events out. Pure: no I/O, no clock, no neonize import.

Events are recognised by their protobuf message name (`LoggedOut`, `Receipt`, …) and enum values are read
from their descriptors, so this module can be tested with the real neonize classes without importing
neonize here (importing neonize configures the root logger: only the engine does that, lazily).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Literal

from waqtor.engines.base import (
    AccountInfo,
    Disconnected,
    LoggedOut,
    MessageEdited,
    MessageIn,
    MessageReaction,
    MessageRevoked,
    MessageStatus,
    PollVote,
    PresenceUpdate,
    QRCode,
    new_poll,
)

# whatsmeow rotates the pairing QR: the first code lives about 60 s, every later one about 20 s, and it
# never says when one expired. The gateway tracks it from these.
QR_FIRST_TTL = timedelta(seconds=60)
QR_NEXT_TTL = timedelta(seconds=20)

# The phone's platform as WhatsApp reports it at pairing, and the name we show for it.
PLATFORMS: dict[str, str] = {
    "android": "android",
    "smba": "android (business)",
    "iphone": "iphone",
    "ios": "iphone",
    "smbi": "iphone (business)",
    "ipad": "ipad",
    "kaios": "kaios",
    "wp": "windows phone",
    "web": "web",
    "darwin": "mac",
    "macos": "mac",
    "windows": "windows",
}

USER_SERVER = "s.whatsapp.net"
LID_SERVER = "lid"

Action = Literal["keep", "retry", "wait", "halt"]

# Keep-alives missed in a row (whatsmeow sends one every 20 to 30 s) before the connection is cut and
# opened again.
KEEPALIVE_GIVE_UP = 3


@dataclass(frozen=True, slots=True)
class Verdict:
    """What a connection-level event means.

    - keep:  report it; whatsmeow reconnects by itself.
    - retry: close the client and reconnect after the backoff.
    - wait:  close the client and reconnect at `retry_at` (a temporary ban).
    - halt:  close the client and stay down until someone starts the session again.
    `forget_link` says the stored device is gone (logged out) and the next start pairs anew.
    """

    event: Disconnected | LoggedOut
    action: Action
    retry_at: datetime | None = None
    forget_link: bool = False


def _name(message: Any) -> str:
    return str(message.DESCRIPTOR.name)


def _enum_name(message: Any, field: str) -> str:
    descriptor = message.DESCRIPTOR.fields_by_name[field].enum_type
    number = getattr(message, field)
    value = descriptor.values_by_number.get(number)
    return value.name if value is not None else str(number)


# ---- accounts and JIDs ------------------------------------------------------------------------------


def jid_string(jid: Any) -> str:
    """A JID as `user@server`, without the device part (how chats and senders are named)."""
    return f"{jid.User}@{jid.Server}"


def device_jid_string(jid: Any) -> str:
    """A device JID as whatsmeow stores it: `user:device@server` (`user@server` for device 0)."""
    if jid.Device:
        return f"{jid.User}:{jid.Device}@{jid.Server}"
    return jid_string(jid)


def parse_device_jid(value: str) -> dict[str, Any]:
    """The fields of a JID message for `user[:device]@server`; ValueError when it is not one."""
    user_part, sep, server = value.partition("@")
    if not sep or not server or not user_part:
        raise ValueError(f"not a JID: {value!r}")
    user, _, device = user_part.partition(":")
    if not user or (device and not device.isdigit()):
        raise ValueError(f"not a JID: {value!r}")
    return {"User": user, "Device": int(device or 0), "Server": server, "RawAgent": 0, "Integrator": 0}


def platform_name(raw: str | None) -> str | None:
    """The readable name of WhatsApp's platform code (`smba` → `android (business)`); unknown codes are
    shown as they come, lower-cased; empty is None."""
    if not raw:
        return None
    return PLATFORMS.get(raw.lower(), raw.lower())


def account(device: Any) -> AccountInfo | None:
    """The linked account described by neonize's `Device` (from `get_me()`); None before pairing."""
    if not device.HasField("JID") or not device.JID.User:
        return None
    raw = device.Platform or None
    return AccountInfo(
        phone=device.JID.User,
        pushname=device.PushName or device.BussinessName or None,
        platform=platform_name(raw),
        platform_raw=raw,
    )


# ---- QR ---------------------------------------------------------------------------------------------


def qr_code(raw: bytes, index: int, now: datetime) -> QRCode:
    """The `index`-th QR code (0 first) of a connection attempt, with the expiry the gateway assumes."""
    ttl = QR_FIRST_TTL if index == 0 else QR_NEXT_TTL
    return QRCode(code=raw.decode("utf-8", "replace"), expires_at=now + ttl)


# ---- messages and receipts --------------------------------------------------------------------------


def _timestamp(value: int) -> datetime:
    # neonize sends message times in milliseconds and receipt times in seconds; tell them apart by size
    # (1e11 seconds is the year 5138, 1e11 milliseconds is 1973).
    seconds = value / 1000 if value > 100_000_000_000 else value
    return datetime.fromtimestamp(seconds, UTC)


# Message types whose file the gateway downloads and keeps.
DOWNLOADABLE = frozenset({"image", "video", "audio", "voice", "document", "sticker"})

# Wrappers whose `message` is the real body (whatsmeow unwraps most of them before neonize sees the event).
_WRAPPERS = ("deviceSentMessage", "ephemeralMessage", "viewOnceMessage", "viewOnceMessageV2",
             "viewOnceMessageV2Extension", "documentWithCaptionMessage", "editedMessage")


def unwrap(message: Any) -> Any:
    """The real body of a message inside its wrappers (ephemeral, view-once, sent from another device…)."""
    for _ in range(4):  # wrappers nest at most a few deep; never loop on a malformed body
        for field in _WRAPPERS:
            if message.HasField(field) and getattr(message, field).HasField("message"):
                message = getattr(message, field).message
                break
        else:
            return message
    return message


Content = tuple[str, str | None, dict[str, Any] | None, dict[str, Any] | None, str | None]


def _card(contact: Any) -> dict[str, Any]:
    return {"displayName": contact.displayName or None, "vcard": contact.vcard or None}


def _reply(message: Any) -> Content | None:
    """A tap on a button, a list row or a flow: type `reply`, the title shown as the text, and in the
    content the chosen `id`, its `title` and the `kind` of reply; `reply_to` is the message it answers."""
    if message.HasField("buttonsResponseMessage"):
        part = message.buttonsResponseMessage
        chosen = {"id": part.selectedButtonID or None, "title": part.selectedDisplayText or None, "kind": "button"}
    elif message.HasField("templateButtonReplyMessage"):
        part = message.templateButtonReplyMessage
        chosen = {"id": part.selectedID or None, "title": part.selectedDisplayText or None, "kind": "button"}
    elif message.HasField("listResponseMessage"):
        part = message.listResponseMessage
        chosen = {"id": part.singleSelectReply.selectedRowID or None, "title": part.title or None, "kind": "list"}
        if part.description:
            chosen["description"] = part.description
    elif message.HasField("interactiveResponseMessage"):
        part = message.interactiveResponseMessage
        flow = part.nativeFlowResponseMessage
        chosen = {"id": _flow_id(flow.paramsJSON) or flow.name or None, "title": part.body.text or None,
                  "kind": "flow"}
    else:
        return None
    quoted = part.contextInfo.stanzaID or None if part.HasField("contextInfo") else None
    return "reply", chosen["title"], None, chosen, quoted


def _flow_id(params: str) -> str | None:
    """The `id` a WhatsApp flow's answer carries in its JSON parameters, when it has one."""
    try:
        value = json.loads(params) if params else None
    except ValueError:
        return None
    chosen = value.get("id") if isinstance(value, dict) else None
    return str(chosen) if isinstance(chosen, str | int) and chosen != "" else None


def _content(message: Any) -> Content | None:
    """(type, text, media, content, reply_to) of a WhatsApp message body; None for bodies that carry
    nothing to show."""
    if message.conversation:
        return "text", message.conversation, None, None, None
    if message.HasField("extendedTextMessage"):
        return "text", message.extendedTextMessage.text, None, None, None
    media_kinds = (
        ("imageMessage", "image"),
        ("videoMessage", "video"),
        ("audioMessage", "audio"),
        ("documentMessage", "document"),
        ("stickerMessage", "sticker"),
    )
    for field, kind in media_kinds:
        if message.HasField(field):
            part = getattr(message, field)
            if kind == "audio" and part.PTT:
                kind = "voice"
            media: dict[str, Any] = {"mimetype": part.mimetype or None, "size": int(part.fileLength) or None}
            if kind == "document":
                media["fileName"] = part.fileName or None
            caption = getattr(part, "caption", "") or None
            return kind, caption, media, None, None
    if message.HasField("locationMessage"):
        loc = message.locationMessage
        where = {"latitude": loc.degreesLatitude, "longitude": loc.degreesLongitude, "name": loc.name or None,
                 "address": loc.address or None}
        return "location", loc.name or None, None, where, None
    if message.HasField("contactMessage"):
        card = _card(message.contactMessage)
        return "contact", card["displayName"], None, card, None
    if message.HasField("contactsArrayMessage"):
        cards = [_card(contact) for contact in message.contactsArrayMessage.contacts]
        if not cards:
            return None
        name = message.contactsArrayMessage.displayName or None
        return "contact", name or cards[0]["displayName"], None, {**cards[0], "contacts": cards}, None
    reply = _reply(message)
    if reply is not None:
        return reply
    for field in ("pollCreationMessage", "pollCreationMessageV2", "pollCreationMessageV3"):
        if message.HasField(field):
            poll = getattr(message, field)
            names = [option.optionName for option in poll.options]
            return "poll", poll.name or None, None, new_poll(poll.name, names, poll.selectableOptionsCount != 1), None
    return None


def _phone_jid(jid: Any) -> bool:
    return bool(jid.User) and jid.Server == USER_SERVER


def addresses(source: Any) -> tuple[str, str]:
    """(chat, sender) of a message source, each a JID a send can go to: the phone number's JID when the
    event carries it, else WhatsApp's privacy id `<lid>@lid` as it came.

    A sender known only by a LID is named by `SenderAlt` (its phone JID) when WhatsApp gave it. In a
    direct chat with a LID the chat is that same person: named by `SenderAlt` for what they sent, and by
    `RecipientAlt` for what the account sent them."""
    sender = jid_string(source.Sender)
    if source.Sender.Server == LID_SERVER and source.HasField("SenderAlt") and _phone_jid(source.SenderAlt):
        sender = jid_string(source.SenderAlt)
    chat = jid_string(source.Chat)
    if source.Chat.Server == LID_SERVER:
        if source.IsFromMe:
            if source.HasField("RecipientAlt") and _phone_jid(source.RecipientAlt):
                chat = jid_string(source.RecipientAlt)
        elif chat == jid_string(source.Sender):
            chat = sender
    return chat, sender


def own_echo(source: Any, own_device: str | None) -> bool:
    """Whether a message comes from the account's own linked device (this gateway): a send of ours,
    which the log has already."""
    return bool(source.IsFromMe) and own_device is not None and device_jid_string(source.Sender) == own_device


Inbound = MessageIn | MessageEdited | MessageRevoked | MessageReaction


def quoted_id(message: Any) -> str | None:
    """The WhatsApp id of the message a body quotes (its part's `contextInfo.stanzaID`), if it quotes one."""
    for _, part in message.ListFields():
        if hasattr(part, "HasField") and "contextInfo" in part.DESCRIPTOR.fields_by_name \
                and part.HasField("contextInfo") and part.contextInfo.stanzaID:
            return str(part.contextInfo.stanzaID)
    return None


def poll_update(event: Any) -> Any | None:
    """The PollUpdateMessage of a `Message` event (a vote, still encrypted), or None for any other."""
    if not event.HasField("Message") or event.Info.MessageSource.Chat.Server == "broadcast":
        return None
    body = unwrap(event.Message)
    return body.pollUpdateMessage if body.HasField("pollUpdateMessage") else None


def poll_vote(event: Any, selected: Sequence[bytes]) -> PollVote | None:
    """A vote as the log takes it: the poll's WhatsApp id, the voter, and the SHA-256 hashes of the options
    chosen (`selected`, from the decrypted PollVoteMessage); None without a poll to vote on."""
    update = poll_update(event)
    if update is None or not update.pollCreationMessageKey.ID:
        return None
    source = event.Info.MessageSource
    chat, sender = addresses(source)
    at = _timestamp(int(update.senderTimestampMS or event.Info.Timestamp))
    return PollVote(id=update.pollCreationMessageKey.ID, chat=chat, sender=sender,
                    options=tuple(bytes(option).hex() for option in selected), timestamp=at,
                    from_me=bool(source.IsFromMe))


def message_in(event: Any, own_device: str | None = None) -> Inbound | None:
    """A `Message` event as what it means for the log: a MessageIn (`from_me` for one the account sent
    from the phone or another device), a MessageEdited or a MessageRevoked (WhatsApp sends both as a
    `protocolMessage`). None for status stories, for the gateway's own sends coming back (`own_device`
    is the linked device's JID, `user:device@server`), and for bodies with nothing to show (key
    distribution, other protocol messages)."""
    info = event.Info
    source = info.MessageSource
    if source.Chat.Server == "broadcast" or not event.HasField("Message") or own_echo(source, own_device):
        return None
    body = unwrap(event.Message)
    chat, sender = addresses(source)
    from_me = bool(source.IsFromMe)
    at = _timestamp(info.Timestamp)
    if body.HasField("protocolMessage"):
        return _protocol(body.protocolMessage, chat, sender, from_me, at)
    if body.HasField("reactionMessage"):
        part = body.reactionMessage
        if not part.key.ID:
            return None
        when = _timestamp(int(part.senderTimestampMS)) if part.senderTimestampMS else at
        return MessageReaction(id=part.key.ID, chat=chat, sender=sender, emoji=part.text, timestamp=when,
                               from_me=from_me)
    content = _content(body)
    if content is None:
        return None
    kind, text, media, details, quoted = content
    return MessageIn(
        id=info.ID,
        chat=chat,
        sender=sender,
        type=kind,
        text=text,
        timestamp=at,
        push_name=info.Pushname or None,
        media=media,
        from_me=from_me,
        content=details,
        reply_to=quoted or quoted_id(body),
    )


def _protocol(part: Any, chat: str, sender: str, from_me: bool, at: datetime) -> Inbound | None:
    kind = _enum_name(part, "type")
    target = part.key.ID
    if not target:
        return None
    if part.timestampMS:
        at = _timestamp(int(part.timestampMS))
    if kind == "MESSAGE_EDIT" and part.HasField("editedMessage"):
        edited = _content(unwrap(part.editedMessage))
        return MessageEdited(id=target, chat=chat, text=edited[1] if edited else None, timestamp=at, sender=sender,
                             from_me=from_me)
    if kind == "REVOKE":
        return MessageRevoked(id=target, chat=chat, timestamp=at, by=sender, from_me=from_me)
    return None


# ---- presence ---------------------------------------------------------------------------------------


def presence(event: Any, now: datetime) -> PresenceUpdate | None:
    """A `Presence` event (a subscribed contact online, or offline with `LastSeen` in seconds when
    WhatsApp tells it: whatsmeow's zero time, or none, is unknown) or a `ChatPresence` one (typing:
    composing text; recording: composing audio; paused) as a PresenceUpdate at `now`; None for another
    event or one without a person."""
    if _name(event) == "Presence":
        if not event.From.User:
            return None
        who = jid_string(event.From)
        if not event.Unavailable:
            return PresenceUpdate(chat=who, sender=who, state="available", timestamp=now)
        seen = datetime.fromtimestamp(event.LastSeen, UTC) if event.LastSeen > 0 else None
        return PresenceUpdate(chat=who, sender=who, state="unavailable", timestamp=now, last_seen=seen)
    if _name(event) == "ChatPresence":
        source = event.MessageSource
        if not source.Sender.User:
            return None
        chat, sender = addresses(source)
        if _enum_name(event, "State") == "PAUSED":
            state = "paused"
        else:
            state = "recording" if _enum_name(event, "Media") == "AUDIO" else "typing"
        return PresenceUpdate(chat=chat, sender=sender, state=state, timestamp=now)
    return None


RECEIPT_STATUS = {"DELIVERED": "delivered", "READ": "read", "PLAYED": "played"}
SERVER_ERROR = "WhatsApp's server refused the message (server-error receipt)"


def statuses(event: Any) -> list[MessageStatus]:
    """A `Receipt` as one MessageStatus per message id; receipts that are not about the account's sent
    messages (its own reads and plays on other devices, retries, history sync) give none.

    neonize 0.5.2 encodes whatsmeow's receipt type with a switch that has no case for `server-error`
    (the type stays unset, which proto2 reads as DELIVERED) and that labels `played-self` as
    SERVER_ERROR. So the raw field decides: a receipt without a type is WhatsApp refusing the message
    (`failed`), and SERVER_ERROR is the account playing a view-once message elsewhere (nothing)."""
    if event.MessageSource.IsFromMe:
        return []
    if not event.HasField("Type"):
        status: str | None = "failed"
    else:
        status = RECEIPT_STATUS.get(_enum_name(event, "Type"))
    if status is None:
        return []
    at = _timestamp(event.Timestamp)
    error = SERVER_ERROR if status == "failed" else None
    return [MessageStatus(id=message_id, status=status, timestamp=at, error=error) for message_id in event.MessageIDs]


# ---- connection-level events ------------------------------------------------------------------------

LOGGED_OUT_REASONS = {"LOGGED_OUT", "MAIN_DEVICE_GONE", "UNKNOWN_LOGOUT"}


def _logged_out(reason: str, on_connect: bool | None) -> Verdict:
    details: dict[str, Any] = {"reason": reason}
    if on_connect is not None:
        details["onConnect"] = on_connect
    message = {
        "MAIN_DEVICE_GONE": "the phone's WhatsApp account is gone (reinstalled or deleted); link the device again",
    }.get(reason, "the phone unlinked this device; link it again with a new QR code or a pairing code")
    return Verdict(LoggedOut(code="logged_out", message=message, details=details), "halt", forget_link=True)


def _halt(code: str, message: str, **details: Any) -> Verdict:
    return Verdict(Disconnected(code=code, message=message, reconnecting=False, details=details), "halt")


def temporary_ban(reason: str, code: int, expire_seconds: int, now: datetime) -> Verdict:
    """WhatsApp banned the account for a while: wait until the ban ends, or stay down when it gave no end."""
    details: dict[str, Any] = {"banCode": code, "banReason": reason, "expiresInSeconds": expire_seconds}
    if expire_seconds > 0:
        until = now + timedelta(seconds=expire_seconds)
        details["expiresAt"] = until.strftime("%Y-%m-%dT%H:%M:%SZ")
        message = (f"WhatsApp temporarily banned this account ({reason}); the gateway reconnects when the ban ends "
                   f"at {details['expiresAt']}. Send fewer, slower messages.")
        return Verdict(Disconnected(code="temporary_ban", message=message, reconnecting=True, details=details),
                       "wait", retry_at=until)
    message = f"WhatsApp temporarily banned this account ({reason}) without saying until when; start it again later."
    return Verdict(Disconnected(code="temporary_ban", message=message, reconnecting=False, details=details), "halt")


def connection_verdict(event: Any, now: datetime) -> Verdict | None:
    """The meaning of a connection-level neonize event; None for events that are not about the connection."""
    name = _name(event)
    if name == "LoggedOut":
        reason = _enum_name(event, "Reason")
        if reason == "TEMP_BANNED":
            return temporary_ban("TEMP_BANNED", 0, 0, now)
        if reason == "CLIENT_OUTDATED":
            return _client_outdated()
        return _logged_out(reason, bool(event.OnConnect))
    if name == "TemporaryBan":
        return temporary_ban(_enum_name(event, "Code"), int(event.Code), int(event.Expire), now)
    if name == "StreamReplaced":
        return _halt("stream_replaced", "another client opened this WhatsApp session (a second gateway on the same "
                     "data?); not reconnecting, so the two do not take turns pushing each other out")
    if name == "ClientOutdated":
        return _client_outdated()
    if name == "ConnectFailure":
        reason = _enum_name(event, "Reason")
        if reason in LOGGED_OUT_REASONS:
            return _logged_out(reason, True)
        if reason == "CLIENT_OUTDATED":
            return _client_outdated()
        if reason == "TEMP_BANNED":
            return temporary_ban("TEMP_BANNED", 0, 0, now)
        detail = f": {event.Message}" if event.Message else ""
        refused = Disconnected(code="connect_failure", message=f"WhatsApp refused the connection ({reason}){detail}",
                               reconnecting=True, details={"reason": reason})
        return Verdict(refused, "retry")
    # A dropped connection is closed and opened again by the engine, after its own backoff (capped by
    # WAQTOR_RECONNECT_MAX), not left to whatsmeow's uncapped 2 s x attempt.
    if name == "Disconnected":
        return Verdict(Disconnected(code="connection_lost", message="the connection to WhatsApp dropped; reconnecting",
                                    reconnecting=True), "retry")
    if name == "KeepAliveTimeout":
        count = int(event.ErrorCount)
        details = {"errorCount": count, "lastSuccess": int(event.LastSuccess)}
        # The first misses may be a slow network: shown as disconnected, and Ready again when one is
        # answered; after KEEPALIVE_GIVE_UP in a row the connection is treated as dead.
        action: Action = "retry" if count >= KEEPALIVE_GIVE_UP else "keep"
        return Verdict(Disconnected(code="keepalive_timeout", message="WhatsApp stopped answering keep-alives",
                                    reconnecting=True, details=details), action)
    if name == "StreamError":
        closed = Disconnected(code="stream_error", message=f"WhatsApp closed the stream (code {event.Code or '?'})",
                              reconnecting=True, details={"streamCode": event.Code})
        return Verdict(closed, "retry")
    if name == "PairStatus" and _enum_name(event, "Status") == "ERROR":
        return Verdict(Disconnected(code="pair_failed", message=f"linking the phone failed: {event.Error or 'unknown'}",
                                    reconnecting=True), "retry")
    return None


def _client_outdated() -> Verdict:
    return _halt("client_outdated", "WhatsApp refuses this client version; upgrade Waqtor (its neonize library)")


def connect_error(error: str) -> Verdict:
    """`connect()` itself failed (WhatsApp unreachable, the store unusable): retry after the backoff."""
    return Verdict(Disconnected(code="connect_failure", message=f"cannot connect to WhatsApp: {error}",
                                reconnecting=True, details={"error": error}), "retry")


def connect_timeout(seconds: float) -> Verdict:
    """No sign of life from WhatsApp within the watchdog's time: cut the attempt and retry."""
    return Verdict(Disconnected(code="connect_timeout",
                                message=f"WhatsApp did not answer within {seconds:g} s; retrying",
                                reconnecting=True, details={"timeoutSeconds": seconds}), "retry")


def qr_timeout() -> Verdict:
    """Every QR code of an attempt expired unscanned: start a new attempt for fresh codes."""
    return Verdict(Disconnected(code="qr_timeout", message="nobody scanned the QR code in time; fetching new codes",
                                reconnecting=True), "retry")
