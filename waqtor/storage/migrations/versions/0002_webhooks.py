"""Webhooks and their delivery outbox.

Revision ID: 0002
Revises: 0001
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from waqtor.storage.tables import UTCDateTime

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "webhooks",
        sa.Column("id", sa.String(32), primary_key=True),
        sa.Column("url", sa.String(2048), nullable=False),
        sa.Column("events", sa.JSON, nullable=False),
        sa.Column("sessions", sa.JSON, nullable=False),
        sa.Column("secret", sa.String(256), nullable=False),
        sa.Column("enabled", sa.Boolean, nullable=False),
        sa.Column("headers", sa.JSON, nullable=False),
        sa.Column("created_at", UTCDateTime, nullable=False),
        sa.Column("consecutive_failures", sa.Integer, nullable=False),
        sa.Column("disabled_reason", sa.Text, nullable=True),
        sa.Column("disabled_at", UTCDateTime, nullable=True),
    )
    op.create_table(
        "webhook_deliveries",
        sa.Column("id", sa.String(40), primary_key=True),
        sa.Column(
            "webhook_id", sa.String(32), sa.ForeignKey("webhooks.id", ondelete="CASCADE"), nullable=False
        ),
        sa.Column("event_id", sa.BigInteger, nullable=True),
        sa.Column("event", sa.String(64), nullable=False),
        sa.Column("session", sa.String(64), nullable=True),
        sa.Column("payload", sa.Text, nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("attempts", sa.Integer, nullable=False),
        sa.Column("next_attempt_at", UTCDateTime, nullable=True),
        sa.Column("last_attempt_at", UTCDateTime, nullable=True),
        sa.Column("last_status_code", sa.Integer, nullable=True),
        sa.Column("last_error", sa.Text, nullable=True),
        sa.Column("lease_owner", sa.String(128), nullable=True),
        sa.Column("lease_expires_at", UTCDateTime, nullable=True),
        sa.Column("created_at", UTCDateTime, nullable=False),
        sa.UniqueConstraint("webhook_id", "event_id", name="uq_webhook_deliveries_webhook_event"),
    )
    op.create_index("ix_webhook_deliveries_due", "webhook_deliveries", ["status", "next_attempt_at"])
    op.create_index("ix_webhook_deliveries_lease", "webhook_deliveries", ["status", "lease_expires_at"])
    op.create_index("ix_webhook_deliveries_log", "webhook_deliveries", ["webhook_id", "id"])
    op.create_index("ix_webhook_deliveries_log_status", "webhook_deliveries", ["webhook_id", "status", "id"])


def downgrade() -> None:
    op.drop_table("webhook_deliveries")
    op.drop_table("webhooks")
