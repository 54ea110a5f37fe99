"""Outgoing WhatsApp message bodies for neonize. Imports neonize: only the engine loads it, lazily.

Media are uploaded first and described by hand rather than with neonize's `build_*_message`, which
need ffmpeg for audio and video; WhatsApp shows them without thumbnail or duration.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from neonize.proto.Neonize_pb2 import JID
from neonize.proto.waCommon.WACommon_pb2 import MessageKey
from neonize.proto.waE2E.WAWebProtobufsE2E_pb2 import (
    AudioMessage,
    ContactMessage,
    ContextInfo,
    DocumentMessage,
    ExtendedTextMessage,
    ImageMessage,
    LocationMessage,
    Message,
    ReactionMessage,
    VideoMessage,
)
from neonize.utils.enum import MediaType, VoteType

from waqtor.engines import TEMPLATES, require_feature
from waqtor.engines.base import OutgoingMessage, OutgoingReaction, Quoted
from waqtor.engines.neonize.translate import parse_device_jid
from waqtor.errors import InvalidInput

UPLOAD_KIND = {
    "image": MediaType.MediaImage,
    "video": MediaType.MediaVideo,
    "audio": MediaType.MediaAudio,
    "voice": MediaType.MediaAudio,
    "document": MediaType.MediaDocument,
}


def recipient(to: str) -> JID:
    """The JID message for `to` (`digits@s.whatsapp.net`, `id@g.us` or `lid@lid`); InvalidInput when it is
    not one."""
    try:
        fields = parse_device_jid(to)
    except ValueError:
        raise InvalidInput(f"recipient {to!r} is not a WhatsApp JID", code="invalid_recipient") from None
    return JID(IsEmpty=False, **fields)


def quoted_body(quoted: Quoted) -> Message:
    """The quoted message as it travels inside a reply (what the recipient's phone shows above it when it
    does not have the message itself): its text, or for a file the kind and caption without the file."""
    text = quoted.text or None
    if quoted.type == "image":
        return Message(imageMessage=ImageMessage(caption=text))
    if quoted.type == "video":
        return Message(videoMessage=VideoMessage(caption=text))
    if quoted.type in ("audio", "voice"):
        return Message(audioMessage=AudioMessage(PTT=quoted.type == "voice"))
    if quoted.type == "document":
        return Message(documentMessage=DocumentMessage(caption=text))
    return Message(conversation=text or "")


def _context(message: OutgoingMessage, own: str | None) -> ContextInfo | None:
    """A reply's ContextInfo, as neonize's build_reply_message makes it: the quoted message's id, its
    sender (`participant`: the account itself for its own message) and the quoted message."""
    if not message.reply_to:
        return None
    quoted = message.quoted
    if quoted is None:  # the log no longer has it: quoting by id, the phone finds it in its own history
        return ContextInfo(stanzaID=message.reply_to, participant=message.to)
    participant = own if quoted.from_me else quoted.sender
    return ContextInfo(stanzaID=quoted.id, participant=participant or message.to, quotedMessage=quoted_body(quoted))


def reaction(reaction: OutgoingReaction, own: str | None, now_ms: int) -> Message:
    """The WhatsApp body of a reaction, as whatsmeow's BuildReaction makes it: the key of the message
    reacted to (its chat, whether the account sent it, and in a group who did), the emoji ("" removes)."""
    key = MessageKey(remoteJID=reaction.chat, fromMe=reaction.from_me, ID=reaction.message_id)
    if reaction.chat.endswith("@g.us"):
        sender = own if reaction.from_me else reaction.sender
        if sender:
            key.participant = sender
    return Message(reactionMessage=ReactionMessage(key=key, text=reaction.emoji, senderTimestampMS=now_ms))


def poll(message: OutgoingMessage, create: Callable[[str, list[str], VoteType], Message],
         own: str | None = None) -> Message:
    """The WhatsApp body of a poll: `create` is neonize's build_poll_vote_creation (whatsmeow's
    BuildPollCreation), which draws the poll's secret (`messageContextInfo.messageSecret`, kept by
    whatsmeow's store so the votes can be decrypted); a reply's ContextInfo goes on the poll itself."""
    if message.poll is None:
        raise InvalidInput("a poll message needs `poll`", code="poll_missing")
    spec = message.poll
    body = create(spec.question, list(spec.options), VoteType.MULTIPLE if spec.multiple else VoteType.SINGLE)
    context = _context(message, own)
    if context is not None:
        body.pollCreationMessage.contextInfo.MergeFrom(context)
    return body


def build(message: OutgoingMessage, upload: Callable[[bytes, Any], Any], data: bytes | None,
          own: str | None = None) -> Message:
    """The WhatsApp body of `message`; `upload(data, MediaType)` returns neonize's UploadResponse; `own` is
    the account's JID (the sender of its own messages a reply quotes)."""
    if message.type == "template":  # WhatsApp Web has no message templates: NotSupportedByEngine
        require_feature("neonize", TEMPLATES)
    context = _context(message, own)
    if message.type == "text":
        if not message.text:
            raise InvalidInput("a text message needs `text`", code="text_missing")
        if context is None:
            return Message(conversation=message.text)
        return Message(extendedTextMessage=ExtendedTextMessage(text=message.text, contextInfo=context))
    if message.type == "location":
        if message.location is None:
            raise InvalidInput("a location message needs `location`", code="location_missing")
        where = message.location
        return Message(locationMessage=LocationMessage(
            degreesLatitude=where.latitude, degreesLongitude=where.longitude, name=where.name or None,
            address=where.address or None, contextInfo=context))
    if message.type == "contact":
        if message.contact is None:
            raise InvalidInput("a contact message needs `contact`", code="contact_missing")
        return Message(contactMessage=ContactMessage(
            displayName=message.contact.display_name, vcard=message.contact.vcard, contextInfo=context))
    kind = UPLOAD_KIND.get(message.type)
    if kind is None:
        raise InvalidInput(f"unknown message type {message.type!r}", code="invalid_message_type")
    if message.media is None or data is None:
        raise InvalidInput(f"a {message.type} message needs `media`", code="media_missing")
    mime = message.media.mimetype or "application/octet-stream"
    caption = message.text or None
    up = upload(data, kind)
    common: dict[str, Any] = {
        "URL": up.url,
        "directPath": up.DirectPath,
        "mediaKey": up.MediaKey,
        "fileEncSHA256": up.FileEncSHA256,
        "fileSHA256": up.FileSHA256,
        "fileLength": up.FileLength,
        "mimetype": mime,
    }
    if context is not None:
        common["contextInfo"] = context
    if message.type == "image":
        return Message(imageMessage=ImageMessage(caption=caption, **common))
    if message.type == "video":
        return Message(videoMessage=VideoMessage(caption=caption, **common))
    if message.type in ("audio", "voice"):
        return Message(audioMessage=AudioMessage(PTT=message.type == "voice", **common))
    filename = message.media.file_name or "file"
    return Message(documentMessage=DocumentMessage(caption=caption, fileName=filename, title=filename, **common))
