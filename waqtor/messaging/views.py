"""The JSON form of messages: in API answers, `message`, `message_ack`, `message_edited`,
`message_revoked` and `message_reaction` events, and exports. Pure. (A `poll_vote` is built by
`waqtor.messaging.polls`.)"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from waqtor.clock import iso_ms
from waqtor.messaging.phones import USER_DOMAIN
from waqtor.storage.chats import ChatSummary
from waqtor.storage.records import MediaRecord, MessageRecord

PREVIEW = 100  # characters of the newest message's text a chat row shows
PERSON_SUFFIX = "@" + USER_DOMAIN


def _iso(value: datetime | None) -> str | None:
    return None if value is None else iso_ms(value)


def media_view(media: MediaRecord) -> dict[str, Any]:
    return {
        "id": media.id,
        "kind": media.kind,
        "mimetype": media.mimetype,
        "size": media.size,
        "fileName": media.file_name,
        "sha256": media.sha256,
        "url": f"/api/media/{media.id}",
        "available": media.deleted_at is None,
    }


def message_view(record: MessageRecord) -> dict[str, Any]:
    """A message as the API answers it and as `message` events carry it."""
    content = record.content or None  # an engine may report a location or card it gave no details of
    return {
        "id": record.id,
        "waId": record.wa_id,
        "session": record.session,
        "direction": record.direction,
        "fromMe": record.direction == "out",
        "source": record.source,
        "chat": record.chat,
        "from": record.sender,
        "type": record.type,
        "body": record.text,
        "media": media_view(record.media) if record.media else None,
        "location": content if record.type == "location" else None,
        "contact": _card(content) if record.type == "contact" and content else None,
        "contacts": _cards(content) if record.type == "contact" and content else None,
        "reply": content if record.type == "reply" else None,
        "poll": content if record.type == "poll" else None,
        "replyTo": {"id": record.reply_to_id, "waId": record.reply_to} if record.reply_to else None,
        "pushName": record.push_name,
        "status": record.status,
        "error": record.error,
        "campaignId": record.campaign_id,
        "timestamp": iso_ms(record.timestamp),
        "queuedAt": _iso(record.queued_at),
        "sentAt": _iso(record.sent_at),
        "deliveredAt": _iso(record.delivered_at),
        "readAt": _iso(record.read_at),
        "playedAt": _iso(record.played_at),
        "failedAt": _iso(record.failed_at),
        "createdAt": iso_ms(record.created_at),
        "editedAt": _iso(record.edited_at),
        "edits": record.edits or [],
        "revokedAt": _iso(record.revoked_at),
        "revokedBy": record.revoked_by,
        "reactions": record.reactions or [],
    }


def _card(content: dict[str, Any]) -> dict[str, Any]:
    return {"displayName": content.get("displayName"), "vcard": content.get("vcard")}


def _cards(content: dict[str, Any]) -> list[dict[str, Any]]:
    """Every card of a contact message: one, or the several of a contact list."""
    several = content.get("contacts")
    return [_card(card) for card in several] if isinstance(several, list) else [_card(content)]


def edit_view(session: str, wa_id: str, record: MessageRecord | None, chat: str, sender: str | None, from_me: bool,
              body: str | None, previous: str | None, at: datetime) -> dict[str, Any]:
    """The `message_edited` event: the message with WhatsApp id `wa_id` now reads `body` (it read
    `previous`); `id` is its id in the log, None when the log does not have it."""
    return {
        "id": record.id if record else None,
        "waId": wa_id,
        "session": session,
        "chat": record.chat if record else chat,
        "from": sender,
        "fromMe": from_me,
        "body": body,
        "previousBody": previous,
        "timestamp": iso_ms(at),
    }


def revoke_view(session: str, wa_id: str, record: MessageRecord | None, chat: str, by: str | None, from_me: bool,
                at: datetime) -> dict[str, Any]:
    """The `message_revoked` event: the message with WhatsApp id `wa_id` was deleted for everyone."""
    return {
        "id": record.id if record else None,
        "waId": wa_id,
        "session": session,
        "chat": record.chat if record else chat,
        "by": by,
        "fromMe": from_me,
        "timestamp": iso_ms(at),
    }


def reaction_view(session: str, wa_id: str, record: MessageRecord | None, chat: str, entry: dict[str, Any],
                  at: datetime) -> dict[str, Any]:
    """The `message_reaction` event: `entry` (`{"from", "fromMe", "emoji"}`) reacted to the message with
    WhatsApp id `wa_id`; `messageId` is its id in the log, None when the log does not have it."""
    return {
        "messageId": record.id if record else None,
        "waId": wa_id,
        "session": session,
        "chat": record.chat if record else chat,
        "from": entry["from"],
        "fromMe": entry["fromMe"],
        "emoji": entry["emoji"],
        "removed": not entry["emoji"],
        "timestamp": iso_ms(at),
    }


def chat_view(summary: ChatSummary) -> dict[str, Any]:
    """A row of `GET /api/chats`: the chat, its newest message in brief, its unread count. `muted` and
    `archived` are null: no engine tells the gateway a chat's settings."""
    last = summary.last
    body = None if last.revoked_at is not None or last.text is None else last.text
    if body is not None and len(body) > PREVIEW:
        body = body[:PREVIEW - 1] + "…"
    person = summary.chat.endswith(PERSON_SUFFIX)
    return {
        "session": summary.session,
        "chat": summary.chat,
        "phone": "+" + summary.chat.removesuffix(PERSON_SUFFIX) if person else None,
        "name": summary.name,
        "unread": summary.unread,
        "muted": None,
        "archived": None,
        "lastMessage": {
            "id": last.id,
            "waId": last.wa_id,
            "type": last.type,
            "body": body,
            "direction": last.direction,
            "fromMe": last.direction == "out",
            "source": last.source,
            "status": last.status,
            "timestamp": iso_ms(last.timestamp),
            "edited": last.edited_at is not None,
            "revoked": last.revoked_at is not None,
        },
    }


def ack_view(record: MessageRecord, previous: str, at: datetime) -> dict[str, Any]:
    """The `message_ack` event of `record`, which just moved from `previous` to its status at `at`."""
    return {
        "id": record.id,
        "waId": record.wa_id,
        "session": record.session,
        "chat": record.chat,
        "status": record.status,
        "previous": previous,
        "timestamp": iso_ms(at),
        "error": record.error,
        "campaignId": record.campaign_id,
    }


EXPORT_COLUMNS: tuple[str, ...] = (
    "id", "waId", "session", "direction", "chat", "from", "type", "body", "mediaId", "mimetype",
    "fileName", "status", "error", "campaignId", "timestamp", "queuedAt", "sentAt", "deliveredAt",
    "readAt", "playedAt", "failedAt", "createdAt",
)


def export_row(record: MessageRecord) -> list[Any]:
    """One CSV row, in the order of EXPORT_COLUMNS."""
    view = message_view(record)
    media = record.media
    extra = {
        "mediaId": media.id if media else None,
        "mimetype": media.mimetype if media else None,
        "fileName": media.file_name if media else None,
    }
    return ["" if (value := extra.get(col, view.get(col))) is None else value for col in EXPORT_COLUMNS]
