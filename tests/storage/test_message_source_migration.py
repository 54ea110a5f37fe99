"""Migration 0009 on SQLite and PostgreSQL: a log written before it learns where each message came
from (a campaign's messages `campaign`, received ones `contact`), and the way back."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from alembic import command
from alembic.config import Config
from sqlalchemy.ext.asyncio import create_async_engine

from waqtor.storage import MIGRATIONS, async_url
from waqtor.storage.tables import UTCDateTime

T0 = datetime(2026, 11, 1, tzinfo=UTC)
ROWS = [  # direction, campaign_id, source as revision 0008 left it
    ("out", None, "api"),
    ("out", "c" * 12, "api"),
    ("out", None, "phone"),
    ("in", None, None),
]


def _migrate(connection: Any, revision: str, down: bool = False) -> None:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.attributes["connection"] = connection
    (command.downgrade if down else command.upgrade)(config, revision)


def _sources(connection: Any) -> list[str | None]:
    return [row.source for row in connection.execute(sa.text("SELECT source FROM messages ORDER BY id"))]


async def test_the_log_before_it_learns_every_message_s_source(database_url: str) -> None:
    engine = create_async_engine(async_url(database_url))
    try:
        async with engine.begin() as conn:
            await conn.run_sync(_migrate, "0008")
            table = sa.table("messages", *(sa.column(name) for name in (
                "session", "direction", "chat", "type", "status", "campaign_id", "source")),
                             sa.column("timestamp", UTCDateTime), sa.column("created_at", UTCDateTime))
            for direction, campaign_id, source in ROWS:
                await conn.execute(table.insert().values(
                    session="default", direction=direction, chat="4915112345678@s.whatsapp.net", type="text",
                    status="sent" if direction == "out" else "received", campaign_id=campaign_id, source=source,
                    timestamp=T0, created_at=T0))
            await conn.run_sync(_migrate, "0009")
            assert await conn.run_sync(_sources) == ["api", "campaign", "phone", "contact"]
            await conn.run_sync(_migrate, "0008", True)
            assert await conn.run_sync(_sources) == [source for _, _, source in ROWS]
    finally:
        await engine.dispose()
