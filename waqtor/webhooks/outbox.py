"""The outbox: every published event that a webhook wants becomes a delivery row before `publish()`
returns (`on_publish` is a bus publish hook), so nothing is attempted that was not first stored.

Which webhooks want what is decided in memory, from a list of enabled webhooks reloaded whenever the
API changes one and every `WAQTOR_WEBHOOK_REFRESH_INTERVAL` seconds (for changes made on other
instances). An event no webhook wants costs no database write.

When the database does not take the rows within `WAQTOR_WEBHOOK_OUTBOX_TIMEOUT` seconds (or fails),
the publish still succeeds: the rows are held in memory, up to `WAQTOR_WEBHOOK_OUTBOX_BUFFER` rows, and
a background flusher writes them, oldest first, with a growing pause between tries (0.2 s doubling to
10 s). While rows are held, new ones queue behind them rather than trying the database again, so a
database outage costs publishing one timeout, not one per event. When the buffer is full the oldest
held rows are dropped and logged (ERROR). Writing rows is idempotent (the same delivery id or the same
(webhook, event) pair is never inserted twice), so a write that failed after all, or timed out after
committing, is safely written again. What is still held at shutdown is written once more, and logged
as lost if that fails.
"""

from __future__ import annotations

import asyncio
import logging
from collections import deque
from collections.abc import Callable

from waqtor.clock import Clock
from waqtor.config import Settings
from waqtor.events import Event
from waqtor.storage.records import DeliveryRecord
from waqtor.storage.webhooks import WebhookRepository
from waqtor.tasks import TaskSet
from waqtor.webhooks.filters import Target, matching
from waqtor.webhooks.model import PENDING, event_payload, new_delivery_id

log = logging.getLogger(__name__)

FLUSH_BATCH = 500
FLUSH_FIRST_PAUSE = 0.2
FLUSH_MAX_PAUSE = 10.0


class Outbox:
    def __init__(
        self, repo: WebhookRepository, settings: Settings, clock: Clock, on_queued: Callable[[], None]
    ) -> None:
        self._repo = repo
        self._settings = settings
        self._clock = clock
        self._on_queued = on_queued
        self.targets: tuple[Target, ...] = ()
        self.held: deque[DeliveryRecord] = deque()
        self.dropped = 0
        self._flusher: asyncio.Task[None] | None = None
        self._refresh_lock = asyncio.Lock()
        self._tasks = TaskSet("webhook-outbox")

    async def start(self) -> None:
        await self.refresh()
        self._tasks.spawn(self._refresh_periodically(), "refresh")

    async def stop(self) -> None:
        await self._tasks.close()
        if self.held:
            rows = list(self.held)
            try:
                await self._write(rows)
                self.held.clear()
            except Exception:
                log.exception(
                    "webhook outbox: LOST %d delivery rows at shutdown (the database did not take "
                    "them); events %s",
                    len(rows),
                    _event_ids(rows),
                )

    async def refresh(self) -> None:
        """Reload the enabled webhooks from the database."""
        async with self._refresh_lock:
            self.targets = tuple(Target.of(webhook) for webhook in await self._repo.enabled())

    async def _refresh_periodically(self) -> None:
        while True:
            await asyncio.sleep(self._settings.webhook_refresh_interval)
            try:
                await self.refresh()
            except Exception:
                log.warning(
                    "webhook outbox: could not reload the webhook list; keeping the one it has", exc_info=True
                )

    # ---- the publish hook ---------------------------------------------------------------------------

    async def on_publish(self, event: Event) -> None:
        """Store a delivery row for each webhook that wants `event` (or hold the rows; see above)."""
        webhook_ids = matching(self.targets, event.type, event.session)
        if not webhook_ids:
            return
        now = self._clock()
        payload = event_payload(event)
        rows = [
            DeliveryRecord(
                id=new_delivery_id(now),
                webhook_id=webhook_id,
                event_id=event.id,
                event=event.type,
                session=event.session,
                payload=payload,
                status=PENDING,
                attempts=0,
                created_at=now,
                next_attempt_at=now,
            )
            for webhook_id in webhook_ids
        ]
        if self.held:
            self._hold(rows)
            return
        try:
            await self._write(rows)
        except Exception as exc:
            log.error(
                "webhook outbox: the database did not take the %d delivery rows of event %d (%s); "
                "holding them in memory and retrying",
                len(rows),
                event.id,
                _reason(exc),
            )
            self._hold(rows)
            return
        self._on_queued()

    async def _write(self, rows: list[DeliveryRecord]) -> None:
        async with asyncio.timeout(self._settings.webhook_outbox_timeout):
            await self._repo.enqueue(rows)

    def _hold(self, rows: list[DeliveryRecord]) -> None:
        limit = self._settings.webhook_outbox_buffer
        for row in rows:
            if len(self.held) >= limit:
                lost = self.held.popleft()
                self.dropped += 1
                if self.dropped == 1 or self.dropped % 1000 == 0:
                    log.error(
                        "webhook outbox: buffer full (%d rows): dropped the delivery of event %s to "
                        "webhook %s; %d dropped so far",
                        limit,
                        lost.event_id,
                        lost.webhook_id,
                        self.dropped,
                    )
            self.held.append(row)
        if self._flusher is None or self._flusher.done():
            self._flusher = self._tasks.spawn(self._flush(), "flush")

    async def _flush(self) -> None:
        pause = FLUSH_FIRST_PAUSE
        written = 0
        while self.held:
            await asyncio.sleep(pause)
            batch = [self.held[i] for i in range(min(FLUSH_BATCH, len(self.held)))]
            try:
                await self._write(batch)
            except Exception as exc:
                pause = min(pause * 2, FLUSH_MAX_PAUSE)
                log.warning(
                    "webhook outbox: still cannot write %d held delivery rows (%s); next try in %.1fs",
                    len(self.held),
                    _reason(exc),
                    pause,
                )
                continue
            # Rows may have been dropped from the front meanwhile: remove exactly those written.
            done = {row.id for row in batch}
            self.held = deque(row for row in self.held if row.id not in done)
            written += len(batch)
            pause = 0
            self._on_queued()
        log.warning("webhook outbox: the database is back; wrote %d held delivery rows", written)


def _reason(exc: BaseException) -> str:
    """The first line of an error: SQLAlchemy's next lines repeat the statement and its parameters,
    which hold the events' data."""
    first = (str(exc).strip().splitlines() or [""])[0]
    return f"{type(exc).__name__}: {first[:200]}"


def _event_ids(rows: list[DeliveryRecord]) -> str:
    ids = sorted({row.event_id for row in rows if row.event_id is not None})
    return ", ".join(map(str, ids[:50])) + (" …" if len(ids) > 50 else "")
