"""Sessions and their monitored state.

Revision ID: 0001
Revises:
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from waqtor.storage.tables import UTCDateTime

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "sessions",
        sa.Column("name", sa.String(64), primary_key=True),
        sa.Column("engine", sa.String(32), nullable=False),
        sa.Column("config", sa.JSON, nullable=False),
        sa.Column("engine_data", sa.JSON, nullable=True),
        sa.Column("created_at", UTCDateTime, nullable=False),
    )
    op.create_table(
        "session_state",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column(
            "session",
            sa.String(64),
            sa.ForeignKey("sessions.name", ondelete="CASCADE"),
            nullable=False,
            unique=True,
        ),
        sa.Column("engine", sa.String(32), nullable=False),
        sa.Column("status", sa.String(32), nullable=False),
        sa.Column("ready", sa.Boolean, nullable=False),
        sa.Column("authenticated", sa.Boolean, nullable=False),
        sa.Column("qr_code", sa.Text, nullable=True),
        sa.Column("qr_expires_at", UTCDateTime, nullable=True),
        sa.Column("phone", sa.String(32), nullable=True),
        sa.Column("pushname", sa.String(256), nullable=True),
        sa.Column("platform", sa.String(64), nullable=True),
        sa.Column("uptime", sa.Integer, nullable=False),
        sa.Column("ready_since", UTCDateTime, nullable=True),
        sa.Column("messages_sent", sa.Integer, nullable=False),
        sa.Column("messages_received", sa.Integer, nullable=False),
        sa.Column("last_error", sa.JSON, nullable=True),
        sa.Column("last_update", UTCDateTime, nullable=False),
    )


def downgrade() -> None:
    op.drop_table("session_state")
    op.drop_table("sessions")
