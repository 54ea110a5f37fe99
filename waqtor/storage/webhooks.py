"""Webhooks and their delivery outbox (`webhooks`, `webhook_deliveries`).

Deliveries are shared work: any number of gateway instances may run a sender on the same database. A
sender claims a row by a compare-and-set UPDATE that only succeeds while the row is claimable (due, or
its lease expired), writing its own claim token and a lease expiry; it finishes the row only while it
still holds that token. So a row is worked on by one sender at a time, and a sender that dies leaves
its rows to the others once the lease expires.
"""

from __future__ import annotations

import builtins
from collections.abc import Collection, Sequence
from dataclasses import asdict
from datetime import datetime
from typing import Any

from sqlalchemy import and_, case, delete, func, insert, or_, select, type_coerce, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncEngine

from waqtor.errors import Conflict
from waqtor.storage.records import ClaimedDelivery, DeliveryRecord, WebhookRecord
from waqtor.storage.tables import UTCDateTime, webhooks
from waqtor.storage.tables import webhook_deliveries as deliveries
from waqtor.webhooks.model import DEAD, DELIVERED, DELIVERING, FAILED, PENDING

_WEBHOOK_FIELDS = (
    "id",
    "url",
    "events",
    "sessions",
    "secret",
    "enabled",
    "headers",
    "created_at",
    "consecutive_failures",
    "disabled_reason",
    "disabled_at",
)


def _webhook(row: Any) -> WebhookRecord:
    return WebhookRecord(
        id=row.id,
        url=row.url,
        events=tuple(row.events),
        sessions=tuple(row.sessions),
        secret=row.secret,
        enabled=row.enabled,
        headers=dict(row.headers),
        created_at=row.created_at,
        consecutive_failures=row.consecutive_failures,
        disabled_reason=row.disabled_reason,
        disabled_at=row.disabled_at,
    )


def _delivery(row: Any) -> DeliveryRecord:
    return DeliveryRecord(**{name: getattr(row, name) for name in DeliveryRecord.__dataclass_fields__})


def _claimable(now: datetime) -> Any:
    """Due for an attempt, or held under a lease that has expired; and its webhook is enabled."""
    enabled = select(webhooks.c.id).where(webhooks.c.enabled.is_(True))
    return and_(
        or_(
            and_(deliveries.c.status.in_((PENDING, FAILED)), deliveries.c.next_attempt_at <= now),
            and_(deliveries.c.status == DELIVERING, deliveries.c.lease_expires_at <= now),
        ),
        deliveries.c.webhook_id.in_(enabled),
    )


