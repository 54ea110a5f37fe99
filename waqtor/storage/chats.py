"""The chat list: one row per chat of the message log, read from the log itself.

Nothing is kept beside the log, so the list is current the moment a message is logged, marked read,
edited, deleted for everyone or removed (deleted for me), whichever instance wrote it. A page costs
one grouped read of the index `(session, chat, id)` (migration 0011) for the chats' newest ids, and
then reads only the messages of the chats on that page (their unread count and latest push name).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnElement, func, select, tuple_
from sqlalchemy.ext.asyncio import AsyncEngine

from waqtor.messaging.phones import GROUP_DOMAIN
from waqtor.storage.messages import MessageRepository
from waqtor.storage.records import MessageRecord
from waqtor.storage.tables import messages

GROUP_SUFFIX = "@" + GROUP_DOMAIN


@dataclass(frozen=True, slots=True)
class ChatSummary:
    """A chat of `session`: its newest message, how many received messages are unread (no `read_at`,
    not deleted for everyone), and the latest push name the contact sent (None for a group, whose
    senders' names are not the group's, or when none was seen)."""

    session: str
    chat: str
    last: MessageRecord
    unread: int
    name: str | None


class ChatRepository:
    def __init__(self, engine: AsyncEngine, log: MessageRepository) -> None:
        self._engine = engine
        self._log = log

    async def page(self, session: str | None, before: int | None, limit: int) -> list[ChatSummary]:
        """Newest activity first (the id of a chat's newest message): at most `limit` chats, of `session`
        when it is given, whose newest message has an id below `before`."""
        c = messages.c
        newest = func.max(c.id).label("newest")
        query = select(c.session, c.chat, newest).group_by(c.session, c.chat)
        if session is not None:
            query = query.where(c.session == session)
        if before is not None:
            query = query.having(func.max(c.id) < before)
        async with self._engine.connect() as conn:
            heads = (await conn.execute(query.order_by(newest.desc()).limit(limit))).all()
            if not heads:
                return []
            in_page = tuple_(c.session, c.chat).in_([(row.session, row.chat) for row in heads])
            unread = await self._per_chat(conn, func.count(), in_page, c.direction == "in", c.read_at.is_(None),
                                          c.revoked_at.is_(None))
            named = await self._per_chat(conn, func.max(c.id), in_page, c.direction == "in",
                                         c.push_name.is_not(None), c.chat.not_like(f"%{GROUP_SUFFIX}"))
        found = await self._log.by_ids([row.newest for row in heads] + list(named.values()))
        summaries = []
        for row in heads:
            key = (row.session, row.chat)
            name_id = named.get(key)
            name = found[name_id].push_name if name_id in found else None
            if row.newest in found:  # else removed (deleted for me) between the two reads: left out this once
                summaries.append(ChatSummary(row.session, row.chat, found[row.newest], unread.get(key, 0), name))
        return summaries

    @staticmethod
    async def _per_chat(conn: Any, value: ColumnElement[Any],
                        *where: ColumnElement[bool]) -> dict[tuple[str, str], int]:
        c = messages.c
        rows = (await conn.execute(select(c.session, c.chat, value).where(*where).group_by(c.session, c.chat))).all()
        return {(row[0], row[1]): int(row[2]) for row in rows}

