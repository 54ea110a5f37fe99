"""`Webhooks`: what the API and the lifespan use. Owns the outbox (registered as a bus publish hook),
the sender and the delivery log's retention; checks what callers register; disables a webhook that
keeps failing and publishes `webhook_disabled`.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from waqtor import events
from waqtor.bus import Bus
from waqtor.clock import Clock
from waqtor.config import Settings
from waqtor.errors import Conflict, InvalidInput, NotFound
from waqtor.storage.records import DeliveryRecord, WebhookRecord
from waqtor.storage.webhooks import WebhookRepository
from waqtor.webhooks.guard import Origin, points_at_gateway
from waqtor.webhooks.model import PENDING, TEST_EVENT, new_delivery_id, new_webhook_id, payload_for_test
from waqtor.webhooks.outbox import Outbox
from waqtor.webhooks.retention import DeliveryRetention
from waqtor.webhooks.sender import Sender
from waqtor.webhooks.signer import new_secret

log = logging.getLogger(__name__)

API_DISABLED = "disabled through the API"


def _shown(url: str) -> str:
    """The URL for a log line: no credentials, no query (either may hold the receiver's token)."""
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.hostname}{f':{parts.port}' if parts.port else ''}{parts.path}"


@dataclass(frozen=True, slots=True)
class Standing:
    """A webhook and how many deliveries it still owes its receiver."""

    webhook: WebhookRecord
    waiting: int


