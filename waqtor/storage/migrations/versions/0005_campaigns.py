"""Campaigns, their recipients, and the recipient each campaign message went to.

Revision ID: 0005
Revises: 0004
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from waqtor.storage.tables import UTCDateTime

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

RowId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "campaigns",
        sa.Column("id", sa.String(32), primary_key=True),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("session", sa.String(64), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("reason_code", sa.String(64), nullable=True),
        sa.Column("reason_message", sa.Text, nullable=True),
        sa.Column("reason_at", UTCDateTime, nullable=True),
        sa.Column("message", sa.JSON, nullable=False),
        sa.Column("start_at", UTCDateTime, nullable=True),
        sa.Column("window", sa.JSON, nullable=True),
        sa.Column("throttle", sa.JSON, nullable=False),
        sa.Column("options", sa.JSON, nullable=False),
        sa.Column("variables", sa.JSON, nullable=False),
        sa.Column("report", sa.JSON, nullable=False),
        sa.Column("total", sa.Integer, nullable=False),
        sa.Column("created_at", UTCDateTime, nullable=False),
        sa.Column("updated_at", UTCDateTime, nullable=False),
        sa.Column("started_at", UTCDateTime, nullable=True),
        sa.Column("finished_at", UTCDateTime, nullable=True),
    )
    op.create_index("ix_campaigns_session_status", "campaigns", ["session", "status"])
    op.create_index("ix_campaigns_created", "campaigns", ["created_at", "id"])
    op.create_table(
        "campaign_recipients",
        sa.Column("id", RowId, primary_key=True, autoincrement=True),
        sa.Column("campaign_id", sa.String(32), sa.ForeignKey("campaigns.id", ondelete="CASCADE"), nullable=False),
        sa.Column("source_row", sa.Integer, nullable=False),
        sa.Column("phone", sa.String(32), nullable=False),
        sa.Column("jid", sa.String(128), nullable=False),
        sa.Column("name", sa.String(256), nullable=True),
        sa.Column("variables", sa.JSON, nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("reason", sa.Text, nullable=True),
        sa.Column("message_id", RowId, nullable=True),
        sa.Column("attempted_at", UTCDateTime, nullable=True),
        sa.Column("updated_at", UTCDateTime, nullable=True),
        sa.UniqueConstraint("campaign_id", "jid", name="uq_campaign_recipients_campaign_jid"),
    )
    op.create_index("ix_campaign_recipients_status", "campaign_recipients", ["campaign_id", "status", "id"])
    op.create_index("ix_campaign_recipients_attempted", "campaign_recipients", ["campaign_id", "attempted_at"])
    # A plain ALTER on both databases (SQLite adds a nullable column in place): the log may be large.
    op.add_column("messages", sa.Column("campaign_recipient_id", RowId, nullable=True))
    op.create_index("ix_messages_campaign_recipient_id", "messages", ["campaign_recipient_id"])


def downgrade() -> None:
    op.drop_index("ix_messages_campaign_recipient_id", "messages")
    with op.batch_alter_table("messages") as batch:
        batch.drop_column("campaign_recipient_id")
    op.drop_table("campaign_recipients")
    op.drop_table("campaigns")
