"""API keys and WebSocket tickets (`api_keys`, `ws_tickets`): only hashes are stored.

A ticket is taken by one `DELETE … RETURNING`, so of two instances redeeming the same ticket at once
exactly one gets it, and a ticket is gone once used whether or not it was still valid.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from sqlalchemy import delete, insert, select, update
from sqlalchemy.ext.asyncio import AsyncEngine

from waqtor.storage.records import KeyRecord, TicketRecord
from waqtor.storage.tables import api_keys, ws_tickets


def _key(row: Any) -> KeyRecord:
    return KeyRecord(
        id=row.id, name=row.name, prefix=row.prefix, hash=row.hash, scopes=tuple(row.scopes),
        sessions=tuple(row.sessions) if row.sessions is not None else None, created_at=row.created_at,
        expires_at=row.expires_at, last_used_at=row.last_used_at,
    )


class KeyRepository:
    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine

    async def create(self, key: KeyRecord) -> None:
        async with self._engine.begin() as conn:
            await conn.execute(insert(api_keys).values(
                id=key.id, name=key.name, prefix=key.prefix, hash=key.hash, scopes=list(key.scopes),
                sessions=list(key.sessions) if key.sessions is not None else None, created_at=key.created_at,
                expires_at=key.expires_at, last_used_at=key.last_used_at,
            ))

    async def all(self) -> list[KeyRecord]:
        """Every key, oldest first."""
        async with self._engine.connect() as conn:
            rows = await conn.execute(select(api_keys).order_by(api_keys.c.created_at, api_keys.c.id))
            return [_key(row) for row in rows]

    async def by_hash(self, key_hash: str) -> KeyRecord | None:
        async with self._engine.connect() as conn:
            row = (await conn.execute(select(api_keys).where(api_keys.c.hash == key_hash))).first()
            return _key(row) if row is not None else None

    async def delete(self, key_id: str) -> bool:
        """Delete the key (and its tickets); False when there was none."""
        async with self._engine.begin() as conn:
            await conn.execute(delete(ws_tickets).where(ws_tickets.c.key_id == key_id))
            result = await conn.execute(delete(api_keys).where(api_keys.c.id == key_id))
            return bool(result.rowcount)

    async def touch(self, used: Mapping[str, datetime]) -> None:
        """Record when each key was last used (a later time never goes back to an earlier one)."""
        if not used:
            return
        async with self._engine.begin() as conn:
            for key_id, at in used.items():
                await conn.execute(
                    update(api_keys)
                    .where(api_keys.c.id == key_id,
                           (api_keys.c.last_used_at.is_(None)) | (api_keys.c.last_used_at < at))
                    .values(last_used_at=at)
                )

    # ---- tickets ------------------------------------------------------------------------------------

    async def add_ticket(self, ticket_hash: str, ticket: TicketRecord, now: datetime) -> None:
        """Store a ticket, and drop the ones that expired before `now`."""
        async with self._engine.begin() as conn:
            await conn.execute(delete(ws_tickets).where(ws_tickets.c.expires_at < now))
            await conn.execute(insert(ws_tickets).values(
                hash=ticket_hash, key_id=ticket.key_id, scopes=list(ticket.scopes),
                sessions=list(ticket.sessions) if ticket.sessions is not None else None,
                expires_at=ticket.expires_at,
            ))

    async def take_ticket(self, ticket_hash: str) -> TicketRecord | None:
        """Remove the ticket and return it (expired or not: the caller checks); None when it does not
        exist or another caller took it first."""
        stmt = delete(ws_tickets).where(ws_tickets.c.hash == ticket_hash).returning(
            ws_tickets.c.key_id, ws_tickets.c.scopes, ws_tickets.c.sessions, ws_tickets.c.expires_at
        )
        async with self._engine.begin() as conn:
            row = (await conn.execute(stmt)).first()
        if row is None:
            return None
        return TicketRecord(key_id=row.key_id, scopes=tuple(row.scopes),
                            sessions=tuple(row.sessions) if row.sessions is not None else None,
                            expires_at=row.expires_at)
