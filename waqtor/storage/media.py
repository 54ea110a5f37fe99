"""Stored media files (table `media`); the files themselves live under `<data dir>/media`."""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import asdict
from datetime import datetime
from typing import Any

from sqlalchemy import delete, exists, insert, select, update
from sqlalchemy.ext.asyncio import AsyncEngine

from waqtor.storage.records import MediaRecord
from waqtor.storage.tables import campaigns, media, messages


def media_record(row: Any) -> MediaRecord:
    return MediaRecord(
        id=row.id,
        kind=row.kind,
        mimetype=row.mimetype,
        size=row.size,
        file_name=row.file_name,
        path=row.path,
        sha256=row.sha256,
        created_at=row.created_at,
        deleted_at=row.deleted_at,
    )


class MediaRepository:
    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine

    async def insert(self, record: MediaRecord) -> None:
        async with self._engine.begin() as conn:
            await conn.execute(insert(media).values(**asdict(record)))

    async def get(self, media_id: str) -> MediaRecord | None:
        async with self._engine.connect() as conn:
            row = (await conn.execute(select(media).where(media.c.id == media_id))).first()
        return None if row is None else media_record(row)

    async def referenced_in(self, media_id: str, sessions: Collection[str]) -> bool:
        """Whether a message or a campaign of one of `sessions` refers to the media `media_id`."""
        if not sessions:
            return False
        names = list(sessions)
        async with self._engine.connect() as conn:
            found = (await conn.execute(select(messages.c.id).where(
                messages.c.media_id == media_id, messages.c.session.in_(names)).limit(1))).first()
            if found is not None:
                return True
            # A campaign keeps its file in its message definition (JSON), read here as in `unused`.
            rows = await conn.execute(select(campaigns.c.message).where(campaigns.c.session.in_(names)))
            return any((row.message or {}).get("mediaId") == media_id for row in rows)

    async def known(self, ids: Collection[str]) -> set[str]:
        """Which of `ids` have a row (deleted files included)."""
        if not ids:
            return set()
        async with self._engine.connect() as conn:
            rows = await conn.execute(select(media.c.id).where(media.c.id.in_(list(ids))))
            return {row.id for row in rows}

    async def expired(self, before: datetime, limit: int = 500) -> list[MediaRecord]:
        """Files created before `before` that are still on disk, oldest first, at most `limit`."""
        query = (
            select(media)
            .where(media.c.created_at < before, media.c.deleted_at.is_(None))
            .order_by(media.c.created_at)
            .limit(limit)
        )
        async with self._engine.connect() as conn:
            return [media_record(row) for row in (await conn.execute(query)).all()]

    async def mark_deleted(self, ids: list[str], at: datetime) -> None:
        if not ids:
            return
        async with self._engine.begin() as conn:
            await conn.execute(update(media).where(media.c.id.in_(ids)).values(deleted_at=at))

    async def unused(self, ids: Collection[str]) -> list[MediaRecord]:
        """Of `ids`, the media that no message and no campaign refers to."""
        if not ids:
            return []
        query = select(media).where(media.c.id.in_(list(ids)),
                                    ~exists().where(messages.c.media_id == media.c.id))
        async with self._engine.connect() as conn:
            found = [media_record(row) for row in (await conn.execute(query)).all()]
            if not found:
                return []
            # A campaign keeps its file in its message definition (JSON), for every recipient to come.
            rows = (await conn.execute(select(campaigns.c.message))).all()
            kept = {(row.message or {}).get("mediaId") for row in rows}
        return [record for record in found if record.id not in kept]

    async def delete(self, ids: Collection[str]) -> None:
        """Forget these media rows (their files are the caller's to remove)."""
        if not ids:
            return
        async with self._engine.begin() as conn:
            await conn.execute(delete(media).where(media.c.id.in_(list(ids))))
