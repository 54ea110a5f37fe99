"""The message log (table `messages`): every message sent or received, with its status history.

Status changes are compare-and-set (`move` succeeds only from the status the caller saw), so two
acknowledgements racing for one message cannot move it backwards.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, Select, and_, delete, insert, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from waqtor.messaging.status import FAILED, QUEUED, SENT, STEP_COLUMN
from waqtor.storage.records import MediaRecord, MessageRecord
from waqtor.storage.tables import media, messages, session_state

_MESSAGE_FIELDS = [c.name for c in messages.columns if c.name != "media_id"]
_MEDIA_COLUMNS = [c.label(f"m__{c.name}") for c in media.columns]


@dataclass(frozen=True, slots=True)
class MessageFilter:
    """Which messages to read; every given field must match. `q` is a case-insensitive substring of
    the text or caption; `since`/`until` bound the message's own timestamp (inclusive, exclusive)."""

    session: str | None = None
    direction: str | None = None
    chat: str | None = None
    status: str | None = None
    since: datetime | None = None
    until: datetime | None = None
    q: str | None = None
    campaign_id: str | None = None

    def conditions(self) -> list[ColumnElement[bool]]:
        c = messages.c
        found: list[ColumnElement[bool]] = []
        for column, value in (
            (c.session, self.session),
            (c.direction, self.direction),
            (c.chat, self.chat),
            (c.status, self.status),
            (c.campaign_id, self.campaign_id),
        ):
            if value is not None:
                found.append(column == value)
        if self.since is not None:
            found.append(c.timestamp >= self.since)
        if self.until is not None:
            found.append(c.timestamp < self.until)
        if self.q:
            escaped = self.q.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
            found.append(c.text.ilike(f"%{escaped}%", escape="\\"))
        return found


def _select() -> Select[Any]:
    return select(messages, *_MEDIA_COLUMNS).select_from(
        messages.outerjoin(media, messages.c.media_id == media.c.id)
    )


def _record(row: Any) -> MessageRecord:
    values = row._mapping
    attached = None
    if values["media_id"] is not None:
        attached = MediaRecord(**{c.name: values[f"m__{c.name}"] for c in media.columns})
    return MessageRecord(media=attached, **{name: values[name] for name in _MESSAGE_FIELDS})


async def _add_one(conn: AsyncConnection, session: str, counter: str) -> None:
    column = session_state.c[counter]
    await conn.execute(update(session_state).where(session_state.c.session == session).values({column: column + 1}))


