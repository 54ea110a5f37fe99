"""In-process bus: one gateway process, events kept in a ring buffer."""

from __future__ import annotations

import time
from collections import deque
from typing import Any

from waqtor.bus.base import BusBackend, Deliver, ReplayGap
from waqtor.events import Event


class MemoryBus(BusBackend):
    """Ids start above `epoch_ms * 1000` so they keep increasing across restarts of the gateway: a
    client resuming with an id from an earlier run gets an honest `replay_gap`, never silence."""

    def __init__(self, replay: int) -> None:
        self._replay = replay
        self._kept: deque[Event] = deque(maxlen=replay or None) if replay else deque(maxlen=1)
        self._next_id = int(time.time() * 1000) * 1000 + 1
        self._first_kept = self._next_id
        self._deliver: Deliver | None = None

    async def start(self, deliver: Deliver) -> None:
        self._deliver = deliver

    async def stop(self) -> None:
        self._deliver = None

    async def publish(self, type: str, session: str | None, data: dict[str, Any]) -> Event:
        event = Event(id=self._next_id, type=type, session=session, timestamp=int(time.time() * 1000), data=data)
        self._next_id += 1
        if self._replay:
            if len(self._kept) == self._kept.maxlen:
                self._first_kept = self._kept[0].id + 1
            self._kept.append(event)
        else:
            self._first_kept = self._next_id
        if self._deliver is not None:
            self._deliver(event)
        return event

    async def history(self, after: int) -> list[Event]:
        if after < self._first_kept - 1:
            raise ReplayGap(after, self._first_kept)
        if not self._replay:
            return []
        return [event for event in self._kept if event.id > after]

    async def last_id(self) -> int:
        return self._next_id - 1
