"""Page cursors: the opaque `nextCursor` a listing answers and takes back as `cursor`.

A cursor is a small JSON object, base64url-encoded without padding; only this gateway makes them, and
one it did not make is refused with 400 `invalid_cursor`.
"""

from __future__ import annotations

import base64
import binascii
import json
from typing import Any

from waqtor.errors import InvalidInput


def invalid_cursor() -> InvalidInput:
    return InvalidInput("cursor: not a cursor this gateway gave out", code="invalid_cursor")


def encode(value: dict[str, Any]) -> str:
    return base64.urlsafe_b64encode(json.dumps(value).encode()).decode().rstrip("=")


def decode(cursor: str) -> dict[str, Any]:
    """The object `encode` made; InvalidInput (`invalid_cursor`) for anything else."""
    try:
        value = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
    except (binascii.Error, ValueError):
        value = None
    if not isinstance(value, dict):
        raise invalid_cursor()
    return value


def positive_int(cursor: str, key: str, *, minimum: int) -> int:
    """The integer `key` of the cursor, at least `minimum`; InvalidInput (`invalid_cursor`) otherwise."""
    value = decode(cursor).get(key)
    if not isinstance(value, int) or isinstance(value, bool) or value < minimum:
        raise invalid_cursor()
    return value
