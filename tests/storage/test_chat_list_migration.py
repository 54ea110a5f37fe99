"""Migration 0011 on SQLite and PostgreSQL: the chat list's index on `(session, chat, id)`, and the way back."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import create_async_engine

from tests.storage.test_message_source_migration import _migrate
from waqtor.storage import async_url


def _indexes(connection: Any) -> dict[str, list[str]]:
    return {index["name"]: index["column_names"] for index in sa.inspect(connection).get_indexes("messages")}


async def test_the_chat_list_index_comes_and_goes_with_its_migration(database_url: str) -> None:
    engine = create_async_engine(async_url(database_url))
    try:
        async with engine.begin() as conn:
            await conn.run_sync(_migrate, "0010")
            assert "ix_messages_session_chat_id" not in await conn.run_sync(_indexes)
            await conn.run_sync(_migrate, "0011")
            assert (await conn.run_sync(_indexes))["ix_messages_session_chat_id"] == ["session", "chat", "id"]
            await conn.run_sync(_migrate, "0010", True)
            assert "ix_messages_session_chat_id" not in await conn.run_sync(_indexes)
    finally:
        await engine.dispose()
