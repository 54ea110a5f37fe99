"""A campaign's stored settings (their API form, kept as JSON) as the pure values the throttle uses.

Stored forms:

- throttle: `{"minDelay", "maxDelay", "perMinute", "perHour", "perDay"}` (seconds; a cap may be null)
- window:   `{"start": "09:00", "end": "18:00", "timezone": "Europe/Berlin", "days": ["mon", …]}`
- options:  `{"checkWhatsApp": bool, "stopAfterFailures": int | null}`
- message:  `{"type": "text" | "image" | "video" | "audio" | "document", "text": str | null, "mediaId": str | null}`
"""

from __future__ import annotations

from datetime import time
from typing import Any, Literal
from zoneinfo import ZoneInfo

from waqtor.campaigns.throttle import Schedule, Throttle, Window
from waqtor.storage.records import CampaignRecord

Day = Literal["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
DAY_NAMES: tuple[Day, ...] = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
DEFAULT_THROTTLE = Throttle()
DEFAULT_STOP_AFTER = 10


def throttle_json(throttle: Throttle) -> dict[str, Any]:
    return {"minDelay": throttle.min_delay, "maxDelay": throttle.max_delay, "perMinute": throttle.per_minute,
            "perHour": throttle.per_hour, "perDay": throttle.per_day}


def throttle_of(stored: dict[str, Any]) -> Throttle:
    return Throttle(min_delay=float(stored["minDelay"]), max_delay=float(stored["maxDelay"]),
                    per_minute=stored.get("perMinute"), per_hour=stored.get("perHour"), per_day=stored.get("perDay"))


def parse_time(value: str) -> time:
    """`HH:MM` (24-hour) as a time; ValueError otherwise."""
    hours, sep, minutes = value.partition(":")
    if not (sep and hours.isdigit() and minutes.isdigit() and len(minutes) == 2 and 1 <= len(hours) <= 2):
        raise ValueError(f"{value!r} is not a time of day as HH:MM")
    return time(int(hours), int(minutes))


def window_of(stored: dict[str, Any] | None) -> Window | None:
    if not stored:
        return None
    days = frozenset(DAY_NAMES.index(day) + 1 for day in stored.get("days") or DAY_NAMES)
    return Window(start=parse_time(stored["start"]), end=parse_time(stored["end"]),
                  zone=ZoneInfo(stored["timezone"]), days=days)


def schedule_of(record: CampaignRecord) -> Schedule:
    return Schedule(start_at=record.start_at, window=window_of(record.window))


def stop_after(record: CampaignRecord) -> int | None:
    value = record.options.get("stopAfterFailures", DEFAULT_STOP_AFTER)
    return int(value) if value else None


def checks_whatsapp(record: CampaignRecord) -> bool:
    return bool(record.options.get("checkWhatsApp", False))
