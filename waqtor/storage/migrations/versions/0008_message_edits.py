"""What the message log learned to keep of a message's life: who sent it (`source`), its edits (the
earlier texts in `edits`) and its deletion for everyone.

Revision ID: 0008
Revises: 0007
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from waqtor.storage.tables import UTCDateTime

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None

COLUMNS = ("source", "edited_at", "edits", "revoked_at", "revoked_by")


def upgrade() -> None:
    # Plain ALTERs on both databases (SQLite adds nullable columns in place): the log may be large.
    op.add_column("messages", sa.Column("source", sa.String(8), nullable=True))
    op.add_column("messages", sa.Column("edited_at", UTCDateTime, nullable=True))
    op.add_column("messages", sa.Column("edits", sa.JSON, nullable=True))
    op.add_column("messages", sa.Column("revoked_at", UTCDateTime, nullable=True))
    op.add_column("messages", sa.Column("revoked_by", sa.String(128), nullable=True))
    # Every message sent before this revision went out through the gateway's API or a campaign.
    messages = sa.table("messages", sa.column("direction", sa.String), sa.column("source", sa.String))
    op.execute(messages.update().where(messages.c.direction == "out").values(source="api"))


def downgrade() -> None:
    with op.batch_alter_table("messages") as batch:
        for name in reversed(COLUMNS):
            batch.drop_column(name)
