"""Sessions remember whether they should run; states keep the raw platform code.

`sessions.desired` is `running` or `stopped`, kept across restarts; `session_state.platform_raw` is the
platform code the phone reported, beside its readable name.

Revision ID: 0003
Revises: 0002
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("sessions") as batch:
        batch.add_column(sa.Column("desired", sa.String(16), nullable=False, server_default="running"))
    with op.batch_alter_table("session_state") as batch:
        batch.add_column(sa.Column("platform_raw", sa.String(64), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("session_state") as batch:
        batch.drop_column("platform_raw")
    with op.batch_alter_table("sessions") as batch:
        batch.drop_column("desired")
