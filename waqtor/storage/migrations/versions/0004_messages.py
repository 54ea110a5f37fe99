"""The message log and stored media.

Revision ID: 0004
Revises: 0003
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from waqtor.storage.tables import UTCDateTime

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "media",
        sa.Column("id", sa.String(32), primary_key=True),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("mimetype", sa.String(127), nullable=False),
        sa.Column("size", sa.BigInteger, nullable=False),
        sa.Column("file_name", sa.String(255), nullable=False),
        sa.Column("path", sa.String(255), nullable=False),
        sa.Column("sha256", sa.String(64), nullable=False),
        sa.Column("created_at", UTCDateTime, nullable=False),
        sa.Column("deleted_at", UTCDateTime, nullable=True),
    )
    op.create_index("ix_media_created_at", "media", ["created_at"])
    op.create_table(
        "messages",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), primary_key=True, autoincrement=True),
        sa.Column("session", sa.String(64), nullable=False),
        sa.Column("direction", sa.String(3), nullable=False),
        sa.Column("chat", sa.String(128), nullable=False),
        sa.Column("sender", sa.String(128), nullable=True),
        sa.Column("type", sa.String(16), nullable=False),
        sa.Column("text", sa.Text, nullable=True),
        sa.Column("media_id", sa.String(32), sa.ForeignKey("media.id"), nullable=True),
        sa.Column("content", sa.JSON, nullable=True),
        sa.Column("wa_id", sa.String(128), nullable=True),
        sa.Column("reply_to", sa.String(128), nullable=True),
        sa.Column("push_name", sa.String(256), nullable=True),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("error", sa.Text, nullable=True),
        sa.Column("campaign_id", sa.String(64), nullable=True),
        sa.Column("timestamp", UTCDateTime, nullable=False),
        sa.Column("queued_at", UTCDateTime, nullable=True),
        sa.Column("sent_at", UTCDateTime, nullable=True),
        sa.Column("delivered_at", UTCDateTime, nullable=True),
        sa.Column("read_at", UTCDateTime, nullable=True),
        sa.Column("played_at", UTCDateTime, nullable=True),
        sa.Column("failed_at", UTCDateTime, nullable=True),
        sa.Column("created_at", UTCDateTime, nullable=False),
    )
    op.create_index("ix_messages_session_id", "messages", ["session", "id"])
    op.create_index("ix_messages_chat_id", "messages", ["chat", "id"])
    op.create_index("ix_messages_status_id", "messages", ["status", "id"])
    op.create_index("ix_messages_direction_id", "messages", ["direction", "id"])
    op.create_index("ix_messages_timestamp", "messages", ["timestamp"])
    op.create_index("ix_messages_campaign_id", "messages", ["campaign_id"])
    op.create_index(
        "uq_messages_session_direction_wa_id", "messages", ["session", "direction", "wa_id"], unique=True
    )


def downgrade() -> None:
    op.drop_table("messages")
    op.drop_table("media")
