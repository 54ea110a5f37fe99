"""Campaigns and their recipients (`campaigns`, `campaign_recipients`).

Every change of status is a conditional UPDATE (`WHERE status IN (…)`): a campaign moves only from
the status its caller allows, and a recipient is claimed for sending only while it is `pending` and
its campaign `running`, so two senders (two gateway instances) can never both send to it.
"""

from __future__ import annotations

import asyncio
import functools
from collections.abc import AsyncIterator, Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import and_, bindparam, case, delete, exists, func, insert, literal, or_, select, update
from sqlalchemy.engine import Dialect
from sqlalchemy.ext.asyncio import AsyncEngine

from waqtor.campaigns.importer import Row
from waqtor.campaigns.model import DELIVERED, PENDING, R_FAILED, READ, RECIPIENT_FROM, RUNNING, SENDING, SENT
from waqtor.storage.groupcommit import GroupCommit
from waqtor.storage.paging import keyset_pages
from waqtor.storage.records import CampaignRecord, MessageRecord, RecipientRecord
from waqtor.storage.tables import UTCDateTime, campaign_recipients, campaigns, messages

INSERT_BATCH = 5_000
_CAMPAIGN_FIELDS = [c.name for c in campaigns.columns]
_RECIPIENT_FIELDS = [c.name for c in campaign_recipients.columns]
_MESSAGE_FIELDS = [c.name for c in messages.columns if c.name != "media_id"]

r = campaign_recipients.c
c = campaigns.c


def _campaign(row: Any) -> CampaignRecord:
    return CampaignRecord(**{name: row._mapping[name] for name in _CAMPAIGN_FIELDS})


def _recipient(row: Any) -> RecipientRecord:
    return RecipientRecord(**{name: row._mapping[name] for name in _RECIPIENT_FIELDS})


RowBuilder = Callable[[str, Sequence[Row], datetime], list[tuple[Any, ...]]]
_RECIPIENT_INSERT = ["campaign_id", "source_row", "phone", "jid", "name", "variables", "status", "updated_at"]


@functools.cache
def _recipient_insert(dialect: Dialect) -> tuple[str, RowBuilder]:
    """The INSERT of new recipients as the driver's SQL, and a function making its parameter rows.

    Why not `conn.execute(insert(...), [dicts])`: SQLAlchemy then runs each row through its bind
    processing (the JSON and datetime types, parameter dicts), about 30 µs a row on the event loop,
    three seconds for 100,000 recipients. Here the constant values are processed once, the variables
    with the column type's own processor (the same JSON text), and the rows are plain tuples."""
    compiled = insert(campaign_recipients).compile(dialect=dialect, column_keys=_RECIPIENT_INSERT)
    order = compiled.positiontup
    if order is None or sorted(order) != sorted(_RECIPIENT_INSERT):
        raise RuntimeError(f"unexpected bind parameters {order} for the {dialect.name} recipient insert")

    def processor(name: str) -> Callable[[Any], Any]:
        found = campaign_recipients.c[name].type.bind_processor(dialect)
        return found if found is not None else (lambda value: value)

    text, variables, when = processor("status"), processor("variables"), processor("updated_at")
    at_index = {name: i for i, name in enumerate(order)}

    def build(campaign_id: str, rows: Sequence[Row], at: datetime) -> list[tuple[Any, ...]]:
        constants = {"campaign_id": text(campaign_id), "status": text(PENDING), "updated_at": when(at)}
        template: list[Any] = [constants.get(name) for name in order]
        i_row, i_phone, i_jid = at_index["source_row"], at_index["phone"], at_index["jid"]
        i_name, i_vars = at_index["name"], at_index["variables"]
        found = []
        for row in rows:
            params = template.copy()
            params[i_row], params[i_phone], params[i_jid] = row.row, row.phone, row.jid
            params[i_name], params[i_vars] = row.name, variables(row.variables)
            found.append(tuple(params))
        return found

    return str(compiled), build


@dataclass(frozen=True, slots=True)
class Outcome:
    """A recipient's new status, applied only if it is a forward move from where it stands."""

    recipient_id: int
    status: str
    at: datetime
    reason: str | None = None
    message_id: int | None = None


