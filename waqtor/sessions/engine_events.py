"""Where an engine's events go: message events to the message service, the rest to the session monitor."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable

from waqtor.engines.base import EngineEvent, MessageEvent

log = logging.getLogger(__name__)

Sink = Callable[[EngineEvent], Awaitable[None]]
MessageSink = Callable[[str, MessageEvent], Awaitable[None]]


def split_events(session: str, monitor: Sink, messages: MessageSink | None, *, raise_errors: bool = False) -> Sink:
    """The sink for `session`'s engine. `MessageIn`, `MessageStatus`, `MessageEdited` and `MessageRevoked`
    (`MessageEvent`) go to `messages` (when there is one), everything else to `monitor`. The message
    service holds what the database cannot take yet (`waqtor.messaging.backlog`); any other failure of it
    is logged, never raised into the engine, so one bad message cannot stop a session. With
    `raise_errors` (an engine whose vendor delivers again what it was not acknowledged,
    `Engine.redelivers`) the failure is also raised, so the engine can refuse the delivery and have it
    delivered again."""
    if messages is None:
        return monitor

    async def emit(event: EngineEvent) -> None:
        if isinstance(event, MessageEvent):
            try:
                await messages(session, event)
            except Exception:
                log.exception("session %s: the message service failed on %s", session, type(event).__name__)
                if raise_errors:
                    raise
        else:
            await monitor(event)

    return emit