class MessageRepository:
    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine

    async def insert(self, values: dict[str, Any], attached: MediaRecord | None = None, *,
                     count: str | None = None) -> MessageRecord:
        """Log a message; `values` are column values (without `id`); returns the stored record. `count`
        (`messages_received`) adds one to that counter of the session's state in the same transaction:
        after a crash the log and the counter agree."""
        async with self._engine.begin() as conn:
            result = await conn.execute(
                insert(messages).values(**values, media_id=attached.id if attached else None)
            )
            if count is not None:
                await _add_one(conn, values["session"], count)
        return self._built(result.inserted_primary_key[0], values, attached)

    async def insert_new(self, values: dict[str, Any], attached: MediaRecord | None = None, *,
                         count: str | None = None) -> MessageRecord | None:
        """Like `insert`, but None (and nothing counted) when the session already logged this WhatsApp
        id in this direction."""
        try:
            return await self.insert(values, attached, count=count)
        except IntegrityError:
            return None

    async def delete_session(self, session: str, batch: int = 5000) -> set[str]:
        """Remove every message of `session`, `batch` rows per transaction (so a long log never holds the
        database for long); the ids of the media those messages had."""
        media_ids: set[str] = set()
        while True:
            async with self._engine.begin() as conn:
                rows = (await conn.execute(select(messages.c.id, messages.c.media_id)
                                           .where(messages.c.session == session).limit(batch))).all()
                if not rows:
                    return media_ids
                await conn.execute(delete(messages).where(messages.c.id.in_([row.id for row in rows])))
            media_ids.update(row.media_id for row in rows if row.media_id)

    @staticmethod
    def _built(message_id: int, values: dict[str, Any], attached: MediaRecord | None) -> MessageRecord:
        fields = {name: values.get(name) for name in _MESSAGE_FIELDS if name != "id"}
        return MessageRecord(id=int(message_id), media=attached, **fields)

    async def get(self, message_id: int) -> MessageRecord | None:
        async with self._engine.connect() as conn:
            row = (await conn.execute(_select().where(messages.c.id == message_id))).first()
        return None if row is None else _record(row)

    async def find_by_wa_id(self, session: str, wa_id: str, direction: str | None = None) -> MessageRecord | None:
        query = _select().where(messages.c.session == session, messages.c.wa_id == wa_id)
        if direction is not None:
            query = query.where(messages.c.direction == direction)
        async with self._engine.connect() as conn:
            row = (await conn.execute(query.order_by(messages.c.id).limit(1))).first()
        return None if row is None else _record(row)

    async def mark_sent(self, message_id: int, wa_id: str, at: datetime, session: str | None = None) -> bool:
        """queued → sent with the engine's id, adding one to `session`'s `messages_sent` in the same
        transaction when it is given; False (nothing counted) when the message was no longer queued."""
        async with self._engine.begin() as conn:
            result = await conn.execute(
                update(messages)
                .where(messages.c.id == message_id, messages.c.status == QUEUED)
                .values(status=SENT, wa_id=wa_id, sent_at=at)
            )
            if result.rowcount == 1 and session is not None:
                await _add_one(conn, session, "messages_sent")
        return result.rowcount == 1

    async def move(self, message_id: int, expected: str, new: str, at: datetime, error: str | None = None) -> bool:
        """Set `new` (and its step time) if the message is still in `expected`; False otherwise."""
        values: dict[str, Any] = {"status": new, STEP_COLUMN[new]: at}
        if new == FAILED:
            values["error"] = error
        async with self._engine.begin() as conn:
            result = await conn.execute(
                update(messages).where(messages.c.id == message_id, messages.c.status == expected).values(**values)
            )
        return result.rowcount == 1

    async def fail_queued(self, at: datetime, error: str, ids: list[int] | None = None, *,
                          session: str | None = None) -> int:
        """Mark still-queued outgoing messages failed: those in `ids`, or (None) every one that no
        campaign owns, of `session` only when it is given. Returns how many."""
        where = [messages.c.status == QUEUED, messages.c.direction == "out"]
        if session is not None:
            where.append(messages.c.session == session)
        if ids is None:
            where.append(messages.c.campaign_id.is_(None))
        elif not ids:
            return 0
        else:
            where.append(messages.c.id.in_(ids))
        async with self._engine.begin() as conn:
            result = await conn.execute(
                update(messages).where(and_(*where)).values(status=FAILED, failed_at=at, error=error)
            )
        return int(result.rowcount)

    async def page(self, where: MessageFilter, before: int | None, limit: int) -> list[MessageRecord]:
        """Newest first: at most `limit` messages matching `where` with an id below `before`."""
        query = _select().where(*where.conditions())
        if before is not None:
            query = query.where(messages.c.id < before)
        query = query.order_by(messages.c.id.desc()).limit(limit)
        async with self._engine.connect() as conn:
            return [_record(row) for row in (await conn.execute(query)).all()]

    async def stream(self, where: MessageFilter, batch: int = 500) -> AsyncIterator[list[MessageRecord]]:
        """Oldest first, in lists of at most `batch`, from a server-side cursor: the whole result is
        never held in memory."""
        query = _select().where(*where.conditions()).order_by(messages.c.id)
        async with self._engine.connect() as conn:
            result = await conn.stream(query.execution_options(yield_per=batch))
            async for rows in result.partitions(batch):
                yield [_record(row) for row in rows]
