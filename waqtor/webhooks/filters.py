"""Which webhooks want an event (pure): the same rules as a WebSocket subscription.

A webhook names event types (or `all`) and sessions (or `all`); an event about no session (gateway-wide,
like `webhook_disabled`) passes every sessions filter.
"""

from __future__ import annotations

from dataclasses import dataclass

from waqtor.storage.records import WebhookRecord
from waqtor.webhooks.model import ALL


@dataclass(frozen=True, slots=True)
class Target:
    webhook_id: str
    events: frozenset[str] | None  # None: every event
    sessions: frozenset[str] | None  # None: every session

    @classmethod
    def of(cls, webhook: WebhookRecord) -> Target:
        return cls(
            webhook_id=webhook.id,
            events=None if ALL in webhook.events else frozenset(webhook.events),
            sessions=None if ALL in webhook.sessions else frozenset(webhook.sessions),
        )

    def wants(self, type: str, session: str | None) -> bool:
        if self.events is not None and type not in self.events:
            return False
        return session is None or self.sessions is None or session in self.sessions


def matching(targets: tuple[Target, ...], type: str, session: str | None) -> list[str]:
    """Ids of the webhooks among `targets` that want an event of `type` about `session`."""
    return [target.webhook_id for target in targets if target.wants(type, session)]
