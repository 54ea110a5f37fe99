"""One session as the instance that runs it holds it, and the names every part of `sessions` shares."""

from __future__ import annotations

import asyncio
import re
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from waqtor.engines.base import Engine, EngineStore
from waqtor.sessions.monitor import SessionMonitor
from waqtor.storage.records import SessionRecord
from waqtor.storage.sessions import SessionRepository

DEFAULT_SESSION = "default"
NAME_PATTERN = re.compile(r"^[a-z0-9_-]{1,64}$")
RUNNING, STOPPED = "running", "stopped"


class RepositoryStore(EngineStore):
    """An engine's link data, kept in the session's row."""

    def __init__(self, repo: SessionRepository, name: str) -> None:
        self._repo = repo
        self._name = name

    async def load(self) -> dict[str, Any] | None:
        return await self._repo.load_engine_data(self._name)

    async def save(self, data: dict[str, Any] | None) -> None:
        await self._repo.save_engine_data(self._name, data)


@dataclass
class Session:
    """A session run by this instance."""

    record: SessionRecord
    engine: Engine
    monitor: SessionMonitor
    running: bool = False
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)
    taken_at: float = field(default_factory=time.monotonic)

    @property
    def name(self) -> str:
        return self.record.name

    @property
    def status(self) -> str:
        return str(self.monitor.state.status)


# A command's handler on the instance that runs the session: its JSON answer, or a WaqtorError.
Handler = Callable[[Session, dict[str, Any]], Awaitable[dict[str, Any]]]
# What a command does when no instance runs the session: its answer, or None to look again.
Unowned = Callable[[SessionRecord], Awaitable[dict[str, Any] | None]]
Hook = Callable[[str], Awaitable[None]]
