"""Webhooks in plain values (pure): delivery statuses, ids, the checks on what a caller registers, and
the body every delivery sends.

A check raises ValueError with a message naming the offending value; the API turns it into a 422.
"""

from __future__ import annotations

import json
import re
import secrets
from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any
from urllib.parse import urlsplit

from waqtor.events import EVENT_TYPES, Event

PENDING = "pending"  # waiting for its first attempt (or a redelivery)
DELIVERING = "delivering"  # claimed by one sender, under a lease
DELIVERED = "delivered"  # the receiver answered 2xx
FAILED = "failed"  # the last attempt failed; another is due at next_attempt_at
DEAD = "dead"  # given up: a 4xx other than 408/429, or the last allowed attempt failed
STATUSES = (PENDING, DELIVERING, DELIVERED, FAILED, DEAD)

ALL = "all"
TEST_EVENT = "test"

MAX_URL = 2048
MAX_HEADERS = 20
MAX_HEADER_VALUE = 1024
MAX_SESSION_NAME = 64

# Ours, or the transport's: a caller's extra header may not replace them.
RESERVED_HEADERS = frozenset(
    {
        "content-type",
        "content-length",
        "content-encoding",
        "host",
        "transfer-encoding",
        "connection",
        "keep-alive",
        "te",
        "trailer",
        "upgrade",
        "expect",
        "proxy-connection",
    }
)
_TOKEN = re.compile(r"^[!#$%&'*+.^_`|~0-9A-Za-z-]{1,64}$")
_CONTROL = re.compile(r"[\x00-\x08\x0a-\x1f\x7f]")


def new_webhook_id() -> str:
    return "wh_" + secrets.token_hex(8)


def new_delivery_id(now: datetime) -> str:
    """`dlv_`, the creation time in ms (12 hex digits) and 64 random bits: unique across instances and
    ordered by creation, so the delivery log pages by id."""
    return f"{delivery_id_floor(now)}{secrets.token_hex(8)}"


def delivery_id_floor(moment: datetime) -> str:
    """A string every delivery id made at `moment` or later sorts after, and every earlier one before."""
    return f"dlv_{int(moment.timestamp() * 1000):012x}"


def check_url(url: str) -> str:
    """An absolute http or https URL with a host, at most 2048 characters."""
    url = url.strip()
    if len(url) > MAX_URL:
        raise ValueError(f"the URL is longer than {MAX_URL} characters")
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as exc:
        raise ValueError(f"not a valid URL: {exc}") from None
    if parts.scheme.lower() not in ("http", "https"):
        raise ValueError(f"the URL must start with http:// or https:// (got {parts.scheme or 'no'} scheme)")
    if not parts.hostname:
        raise ValueError("the URL has no host")
    if port == 0:
        raise ValueError("the URL's port must be 1-65535")
    if _CONTROL.search(url) or " " in url:
        raise ValueError("the URL contains spaces or control characters")
    return url


def check_events(names: Iterable[str]) -> tuple[str, ...]:
    """Event names from EVENT_TYPES, or `all`; `("all",)` when `all` is among them."""
    names = tuple(dict.fromkeys(names))
    if not names:
        raise ValueError(f"name at least one event, or {ALL!r}")
    unknown = [name for name in names if name != ALL and name not in EVENT_TYPES]
    if unknown:
        raise ValueError(f"unknown event {unknown[0]!r}; known events: {', '.join((ALL, *EVENT_TYPES))}")
    return (ALL,) if ALL in names else names


def check_sessions(names: Iterable[str]) -> tuple[str, ...]:
    """Session names, or `all`; `("all",)` when `all` is among them."""
    names = tuple(dict.fromkeys(names))
    if not names:
        raise ValueError(f"name at least one session, or {ALL!r}")
    for name in names:
        if not name or len(name) > MAX_SESSION_NAME or _CONTROL.search(name) or name != name.strip():
            raise ValueError(f"invalid session name {name[:70]!r}")
    return (ALL,) if ALL in names else names


def check_headers(headers: Mapping[str, str]) -> dict[str, str]:
    """Extra request headers: HTTP token names, values without line breaks or control characters, none
    that replaces ours (X-Waqtor-*, Content-Type, Host, the transport's own)."""
    if len(headers) > MAX_HEADERS:
        raise ValueError(f"at most {MAX_HEADERS} extra headers")
    seen: set[str] = set()
    for name, value in headers.items():
        lower = name.lower()
        if not _TOKEN.match(name):
            raise ValueError(f"invalid header name {name[:70]!r}")
        if lower in RESERVED_HEADERS or lower.startswith("x-waqtor-"):
            raise ValueError(f"header {name!r} is set by the gateway and cannot be overridden")
        if lower in seen:
            raise ValueError(f"header {name!r} is given twice")
        seen.add(lower)
        if len(value) > MAX_HEADER_VALUE or _CONTROL.search(value):
            raise ValueError(f"the value of header {name!r} is too long or contains control characters")
    return dict(headers)


def _dumps(body: dict[str, Any]) -> str:
    return json.dumps(body, separators=(",", ":"), ensure_ascii=False)


def event_payload(event: Event) -> str:
    """The body delivered for a bus event: `{"id", "event", "session", "timestamp", "data"}`."""
    return _dumps(
        {
            "id": event.id,
            "event": event.type,
            "session": event.session,
            "timestamp": event.timestamp,
            "data": event.data,
        }
    )


def payload_for_test(webhook_id: str, now: datetime) -> str:
    """The body of a `test` delivery: not a bus event, so its `id` and `session` are null."""
    return _dumps(
        {
            "id": None,
            "event": TEST_EVENT,
            "session": None,
            "timestamp": int(now.timestamp() * 1000),
            "data": {"webhook": webhook_id, "message": "Test delivery from Waqtor."},
        }
    )
