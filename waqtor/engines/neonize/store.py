"""neonize's device store: where it lives, and the two questions the engine asks of it.

whatsmeow keeps every linked device of one store in `whatsmeow_device`, keyed by the device's JID
(`user:device@s.whatsapp.net`); every other table hangs off that row with ON DELETE CASCADE. Sessions
share one store, and each remembers the JID of its own device.
"""

from __future__ import annotations

import asyncio
import sqlite3
from pathlib import Path

from sqlalchemy.engine import make_url

from waqtor.config import Settings
from waqtor.files import private_sqlite

SQLITE_FILE = "neonize.db"


def store_dsn(settings: Settings) -> str:
    """The store neonize opens: the gateway's PostgreSQL database when it runs on one, else
    `<data dir>/neonize.db`. lib/pq requires TLS unless told otherwise, so a URL without `sslmode`
    gets `sslmode=disable` (put `sslmode=require` in WAQTOR_DATABASE_URL for TLS)."""
    url = make_url(settings.resolved_database_url)
    if url.get_backend_name() in ("postgresql", "postgres"):
        url = url.set(drivername="postgres")
        if "sslmode" not in url.query:
            url = url.update_query_dict({"sslmode": "disable"})
        return url.render_as_string(hide_password=False)
    return str((settings.data_dir / SQLITE_FILE).resolve())


def is_postgres(dsn: str) -> bool:
    # neonize itself tells the two apart by this prefix.
    return dsn.startswith("postgres")


def prepare(dsn: str) -> None:
    """Before neonize opens a SQLite store: the file created (or tightened) 0600, as waqtor.files says."""
    if not is_postgres(dsn):
        private_sqlite(Path(dsn))


def _sqlite_device_exists(path: str, jid: str) -> bool:
    if not Path(path).exists():
        return False
    with sqlite3.connect(path, timeout=10) as conn:
        try:
            row = conn.execute("SELECT 1 FROM whatsmeow_device WHERE jid = ?", (jid,)).fetchone()
        except sqlite3.OperationalError:  # the store was never migrated: no table, no device
            return False
    return row is not None


def _sqlite_forget(path: str, jid: str) -> None:
    if not Path(path).exists():
        return
    conn = sqlite3.connect(path, timeout=10)
    try:
        conn.execute("PRAGMA foreign_keys = ON")
        try:
            conn.execute("DELETE FROM whatsmeow_device WHERE jid = ?", (jid,))
        except sqlite3.OperationalError:
            return
        conn.commit()
    finally:
        conn.close()


async def device_exists(dsn: str, jid: str) -> bool:
    """Whether the store still holds the device `jid` (whatsmeow deletes it when the phone unlinks)."""
    if not is_postgres(dsn):
        return await asyncio.to_thread(_sqlite_device_exists, dsn, jid)
    import asyncpg

    conn = await asyncpg.connect(dsn, timeout=10)
    try:
        try:
            return await conn.fetchval("SELECT 1 FROM whatsmeow_device WHERE jid = $1", jid) is not None
        except asyncpg.UndefinedTableError:
            return False
    finally:
        await conn.close()


async def forget_device(dsn: str, jid: str) -> None:
    """Delete the device `jid` and, by cascade, its keys, sessions and contacts from the store."""
    if not is_postgres(dsn):
        await asyncio.to_thread(_sqlite_forget, dsn, jid)
        return
    import asyncpg

    conn = await asyncpg.connect(dsn, timeout=10)
    try:
        try:
            await conn.execute("DELETE FROM whatsmeow_device WHERE jid = $1", jid)
        except asyncpg.UndefinedTableError:
            return
    finally:
        await conn.close()
