"""Page cursors: the opaque `nextCursor` a listing answers and takes back as `cursor`.

A cursor is a small JSON object, base64url-encoded without padding; only this gateway makes them, and
one it did not make is refused with 400 `invalid_cursor`. Every value read from one is bounded before
it reaches the database: an id fits the 64-bit columns, a time is aware and expressible in UTC (a
crafted year 1 at +14:00 is not), a text id is short. Nothing a caller puts in a cursor is a 500.
"""

from __future__ import annotations

import base64
import binascii
import json
from datetime import UTC, datetime
from typing import Any

from waqtor.errors import InvalidInput

MAX_LENGTH = 1000  # far above any cursor this gateway gives out; the routes cap theirs lower
MAX_ID = 2**63 - 1  # the largest value of the 64-bit id columns
MAX_TEXT = 64  # the longest text id (a campaign's) a cursor may carry


def invalid_cursor() -> InvalidInput:
    return InvalidInput("cursor: not a cursor this gateway gave out", code="invalid_cursor")


def encode(value: dict[str, Any]) -> str:
    return base64.urlsafe_b64encode(json.dumps(value).encode()).decode().rstrip("=")


def decode(cursor: str) -> dict[str, Any]:
    """The object `encode` made; InvalidInput (`invalid_cursor`) for anything else."""
    if len(cursor) > MAX_LENGTH:
        raise invalid_cursor()
    try:
        value = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
    except (binascii.Error, ValueError, RecursionError):  # not base64, not UTF-8, not JSON, too deep
        value = None
    if not isinstance(value, dict):
        raise invalid_cursor()
    return value


def positive_int(cursor: str, key: str, *, minimum: int) -> int:
    """The integer `key` of the cursor, from `minimum` to MAX_ID; InvalidInput (`invalid_cursor`)
    otherwise."""
    value = decode(cursor).get(key)
    if not isinstance(value, int) or isinstance(value, bool) or not minimum <= value <= MAX_ID:
        raise invalid_cursor()
    return value


def time_and_id(cursor: str) -> tuple[datetime, str]:
    """The (`at`, `id`) of a cursor: `at` an ISO 8601 time with its zone, given back in UTC, and `id` a
    text of 1 to MAX_TEXT characters; InvalidInput (`invalid_cursor`) otherwise."""
    value = decode(cursor)
    at, key = value.get("at"), value.get("id")
    if not isinstance(at, str) or not isinstance(key, str) or not 0 < len(key) <= MAX_TEXT or len(at) > 40:
        raise invalid_cursor()
    try:
        moment = datetime.fromisoformat(at)
        if moment.tzinfo is None:
            raise ValueError("no zone")
        return moment.astimezone(UTC), key
    except (ValueError, OverflowError):  # not a time, no zone, or beyond what UTC can hold
        raise invalid_cursor() from None
