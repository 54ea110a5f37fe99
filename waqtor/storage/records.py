"""Plain records the repositories return."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any


@dataclass(frozen=True, slots=True)
class SessionRecord:
    name: str
    engine: str
    created_at: datetime
    config: dict[str, Any] = field(default_factory=dict)
    desired: str = "running"  # or "stopped"
