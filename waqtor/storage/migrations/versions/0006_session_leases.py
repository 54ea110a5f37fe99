"""Several instances: who is alive (`instances`) and which instance runs each session (`session_leases`).

Revision ID: 0006
Revises: 0005
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from waqtor.storage.tables import UTCDateTime

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "instances",
        sa.Column("id", sa.String(128), primary_key=True),
        sa.Column("process", sa.String(32), nullable=False),
        sa.Column("started_at", UTCDateTime, nullable=False),
        sa.Column("seen_at", UTCDateTime, nullable=False),
    )
    op.create_index("ix_instances_seen_at", "instances", ["seen_at"])
    op.create_table(
        "session_leases",
        sa.Column("session", sa.String(64), sa.ForeignKey("sessions.name", ondelete="CASCADE"), primary_key=True),
        sa.Column("owner", sa.String(128), nullable=True),
        sa.Column("expires_at", UTCDateTime, nullable=True),
        sa.Column("acquired_at", UTCDateTime, nullable=True),
    )
    op.create_index("ix_session_leases_owner", "session_leases", ["owner"])


def downgrade() -> None:
    op.drop_table("session_leases")
    op.drop_table("instances")
