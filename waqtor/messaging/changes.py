"""Changing a message the account sent: edit its text, delete it for everyone, or take it out of the log.

`edit(record, text)` — only the account's own sent text message (direction `out`, handed to WhatsApp,
not deleted for everyone), within WhatsApp's edit window of EDIT_WINDOW after it was sent; the session's
engine must be able to edit (the Cloud API cannot: 422 `not_supported_by_engine`, refused before anything
else) and the session ready. The engine edits it on WhatsApp from the instance that runs the session;
the log then keeps the earlier text in the message's `edits`, and `message_edited` is published, as for
an edit made on the phone (`MessageService.edited`).

`delete_for_everyone(record)` — the same rules with REVOKE_WINDOW (any sent message, not only text): the
engine deletes it on WhatsApp, the log marks it `revokedAt` (its text kept) and `message_revoked` is
published (`MessageService.revoked`).

`delete_for_me(record)` — the message leaves the gateway's log (and its file, when no other message or
campaign uses it); WhatsApp is not told, so the phone and the contact keep it. A message still queued
cannot be deleted so (it would silently never be sent). Nothing is published.

Each refusal is a Conflict with a stable code: `message_not_editable`, `edit_window_passed`,
`message_not_deletable`, `delete_window_passed`.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import timedelta
from typing import Any

from waqtor.clock import Clock
from waqtor.engines import EDIT, REVOKE, require_feature
from waqtor.engines.base import MessageEdited, MessageRevoked
from waqtor.errors import Conflict, NotFound
from waqtor.messaging import status as st
from waqtor.messaging.media import MediaStore
from waqtor.messaging.views import message_view
from waqtor.sessions.manager import SessionManager
from waqtor.sessions.session import Session
from waqtor.storage.messages import MessageRepository
from waqtor.storage.records import MessageRecord

EDIT_WINDOW = timedelta(minutes=15)  # WhatsApp lets its sender edit a message this long after sending it
REVOKE_WINDOW = timedelta(days=2)  # and delete it for everyone this long (WhatsApp allows about 2 days)

_ON_WHATSAPP = ("sent", "delivered", "read", "played")  # statuses of a message WhatsApp has


class MessageChanges:
    def __init__(self, repo: MessageRepository, sessions: SessionManager, clock: Clock, media: MediaStore,
                 edited: Callable[[str, MessageEdited], Awaitable[None]],
                 revoked: Callable[[str, MessageRevoked], Awaitable[None]],
                 require_ready: Callable[[str], Awaitable[None]]) -> None:
        self._require_ready = require_ready
        self._repo = repo
        self._sessions = sessions
        self._clock = clock
        self._media = media
        self._edited = edited
        self._revoked = revoked
        sessions.handle("messages.edit", self._edit_here)
        sessions.handle("messages.revoke", self._revoke_here)

    async def edit(self, record: MessageRecord, text: str) -> dict[str, Any]:
        """Edit `record` to `text` on WhatsApp and in the log; the message as `message_view` shows it.
        Raises NotSupportedByEngine, Conflict (`message_not_editable`, `edit_window_passed`),
        SessionNotReady, or the engine's refusal."""
        require_feature((await self._sessions.state_of(record.session)).engine, EDIT)
        why = self._not_own_sent(record) or (None if record.type == "text" else f"it is a {record.type} message")
        if why is not None:
            raise Conflict(f"message {record.id} cannot be edited: {why}; only a text message the account sent "
                           f"can be", code="message_not_editable")
        self._within(record, EDIT_WINDOW, "edited", "edit_window_passed")
        return await self._on_owner(record, "messages.edit", {"id": record.id, "text": text})

    async def delete_for_everyone(self, record: MessageRecord) -> dict[str, Any]:
        """Delete `record` for everyone on WhatsApp and mark it so in the log; the message as it now
        stands. Raises NotSupportedByEngine, Conflict (`message_not_deletable`, `delete_window_passed`),
        SessionNotReady, or the engine's refusal."""
        require_feature((await self._sessions.state_of(record.session)).engine, REVOKE)
        why = self._not_own_sent(record)
        if why is not None:
            raise Conflict(f"message {record.id} cannot be deleted for everyone: {why}; only a message the "
                           f"account sent can be", code="message_not_deletable")
        self._within(record, REVOKE_WINDOW, "deleted for everyone", "delete_window_passed")
        return await self._on_owner(record, "messages.revoke", {"id": record.id})

    async def delete_for_me(self, record: MessageRecord) -> None:
        """Take `record` out of the log (and its file, when nothing else uses it). Conflict
        (`message_not_deletable`) while it is queued; NotFound when it is gone already."""
        if record.status == st.QUEUED:
            raise Conflict(f"message {record.id} cannot be deleted: it is still queued; delete it once it is sent "
                           f"or failed", code="message_not_deletable")
        removed = await self._repo.remove(record.id)
        if removed is None:
            raise NotFound(f"no message with id {record.id}", code="message_not_found")
        if removed.media is not None:
            await self._media.discard(await self._media.unused({removed.media.id}))

    @staticmethod
    def _not_own_sent(record: MessageRecord) -> str | None:
        """Why `record` is not a message of the account's own that WhatsApp has, or None when it is."""
        if record.direction != "out":
            return "it was received, not sent by the account"
        if record.status not in _ON_WHATSAPP or record.wa_id is None:
            return f"it is {record.status}, not sent"
        if record.revoked_at is not None:
            return "it was deleted for everyone"
        return None

    def _within(self, record: MessageRecord, window: timedelta, what: str, code: str) -> None:
        sent = record.sent_at or record.timestamp
        if self._clock() - sent > window:
            minutes = int(window.total_seconds() // 60)
            limit = f"{minutes} minutes" if minutes < 120 else f"{minutes // 1440} days"
            raise Conflict(f"message {record.id} can no longer be {what}: WhatsApp allows it for {limit} after "
                           f"sending", code=code)

    async def _on_owner(self, record: MessageRecord, op: str, args: dict[str, Any]) -> dict[str, Any]:
        await self._require_ready(record.session)
        return await self._sessions.command(record.session, op, args)

    async def _current(self, session: Session, args: dict[str, Any]) -> tuple[MessageRecord, str]:
        record = await self._repo.get(int(args["id"]))
        if record is None or record.session != session.name or record.wa_id is None:
            raise NotFound(f"no message with id {args['id']}", code="message_not_found")
        return record, record.wa_id

    async def _edit_here(self, session: Session, args: dict[str, Any]) -> dict[str, Any]:
        record, wa_id = await self._current(session, args)
        text = str(args["text"])
        at = await session.engine.edit_message(record.chat, wa_id, text)
        await self._edited(session.name, MessageEdited(id=wa_id, chat=record.chat, text=text, timestamp=at,
                                                       from_me=True))
        return message_view((await self._repo.get(record.id)) or record)

    async def _revoke_here(self, session: Session, args: dict[str, Any]) -> dict[str, Any]:
        record, wa_id = await self._current(session, args)
        at = await session.engine.revoke_message(record.chat, wa_id)
        phone = session.monitor.state.phone
        by = f"{phone}@s.whatsapp.net" if phone else None  # the account deleted it, as WhatsApp would say
        await self._revoked(session.name, MessageRevoked(id=wa_id, chat=record.chat, timestamp=at, by=by,
                                                         from_me=True))
        return message_view((await self._repo.get(record.id)) or record)
