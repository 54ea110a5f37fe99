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

# SQLite only auto-increments an INTEGER PRIMARY KEY; PostgreSQL gets a BIGINT identity.
MessageId = BigInteger().with_variant(Integer(), "sqlite")

media = Table(
    "media",
    metadata,
    Column("id", String(32), primary_key=True),
    Column("kind", String(16), nullable=False),
    Column("mimetype", String(127), nullable=False),
    Column("size", BigInteger, nullable=False),
    Column("file_name", String(255), nullable=False),
    # Relative to <data dir>/media: YYYY/MM/DD/<id>.<ext>
    Column("path", String(255), nullable=False),
    Column("sha256", String(64), nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    # Set when retention removed the file; the row stays so the log can say what was there.
    Column("deleted_at", UTCDateTime, nullable=True),
    Index("ix_media_created_at", "created_at"),
)

messages = Table(
    "messages",
    metadata,
    Column("id", MessageId, primary_key=True, autoincrement=True),
    Column("session", String(64), nullable=False),
    Column("direction", String(3), nullable=False),
    Column("chat", String(128), nullable=False),
    Column("sender", String(128), nullable=True),
    Column("type", String(16), nullable=False),
    Column("text", Text, nullable=True),
    Column("media_id", String(32), ForeignKey("media.id"), nullable=True),
    # Location or contact card details: {"latitude", "longitude", "name", "address"} or {"displayName", "vcard"}.
    Column("content", JSON, nullable=True),
    Column("wa_id", String(128), nullable=True),
    Column("reply_to", String(128), nullable=True),
    Column("push_name", String(256), nullable=True),
    Column("status", String(16), nullable=False),
    Column("error", Text, nullable=True),
    Column("campaign_id", String(64), nullable=True),
    # The campaign recipient this message was sent to (migration 0005): how a crash is settled.
    Column("campaign_recipient_id", MessageId, nullable=True),
    Column("timestamp", UTCDateTime, nullable=False),
    Column("queued_at", UTCDateTime, nullable=True),
    Column("sent_at", UTCDateTime, nullable=True),
    Column("delivered_at", UTCDateTime, nullable=True),
    Column("read_at", UTCDateTime, nullable=True),
    Column("played_at", UTCDateTime, nullable=True),
    Column("failed_at", UTCDateTime, nullable=True),
    Column("created_at", UTCDateTime, nullable=False),
    # Migration 0008 (values since 0009). Where the message came from: `api` (the send routes),
    # `campaign`, `phone` (the account's phone or another linked device) or `contact` (received).
    Column("source", String(8), nullable=True),
    # The last edit's time, and the earlier texts, oldest first: [{"body", "replacedAt"}].
    Column("edited_at", UTCDateTime, nullable=True),
    Column("edits", JSON, nullable=True),
    # Deleted for everyone, when and by whom (a JID).
    Column("revoked_at", UTCDateTime, nullable=True),
    Column("revoked_by", String(128), nullable=True),
    # Migration 0010: the log's id of the message `reply_to` names (when the log has it), and the reactions
    # to this message, one per reactor: [{"from", "fromMe", "emoji", "timestamp"}], oldest first.
    Column("reply_to_id", MessageId, nullable=True),
    Column("reactions", JSON, nullable=True),
    Index("ix_messages_session_id", "session", "id"),
    Index("ix_messages_chat_id", "chat", "id"),
    Index("ix_messages_status_id", "status", "id"),
    Index("ix_messages_direction_id", "direction", "id"),
    Index("ix_messages_timestamp", "timestamp"),
    Index("ix_messages_campaign_id", "campaign_id"),
    Index("ix_messages_campaign_recipient_id", "campaign_recipient_id"),
    Index("ix_messages_source_id", "source", "id"),  # migration 0009
    Index("ix_messages_session_chat_id", "session", "chat", "id"),  # migration 0011: the chat list
    # One row per WhatsApp message and direction in a session: a redelivered incoming message is
    # recognised, and an acknowledgement finds its message.
    Index("uq_messages_session_direction_wa_id", "session", "direction", "wa_id", unique=True),
)

campaigns = Table(
    "campaigns",
    metadata,
    Column("id", String(32), primary_key=True),
    Column("name", String(200), nullable=False),
    Column("session", String(64), nullable=False),
    Column("status", String(16), nullable=False),
    # Why it is paused or failed: a stable code, a sentence, and when.
    Column("reason_code", String(64), nullable=True),
    Column("reason_message", Text, nullable=True),
    Column("reason_at", UTCDateTime, nullable=True),
    Column("message", JSON, nullable=False),  # {"type", "text", "mediaId"}
    Column("start_at", UTCDateTime, nullable=True),
    Column("window", JSON, nullable=True),  # {"start", "end", "timezone", "days"}
    Column("throttle", JSON, nullable=False),
    Column("options", JSON, nullable=False),
    Column("variables", JSON, nullable=False),  # the variable names the recipients carry
    Column("report", JSON, nullable=False),  # what the import found, as the creation answer showed it
    Column("total", Integer, nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    Column("updated_at", UTCDateTime, nullable=False),
    Column("started_at", UTCDateTime, nullable=True),
    Column("finished_at", UTCDateTime, nullable=True),
    Index("ix_campaigns_session_status", "session", "status"),
    Index("ix_campaigns_created", "created_at", "id"),
)

campaign_recipients = Table(
    "campaign_recipients",
    metadata,
    Column("id", MessageId, primary_key=True, autoincrement=True),
    Column("campaign_id", String(32), ForeignKey("campaigns.id", ondelete="CASCADE"), nullable=False),
    Column("source_row", Integer, nullable=False),  # the row of the CSV file (or the list) it came from
    Column("phone", String(32), nullable=False),
    Column("jid", String(128), nullable=False),
    Column("name", String(256), nullable=True),
    Column("variables", JSON, nullable=False),
    Column("status", String(16), nullable=False),
    Column("reason", Text, nullable=True),
    Column("message_id", MessageId, nullable=True),
    Column("attempted_at", UTCDateTime, nullable=True),
    Column("updated_at", UTCDateTime, nullable=True),
    # A number is in a campaign once: nothing can send it twice under two rows.
    UniqueConstraint("campaign_id", "jid", name="uq_campaign_recipients_campaign_jid"),
    Index("ix_campaign_recipients_status", "campaign_id", "status", "id"),
    Index("ix_campaign_recipients_attempted", "campaign_id", "attempted_at"),
)

# ---- several instances (migration 0006) ----

instances = Table(
    "instances",
    metadata,
    # WAQTOR_INSTANCE_ID, or host:pid:random.
    Column("id", String(128), primary_key=True),
    # Random per process: tells a second live process using the same id from a restart of the first.
    Column("process", String(32), nullable=False),
    Column("started_at", UTCDateTime, nullable=False),
    # Refreshed every third of the lease TTL; an instance not seen for a whole TTL is gone.
    Column("seen_at", UTCDateTime, nullable=False),
    Index("ix_instances_seen_at", "seen_at"),
)

session_leases = Table(
    "session_leases",
    metadata,
    Column("session", String(64), ForeignKey("sessions.name", ondelete="CASCADE"), primary_key=True),
    # The instance that runs the session while `expires_at` is in the future; NULL when released.
    Column("owner", String(128), nullable=True),
    Column("expires_at", UTCDateTime, nullable=True),
    Column("acquired_at", UTCDateTime, nullable=True),
    Index("ix_session_leases_owner", "owner"),
)

# ---- API keys and WebSocket tickets (migration 0007) ----

api_keys = Table(
    "api_keys",
    metadata,
    Column("id", String(32), primary_key=True),
    Column("name", String(100), nullable=False),
    # The key's first characters, shown in lists so a person can tell keys apart; never enough to use.
    Column("prefix", String(16), nullable=False),
    # SHA-256 of the key (a key is 256 random bits: a fast hash is enough, and keeps every request cheap).
    Column("hash", String(64), nullable=False, unique=True),
    Column("scopes", JSON, nullable=False),
    Column("sessions", JSON, nullable=True),  # NULL: every session
    Column("created_at", UTCDateTime, nullable=False),
    Column("expires_at", UTCDateTime, nullable=True),
    Column("last_used_at", UTCDateTime, nullable=True),
)

ws_tickets = Table(
    "ws_tickets",
    metadata,
    Column("hash", String(64), primary_key=True),  # SHA-256 of the ticket
    # The key the ticket was issued to; NULL for the gateway's own key (WAQTOR_API_KEY). Deleting the key
    # deletes its tickets.
    Column("key_id", String(32), ForeignKey("api_keys.id", ondelete="CASCADE"), nullable=True),
    Column("scopes", JSON, nullable=False),
    Column("sessions", JSON, nullable=True),
    Column("expires_at", UTCDateTime, nullable=False),
    Index("ix_ws_tickets_expires_at", "expires_at"),
)
