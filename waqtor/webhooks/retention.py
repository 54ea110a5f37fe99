"""How long the delivery log keeps finished deliveries.

Every event a webhook receives leaves a row with its exact body (`webhook_deliveries`), so the log can
be read, a delivery redelivered, and a receiver that was down caught up. Without an end that table
grows with every message. Deliveries that are finished, `delivered` or given up (`dead`), are removed
once they are older than `WAQTOR_WEBHOOK_RETENTION_DAYS` (30; 0 keeps them forever), by a sweep at
start and every hour, in batches. A delivery still waiting (`pending`, `delivering`, `failed` with a
retry due) is never removed, however old: nothing the gateway owes a receiver is dropped.
"""

from __future__ import annotations

import asyncio
import logging
from datetime import timedelta

from waqtor.clock import Clock
from waqtor.storage.webhooks import WebhookRepository
from waqtor.tasks import TaskSet
from waqtor.webhooks.model import delivery_id_floor

log = logging.getLogger(__name__)

SWEEP_EVERY = 3600.0  # seconds


class DeliveryRetention:
    def __init__(self, repo: WebhookRepository, days: int, clock: Clock, interval: float = SWEEP_EVERY) -> None:
        self._repo = repo
        self.days = days
        self._clock = clock
        self._interval = interval
        self._tasks = TaskSet("webhook-retention")

    async def start(self) -> None:
        if self.days > 0:
            self._tasks.spawn(self._run(), "sweep")

    async def stop(self) -> None:
        await self._tasks.close()

    async def sweep(self) -> int:
        """Remove the finished deliveries older than the retention; how many went."""
        if self.days <= 0:
            return 0
        cutoff = self._clock() - timedelta(days=self.days)
        removed = await self._repo.prune_finished(delivery_id_floor(cutoff))
        if removed:
            log.info("webhook delivery log: removed %d finished deliveries older than %d days", removed, self.days)
        return removed

    async def _run(self) -> None:
        while True:
            try:
                await self.sweep()
            except Exception:
                log.warning("webhook delivery log: the retention sweep failed; trying again later", exc_info=True)
            await asyncio.sleep(self._interval)
