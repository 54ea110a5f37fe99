"""The JSON form of campaigns and recipients: API answers, `campaign` events and the CSV export. Pure."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from waqtor.campaigns import model
from waqtor.campaigns.definition import throttle_of
from waqtor.campaigns.throttle import estimate_seconds
from waqtor.clock import iso_ms
from waqtor.storage.records import CampaignRecord, RecipientRecord


def _iso(value: datetime | None) -> str | None:
    return None if value is None else iso_ms(value)


def summary(record: CampaignRecord, found: Mapping[str, int], session_interval: float = 0.0) -> dict[str, Any]:
    """Counts by status, percent done and an estimate of the seconds left (None once nothing is left
    to send, or while the campaign is not going to send: draft or final)."""
    counts = model.counts_of(found)
    left = model.remaining(counts)
    eta: float | None = None
    if left and record.status not in model.FINAL and record.status != model.DRAFT:
        eta = round(estimate_seconds(throttle_of(record.throttle), left, session_interval), 1)
    return {"total": record.total, "counts": counts, "percent": model.percent(counts), "etaSeconds": eta}


def campaign_view(record: CampaignRecord, found: Mapping[str, int], session_interval: float = 0.0,
                  media: dict[str, Any] | None = None) -> dict[str, Any]:
    """A campaign as the API answers it."""
    reason = None
    if record.reason_code is not None:
        reason = {
            "code": record.reason_code,
            "message": record.reason_message or record.reason_code,
            "at": _iso(record.reason_at),
            "resumesByItself": record.status == model.PAUSED and model.resumes_by_itself(record.reason_code),
        }
    return {
        "id": record.id,
        "name": record.name,
        "session": record.session,
        "status": record.status,
        "reason": reason,
        "message": {"type": record.message.get("type", "text"), "text": record.message.get("text"), "media": media},
        "schedule": {"startAt": _iso(record.start_at), "window": record.window},
        "throttle": record.throttle,
        "options": record.options,
        "variables": record.variables,
        **summary(record, found, session_interval),
        "createdAt": iso_ms(record.created_at),
        "updatedAt": iso_ms(record.updated_at),
        "startedAt": _iso(record.started_at),
        "finishedAt": _iso(record.finished_at),
    }


def recipient_view(record: RecipientRecord) -> dict[str, Any]:
    return {
        "id": record.id,
        "row": record.source_row,
        "phone": record.phone,
        "name": record.name,
        "variables": record.variables,
        "status": record.status,
        "reason": record.reason,
        "messageId": record.message_id,
        "attemptedAt": _iso(record.attempted_at),
        "updatedAt": _iso(record.updated_at),
    }


def phone_of(jid: str) -> str:
    """`4915112345678@s.whatsapp.net` → `+4915112345678` (a group id stays as it is)."""
    user, _, domain = jid.partition("@")
    return "+" + user if domain == "s.whatsapp.net" else jid


EXPORT_COLUMNS: tuple[str, ...] = ("row", "phone", "name", "status", "reason", "messageId", "attemptedAt",
                                   "updatedAt")


def export_header(variables: list[str]) -> list[str]:
    return [*EXPORT_COLUMNS, *variables]


def export_row(record: RecipientRecord, variables: list[str]) -> list[Any]:
    view = recipient_view(record)
    cells = ["" if view[column] is None else view[column] for column in EXPORT_COLUMNS]
    return [*cells, *(record.variables.get(name, "") for name in variables)]
