"""What to do after an attempt (pure): delivered, retry later, or give up; and when the next attempt is.

- 2xx: delivered.
- 408 and 429: retried. Any other 4xx: given up at once (the receiver refuses this request; sending it
  again will not change that).
- 3xx (redirects are not followed), 5xx, connection errors and timeouts: retried.
- A retry waits the exponential backoff with jitter, or the receiver's `Retry-After` (seconds or an
  HTTP date, capped) when the answer has one.
- After `max_attempts` attempts the delivery is given up (`dead`).
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import datetime
from email.utils import parsedate_to_datetime
from typing import Literal

Verdict = Literal["delivered", "retry", "dead"]

RETRYABLE_4XX = frozenset({408, 429})


def classify(status_code: int | None) -> Verdict:
    """The verdict on one answer; `None` means no answer (connection error or timeout)."""
    if status_code is None:
        return "retry"
    if 200 <= status_code < 300:
        return "delivered"
    if 400 <= status_code < 500 and status_code not in RETRYABLE_4XX:
        return "dead"
    return "retry"


def backoff(attempt: int, base: float, cap: float, rng: random.Random) -> float:
    """Seconds to wait after failed attempt number `attempt` (1-based): `base * 2**(attempt-1)`, at most
    `cap`, with "equal jitter" (a random point in its upper half) so that many deliveries failing
    together do not come back together."""
    delay: float = min(cap, base * 2 ** min(attempt - 1, 62))
    return delay / 2 + rng.uniform(0, delay / 2)


def parse_retry_after(value: str | None, now: datetime, cap: float) -> float | None:
    """Seconds to wait from a `Retry-After` header (delta-seconds or an HTTP date), between 0 and `cap`;
    None when absent or unreadable."""
    if value is None:
        return None
    value = value.strip()
    if value.isdigit():
        return min(float(value), cap)
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if when is None or when.tzinfo is None:
        return None
    return min(max(0.0, (when - now).total_seconds()), cap)


@dataclass(frozen=True, slots=True)
class Step:
    status: Literal["delivered", "failed", "dead"]
    delay: float | None  # seconds until the next attempt, when status is failed


def next_step(
    attempts: int,
    status_code: int | None,
    retry_after: float | None,
    *,
    max_attempts: int,
    base: float,
    cap: float,
    rng: random.Random,
) -> Step:
    """What follows attempt number `attempts` (1-based) that got `status_code` (None: no answer)."""
    verdict = classify(status_code)
    if verdict == "delivered":
        return Step("delivered", None)
    if verdict == "dead" or attempts >= max_attempts:
        return Step("dead", None)
    if retry_after is not None:
        return Step("failed", retry_after)
    return Step("failed", backoff(attempts, base, cap, rng))
