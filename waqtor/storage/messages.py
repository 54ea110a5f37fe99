"""The message log (table `messages`): every message sent or received, with its status history.

Status changes are compare-and-set (`move` succeeds only from the status the caller saw), so two
acknowledgements racing for one message cannot move it backwards.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, Select, and_, delete, select, update
from sqlalchemy.ext.asyncio import AsyncEngine

from waqtor.clock import iso_ms
from waqtor.messaging.status import FAILED, QUEUED, SENT
from waqtor.storage.groupcommit import GroupCommit
from waqtor.storage.message_batches import Move, NewMessage, insert_batch, move_batch
from waqtor.storage.paging import keyset_pages
from waqtor.storage.records import MediaRecord, MessageRecord
from waqtor.storage.tables import media, messages

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
    source: str | None = None

    def conditions(self) -> list[ColumnElement[bool]]:
        c = messages.c
        found: list[ColumnElement[bool]] = []
        for column, value in (
            (c.session, self.session),
            (c.direction, self.direction),
            (c.chat, self.chat),
            (c.status, self.status),
            (c.campaign_id, self.campaign_id),
            (c.source, self.source),
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


def _insert_key(item: NewMessage) -> object:
    # Two deliveries of one incoming message go in different batches: the second finds the first.
    return item.identity if item.new_only else object()


def _move_key(item: Move) -> int:
    return item.id


class MessageRepository:
    """Inserts, `mark_sent` and `move` are group-committed (`waqtor.storage.groupcommit`): concurrent
    callers share a transaction, and each returns once its own write committed."""

    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine
        self._inserts: GroupCommit[NewMessage, int | None] = GroupCommit(
            "message-inserts", self._write_inserts, key=_insert_key)
        self._moves: GroupCommit[Move, bool] = GroupCommit("message-moves", self._write_moves, key=_move_key)

    async def close(self) -> None:
        """Wait for the writes in flight (the storage closes this before its engine)."""
        await self._inserts.close()
        await self._moves.close()

    async def _write_inserts(self, items: Sequence[NewMessage]) -> list[int | None]:
        async with self._engine.begin() as conn:
            return await insert_batch(conn, items)

    async def _write_moves(self, items: Sequence[Move]) -> list[bool]:
        async with self._engine.begin() as conn:
            return await move_batch(conn, items)

    async def insert(self, values: dict[str, Any], attached: MediaRecord | None = None, *,
                     count: str | None = None) -> MessageRecord:
        """Log a message; `values` are column values (without `id`); returns the stored record. `count`
        (`messages_received`) adds one to that counter of the session's state in the same transaction:
        after a crash the log and the counter agree."""
        message_id = await self._inserts.submit(NewMessage(values, attached, count))
        assert message_id is not None
        return self._built(message_id, values, attached)

    async def insert_new(self, values: dict[str, Any], attached: MediaRecord | None = None, *,
                         count: str | None = None) -> MessageRecord | None:
        """Like `insert`, but None (and nothing counted) when the session already logged this WhatsApp
        id in this direction."""
        message_id = await self._inserts.submit(NewMessage(values, attached, count, new_only=True))
        return None if message_id is None else self._built(message_id, values, attached)

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
        fields: dict[str, Any] = {name: values.get(name) for name in _MESSAGE_FIELDS if name != "id"}
        return MessageRecord(id=int(message_id), media=attached, **fields)

    async def get(self, message_id: int) -> MessageRecord | None:
        async with self._engine.connect() as conn:
            row = (await conn.execute(_select().where(messages.c.id == message_id))).first()
        return None if row is None else _record(row)

    async def by_ids(self, ids: Sequence[int]) -> dict[int, MessageRecord]:
        """The messages with these ids that the log has, by id."""
        if not ids:
            return {}
        async with self._engine.connect() as conn:
            rows = (await conn.execute(_select().where(messages.c.id.in_(list(ids))))).all()
        return {record.id: record for record in map(_record, rows)}

    async def find_by_wa_id(self, session: str, wa_id: str, direction: str | None = None) -> MessageRecord | None:
        query = _select().where(messages.c.session == session, messages.c.wa_id == wa_id)
        if direction is not None:
            query = query.where(messages.c.direction == direction)
        async with self._engine.connect() as conn:
            row = (await conn.execute(query.order_by(messages.c.id).limit(1))).first()
        return None if row is None else _record(row)

    async def edit(self, session: str, wa_id: str, text: str | None, at: datetime,
                   tries: int = 5) -> tuple[MessageRecord, str | None] | None:
        """Give the message `wa_id` of `session` (either direction) its edited `text`, keeping the text it
        had in `edits` (oldest first, each `{"body", "replacedAt"}`) and the edit's time in `edited_at`;
        the message as it now stands and its previous text. None when the log has no such message, or
        when it already holds this very edit (WhatsApp delivers an edit again after a reconnect).
        Compare-and-set on `edited_at`: two edits racing are both kept, in the order they are written."""
        for _ in range(tries):
            record = await self.find_by_wa_id(session, wa_id)
            if record is None or (record.edited_at == at and record.text == text):
                return None
            earlier = [*(record.edits or []), {"body": record.text, "replacedAt": iso_ms(at)}]
            same = (messages.c.edited_at.is_(None) if record.edited_at is None
                    else messages.c.edited_at == record.edited_at)
            async with self._engine.begin() as conn:
                result = await conn.execute(update(messages).where(messages.c.id == record.id, same)
                                            .values(text=text, edited_at=at, edits=earlier))
            if result.rowcount:
                return replace(record, text=text, edited_at=at, edits=earlier), record.text
        return None

    async def revoke(self, session: str, wa_id: str, at: datetime, by: str | None) -> MessageRecord | None:
        """Mark the message `wa_id` of `session` (either direction) deleted for everyone, `by` whom; the
        message as it now stands. Its text stays in the log. None when the log has no such message or it
        was already marked."""
        record = await self.find_by_wa_id(session, wa_id)
        if record is None or record.revoked_at is not None:
            return None
        async with self._engine.begin() as conn:
            result = await conn.execute(update(messages).where(messages.c.id == record.id,
                                                               messages.c.revoked_at.is_(None))
                                        .values(revoked_at=at, revoked_by=by))
        return replace(record, revoked_at=at, revoked_by=by) if result.rowcount else None

    async def remove(self, message_id: int) -> MessageRecord | None:
        """Take message `message_id` out of the log (deleted for me); the message it was, None when the log
        had no such message (or another caller removed it first)."""
        record = await self.get(message_id)
        if record is None:
            return None
        async with self._engine.begin() as conn:
            result = await conn.execute(delete(messages).where(messages.c.id == message_id))
        return record if result.rowcount else None

    async def unread(self, session: str, chat: str, limit: int) -> list[MessageRecord]:
        """The newest `limit` received messages of `chat` the account has not marked read (not deleted for
        everyone), oldest first."""
        c = messages.c
        query = (_select().where(c.session == session, c.chat == chat, c.direction == "in", c.read_at.is_(None),
                                 c.revoked_at.is_(None), c.wa_id.is_not(None))
                 .order_by(c.id.desc()).limit(limit))
        async with self._engine.connect() as conn:
            rows = (await conn.execute(query)).all()
        return [_record(row) for row in reversed(rows)]

    async def mark_read(self, ids: Sequence[int], at: datetime) -> int:
        """Set `read_at` of these received messages (those not marked yet); how many were marked."""
        if not ids:
            return 0
        async with self._engine.begin() as conn:
            result = await conn.execute(update(messages).where(messages.c.id.in_(list(ids)),
                                                               messages.c.direction == "in",
                                                               messages.c.read_at.is_(None)).values(read_at=at))
        return int(result.rowcount)

    async def set_reactions(self, message_id: int, reactions: list[dict[str, Any]]) -> None:
        """Replace the reactions of message `message_id` (the message service writes them one session at a
        time, so a read-modify-write needs no compare-and-set; JSON cannot be compared in PostgreSQL)."""
        async with self._engine.begin() as conn:
            await conn.execute(update(messages).where(messages.c.id == message_id)
                               .values(reactions=reactions or None))

    async def set_content(self, message_id: int, content: dict[str, Any]) -> None:
        """Replace the content of message `message_id` (a poll's tally: written one session at a time, as
        `set_reactions`)."""
        async with self._engine.begin() as conn:
            await conn.execute(update(messages).where(messages.c.id == message_id).values(content=content))

    async def mark_sent(self, message_id: int, wa_id: str, at: datetime, session: str | None = None) -> bool:
        """queued → sent with the engine's id, adding one to `session`'s `messages_sent` in the same
        transaction when it is given; False (nothing counted) when the message was no longer queued."""
        count = "messages_sent" if session is not None else None
        return await self._moves.submit(Move(message_id, QUEUED, SENT, at, wa_id=wa_id, session=session, count=count))

    async def move(self, message_id: int, expected: str, new: str, at: datetime, error: str | None = None) -> bool:
        """Set `new` (and its step time) if the message is still in `expected`; False otherwise."""
        return await self._moves.submit(Move(message_id, expected, new, at, error if new == FAILED else None))

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

    def stream(self, where: MessageFilter, batch: int = 500) -> AsyncIterator[Sequence[MessageRecord]]:
        """Oldest first, in lists of at most `batch`: the whole result is never held in memory, and
        each list is read on a connection given back before it is yielded (`waqtor.storage.paging`)."""

        async def read(after: int | None) -> list[MessageRecord]:
            query = _select().where(*where.conditions())
            if after is not None:
                query = query.where(messages.c.id > after)
            async with self._engine.connect() as conn:
                return [_record(row) for row in (await conn.execute(query.order_by(messages.c.id).limit(batch))).all()]

        return keyset_pages(read, lambda record: record.id, batch)
