"""Replies and reactions: the log's id of the message a reply quotes (`reply_to_id`, beside its WhatsApp id
`reply_to`), and the reactions to a message (`reactions`, one per reactor).

Revision ID: 0010
Revises: 0009
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from waqtor.storage.tables import MessageId

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Nullable columns: plain ALTERs on both databases, whatever the size of the log.
    op.add_column("messages", sa.Column("reply_to_id", MessageId, nullable=True))
    op.add_column("messages", sa.Column("reactions", sa.JSON, nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("messages") as batch:
        batch.drop_column("reactions")
        batch.drop_column("reply_to_id")
