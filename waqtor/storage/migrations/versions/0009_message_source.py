"""Every message says where it came from (`source`): `api` (the send routes), `campaign`, `phone` (the
account's phone or another linked device) or `contact` (received); and the log can be filtered by it.

Revision ID: 0009
Revises: 0008
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None

_messages = sa.table("messages", sa.column("direction", sa.String), sa.column("source", sa.String),
                     sa.column("campaign_id", sa.String))


def upgrade() -> None:
    # Until now a campaign's messages said `api` and received ones nothing.
    op.execute(_messages.update().where(_messages.c.direction == "out", _messages.c.campaign_id.is_not(None))
               .values(source="campaign"))
    op.execute(_messages.update().where(_messages.c.direction == "in").values(source="contact"))
    op.create_index("ix_messages_source_id", "messages", ["source", "id"])


def downgrade() -> None:
    op.drop_index("ix_messages_source_id", table_name="messages")
    op.execute(_messages.update().where(_messages.c.source == "campaign").values(source="api"))
    op.execute(_messages.update().where(_messages.c.direction == "in").values(source=None))
