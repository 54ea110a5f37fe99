"""The database schema, in SQLAlchemy Core. Alembic migrations under `migrations/` create it."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    Column,
    DateTime,
    ForeignKey,
    Integer,
    MetaData,
    String,
    Table,
    Text,
)
from sqlalchemy.types import TypeDecorator

metadata = MetaData()


class UTCDateTime(TypeDecorator[datetime]):
    """Aware UTC datetimes on every backend (SQLite keeps no zone, so it is normalised here)."""

    impl = DateTime
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        return value.astimezone(UTC).replace(tzinfo=None)

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC)


sessions = Table(
    "sessions",
    metadata,
    Column("name", String(64), primary_key=True),
    Column("engine", String(32), nullable=False),
    Column("config", JSON, nullable=False),
    # What the engine keeps to restore its link without a new QR (the sandbox's simulated device).
    Column("engine_data", JSON, nullable=True),
    Column("created_at", UTCDateTime, nullable=False),
    # `running` or `stopped`: what the gateway restores at start (migration 0004).
    Column("desired", String(16), nullable=False, server_default="running"),
)

session_state = Table(
    "session_state",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("session", String(64), ForeignKey("sessions.name", ondelete="CASCADE"), nullable=False, unique=True),
    Column("engine", String(32), nullable=False),
    Column("status", String(32), nullable=False),
    Column("ready", Boolean, nullable=False),
    Column("authenticated", Boolean, nullable=False),
    Column("qr_code", Text, nullable=True),
    Column("qr_expires_at", UTCDateTime, nullable=True),
    Column("phone", String(32), nullable=True),
    Column("pushname", String(256), nullable=True),
    Column("platform", String(64), nullable=True),
    Column("platform_raw", String(64), nullable=True),  # migration 0004
    Column("uptime", Integer, nullable=False),
    Column("ready_since", UTCDateTime, nullable=True),
    Column("messages_sent", Integer, nullable=False),
    Column("messages_received", Integer, nullable=False),
    Column("last_error", JSON, nullable=True),
    Column("last_update", UTCDateTime, nullable=False),
)
