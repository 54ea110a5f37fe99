"""Event bus: a facade over a backend picked by URL (`memory://`; `redis://` in scale-out).

The facade owns what every backend shares: local subscriptions with bounded queues and their
overflow policy. A subscriber that falls more than its queue size behind is cut off: it receives
`SubscriptionOverflow` once it has drained what was queued, and may catch up through `history()`.

Publish hooks run on the instance that publishes, after the backend gave the event its id and
timestamp and before `publish()` returns: the webhook outbox uses one so that the delivery rows exist
when `publish()` returns, and so that each event is queued once however many instances share the bus.
A hook that raises is logged (ERROR, with the event id) and counted in `hook_failures`; the event has
already gone to subscribers and the other hooks still run.
"""

from __future__ import annotations

import asyncio
import enum
import logging
from collections.abc import Awaitable, Callable
from typing import Any, Final, Literal

from waqtor.bus.base import BusBackend, ReplayGap
from waqtor.errors import ConfigError
from waqtor.events import Event
from waqtor.redis_conn import parse_url

__all__ = ["Bus", "BusBackend", "PublishHook", "ReplayGap", "Subscription", "SubscriptionOverflow",
           "backend_factory"]

log = logging.getLogger(__name__)


class SubscriptionOverflow(Exception):
    """The subscriber fell too far behind; `last_id` is the last event it was given."""

    def __init__(self, last_id: int) -> None:
        super().__init__(f"subscriber fell behind after event {last_id}")
        self.last_id = last_id


class _Marker(enum.Enum):
    """A queue item that is not an event (an enum member, so the type checker can tell it apart)."""

    OVERFLOW = enum.auto()


_OVERFLOW: Final = _Marker.OVERFLOW

PublishHook = Callable[[Event], Awaitable[None]]


class Subscription:
    """Events published after it was opened, in order, through `get()` or `async for`."""

    def __init__(self, bus: Bus, limit: int) -> None:
        self._bus = bus
        self._limit = limit
        self._queue: asyncio.Queue[Event | Literal[_Marker.OVERFLOW]] = asyncio.Queue()
        self.last_id = 0
        self.closed = False

    def offer(self, event: Event) -> None:
        if self.closed:
            return
        if self._queue.qsize() >= self._limit:
            self.closed = True
            self._bus.unregister(self)
            self._queue.put_nowait(_OVERFLOW)
            return
        self._queue.put_nowait(event)

    async def get(self) -> Event:
        item = await self._queue.get()
        if item is _OVERFLOW:
            raise SubscriptionOverflow(self.last_id)
        self.last_id = item.id
        return item

    def pending(self) -> int:
        return self._queue.qsize()

    def close(self) -> None:
        self.closed = True
        self._bus.unregister(self)

    def __aiter__(self) -> Subscription:
        return self

    async def __anext__(self) -> Event:
        return await self.get()

    async def __aenter__(self) -> Subscription:
        return self

    async def __aexit__(self, *exc: object) -> None:
        self.close()


class Bus:
    """Publish events and subscribe to them; one instance per gateway process."""

    def __init__(self, backend: BusBackend, queue_size: int = 10_000) -> None:
        self.backend = backend
        self._queue_size = queue_size
        self._subscriptions: set[Subscription] = set()
        self._hooks: list[PublishHook] = []
        self.published = 0
        self.hook_failures = 0

    async def start(self) -> None:
        await self.backend.start(self._deliver)

    async def stop(self) -> None:
        await self.backend.stop()

    async def publish(self, type: str, data: dict[str, Any], session: str | None = None) -> Event:
        """Publish an event; returns it with its id and timestamp once every publish hook has run."""
        event = await self.backend.publish(type, session, data)
        self.published += 1
        for hook in tuple(self._hooks):
            try:
                await hook(event)
            except Exception:
                self.hook_failures += 1
                log.exception("publish hook %s failed on event %d (%s); subscribers got the event, this hook "
                              "did not handle it", getattr(hook, "__qualname__", hook), event.id, event.type)
        return event

    def add_publish_hook(self, hook: PublishHook) -> Callable[[], None]:
        """Await `hook(event)` inside every later `publish()` on this instance, in the order added;
        returns the function that removes it."""
        self._hooks.append(hook)

        def remove() -> None:
            if hook in self._hooks:
                self._hooks.remove(hook)

        return remove

    def subscribe(self, queue_size: int | None = None) -> Subscription:
        """Open a subscription to every event published from now on."""
        sub = Subscription(self, queue_size or self._queue_size)
        self._subscriptions.add(sub)
        return sub

    async def history(self, after: int) -> list[Event]:
        """Kept events after `after`; raises ReplayGap when some of them were dropped."""
        return await self.backend.history(after)

    async def last_id(self) -> int:
        return await self.backend.last_id()

    def _deliver(self, event: Event) -> None:
        for sub in tuple(self._subscriptions):
            sub.offer(event)

    def unregister(self, sub: Subscription) -> None:
        self._subscriptions.discard(sub)


def backend_factory(url: str, *, replay: int) -> Callable[[], BusBackend]:
    """A maker of the backend named by the URL's scheme, checked now (ConfigError naming an unknown
    scheme) and built later, inside the lifespan."""
    scheme = url.split("://", 1)[0].lower()
    if scheme == "memory":
        from waqtor.bus.memory import MemoryBus

        return lambda: MemoryBus(replay)
    if scheme in ("redis", "rediss"):
        from waqtor.bus.redis import RedisBus  # redis-py loads only for a Redis bus

        parse_url(url)
        return lambda: RedisBus(url, replay)
    raise ConfigError(f"unknown bus URL scheme {scheme!r} in {url!r}; use memory:// or redis://")
