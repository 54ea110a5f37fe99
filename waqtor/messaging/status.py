"""A message's status and the moves allowed between them. Pure.

    queued ──► sent ──► delivered ──► read ──► played
       │         │
       └─────────┴──► failed

A status only moves forward: an acknowledgement that arrives late (`delivered` after `read`) or twice
is ignored. Steps may be skipped (`sent` → `read`). `failed` ends a message that was not delivered;
after `delivered` a failure report is ignored. An incoming message is `received` and stays so.
"""

from __future__ import annotations

QUEUED = "queued"
SENT = "sent"
DELIVERED = "delivered"
READ = "read"
PLAYED = "played"
FAILED = "failed"
RECEIVED = "received"

OUT_STEPS: tuple[str, ...] = (QUEUED, SENT, DELIVERED, READ, PLAYED)
STATUSES: tuple[str, ...] = (*OUT_STEPS, FAILED, RECEIVED)
# What an engine may report for a message it sent.
ENGINE_STATUSES = frozenset({SENT, DELIVERED, READ, PLAYED, FAILED})
# The column that keeps when each step was reached.
STEP_COLUMN: dict[str, str] = {status: f"{status}_at" for status in (*OUT_STEPS, FAILED)}

_RANK = {status: rank for rank, status in enumerate(OUT_STEPS)}


def can_move(current: str, new: str) -> bool:
    """True when a message in `current` may move to `new`."""
    if current not in _RANK or new not in STEP_COLUMN:
        return False
    if new == FAILED:
        return current in (QUEUED, SENT)
    return _RANK[new] > _RANK[current]