@dataclass(frozen=True, slots=True)
class InFlight:
    """A recipient left `sending`, with the newest logged message sent to it (None: none was logged)."""

    recipient: RecipientRecord
    message: MessageRecord | None


@dataclass(frozen=True, slots=True)
class _Claim:
    recipient_id: int
    campaign_id: str
    at: datetime


class CampaignRepository:
    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine
        # Claims of recipients sent concurrently (a campaign with no delay) share a transaction.
        self._claims: GroupCommit[_Claim, bool] = GroupCommit(
            "recipient-claims", self._write_claims, key=lambda claim: claim.recipient_id)

    async def close(self) -> None:
        """Wait for the claims in flight (the storage closes this before its engine)."""
        await self._claims.close()

    # ---- campaigns ----------------------------------------------------------------------------------

    async def create(self, values: dict[str, Any], rows: Sequence[Row], at: datetime) -> CampaignRecord:
        """Store a campaign and its recipients (all `pending`) in one transaction, in batches."""
        sql, build = _recipient_insert(self._engine.dialect)
        # Building 100,000 parameter rows takes a while: off the event loop, so it keeps serving.
        params = await asyncio.to_thread(build, values["id"], rows, at)
        async with self._engine.begin() as conn:
            await conn.execute(insert(campaigns).values(**values))
            for start in range(0, len(params), INSERT_BATCH):
                await conn.exec_driver_sql(sql, params[start:start + INSERT_BATCH])
        stored: dict[str, Any] = {name: values.get(name) for name in _CAMPAIGN_FIELDS}
        return CampaignRecord(**stored)

    async def get(self, campaign_id: str) -> CampaignRecord | None:
        async with self._engine.connect() as conn:
            row = (await conn.execute(select(campaigns).where(c.id == campaign_id))).first()
        return None if row is None else _campaign(row)

    async def page(self, status: str | None, session: str | None, before: tuple[datetime, str] | None,
                   limit: int) -> list[CampaignRecord]:
        """Newest first: at most `limit` campaigns created before the (created_at, id) `before`."""
        query = select(campaigns)
        if status is not None:
            query = query.where(c.status == status)
        if session is not None:
            query = query.where(c.session == session)
        if before is not None:
            at, cid = before
            query = query.where((c.created_at < at) | and_(c.created_at == at, c.id < cid))
        query = query.order_by(c.created_at.desc(), c.id.desc()).limit(limit)
        async with self._engine.connect() as conn:
            return [_campaign(row) for row in (await conn.execute(query)).all()]

    async def for_session(self, session: str, statuses: Iterable[str]) -> list[CampaignRecord]:
        """The session's campaigns in `statuses`, oldest first."""
        query = (select(campaigns).where(c.session == session, c.status.in_(sorted(statuses)))
                 .order_by(c.created_at, c.id))
        async with self._engine.connect() as conn:
            return [_campaign(row) for row in (await conn.execute(query)).all()]

    async def move(self, campaign_id: str, sources: Iterable[str], to: str, **values: Any) -> bool:
        """Set `to` (and `values`) if the campaign is in one of `sources`; False otherwise."""
        async with self._engine.begin() as conn:
            result = await conn.execute(
                update(campaigns).where(c.id == campaign_id, c.status.in_(sorted(sources)))
                .values(status=to, **values)
            )
        return result.rowcount == 1

    async def delete(self, campaign_id: str, sources: Iterable[str]) -> bool:
        """Remove the campaign and its recipients if it is in one of `sources`."""
        async with self._engine.begin() as conn:
            result = await conn.execute(delete(campaigns).where(c.id == campaign_id, c.status.in_(sorted(sources))))
        return result.rowcount == 1

    async def status_counts(self) -> dict[str, int]:
        """How many campaigns are in each status (statuses without a campaign are absent)."""
        query = select(c.status, func.count()).group_by(c.status)
        async with self._engine.connect() as conn:
            return {status: int(count) for status, count in (await conn.execute(query)).all()}

    async def counts(self, campaign_ids: Sequence[str]) -> dict[str, dict[str, int]]:
        """Recipients by status for each campaign."""
        found: dict[str, dict[str, int]] = {cid: {} for cid in campaign_ids}
        if not campaign_ids:
            return found
        query = (select(r.campaign_id, r.status, func.count()).where(r.campaign_id.in_(campaign_ids))
                 .group_by(r.campaign_id, r.status))
        async with self._engine.connect() as conn:
            for cid, status, count in (await conn.execute(query)).all():
                found[cid][status] = int(count)
        return found

    # ---- recipients ---------------------------------------------------------------------------------

    async def pending(self, campaign_id: str, after: int, limit: int) -> list[RecipientRecord]:
        """The next `pending` recipients in their order (ids above `after`)."""
        query = (select(campaign_recipients).where(r.campaign_id == campaign_id, r.status == PENDING, r.id > after)
                 .order_by(r.id).limit(limit))
        async with self._engine.connect() as conn:
            return [_recipient(row) for row in (await conn.execute(query)).all()]

    async def claim(self, recipient_id: int, campaign_id: str, at: datetime) -> bool:
        """pending → sending, only while the campaign is running: the one step that lets a message go.
        Returns once the claim committed (claims made at the same time are written together)."""
        return await self._claims.submit(_Claim(recipient_id, campaign_id, at))

    async def _write_claims(self, claims: Sequence[_Claim]) -> list[bool]:
        """One conditional UPDATE per campaign for the batch; which recipients it claimed."""
        by_campaign: dict[str, list[_Claim]] = {}
        for claim in claims:
            by_campaign.setdefault(claim.campaign_id, []).append(claim)
        claimed: set[int] = set()
        async with self._engine.begin() as conn:
            for campaign_id, group in by_campaign.items():
                running = exists().where(c.id == campaign_id, c.status == RUNNING)
                at = case(*((r.id == one.recipient_id, literal(one.at, UTCDateTime())) for one in group))
                result = await conn.execute(
                    update(campaign_recipients)
                    .where(r.id.in_([one.recipient_id for one in group]), r.status == PENDING, running)
                    .values(status=SENDING, attempted_at=at, updated_at=at, reason=None)
                    .returning(r.id)
                )
                claimed.update(int(row.id) for row in result)
        return [claim.recipient_id in claimed for claim in claims]

    async def skip(self, recipient_id: int, reason: str, at: datetime) -> bool:
        """pending → skipped with `reason`."""
        async with self._engine.begin() as conn:
            result = await conn.execute(
                update(campaign_recipients).where(r.id == recipient_id, r.status == PENDING)
                .values(status="skipped", reason=reason, updated_at=at)
            )
        return result.rowcount == 1

    async def skip_all_pending(self, campaign_id: str, reason: str, at: datetime) -> int:
        async with self._engine.begin() as conn:
            result = await conn.execute(
                update(campaign_recipients).where(r.campaign_id == campaign_id, r.status == PENDING)
                .values(status="skipped", reason=reason, updated_at=at)
            )
        return int(result.rowcount)

    async def apply(self, outcomes: Sequence[Outcome]) -> None:
        """Apply outcomes in one transaction; each only where it moves its recipient forward."""
        by_status: dict[str, list[dict[str, Any]]] = {}
        for outcome in outcomes:
            by_status.setdefault(outcome.status, []).append({
                "b_id": outcome.recipient_id, "b_reason": outcome.reason, "b_message": outcome.message_id,
                "b_at": outcome.at,
            })
        if not by_status:
            return
        async with self._engine.begin() as conn:
            for status, params in by_status.items():
                statement = (
                    update(campaign_recipients)
                    # Not IN (…): an expanding list cannot be part of an executemany.
                    .where(r.id == bindparam("b_id"), or_(*(r.status == s for s in sorted(RECIPIENT_FROM[status]))))
                    .values(status=status, reason=bindparam("b_reason"), updated_at=bindparam("b_at"),
                            message_id=func.coalesce(bindparam("b_message"), r.message_id))
                )
                await conn.execute(statement, params)

    async def has_open(self, campaign_id: str) -> bool:
        """True while a recipient is pending or sending."""
        query = select(r.id).where(r.campaign_id == campaign_id, r.status.in_((PENDING, SENDING))).limit(1)
        async with self._engine.connect() as conn:
            return (await conn.execute(query)).first() is not None

    async def in_flight(self, campaign_ids: Sequence[str]) -> list[InFlight]:
        """Recipients of these campaigns left `sending`, each with its newest logged message."""
        if not campaign_ids:
            return []
        async with self._engine.connect() as conn:
            rows = (await conn.execute(select(campaign_recipients).where(
                r.campaign_id.in_(campaign_ids), r.status == SENDING))).all()
            found = []
            for row in rows:
                recipient = _recipient(row)
                logged = (await conn.execute(
                    select(messages).where(messages.c.campaign_recipient_id == recipient.id)
                    .order_by(messages.c.id.desc()).limit(1))).first()
                message = None
                if logged is not None:
                    message = MessageRecord(**{name: logged._mapping[name] for name in _MESSAGE_FIELDS})
                found.append(InFlight(recipient, message))
        return found

    async def catch_up(self, campaign_ids: Sequence[str], at: datetime) -> None:
        """Move sent or delivered recipients to where their logged message has got since (an
        acknowledgement whose recipient update was lost in a crash)."""
        if not campaign_ids:
            return
        m = messages.c
        steps = ((READ, ("read", "played"), (SENT, DELIVERED)), (DELIVERED, ("delivered",), (SENT,)),
                 (R_FAILED, ("failed",), (SENT,)))
        async with self._engine.begin() as conn:
            for status, logged_as, sources in steps:
                logged = exists().where(m.id == r.message_id, m.status.in_(logged_as))
                values: dict[str, Any] = {"status": status, "updated_at": at}
                if status == R_FAILED:
                    values["reason"] = select(m.error).where(m.id == r.message_id).scalar_subquery()
                await conn.execute(
                    update(campaign_recipients)
                    .where(r.campaign_id.in_(campaign_ids), r.status.in_(sources), logged)
                    .values(**values)
                )

    async def queued_messages(self, campaign_ids: Sequence[str]) -> list[int]:
        """Ids of logged messages of these campaigns still `queued`."""
        if not campaign_ids:
            return []
        query = select(messages.c.id).where(messages.c.campaign_id.in_(campaign_ids), messages.c.status == "queued")
        async with self._engine.connect() as conn:
            return [int(mid) for mid in (await conn.scalars(query)).all()]

    async def history(self, campaign_id: str, since: datetime, limit: int) -> list[datetime]:
        """The latest `limit` send attempts since `since`, oldest first."""
        if limit <= 0:
            return []
        query = (select(r.attempted_at).where(r.campaign_id == campaign_id, r.attempted_at >= since)
                 .order_by(r.attempted_at.desc()).limit(limit))
        async with self._engine.connect() as conn:
            times = list((await conn.scalars(query)).all())
        return sorted(times)

    async def last_attempt(self, campaign_ids: Sequence[str]) -> datetime | None:
        if not campaign_ids:
            return None
        query = select(func.max(r.attempted_at)).where(r.campaign_id.in_(campaign_ids))
        async with self._engine.connect() as conn:
            last: datetime | None = (await conn.execute(query)).scalar()  # a UTCDateTime column
            return last

    async def recipients(self, campaign_id: str, status: str | None, after: int | None,
                         limit: int) -> list[RecipientRecord]:
        """In order: at most `limit` recipients with ids above `after`."""
        query = select(campaign_recipients).where(r.campaign_id == campaign_id)
        if status is not None:
            query = query.where(r.status == status)
        if after is not None:
            query = query.where(r.id > after)
        async with self._engine.connect() as conn:
            return [_recipient(row) for row in (await conn.execute(query.order_by(r.id).limit(limit))).all()]

    def stream(self, campaign_id: str, status: str | None, batch: int = 500
               ) -> AsyncIterator[Sequence[RecipientRecord]]:
        """Every recipient in order, in lists of at most `batch`, each read on a connection given back
        before it is yielded (`waqtor.storage.paging`)."""
        return keyset_pages(lambda after: self.recipients(campaign_id, status, after, batch),
                            lambda recipient: recipient.id, batch)
