"""Plain records the repositories return."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any


@dataclass(frozen=True, slots=True)
class SessionRecord:
    name: str
    engine: str
    created_at: datetime
    config: dict[str, Any] = field(default_factory=dict)
    desired: str = "running"  # or "stopped"


@dataclass(frozen=True, slots=True)
class WebhookRecord:
    id: str
    url: str
    events: tuple[str, ...]
    sessions: tuple[str, ...]
    secret: str
    enabled: bool
    headers: dict[str, str]
    created_at: datetime
    consecutive_failures: int = 0
    disabled_reason: str | None = None
    disabled_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class DeliveryRecord:
    id: str
    webhook_id: str
    event_id: int | None
    event: str
    session: str | None
    payload: str
    status: str
    attempts: int
    created_at: datetime
    next_attempt_at: datetime | None
    last_attempt_at: datetime | None = None
    last_status_code: int | None = None
    last_error: str | None = None
    lease_owner: str | None = None
    lease_expires_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class ClaimedDelivery:
    """A delivery one sender holds under a lease, with what it needs of its webhook to send it."""

    delivery: DeliveryRecord
    url: str
    secret: str
    headers: dict[str, str]


@dataclass(frozen=True, slots=True)
class MediaRecord:
    """A stored file: `path` is relative to `<data dir>/media`; `deleted_at` is set once retention
    removed the file."""

    id: str
    kind: str
    mimetype: str
    size: int
    file_name: str
    path: str
    sha256: str
    created_at: datetime
    deleted_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class MessageRecord:
    """One row of the message log (table `messages`), with its media when it has some."""

    id: int
    session: str
    direction: str
    chat: str
    sender: str | None
    type: str
    text: str | None
    status: str
    timestamp: datetime
    created_at: datetime
    media: MediaRecord | None = None
    content: dict[str, Any] | None = None
    wa_id: str | None = None
    reply_to: str | None = None
    push_name: str | None = None
    error: str | None = None
    campaign_id: str | None = None
    campaign_recipient_id: int | None = None
    queued_at: datetime | None = None
    sent_at: datetime | None = None
    delivered_at: datetime | None = None
    read_at: datetime | None = None
    played_at: datetime | None = None
    failed_at: datetime | None = None
    source: str | None = None
    edited_at: datetime | None = None
    edits: list[dict[str, Any]] | None = None
    revoked_at: datetime | None = None
    revoked_by: str | None = None
    reply_to_id: int | None = None
    reactions: list[dict[str, Any]] | None = None


@dataclass(frozen=True, slots=True)
class CampaignRecord:
    """One row of `campaigns`; `message`, `window`, `throttle` and `options` are in their API form."""

    id: str
    name: str
    session: str
    status: str
    message: dict[str, Any]
    throttle: dict[str, Any]
    options: dict[str, Any]
    variables: list[str]
    report: dict[str, Any]
    total: int
    created_at: datetime
    updated_at: datetime
    start_at: datetime | None = None
    window: dict[str, Any] | None = None
    reason_code: str | None = None
    reason_message: str | None = None
    reason_at: datetime | None = None
    started_at: datetime | None = None
    finished_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class RecipientRecord:
    """One row of `campaign_recipients`."""

    id: int
    campaign_id: str
    source_row: int
    phone: str
    jid: str
    name: str | None
    variables: dict[str, Any]
    status: str
    reason: str | None = None
    message_id: int | None = None
    attempted_at: datetime | None = None
    updated_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class KeyRecord:
    """An API key as stored: its hash, never the key."""

    id: str
    name: str
    prefix: str
    hash: str
    scopes: tuple[str, ...]
    sessions: tuple[str, ...] | None  # None: every session
    created_at: datetime
    expires_at: datetime | None = None
    last_used_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class TicketRecord:
    """What a WebSocket ticket carries: the identity of the key it was issued to (None: the gateway's key)."""

    key_id: str | None
    scopes: tuple[str, ...]
    sessions: tuple[str, ...] | None
    expires_at: datetime
