"""Webhook signatures (pure): HMAC-SHA256 of `"<timestamp>.<body>"` with the webhook's secret.

The timestamp (seconds since the epoch, the `X-Waqtor-Timestamp` header) is inside the signed text, so a
receiver that checks it is recent also refuses a recorded request replayed later.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets

PREFIX = "sha256="


def sign(secret: str, timestamp: int, body: bytes) -> str:
    """The `X-Waqtor-Signature` value: `sha256=` and the lowercase hex HMAC-SHA256 of
    `"<timestamp>.<body>"` keyed with `secret` (UTF-8)."""
    message = str(timestamp).encode("ascii") + b"." + body
    return PREFIX + hmac.new(secret.encode("utf-8"), message, hashlib.sha256).hexdigest()


def new_secret() -> str:
    """A fresh secret: `whsec_` and 32 random bytes, URL-safe base64."""
    return "whsec_" + secrets.token_urlsafe(32)
