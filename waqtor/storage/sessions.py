"""Sessions, their engine data and their monitored state (`sessions`, `session_state`)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import delete, insert, select, update
from sqlalchemy.ext.asyncio import AsyncEngine

from waqtor.sessions.state import SessionState, Status
from waqtor.storage.records import SessionRecord
from waqtor.storage.tables import session_leases, session_state, sessions

# The message counters change only with the message log, in the same transaction
# (`MessageRepository.insert(count=...)`, `mark_sent`), or through `reset_counters`: a state write never
# carries them, so a crash between a logged message and its count cannot leave them disagreeing.
COUNTERS = ("messages_sent", "messages_received")


def _state_values(state: SessionState, now: datetime, *, counters: bool = True) -> dict[str, Any]:
    values = {
        "engine": state.engine,
        "status": str(state.status),
        "ready": state.ready,
        "authenticated": state.authenticated,
        "qr_code": state.qr_code,
        "qr_expires_at": state.qr_expires_at,
        "phone": state.phone,
        "pushname": state.pushname,
        "platform": state.platform,
        "platform_raw": state.platform_raw,
        "uptime": state.uptime(now),
        "ready_since": state.ready_since,
        "messages_sent": state.messages_sent,
        "messages_received": state.messages_received,
        "last_error": state.last_error,
        "last_update": state.last_update,
    }
    if not counters:
        for name in COUNTERS:
            del values[name]
    return values


def _record(row: Any) -> SessionRecord:
    return SessionRecord(name=row.name, engine=row.engine, created_at=row.created_at, config=row.config,
                         desired=row.desired)


class SessionRepository:
    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine

    async def create(self, record: SessionRecord, state: SessionState) -> None:
        """Insert the session and its first state row in one transaction."""
        async with self._engine.begin() as conn:
            await conn.execute(
                insert(sessions).values(
                    name=record.name, engine=record.engine, config=record.config, created_at=record.created_at,
                    desired=record.desired,
                )
            )
            await conn.execute(
                insert(session_state).values(session=record.name, **_state_values(state, state.last_update))
            )

    async def list(self) -> list[SessionRecord]:
        async with self._engine.connect() as conn:
            rows = (await conn.execute(select(sessions).order_by(sessions.c.created_at, sessions.c.name))).all()
        return [_record(row) for row in rows]

    async def get(self, name: str) -> SessionRecord | None:
        async with self._engine.connect() as conn:
            row = (await conn.execute(select(sessions).where(sessions.c.name == name))).first()
        if row is None:
            return None
        return _record(row)

    async def set_desired(self, name: str, desired: str) -> None:
        async with self._engine.begin() as conn:
            await conn.execute(update(sessions).where(sessions.c.name == name).values(desired=desired))

    async def switch_engine(self, name: str, engine: str) -> None:
        """Give the session another engine: its settings and link data are dropped, its state row follows."""
        async with self._engine.begin() as conn:
            await conn.execute(
                update(sessions).where(sessions.c.name == name).values(engine=engine, config={}, engine_data=None)
            )
            await conn.execute(
                update(session_state).where(session_state.c.session == name).values(
                    engine=engine, phone=None, pushname=None, platform=None, platform_raw=None, authenticated=False,
                    last_error=None,
                )
            )

    async def delete(self, name: str) -> None:
        async with self._engine.begin() as conn:
            await conn.execute(delete(session_state).where(session_state.c.session == name))
            await conn.execute(delete(session_leases).where(session_leases.c.session == name))
            await conn.execute(delete(sessions).where(sessions.c.name == name))

    async def load_engine_data(self, name: str) -> dict[str, Any] | None:
        async with self._engine.connect() as conn:
            return (await conn.execute(select(sessions.c.engine_data).where(sessions.c.name == name))).scalar()

    async def save_engine_data(self, name: str, data: dict[str, Any] | None) -> None:
        async with self._engine.begin() as conn:
            await conn.execute(update(sessions).where(sessions.c.name == name).values(engine_data=data))

    async def load_state(self, name: str) -> SessionState | None:
        async with self._engine.connect() as conn:
            row = (await conn.execute(select(session_state).where(session_state.c.session == name))).first()
        return None if row is None else _state(row)

    async def load_states(self) -> dict[str, SessionState]:
        """Every session's stored state, by session name."""
        async with self._engine.connect() as conn:
            rows = (await conn.execute(select(session_state))).all()
        return {row.session: _state(row) for row in rows}

    async def reset_counters(self, name: str, now: datetime) -> SessionState | None:
        """Zero the message counters in the stored state; the state after, or None when there is none.
        (For a session no instance runs: a running one's monitor does this itself.)"""
        async with self._engine.begin() as conn:
            await conn.execute(update(session_state).where(session_state.c.session == name)
                               .values(messages_sent=0, messages_received=0, last_update=now))
            row = (await conn.execute(select(session_state).where(session_state.c.session == name))).first()
        return None if row is None else _state(row)

    async def save_state(self, state: SessionState, now: datetime) -> None:
        """Write the state row, all but the message counters (see COUNTERS)."""
        async with self._engine.begin() as conn:
            await conn.execute(
                update(session_state)
                .where(session_state.c.session == state.session)
                .values(**_state_values(state, now, counters=False))
            )


def _state(row: Any) -> SessionState:
    return SessionState(
        session=row.session,
        engine=row.engine,
        last_update=row.last_update,
        status=Status(row.status),
        authenticated=row.authenticated,
        qr_code=row.qr_code,
        qr_expires_at=row.qr_expires_at,
        phone=row.phone,
        pushname=row.pushname,
        platform=row.platform,
        platform_raw=row.platform_raw,
        ready_since=row.ready_since,
        messages_sent=row.messages_sent,
        messages_received=row.messages_received,
        last_error=row.last_error,
    )
