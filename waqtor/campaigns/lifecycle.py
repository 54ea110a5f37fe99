"""The one place that changes a campaign's status: it checks the move (model.ACTIONS), writes it as a
conditional UPDATE (so racing callers, on any instance, cannot both win), and publishes the event."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sqlalchemy import func

from waqtor.campaigns import model
from waqtor.campaigns.notify import CampaignEvents
from waqtor.clock import Clock
from waqtor.errors import NotFound
from waqtor.storage.campaigns import CampaignRepository
from waqtor.storage.records import CampaignRecord
from waqtor.storage.tables import campaigns

KINDS = {"start": "started", "begin": "started", "pause": "paused", "resume": "resumed", "cancel": "cancelled",
         "complete": "completed", "fail": "failed"}


def not_found(campaign_id: str) -> NotFound:
    return NotFound(f"no campaign with id {campaign_id!r}", code="campaign_not_found")


class Lifecycle:
    def __init__(self, repo: CampaignRepository, events: CampaignEvents, clock: Clock,
                 changed: Callable[[str], None]) -> None:
        self._repo = repo
        self._events = events
        self._clock = clock
        self._changed = changed

    async def move(self, campaign_id: str, action: str, *, to: str | None = None, reason: str | None = None,
                   message: str | None = None) -> CampaignRecord:
        """Apply `action` to the campaign and return it as it now stands. NotFound
        (`campaign_not_found`); IllegalTransition (409) with the current status when the move is not
        allowed from it. `to` replaces the action's usual target (SCHEDULED for a start time ahead)."""
        sources, usual = model.ACTIONS[action]
        target = to or usual
        now = self._clock()
        values: dict[str, Any] = {"updated_at": now, "reason_code": reason, "reason_message": message,
                                  "reason_at": now if reason else None}
        if target == model.RUNNING:
            values["started_at"] = func.coalesce(campaigns.c.started_at, now)
        if target in model.FINAL:
            values["finished_at"] = now
        if not await self._repo.move(campaign_id, sources, target, **values):
            current = await self._repo.get(campaign_id)
            if current is None:
                raise not_found(campaign_id)
            model.target(action, current.status)  # raises: the campaign is not where the action starts
            return await self.move(campaign_id, action, to=to, reason=reason, message=message)  # it just got there
        record = await self._repo.get(campaign_id)
        if record is None:  # deleted in between
            raise not_found(campaign_id)
        if target == model.CANCELLED:
            await self._repo.skip_all_pending(campaign_id, "cancelled: the campaign was cancelled", now)
        kind = "scheduled" if target == model.SCHEDULED and action == "start" else KINDS[action]
        self._changed(record.session)
        await self._events.lifecycle(kind, record)
        return record
