"""The contract every bus backend fulfils; shared fan-out lives in `waqtor.bus.Bus`."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable
from typing import Any

from waqtor.events import Event


class ReplayGap(Exception):
    """Events after the requested id are no longer kept; `oldest` is the oldest id still held."""

    def __init__(self, after: int, oldest: int) -> None:
        super().__init__(f"events after {after} are no longer kept; the oldest held is {oldest}")
        self.after = after
        self.oldest = oldest


Deliver = Callable[[Event], None]


class BusBackend(ABC):
    """Assigns event ids, keeps recent history, and carries events to every process on the bus."""

    @abstractmethod
    async def start(self, deliver: Deliver) -> None:
        """Begin calling `deliver` with every event published anywhere on the bus, in id order."""

    @abstractmethod
    async def stop(self) -> None:
        """Stop delivering and release connections; idempotent."""

    @abstractmethod
    async def publish(self, type: str, session: str | None, data: dict[str, Any]) -> Event:
        """Give the event the next id and a timestamp, keep it in history, deliver it; return it."""

    @abstractmethod
    async def history(self, after: int) -> list[Event]:
        """Every kept event with an id above `after`, in order; ReplayGap when some were dropped."""

    @abstractmethod
    async def last_id(self) -> int:
        """The id of the newest event, or the id below the first one when none was published yet."""

    async def healthy(self) -> bool:
        """Whether the backend can publish right now."""
        return True