class Webhooks:
    def __init__(self, settings: Settings, repo: WebhookRepository, bus: Bus, clock: Clock) -> None:
        self._settings = settings
        self._repo = repo
        self._bus = bus
        self._clock = clock
        self.outbox = Outbox(repo, settings, clock, on_queued=self._wake_sender)
        self.sender = Sender(settings, repo, clock, on_dead=self._gave_up)
        self.retention = DeliveryRetention(repo, settings.webhook_retention_days, clock)
        self._remove_hook: Callable[[], None] | None = None

    async def start(self) -> None:
        await self.outbox.start()
        self._remove_hook = self._bus.add_publish_hook(self.outbox.on_publish)
        await self.sender.start()
        await self.retention.start()

    async def stop(self) -> None:
        await self.retention.stop()
        await self.sender.stop()
        if self._remove_hook is not None:
            self._remove_hook()
            self._remove_hook = None
        await self.outbox.stop()

    def _wake_sender(self) -> None:
        self.sender.wake()

    async def _changed(self) -> None:
        await self.outbox.refresh()
        self.sender.wake()

    # ---- registration -------------------------------------------------------------------------------

    async def _refuse_self(self, url: str, origin: Origin) -> None:
        if await points_at_gateway(url, origin):
            raise InvalidInput(
                f"{url} points at this gateway itself; a webhook must call another service",
                code="webhook_points_at_gateway",
            )

    async def create(
        self,
        *,
        url: str,
        events: tuple[str, ...],
        sessions: tuple[str, ...],
        secret: str | None,
        enabled: bool,
        headers: dict[str, str],
        origin: Origin,
    ) -> WebhookRecord:
        """Register a webhook (values already checked by `waqtor.webhooks.model`); the answer is the only
        place its secret is shown."""
        await self._refuse_self(url, origin)
        now = self._clock()
        webhook = WebhookRecord(
            id=new_webhook_id(),
            url=url,
            events=events,
            sessions=sessions,
            secret=secret or new_secret(),
            enabled=enabled,
            headers=headers,
            created_at=now,
            disabled_reason=None if enabled else API_DISABLED,
            disabled_at=None if enabled else now,
        )
        await self._repo.create(webhook)
        await self._changed()
        log.info("webhook %s registered for %s (events %s)", webhook.id, _shown(url), ",".join(events))
        return webhook

    async def all(self) -> list[WebhookRecord]:
        return await self._repo.list()

    async def waiting(self, webhooks: list[WebhookRecord]) -> dict[str, int]:
        """How many deliveries each webhook still owes its receiver (absent: none)."""
        return await self._repo.waiting([webhook.id for webhook in webhooks])

    async def standings(self) -> list[Standing]:
        """Every webhook, with what it still owes."""
        found = await self.all()
        waiting = await self.waiting(found)
        return [Standing(webhook, waiting.get(webhook.id, 0)) for webhook in found]

    async def standing(self, webhook_id: str) -> Standing:
        """The webhook with what it still owes; NotFound (`webhook_not_found`)."""
        return await self._standing(await self.get(webhook_id))

    async def _standing(self, webhook: WebhookRecord) -> Standing:
        return Standing(webhook, (await self.waiting([webhook])).get(webhook.id, 0))

    async def get(self, webhook_id: str) -> WebhookRecord:
        webhook = await self._repo.get(webhook_id)
        if webhook is None:
            raise NotFound(f"webhook {webhook_id!r} does not exist", code="webhook_not_found")
        return webhook

    async def update(self, webhook_id: str, changes: dict[str, Any], origin: Origin) -> Standing:
        """Change a webhook; it as it stands then. Enabling it clears its failure count and disabled
        reason, and its deliveries held while it was disabled go out."""
        current = await self.get(webhook_id)
        if "url" in changes and changes["url"] != current.url:
            await self._refuse_self(changes["url"], origin)
        if "enabled" in changes and changes["enabled"] != current.enabled:
            if changes["enabled"]:
                changes.update(consecutive_failures=0, disabled_reason=None, disabled_at=None)
            else:
                changes.update(disabled_reason=API_DISABLED, disabled_at=self._clock())
        updated = await self._repo.update(webhook_id, **changes)
        if updated is None:
            raise NotFound(f"webhook {webhook_id!r} does not exist", code="webhook_not_found")
        await self._changed()
        return await self._standing(updated)

    async def delete(self, webhook_id: str) -> None:
        """Delete a webhook and its delivery log; what is queued for it is never sent."""
        if not await self._repo.delete(webhook_id):
            raise NotFound(f"webhook {webhook_id!r} does not exist", code="webhook_not_found")
        await self._changed()
        log.info("webhook %s deleted", webhook_id)

    # ---- deliveries ---------------------------------------------------------------------------------

    async def _enabled(self, webhook_id: str) -> WebhookRecord:
        webhook = await self.get(webhook_id)
        if not webhook.enabled:
            raise Conflict(
                f"webhook {webhook_id} is disabled ({webhook.disabled_reason}); enable it first with "
                'PATCH {"enabled": true}',
                code="webhook_disabled",
            )
        return webhook

    async def send_test(self, webhook_id: str) -> DeliveryRecord:
        """Queue a `test` delivery to this webhook only, through the outbox and sender like any other."""
        webhook = await self._enabled(webhook_id)
        now = self._clock()
        row = DeliveryRecord(
            id=new_delivery_id(now),
            webhook_id=webhook.id,
            event_id=None,
            event=TEST_EVENT,
            session=None,
            payload=payload_for_test(webhook.id, now),
            status=PENDING,
            attempts=0,
            created_at=now,
            next_attempt_at=now,
        )
        await self._repo.enqueue([row])
        self.sender.wake()
        return row

    async def deliveries(
        self, webhook_id: str, *, status: str | None, before: str | None, limit: int
    ) -> list[DeliveryRecord]:
        await self.get(webhook_id)
        return await self._repo.deliveries(webhook_id, status=status, before=before, limit=limit)

    async def redeliver(self, webhook_id: str, delivery_id: str) -> DeliveryRecord:
        """Send a delivery again now: same delivery id and body, attempts counted afresh."""
        await self._enabled(webhook_id)
        delivery = await self._repo.redeliver(webhook_id, delivery_id, self._clock())
        if delivery is None:
            raise NotFound(f"webhook {webhook_id} has no delivery {delivery_id!r}", code="delivery_not_found")
        self.sender.wake()
        return delivery

    async def _gave_up(self, webhook_id: str) -> None:
        """A delivery of this webhook was given up: past the limit in a row, disable the webhook."""
        count = await self._repo.record_dead(webhook_id)
        limit = self._settings.webhook_disable_after
        if count < limit:
            return
        reason = f"{count} deliveries in a row failed (WAQTOR_WEBHOOK_DISABLE_AFTER is {limit})"
        if not await self._repo.disable(webhook_id, reason, self._clock()):
            return
        webhook = await self._repo.get(webhook_id)
        log.error("webhook %s disabled: %s", webhook_id, reason)
        await self._changed()
        await self._bus.publish(
            events.WEBHOOK_DISABLED,
            {
                "webhook": webhook_id,
                "url": webhook.url if webhook else None,
                "reason": reason,
                "consecutiveFailures": count,
            },
        )
