"""Events that travel on the bus, and their JSON form on the wire.

An event is published once, gets a monotonically increasing `id` and a `timestamp` (ms since the
epoch) from the bus backend, and is delivered unchanged to every consumer (WebSocket clients,
webhooks). Its wire form is the WebSocket frame `{"type", "data", "id", "timestamp", "session"}`.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

SESSION_UPDATE = "session_update"
QR_CODE = "qr_code"
MESSAGE = "message"
MESSAGE_ACK = "message_ack"
MESSAGE_EDITED = "message_edited"
MESSAGE_REVOKED = "message_revoked"
MESSAGE_REACTION = "message_reaction"
PRESENCE_UPDATE = "presence_update"
POLL_VOTE = "poll_vote"
CAMPAIGN = "campaign"
WEBHOOK_DISABLED = "webhook_disabled"
SESSION_DELETED = "session_deleted"

# Names a client may subscribe to, in the order websocket/info lists them. (A webhook's `test` delivery
# is not among them: it goes to that one webhook only and never travels on the bus.)
EVENT_TYPES: tuple[str, ...] = (SESSION_UPDATE, QR_CODE, MESSAGE, MESSAGE_ACK, CAMPAIGN, WEBHOOK_DISABLED,
                                SESSION_DELETED, MESSAGE_EDITED, MESSAGE_REVOKED, MESSAGE_REACTION,
                                PRESENCE_UPDATE, POLL_VOTE)


@dataclass(frozen=True, slots=True)
class Event:
    """One published event; `session` is None for gateway-wide events."""

    id: int
    type: str
    session: str | None
    timestamp: int
    data: dict[str, Any] = field(default_factory=dict)

    def to_wire(self) -> dict[str, Any]:
        return {
            "type": self.type,
            "data": self.data,
            "id": self.id,
            "timestamp": self.timestamp,
            "session": self.session,
        }

    def to_json(self) -> str:
        return json.dumps(self.to_wire(), separators=(",", ":"), ensure_ascii=False)

    @classmethod
    def from_json(cls, raw: str | bytes) -> Event:
        obj = json.loads(raw)
        return cls(
            id=int(obj["id"]),
            type=str(obj["type"]),
            session=obj.get("session"),
            timestamp=int(obj["timestamp"]),
            data=obj.get("data") or {},
        )