class WebhookRepository:
    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine
        dialect = engine.dialect.name
        self._insert = sqlite.insert if dialect == "sqlite" else postgresql.insert

    # ---- webhooks -----------------------------------------------------------------------------------

    async def create(self, webhook: WebhookRecord) -> None:
        values = {**asdict(webhook), "events": list(webhook.events), "sessions": list(webhook.sessions)}
        async with self._engine.begin() as conn:
            await conn.execute(insert(webhooks).values(**values))

    async def list(self) -> list[WebhookRecord]:
        async with self._engine.connect() as conn:
            rows = await conn.execute(select(webhooks).order_by(webhooks.c.created_at, webhooks.c.id))
        return [_webhook(row) for row in rows]

    # `builtins.list` from here on: in the class body `list` names the method above.
    async def enabled(self) -> builtins.list[WebhookRecord]:
        async with self._engine.connect() as conn:
            rows = await conn.execute(select(webhooks).where(webhooks.c.enabled.is_(True)))
        return [_webhook(row) for row in rows]

    async def get(self, webhook_id: str) -> WebhookRecord | None:
        async with self._engine.connect() as conn:
            row = (await conn.execute(select(webhooks).where(webhooks.c.id == webhook_id))).first()
        return None if row is None else _webhook(row)

    async def update(self, webhook_id: str, **values: Any) -> WebhookRecord | None:
        """Change the given columns; the updated webhook, or None when it does not exist."""
        for name in ("events", "sessions"):
            if name in values:
                values[name] = list(values[name])
        unknown = set(values) - set(_WEBHOOK_FIELDS)
        if unknown:
            raise ValueError(f"not webhook columns: {sorted(unknown)}")
        async with self._engine.begin() as conn:
            if values:
                await conn.execute(update(webhooks).where(webhooks.c.id == webhook_id).values(**values))
            row = (await conn.execute(select(webhooks).where(webhooks.c.id == webhook_id))).first()
        return None if row is None else _webhook(row)

    async def delete(self, webhook_id: str) -> bool:
        """Delete the webhook and its delivery log; False when it did not exist."""
        async with self._engine.begin() as conn:
            await conn.execute(delete(deliveries).where(deliveries.c.webhook_id == webhook_id))
            result = await conn.execute(delete(webhooks).where(webhooks.c.id == webhook_id))
        return result.rowcount > 0

    async def record_dead(self, webhook_id: str) -> int:
        """Count one more delivery given up in a row; returns the new count (0 if the webhook is gone)."""
        async with self._engine.begin() as conn:
            await conn.execute(
                update(webhooks)
                .where(webhooks.c.id == webhook_id)
                .values(consecutive_failures=webhooks.c.consecutive_failures + 1)
            )
            count = (
                await conn.execute(select(webhooks.c.consecutive_failures).where(webhooks.c.id == webhook_id))
            ).scalar()
        return int(count or 0)

    async def record_delivered(self, webhook_id: str) -> None:
        async with self._engine.begin() as conn:
            await conn.execute(
                update(webhooks)
                .where(webhooks.c.id == webhook_id, webhooks.c.consecutive_failures != 0)
                .values(consecutive_failures=0)
            )

    async def disable(self, webhook_id: str, reason: str, now: datetime) -> bool:
        """Disable an enabled webhook; True only for the caller that disabled it (at most one, however
        many senders race)."""
        async with self._engine.begin() as conn:
            result = await conn.execute(
                update(webhooks)
                .where(webhooks.c.id == webhook_id, webhooks.c.enabled.is_(True))
                .values(enabled=False, disabled_reason=reason, disabled_at=now)
            )
        return result.rowcount == 1

    # ---- the outbox ---------------------------------------------------------------------------------

    async def enqueue(self, rows: Sequence[DeliveryRecord]) -> None:
        """Insert delivery rows; a row whose id or (webhook, event) is already there is left as it is,
        so writing the same rows again (a retry after an unclear failure) queues nothing twice. Rows of
        a webhook deleted meanwhile are dropped."""
        if not rows:
            return
        async with self._engine.begin() as conn:
            known = set(
                (
                    await conn.execute(
                        select(webhooks.c.id).where(webhooks.c.id.in_({row.webhook_id for row in rows}))
                    )
                ).scalars()
            )
            values = [asdict(row) for row in rows if row.webhook_id in known]
            if values:
                await conn.execute(self._insert(deliveries).on_conflict_do_nothing(), values)

    async def waiting(self, webhook_ids: Collection[str]) -> dict[str, int]:
        """For each of `webhook_ids`, its deliveries still owed to the receiver (pending, being
        delivered, or failed with a retry due); webhooks with none are left out."""
        if not webhook_ids:
            return {}
        query = (select(deliveries.c.webhook_id, func.count())
                 .where(deliveries.c.webhook_id.in_(list(webhook_ids)),
                        deliveries.c.status.in_((PENDING, DELIVERING, FAILED)))
                 .group_by(deliveries.c.webhook_id))
        async with self._engine.connect() as conn:
            return {webhook_id: int(count) for webhook_id, count in (await conn.execute(query)).all()}

    async def prune_finished(self, before_id: str, batch: int = 5000) -> int:
        """Delete the finished deliveries (delivered or dead) whose id sorts before `before_id` (made
        earlier, see `delivery_id_floor`), `batch` rows per transaction; how many were deleted."""
        removed = 0
        while True:
            chosen = (select(deliveries.c.id)
                      .where(deliveries.c.id < before_id, deliveries.c.status.in_((DELIVERED, DEAD)))
                      .limit(batch).scalar_subquery())
            async with self._engine.begin() as conn:
                count = (await conn.execute(delete(deliveries).where(deliveries.c.id.in_(chosen)))).rowcount or 0
            removed += count
            if count < batch:
                return removed

    async def delivery(self, webhook_id: str, delivery_id: str) -> DeliveryRecord | None:
        async with self._engine.connect() as conn:
            row = (
                await conn.execute(
                    select(deliveries).where(
                        deliveries.c.webhook_id == webhook_id, deliveries.c.id == delivery_id
                    )
                )
            ).first()
        return None if row is None else _delivery(row)

    async def deliveries(
        self, webhook_id: str, *, status: str | None = None, before: str | None = None, limit: int = 50
    ) -> builtins.list[DeliveryRecord]:
        """The webhook's deliveries, newest first; only `status` ones if given, only those older than
        the delivery `before` if given."""
        query = select(deliveries).where(deliveries.c.webhook_id == webhook_id)
        if status is not None:
            query = query.where(deliveries.c.status == status)
        if before is not None:
            query = query.where(deliveries.c.id < before)
        async with self._engine.connect() as conn:
            rows = await conn.execute(query.order_by(deliveries.c.id.desc()).limit(limit))
        return [_delivery(row) for row in rows]

    async def due(
        self,
        now: datetime,
        limit: int,
        *,
        skip_webhooks: Collection[str] = (),
        skip_ids: Collection[str] = (),
    ) -> builtins.list[DeliveryRecord]:
        """Claimable deliveries, the longest waiting first, leaving out those of `skip_webhooks` and
        those in `skip_ids` (candidates only: claim() decides)."""
        query = select(deliveries).where(_claimable(now))
        if skip_webhooks:
            query = query.where(deliveries.c.webhook_id.not_in(list(skip_webhooks)))
        if skip_ids:
            query = query.where(deliveries.c.id.not_in(list(skip_ids)))
        query = query.order_by(
            func.coalesce(deliveries.c.next_attempt_at, deliveries.c.lease_expires_at), deliveries.c.id
        ).limit(limit)
        async with self._engine.connect() as conn:
            return [_delivery(row) for row in await conn.execute(query)]

    async def next_due(
        self, *, skip_webhooks: Collection[str] = (), skip_ids: Collection[str] = ()
    ) -> datetime | None:
        """When the next delivery falls due (or a lease expires), over every enabled webhook but
        `skip_webhooks`, leaving out the deliveries in `skip_ids`."""
        enabled = select(webhooks.c.id).where(webhooks.c.enabled.is_(True))
        when = case(
            (deliveries.c.status == DELIVERING, deliveries.c.lease_expires_at),
            else_=deliveries.c.next_attempt_at,
        )
        query = select(type_coerce(func.min(when), UTCDateTime())).where(
            deliveries.c.status.in_((PENDING, FAILED, DELIVERING)), deliveries.c.webhook_id.in_(enabled)
        )
        if skip_webhooks:
            query = query.where(deliveries.c.webhook_id.not_in(list(skip_webhooks)))
        if skip_ids:
            query = query.where(deliveries.c.id.not_in(list(skip_ids)))
        async with self._engine.connect() as conn:
            return (await conn.execute(query)).scalar()

    async def claim(
        self, ids: Sequence[str], token: str, now: datetime, lease_until: datetime
    ) -> builtins.list[ClaimedDelivery]:
        """Take the rows among `ids` that are still claimable under `token` until `lease_until`; returns
        those this call got, with their webhook's URL, secret and headers."""
        if not ids:
            return []
        async with self._engine.begin() as conn:
            await conn.execute(
                update(deliveries)
                .where(deliveries.c.id.in_(ids), _claimable(now))
                .values(status=DELIVERING, lease_owner=token, lease_expires_at=lease_until)
            )
            rows = await conn.execute(
                select(
                    deliveries,
                    webhooks.c.url.label("w_url"),
                    webhooks.c.secret.label("w_secret"),
                    webhooks.c.headers.label("w_headers"),
                )
                .join(webhooks, webhooks.c.id == deliveries.c.webhook_id)
                .where(deliveries.c.id.in_(ids), deliveries.c.lease_owner == token)
            )
            return [
                ClaimedDelivery(_delivery(row), row.w_url, row.w_secret, dict(row.w_headers)) for row in rows
            ]

    async def finish(
        self,
        delivery_id: str,
        token: str,
        *,
        status: str,
        now: datetime,
        next_attempt_at: datetime | None,
        status_code: int | None,
        error: str | None,
    ) -> bool:
        """Record an attempt made under `token`; False when the claim was lost (lease expired and taken,
        redelivered, or deleted), and then nothing is written."""
        async with self._engine.begin() as conn:
            result = await conn.execute(
                update(deliveries)
                .where(
                    deliveries.c.id == delivery_id,
                    deliveries.c.lease_owner == token,
                    deliveries.c.status == DELIVERING,
                )
                .values(
                    status=status,
                    attempts=deliveries.c.attempts + 1,
                    last_attempt_at=now,
                    next_attempt_at=next_attempt_at,
                    last_status_code=status_code,
                    last_error=error,
                    lease_owner=None,
                    lease_expires_at=None,
                )
            )
        return result.rowcount == 1

    async def release(self, owner: str, now: datetime) -> int:
        """Give back every row held under a claim token of `owner` (tokens are `<owner>/<n>`): due again
        at `now`, the attempt in progress not counted. Returns how many were given back."""
        async with self._engine.begin() as conn:
            result = await conn.execute(
                update(deliveries)
                .where(
                    deliveries.c.status == DELIVERING,
                    deliveries.c.lease_owner.startswith(f"{owner}/", autoescape=True),
                )
                .values(
                    status=case((deliveries.c.attempts == 0, PENDING), else_=FAILED),
                    next_attempt_at=now,
                    lease_owner=None,
                    lease_expires_at=None,
                )
            )
        return int(result.rowcount)

    async def redeliver(self, webhook_id: str, delivery_id: str, now: datetime) -> DeliveryRecord | None:
        """Queue a delivery again now, with the same id and body and a fresh attempt count; None when it
        does not exist, Conflict (`delivery_in_progress`) while a sender holds it."""
        async with self._engine.begin() as conn:
            where = and_(deliveries.c.webhook_id == webhook_id, deliveries.c.id == delivery_id)
            row = (await conn.execute(select(deliveries).where(where))).first()
            if row is None:
                return None
            if row.status == DELIVERING and row.lease_expires_at is not None and row.lease_expires_at > now:
                raise Conflict(
                    f"delivery {delivery_id} is being attempted right now; try again when it is done",
                    code="delivery_in_progress",
                )
            await conn.execute(
                update(deliveries)
                .where(where)
                .values(
                    status=PENDING, attempts=0, next_attempt_at=now, lease_owner=None, lease_expires_at=None
                )
            )
            row = (await conn.execute(select(deliveries).where(where))).first()
        return _delivery(row)
