"""`campaign` events: what happened to a campaign, published on its session.

`data.kind` is one of `started`, `progress`, `recipient`, `paused`, `resumed`, `completed`,
`cancelled`, `failed`; every event carries `campaignId`. Lifecycle events carry the campaign's name,
status and reason (`paused` and `failed` say why); `recipient` carries one recipient's new status;
`progress` the counts by status, the percent done and the estimated seconds left.

Progress is coalesced: a change asks for a progress event, and each campaign gets at most one every
`interval` seconds (2 a second by default), with the counts as they stand when it is sent; a change
made while one is being counted asks for the next, so the last event always has the final counts.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import Any

from waqtor import events
from waqtor.bus import Bus
from waqtor.campaigns.views import summary
from waqtor.storage.campaigns import CampaignRepository
from waqtor.storage.records import CampaignRecord
from waqtor.tasks import TaskSet

log = logging.getLogger(__name__)

PROGRESS_INTERVAL = 0.5


class CampaignEvents:
    def __init__(self, bus: Bus, repo: CampaignRepository, before_count: Callable[[], Awaitable[None]],
                 session_interval: float = 0.0, interval: float = PROGRESS_INTERVAL) -> None:
        self._bus = bus
        self._repo = repo
        self._before_count = before_count
        self._session_interval = session_interval
        self._interval = interval
        self._last: dict[str, float] = {}
        self._due: set[str] = set()
        self._dirty: set[str] = set()
        self._tasks = TaskSet("campaign-progress")

    async def lifecycle(self, kind: str, record: CampaignRecord, **extra: Any) -> None:
        """Publish `kind` (started, paused, resumed, completed, cancelled, failed) for `record` as it now
        stands, and ask for a progress event (coalesced like the others)."""
        reason = None
        if record.reason_code is not None and kind in ("paused", "failed"):
            reason = {"code": record.reason_code, "message": record.reason_message or record.reason_code}
        data = {"kind": kind, "campaignId": record.id, "name": record.name, "status": record.status,
                "reason": reason, **extra}
        await self._bus.publish(events.CAMPAIGN, data, session=record.session)
        self.progress(record.id)

    async def recipient(self, session: str, campaign_id: str, recipient_id: int, phone: str, status: str,
                        reason: str | None = None, message_id: int | None = None) -> None:
        await self._bus.publish(
            events.CAMPAIGN,
            {"kind": "recipient", "campaignId": campaign_id, "recipientId": recipient_id, "phone": phone,
             "status": status, "reason": reason, "messageId": message_id},
            session=session,
        )
        self.progress(campaign_id)

    def progress(self, campaign_id: str) -> None:
        """Ask for a progress event of the campaign: now, or when its interval has passed."""
        if campaign_id in self._due:
            self._dirty.add(campaign_id)  # counted again once the one under way is out
            return
        loop = asyncio.get_running_loop()
        delay = max(0.0, self._last.get(campaign_id, float("-inf")) + self._interval - loop.time())
        self._due.add(campaign_id)
        self._tasks.spawn(self._later(campaign_id, delay), f"progress[{campaign_id}]")

    async def _later(self, campaign_id: str, delay: float) -> None:
        await asyncio.sleep(delay)
        self._dirty.discard(campaign_id)
        try:
            await self._publish(campaign_id)
        finally:
            self._last[campaign_id] = asyncio.get_running_loop().time()
            self._due.discard(campaign_id)
            if campaign_id in self._dirty:
                self._dirty.discard(campaign_id)
                self.progress(campaign_id)

    async def _publish(self, campaign_id: str) -> None:
        try:
            await self._before_count()
            record = await self._repo.get(campaign_id)
            if record is None:
                return
            found = (await self._repo.counts([campaign_id]))[campaign_id]
        except Exception:
            log.exception("campaign %s: could not count its recipients for a progress event", campaign_id)
            return
        await self._bus.publish(
            events.CAMPAIGN,
            {"kind": "progress", "campaignId": campaign_id, "status": record.status,
             **summary(record, found, self._session_interval)},
            session=record.session,
        )

    async def close(self) -> None:
        await self._tasks.close()
        self._due.clear()
