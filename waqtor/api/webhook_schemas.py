"""Request and response shapes of `/api/webhooks`; the checks are `waqtor.webhooks.model`'s."""

from __future__ import annotations

from typing import Any, Literal, get_args

from pydantic import BaseModel, ConfigDict, Field, field_validator

from waqtor.clock import iso_ms
from waqtor.events import EVENT_TYPES
from waqtor.storage.records import DeliveryRecord, WebhookRecord
from waqtor.webhooks import model

DeliveryStatus = Literal["pending", "delivering", "delivered", "failed", "dead"]
assert set(get_args(DeliveryStatus)) == set(model.STATUSES)

_EVENTS_HELP = f"Event names ({', '.join(EVENT_TYPES)}) or `all`."


class _Checked(BaseModel):
    model_config = ConfigDict(extra="forbid")

    @field_validator("url", check_fields=False)
    @classmethod
    def _url(cls, value: str | None) -> str | None:
        return None if value is None else model.check_url(value)

    @field_validator("events", check_fields=False)
    @classmethod
    def _events(cls, value: list[str] | None) -> list[str] | None:
        return None if value is None else list(model.check_events(value))

    @field_validator("sessions", check_fields=False)
    @classmethod
    def _sessions(cls, value: list[str] | None) -> list[str] | None:
        return None if value is None else list(model.check_sessions(value))

    @field_validator("headers", check_fields=False)
    @classmethod
    def _headers(cls, value: dict[str, str] | None) -> dict[str, str] | None:
        return None if value is None else model.check_headers(value)


class WebhookIn(_Checked):
    url: str = Field(
        max_length=model.MAX_URL, description="Where to POST events: an http:// or https:// URL."
    )
    events: list[str] = Field(default_factory=lambda: [model.ALL], max_length=64, description=_EVENTS_HELP)
    sessions: list[str] = Field(
        default_factory=lambda: [model.ALL], max_length=256, description="Session names, or `all`."
    )
    secret: str | None = Field(
        None,
        min_length=16,
        max_length=256,
        pattern=r"^[\x21-\x7e]+$",
        description="Signing secret (printable ASCII); generated when left out.",
    )
    enabled: bool = True
    headers: dict[str, str] = Field(default_factory=dict, description="Extra request headers.")


class WebhookPatch(_Checked):
    url: str | None = Field(None, max_length=model.MAX_URL)
    events: list[str] | None = Field(None, max_length=64, description=_EVENTS_HELP)
    sessions: list[str] | None = Field(None, max_length=256)
    secret: str | None = Field(
        None,
        min_length=16,
        max_length=256,
        pattern=r"^[\x21-\x7e]+$",
        description="A new signing secret; deliveries sent from now on use it.",
    )
    enabled: bool | None = Field(None, description="`true` re-enables a disabled webhook.")
    headers: dict[str, str] | None = Field(None, description="Replaces the extra headers.")

    def changes(self) -> dict[str, Any]:
        return {name: value for name, value in self.model_dump().items() if value is not None}


class WebhookOut(BaseModel):
    id: str
    url: str
    events: list[str]
    sessions: list[str]
    enabled: bool
    headers: dict[str, str]
    createdAt: str
    consecutiveFailures: int = Field(description="Deliveries given up in a row; reset by a success.")
    disabledReason: str | None
    disabledAt: str | None
    waiting: int = Field(description="Deliveries still owed to the receiver: pending, being delivered, or "
                                     "failed with a retry due. A number that keeps growing means the "
                                     "receiver is not keeping up (or is down).")


class WebhookCreatedOut(WebhookOut):
    secret: str = Field(description="The signing secret. Shown here once; store it now.")


class DeliveryOut(BaseModel):
    id: str = Field(description="Stable delivery id, sent as X-Waqtor-Delivery.")
    webhookId: str
    eventId: int | None = Field(description="The bus event id; null for a test delivery.")
    event: str
    session: str | None
    status: DeliveryStatus
    attempts: int
    createdAt: str
    lastAttemptAt: str | None
    lastStatusCode: int | None
    lastError: str | None
    nextAttemptAt: str | None


class DeliveryPage(BaseModel):
    deliveries: list[DeliveryOut]
    next: str | None = Field(description="Pass as `before` for the next (older) page; null on the last.")


class DeletedOut(BaseModel):
    id: str
    deleted: bool


def _iso(value: Any) -> str | None:
    return None if value is None else iso_ms(value)


def webhook_view(webhook: WebhookRecord, *, waiting: int = 0, with_secret: bool = False) -> dict[str, Any]:
    view = {
        "id": webhook.id,
        "url": webhook.url,
        "events": list(webhook.events),
        "sessions": list(webhook.sessions),
        "enabled": webhook.enabled,
        "headers": webhook.headers,
        "createdAt": iso_ms(webhook.created_at),
        "consecutiveFailures": webhook.consecutive_failures,
        "disabledReason": webhook.disabled_reason,
        "disabledAt": _iso(webhook.disabled_at),
        "waiting": waiting,
    }
    if with_secret:
        view["secret"] = webhook.secret
    return view


def delivery_view(delivery: DeliveryRecord) -> dict[str, Any]:
    return {
        "id": delivery.id,
        "webhookId": delivery.webhook_id,
        "eventId": delivery.event_id,
        "event": delivery.event,
        "session": delivery.session,
        "status": delivery.status,
        "attempts": delivery.attempts,
        "createdAt": iso_ms(delivery.created_at),
        "lastAttemptAt": _iso(delivery.last_attempt_at),
        "lastStatusCode": delivery.last_status_code,
        "lastError": delivery.last_error,
        "nextAttemptAt": _iso(delivery.next_attempt_at),
    }
