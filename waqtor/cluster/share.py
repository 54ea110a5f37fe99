"""How many sessions an instance should run: the fair share, and what to take or give up. Pure."""

from __future__ import annotations

import math
from dataclasses import dataclass


def fair_share(sessions: int, instances: int) -> int:
    """The most sessions one instance runs when `sessions` are spread over `instances`: the ceiling, so
    the shares always cover every session."""
    return math.ceil(sessions / max(1, instances))


@dataclass(frozen=True, slots=True)
class Plan:
    take: int  # free sessions to take now
    shed: int  # sessions to give up now (at most one a round, so moves stay gradual)


def plan(*, wanted: int, instances: int, mine: int, free: int) -> Plan:
    """What one instance does this round: `wanted` sessions should run, over `instances` live instances;
    it runs `mine`, and `free` sessions have no owner. It takes free sessions up to its share, and
    gives one up while it runs more than its share (another instance then has room for it)."""
    share = fair_share(wanted, instances)
    if mine > share:
        return Plan(take=0, shed=1)
    return Plan(take=max(0, min(free, share - mine)), shed=0)
