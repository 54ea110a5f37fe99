"""Campaigns and their recipients in plain values (pure): the states, the allowed moves, the summary.

A campaign's life:

    draft ──start──► scheduled ──(its start time)──► running ──(no one left)──► completed
      │    └──start (no start time, or it passed)──────┘ ▲ │
      │                                                  │ ▼ pause / a session error
      │                  scheduled ◄──resume (start time ahead)── paused
      │                                                            │
      └──────── cancel (from draft, scheduled, running, paused) ───┴──► cancelled
      the runner, when it cannot go on (session deleted, media gone), from any but a final ──► failed

`completed`, `cancelled` and `failed` are final. A move that is not allowed raises IllegalTransition
(409) with the campaign's current status in its details.

A recipient's status only moves forward:

    pending ──► sending ──► sent ──► delivered ──► read
       │           │  │       └───────────┴──► (a failure report) failed
       │           │  └──► failed (the engine refused) / unknown (cut off by a crash: never resent)
       │           └──► pending (the engine never had it: the session was not ready)
       └──► skipped (not on WhatsApp, or the campaign was cancelled)
"""

from __future__ import annotations

import secrets
from collections.abc import Mapping

from waqtor.errors import IllegalTransition

# ---- campaign states -------------------------------------------------------------------------------

DRAFT = "draft"
SCHEDULED = "scheduled"
RUNNING = "running"
PAUSED = "paused"
COMPLETED = "completed"
CANCELLED = "cancelled"
FAILED = "failed"
STATUSES: tuple[str, ...] = (DRAFT, SCHEDULED, RUNNING, PAUSED, COMPLETED, CANCELLED, FAILED)
FINAL = frozenset({COMPLETED, CANCELLED, FAILED})
# Campaigns a session's sender looks after.
ACTIVE = frozenset({SCHEDULED, RUNNING})

# What each action of the API (and the runner) may move from, and to.
ACTIONS: dict[str, tuple[frozenset[str], str]] = {
    "start": (frozenset({DRAFT}), RUNNING),  # or SCHEDULED while its start time is ahead
    "begin": (frozenset({SCHEDULED}), RUNNING),  # the runner, at the start time
    "pause": (frozenset({SCHEDULED, RUNNING}), PAUSED),
    "resume": (frozenset({PAUSED}), RUNNING),  # or SCHEDULED while its start time is ahead
    "cancel": (frozenset({DRAFT, SCHEDULED, RUNNING, PAUSED}), CANCELLED),
    "complete": (frozenset({RUNNING}), COMPLETED),
    "fail": (frozenset({DRAFT, SCHEDULED, RUNNING, PAUSED}), FAILED),
}
# DELETE is refused only while the campaign sends.
DELETABLE = frozenset(set(STATUSES) - {RUNNING})

# ---- pause reasons ---------------------------------------------------------------------------------

MANUAL = "manual"  # the API's pause
TOO_MANY_FAILURES = "too_many_failures"
TEMPORARY_BAN = "temporary_ban"
# Reasons a reconnect of the session clears by itself; any other session error code is one too.
# These need a person to look first.
NEEDS_PERSON = frozenset({MANUAL, TOO_MANY_FAILURES, TEMPORARY_BAN})


def resumes_by_itself(reason: str | None) -> bool:
    """True when a campaign paused for `reason` continues by itself once its session is connected:
    the session errors (a disconnect, a logout…), but never a ban, a manual pause or too many failures."""
    return reason is not None and reason not in NEEDS_PERSON


def target(action: str, status: str) -> str:
    """The status `action` moves a campaign in `status` to; IllegalTransition (409) when it may not,
    with `details` {"status", "action", "allowedFrom"}."""
    sources, to = ACTIONS[action]
    if status not in sources:
        raise IllegalTransition(
            f"cannot {action} a campaign that is {status}",
            details={"status": status, "action": action, "allowedFrom": sorted(sources)},
        )
    return to


def new_campaign_id() -> str:
    return "cmp_" + secrets.token_hex(8)


# ---- recipient states ------------------------------------------------------------------------------

PENDING = "pending"
SENDING = "sending"
SENT = "sent"
DELIVERED = "delivered"
READ = "read"
R_FAILED = "failed"
SKIPPED = "skipped"
UNKNOWN = "unknown"
RECIPIENT_STATUSES: tuple[str, ...] = (PENDING, SENDING, SENT, DELIVERED, READ, R_FAILED, SKIPPED, UNKNOWN)
# Recipients with nothing left to do for the runner.
DONE = frozenset({SENT, DELIVERED, READ, R_FAILED, SKIPPED, UNKNOWN})

# Where a recipient may come from to reach each status.
RECIPIENT_FROM: dict[str, frozenset[str]] = {
    PENDING: frozenset({SENDING}),
    SENDING: frozenset({PENDING}),
    SENT: frozenset({SENDING}),
    DELIVERED: frozenset({SENDING, SENT}),
    READ: frozenset({SENDING, SENT, DELIVERED}),
    R_FAILED: frozenset({PENDING, SENDING, SENT}),
    SKIPPED: frozenset({PENDING}),
    UNKNOWN: frozenset({SENDING}),
}

# A message log status → the recipient status it stands for.
FROM_MESSAGE: dict[str, str] = {
    "sent": SENT,
    "delivered": DELIVERED,
    "read": READ,
    "played": READ,
    "failed": R_FAILED,
}


def can_move_recipient(current: str, new: str) -> bool:
    return current in RECIPIENT_FROM.get(new, frozenset())


def error_code(error: str | None) -> str | None:
    """The code of a logged message's error (`"<code>: <message>"`), or None."""
    if not error:
        return None
    code, sep, _ = error.partition(": ")
    return code if sep and code.replace("_", "").isalnum() else None


# ---- the summary the API and the progress events show ----------------------------------------------


def counts_of(found: Mapping[str, int]) -> dict[str, int]:
    """Every recipient status with its count (0 when absent)."""
    return {status: int(found.get(status, 0)) for status in RECIPIENT_STATUSES}


def remaining(counts: Mapping[str, int]) -> int:
    return int(counts.get(PENDING, 0)) + int(counts.get(SENDING, 0))


def percent(counts: Mapping[str, int]) -> float:
    """Share of recipients the runner is done with, 0–100, one decimal; 100 for an empty campaign."""
    total = sum(int(v) for v in counts.values())
    if total == 0:
        return 100.0
    return round(100.0 * (total - remaining(counts)) / total, 1)
