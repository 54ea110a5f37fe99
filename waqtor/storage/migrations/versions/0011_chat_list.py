"""The chat list (`GET /api/chats`): an index on `(session, chat, id)`, so a page finds each chat's newest
message by reading the index, and a chat's messages without reading any other chat's.

Revision ID: 0011
Revises: 0010
"""

from __future__ import annotations

from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_messages_session_chat_id", "messages", ["session", "chat", "id"])


def downgrade() -> None:
    op.drop_index("ix_messages_session_chat_id", table_name="messages")
