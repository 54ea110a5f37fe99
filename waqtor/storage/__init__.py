"""Storage facade over SQLAlchemy Core (async). The URL picks the database: sqlite:/// or postgresql://.

`Storage.open()` connects and applies every Alembic migration; repositories hang off the facade, one per
group of tables (`storage.sessions`, `storage.webhooks`, `storage.messages`, `storage.media`,
`storage.campaigns`, `storage.cluster`, `storage.keys`, and `storage.chats`, the chat list read from the
message log).

Two pools. Requests and services share the main one (`WAQTOR_DATABASE_POOL_SIZE`). The rounds that
keep this instance's sessions (its heartbeat, the renewal of its leases, the reads that decide its fair
share) use `storage.housekeeping`, repositories on a pool of LEASE_POOL connections of their own: a
burst of requests that takes every connection of the main pool cannot make a lease lapse and stop the
sessions. SQLite gets a second engine on the same file (its writes still take turns on the file's
lock, as every SQLite writer does); an in-memory SQLite database is one connection's own, so there
both share the one engine.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from sqlalchemy import event, text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from waqtor.errors import ConfigError
from waqtor.files import private_sqlite
from waqtor.storage.campaigns import CampaignRepository
from waqtor.storage.chats import ChatRepository
from waqtor.storage.cluster import ClusterRepository
from waqtor.storage.keys import KeyRepository
from waqtor.storage.media import MediaRepository
from waqtor.storage.messages import MessageRepository
from waqtor.storage.sessions import SessionRepository
from waqtor.storage.webhooks import WebhookRepository

__all__ = ["Housekeeping", "Storage", "async_url"]

log = logging.getLogger(__name__)

MIGRATIONS = Path(__file__).parent / "migrations"
PING_TIMEOUT = 3.0
MIGRATION_LOCK = 0x57A9_7042  # the PostgreSQL advisory lock that serialises migrations across instances
LEASE_POOL = 2  # connections of the housekeeping pool: a heartbeat and a renewal never wait for each other


def async_url(url: str) -> str:
    """Map a plain database URL to its async driver; an unsupported scheme is a ConfigError."""
    try:
        parsed = make_url(url)
    except Exception as exc:  # sqlalchemy raises ArgumentError with little context
        raise ConfigError(f"invalid database URL {url!r}: {exc}") from exc
    backend = parsed.get_backend_name()
    if backend == "sqlite":
        return str(parsed.set(drivername="sqlite+aiosqlite"))
    if backend in ("postgresql", "postgres"):
        return parsed.set(drivername="postgresql+asyncpg").render_as_string(hide_password=False)
    raise ConfigError(f"unsupported database {backend!r} in the database URL; use sqlite:/// or postgresql://")


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=10000")
    cursor.close()


@dataclass(frozen=True, slots=True)
class Housekeeping:
    """What the rounds that keep this instance's sessions read and write, on the housekeeping pool."""

    cluster: ClusterRepository
    sessions: SessionRepository


def _migrate(sync_connection: Any) -> None:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.attributes["connection"] = sync_connection
    command.upgrade(config, "head")


class Storage:
    """The gateway's database; open() before use, close() at shutdown."""

    def __init__(self, url: str, timeout: float = 15.0, pool_size: int = 10) -> None:
        """`timeout` (PostgreSQL): seconds a connection attempt, a statement or a wait for a pooled
        connection may take; past it the caller gets TimeoutError (503 `database_unavailable`), or
        SQLAlchemy's TimeoutError when every pooled connection stayed in use (503 `database_busy`).
        `pool_size` (PostgreSQL): connections the main pool keeps open; as many more open for bursts."""
        self.url = async_url(url)
        self.timeout = timeout
        self.pool_size = pool_size
        self.dialect = make_url(self.url).get_backend_name()
        self._engine: AsyncEngine | None = None
        self._housekeeping_engine: AsyncEngine | None = None
        self.housekeeping: Housekeeping
        self.sessions: SessionRepository
        self.webhooks: WebhookRepository
        self.messages: MessageRepository
        self.chats: ChatRepository
        self.media: MediaRepository
        self.campaigns: CampaignRepository
        self.cluster: ClusterRepository
        self.keys: KeyRepository

    @property
    def engine(self) -> AsyncEngine:
        if self._engine is None:
            raise RuntimeError("storage is not open")
        return self._engine

    async def open(self) -> None:
        """Connect, create the SQLite file if needed (private: waqtor.files), and bring the schema to the
        newest migration (one instance at a time on PostgreSQL)."""
        database = make_url(self.url).database
        in_memory = self.dialect == "sqlite" and (not database or database == ":memory:")
        if self.dialect == "sqlite" and not in_memory:
            private_sqlite(Path(str(database)))
        self._engine = engine = self._make_engine(self.pool_size, self.pool_size)
        housekeeping = engine if in_memory else self._make_engine(LEASE_POOL, 0)
        self._housekeeping_engine = housekeeping
        async with engine.begin() as conn:
            if self.dialect == "postgresql":
                # Instances started together on a fresh database would each create the tables: the first
                # migrates while the others wait here, then find the schema current.
                await conn.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": MIGRATION_LOCK})
            await conn.run_sync(_migrate)
        self.sessions = SessionRepository(engine)
        self.webhooks = WebhookRepository(engine)
        self.messages = MessageRepository(engine)
        self.chats = ChatRepository(engine, self.messages)
        self.media = MediaRepository(engine)
        self.campaigns = CampaignRepository(engine)
        self.cluster = ClusterRepository(engine)
        self.keys = KeyRepository(engine)
        self.housekeeping = Housekeeping(ClusterRepository(housekeeping), SessionRepository(housekeeping))
        log.info("storage ready (%s)", self.dialect)

    def _make_engine(self, pool_size: int, overflow: int) -> AsyncEngine:
        if self.dialect == "sqlite":
            engine = create_async_engine(self.url)
            event.listen(engine.sync_engine, "connect", _sqlite_pragmas)
            return engine
        # Bounded everywhere: a network that drops packets without a reset would otherwise hold a
        # connection attempt or a statement (and the request waiting on it) until TCP gives up.
        return create_async_engine(self.url, pool_pre_ping=True, pool_size=pool_size, max_overflow=overflow,
                                   pool_timeout=self.timeout,
                                   connect_args={"timeout": self.timeout, "command_timeout": self.timeout})

    async def ping(self, timeout: float = PING_TIMEOUT) -> bool:
        """True when the database answers a trivial query within `timeout` seconds (a cut network may
        leave a connection attempt hanging: health must answer anyway)."""
        try:
            async with asyncio.timeout(timeout):
                async with self.engine.connect() as conn:
                    await conn.execute(text("SELECT 1"))
            return True
        except Exception:
            log.warning("database ping failed", exc_info=True)
            return False

    async def close(self) -> None:
        if self._engine is not None:
            if hasattr(self, "messages"):  # the group-committed writes in flight
                await self.messages.close()
                await self.campaigns.close()
            if self._housekeeping_engine is not None and self._housekeeping_engine is not self._engine:
                await self._housekeeping_engine.dispose()
            self._housekeeping_engine = None
            await self._engine.dispose()
            self._engine = None
