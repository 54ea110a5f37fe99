"""The database schema, in SQLAlchemy Core. Alembic migrations under `migrations/` create it."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Column,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
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

webhooks = Table(
    "webhooks",
    metadata,
    Column("id", String(32), primary_key=True),
    Column("url", String(2048), nullable=False),
    Column("events", JSON, nullable=False),  # ["all"] or event names
    Column("sessions", JSON, nullable=False),  # ["all"] or session names
    # Kept in clear because every delivery is signed with it; the API shows it only in the creation answer.
    Column("secret", String(256), nullable=False),
    Column("enabled", Boolean, nullable=False),
    Column("headers", JSON, nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    Column("consecutive_failures", Integer, nullable=False),
    Column("disabled_reason", Text, nullable=True),
    Column("disabled_at", UTCDateTime, nullable=True),
)

webhook_deliveries = Table(
    "webhook_deliveries",
    metadata,
    # The X-Waqtor-Delivery header: stable over retries and redeliveries, ordered by creation time.
    Column("id", String(40), primary_key=True),
    Column("webhook_id", String(32), ForeignKey("webhooks.id", ondelete="CASCADE"), nullable=False),
    Column("event_id", BigInteger, nullable=True),  # NULL for a `test` delivery, which is not a bus event
    Column("event", String(64), nullable=False),
    Column("session", String(64), nullable=True),
    Column("payload", Text, nullable=False),  # the exact body sent
    Column("status", String(16), nullable=False),
    Column("attempts", Integer, nullable=False),
    Column("next_attempt_at", UTCDateTime, nullable=True),
    Column("last_attempt_at", UTCDateTime, nullable=True),
    Column("last_status_code", Integer, nullable=True),
    Column("last_error", Text, nullable=True),
    Column("lease_owner", String(128), nullable=True),
    Column("lease_expires_at", UTCDateTime, nullable=True),
    Column("created_at", UTCDateTime, nullable=False),
    # One delivery per (webhook, event), however often an instance retries writing it.
    UniqueConstraint("webhook_id", "event_id", name="uq_webhook_deliveries_webhook_event"),
    Index("ix_webhook_deliveries_due", "status", "next_attempt_at"),
    Index("ix_webhook_deliveries_lease", "status", "lease_expires_at"),
    Index("ix_webhook_deliveries_log", "webhook_id", "id"),
    Index("ix_webhook_deliveries_log_status", "webhook_id", "status", "id"),
)
