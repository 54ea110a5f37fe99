"""Reactions to logged messages: the account's own, sent through the session's engine, and those the engine
reports (a contact's, or the account's from its phone).

Each is stored on the message it reacts to (one per reactor, the latest wins, an empty emoji removes it:
`waqtor.messaging.reactions.merged`) and published as `message_reaction`. A reaction to a message the log
does not have is published all the same, with `messageId` null. The reactions of a session are written
by the instance that runs it, one at a time (a lock per session), so a read-modify-write of a message's
reactions cannot lose one.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
from collections import defaultdict
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Any

from waqtor import events
from waqtor.bus import Bus
from waqtor.clock import Clock, iso_ms
from waqtor.engines.base import MessageReaction, OutgoingReaction
from waqtor.errors import Conflict, InvalidInput, NotFound
from waqtor.messaging.reactions import is_emoji, merged
from waqtor.messaging.views import message_view, reaction_view
from waqtor.sessions.manager import SessionManager
from waqtor.sessions.session import Session
from waqtor.storage.messages import MessageRepository
from waqtor.storage.records import MessageRecord

log = logging.getLogger(__name__)

MAX_EMOJI = 64  # characters kept of a reported reaction (one emoji is far shorter)


def check_emoji(emoji: str) -> str:
    """`emoji` when it is one emoji or empty (a removal); InvalidInput (`invalid_emoji`) otherwise."""
    if emoji and not is_emoji(emoji):
        raise InvalidInput("emoji: must be exactly one emoji (👍, ❤️, 👍🏽, 🇩🇪 …), or \"\" to remove your reaction",
                           code="invalid_emoji")
    return emoji


class Reactions:
    """Sends the account's reactions (`send`) and applies reported ones (`received`)."""

    def __init__(self, repo: MessageRepository, bus: Bus, sessions: SessionManager, clock: Clock,
                 require_ready: Callable[[str], Awaitable[None]]) -> None:
        self._repo = repo
        self._bus = bus
        self._sessions = sessions
        self._clock = clock
        self._require_ready = require_ready
        self._locks: defaultdict[str, asyncio.Lock] = defaultdict(asyncio.Lock)
        sessions.handle("messages.react", self._react_here)

    async def send(self, record: MessageRecord, emoji: str) -> dict[str, Any]:
        """React with `emoji` ("" removes the account's reaction) to the logged message `record`, from the
        instance that runs its session; the message as `message_view` shows it afterwards. Raises
        InvalidInput (`invalid_emoji`), SessionNotReady, Conflict (`message_not_sent`) for a message
        WhatsApp never had, NotSupportedByEngine, or the engine's refusal."""
        check_emoji(emoji)
        if self._sessions.runs_here(record.session):
            return await self._react(record.session, record.id, emoji)
        return await self._sessions.command(record.session, "messages.react", {"id": record.id, "emoji": emoji})

    async def _react_here(self, session: Session, args: dict[str, Any]) -> dict[str, Any]:
        return await self._react(session.name, int(args["id"]), check_emoji(str(args["emoji"])))

    async def _react(self, session: str, message_id: int, emoji: str) -> dict[str, Any]:
        await self._require_ready(session)
        record = await self._repo.get(message_id)
        if record is None or record.session != session:
            raise NotFound(f"no message with id {message_id}", code="message_not_found")
        if record.wa_id is None:
            raise Conflict(f"message {record.id} never reached WhatsApp (it is {record.status}): there is nothing "
                           "to react to", code="message_not_sent")
        engine = self._sessions.get(session).engine
        result = await engine.react(OutgoingReaction(chat=record.chat, message_id=record.wa_id,
                                                     from_me=record.direction == "out", sender=record.sender,
                                                     emoji=emoji))
        at = result.timestamp if result.timestamp.tzinfo is not None else result.timestamp.replace(tzinfo=UTC)
        reaction = MessageReaction(id=record.wa_id, chat=record.chat, sender="", emoji=emoji, timestamp=at,
                                   from_me=True)
        stored = await self._apply(session, reaction)
        return message_view(stored or record)

    async def received(self, session: str, event: MessageReaction) -> None:
        """Store a reported reaction on its message and publish `message_reaction`; one the log already
        holds (WhatsApp delivers again after a reconnect), or older than the reactor's latest, is not."""
        if not isinstance(event.id, str) or not event.id or not isinstance(event.chat, str) or not event.chat:
            log.warning("session %s: ignored a reaction without message id or chat", session)
            return
        emoji = event.emoji[:MAX_EMOJI] if isinstance(event.emoji, str) else ""
        at = event.timestamp if isinstance(event.timestamp, datetime) else self._clock()
        await self._apply(session, dataclasses.replace(event, id=event.id[:128], emoji=emoji, timestamp=at))

    async def _apply(self, session: str, event: MessageReaction) -> MessageRecord | None:
        """Store `event` on its message (None when the log does not have it) and publish it, unless it
        changes nothing."""
        at = event.timestamp if event.timestamp.tzinfo is not None else event.timestamp.replace(tzinfo=UTC)
        sender = None if event.from_me and not event.sender else (event.sender[:128] or None)
        entry = {"from": sender, "fromMe": event.from_me, "emoji": event.emoji, "timestamp": iso_ms(at)}
        async with self._locks[session]:
            record = await self._repo.find_by_wa_id(session, event.id)
            if record is not None:
                reactions = merged(record.reactions, entry)
                if reactions is None:
                    return record
                await self._repo.set_reactions(record.id, reactions)
                record = dataclasses.replace(record, reactions=reactions or None)
        view = reaction_view(session, event.id, record, event.chat[:128], entry, at)
        await self._bus.publish(events.MESSAGE_REACTION, view, session=session)
        return record
