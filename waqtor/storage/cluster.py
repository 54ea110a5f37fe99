"""Instances and session leases (`instances`, `session_leases`): who is alive, and who runs each session.

Every time written or compared here is the database's clock (PostgreSQL's `now()`; SQLite can only be
shared by processes of one machine, whose clock they all read), so instances never compare their own
clocks with each other's. Leases are taken and renewed by conditional writes that succeed for one
instance at a time: a lease is taken only while it is free, released or expired (or already held by
the same instance), and renewed only by its holder before it expires.
"""

from __future__ import annotations

from collections.abc import Collection
from datetime import UTC, datetime, timedelta

from sqlalchemy import DateTime, Interval, and_, case, delete, func, literal, or_, select, type_coerce, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlalchemy.sql.expression import ColumnElement

from waqtor.storage.tables import UTCDateTime, instances, session_leases

# An instance row not refreshed for this many TTLs is deleted (it stays listed as dead until then).
PRUNE_AFTER_TTLS = 20


class ClusterRepository:
    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine
        self._postgres = engine.dialect.name == "postgresql"
        self._insert = postgresql.insert if self._postgres else sqlite.insert

    # ---- the database's clock ----------------------------------------------------------------------

    def _at(self, offset: float = 0.0) -> ColumnElement[datetime]:
        """The database's current UTC time plus `offset` seconds, as an SQL expression."""
        if self._postgres:
            now: ColumnElement[datetime] = func.timezone("UTC", func.now(), type_=DateTime())
            if offset:
                now = now + literal(timedelta(seconds=offset), Interval())
            return type_coerce(now, UTCDateTime)
        return literal(datetime.now(UTC) + timedelta(seconds=offset), UTCDateTime)

    async def now(self) -> datetime:
        """The database's current time (aware, UTC)."""
        async with self._engine.connect() as conn:
            return (await conn.execute(select(self._at()))).scalar_one()

    # ---- instances ---------------------------------------------------------------------------------

    async def heartbeat(self, instance: str, process: str, ttl: float) -> list[str] | None:
        """Register or refresh `instance` for this `process`; the ids of every live instance (seen within
        `ttl`), in order. None while another live process holds the id (its row was refreshed by a
        different process within `ttl`)."""
        now = self._at()
        stmt = self._insert(instances).values(id=instance, process=process, started_at=now, seen_at=now)
        upsert = stmt.on_conflict_do_update(
            index_elements=[instances.c.id],
            set_={"process": stmt.excluded.process, "seen_at": stmt.excluded.seen_at,
                  "started_at": case((instances.c.process == stmt.excluded.process, instances.c.started_at),
                                     else_=stmt.excluded.started_at)},
            where=or_(instances.c.process == stmt.excluded.process, instances.c.seen_at < self._at(-ttl)),
        ).returning(instances.c.id)
        async with self._engine.begin() as conn:
            if (await conn.execute(upsert)).first() is None:
                return None
            await conn.execute(delete(instances).where(instances.c.seen_at < self._at(-ttl * PRUNE_AFTER_TTLS)))
            rows = await conn.execute(
                select(instances.c.id).where(instances.c.seen_at >= self._at(-ttl)).order_by(instances.c.id)
            )
            return [row.id for row in rows]

    async def leave(self, instance: str, process: str) -> None:
        """Release every lease `instance` holds and remove its row (a clean shutdown)."""
        async with self._engine.begin() as conn:
            await conn.execute(
                update(session_leases).where(session_leases.c.owner == instance).values(owner=None, expires_at=None)
            )
            await conn.execute(delete(instances).where(instances.c.id == instance, instances.c.process == process))

    async def expire(self, instance: str) -> None:
        """Free every lease of `instance` and remove it: it is known to be dead."""
        async with self._engine.begin() as conn:
            await conn.execute(
                update(session_leases).where(session_leases.c.owner == instance).values(owner=None, expires_at=None)
            )
            await conn.execute(delete(instances).where(instances.c.id == instance))

    async def live_instances(self, ttl: float) -> list[str]:
        async with self._engine.connect() as conn:
            rows = await conn.execute(
                select(instances.c.id).where(instances.c.seen_at >= self._at(-ttl)).order_by(instances.c.id)
            )
            return [row.id for row in rows]

    # ---- leases ------------------------------------------------------------------------------------

    async def acquire(self, session: str, instance: str, ttl: float) -> bool:
        """Take the lease of `session` for `ttl` seconds; True when `instance` now holds it. Only a free,
        released or expired lease (or one `instance` holds already) is taken; False too when the
        session no longer exists."""
        stmt = self._insert(session_leases).values(
            session=session, owner=instance, expires_at=self._at(ttl), acquired_at=self._at()
        )
        current = session_leases.c
        upsert = stmt.on_conflict_do_update(
            index_elements=[current.session],
            set_={"owner": stmt.excluded.owner, "expires_at": stmt.excluded.expires_at,
                  "acquired_at": case((current.owner == stmt.excluded.owner, current.acquired_at),
                                      else_=stmt.excluded.acquired_at)},
            where=or_(current.owner.is_(None), current.owner == stmt.excluded.owner, current.expires_at.is_(None),
                      current.expires_at <= self._at()),
        ).returning(current.session)
        try:
            async with self._engine.begin() as conn:
                return (await conn.execute(upsert)).first() is not None
        except IntegrityError:  # the session was deleted meanwhile
            return False

    async def renew(self, instance: str, sessions: Collection[str], ttl: float) -> set[str]:
        """Extend the leases `instance` holds on `sessions` by `ttl` from now; the names renewed. A lease
        that expired, or that another instance took, is not renewed."""
        if not sessions:
            return set()
        stmt = (
            update(session_leases)
            .where(session_leases.c.owner == instance, session_leases.c.session.in_(list(sessions)),
                   session_leases.c.expires_at > self._at())
            .values(expires_at=self._at(ttl))
            .returning(session_leases.c.session)
        )
        async with self._engine.begin() as conn:
            return {row.session for row in await conn.execute(stmt)}

    async def release(self, session: str, instance: str) -> None:
        """Give the lease of `session` up, if `instance` holds it."""
        async with self._engine.begin() as conn:
            await conn.execute(
                update(session_leases)
                .where(session_leases.c.session == session, session_leases.c.owner == instance)
                .values(owner=None, expires_at=None)
            )

    async def owners(self, sessions: Collection[str] | None = None) -> dict[str, str]:
        """Session name -> the instance holding its unexpired lease (sessions nobody runs are absent)."""
        query = select(session_leases.c.session, session_leases.c.owner).where(
            and_(session_leases.c.owner.is_not(None), session_leases.c.expires_at > self._at())
        )
        if sessions is not None:
            query = query.where(session_leases.c.session.in_(list(sessions)))
        async with self._engine.connect() as conn:
            return {row.session: row.owner for row in await conn.execute(query)}

    async def owner(self, session: str) -> str | None:
        """The instance that holds the unexpired lease of `session`, or None."""
        return (await self.owners([session])).get(session)
