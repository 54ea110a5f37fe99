"""An engine's events reach the right place: messages the message service, the rest the monitor."""

from __future__ import annotations

import logging
from datetime import UTC, datetime

import pytest

from waqtor.engines.base import (
    Connecting,
    Engine,
    EngineContext,
    EngineEvent,
    MessageEvent,
    MessageIn,
    MessageStatus,
    OutgoingMessage,
    SendResult,
)
from waqtor.sessions.engine_events import split_events

NOW = datetime(2025, 10, 28, tzinfo=UTC)
INCOMING = MessageIn(id="A", chat="1@s.whatsapp.net", sender="1@s.whatsapp.net", type="text", text="x", timestamp=NOW)
STATUS = MessageStatus(id="A", status="read", timestamp=NOW)


async def test_message_events_go_to_the_message_service_and_the_rest_to_the_monitor() -> None:
    to_monitor: list[EngineEvent] = []
    to_messages: list[tuple[str, EngineEvent]] = []

    async def monitor(event: EngineEvent) -> None:
        to_monitor.append(event)

    async def messages(session: str, event: MessageEvent) -> None:
        to_messages.append((session, event))

    emit = split_events("shop", monitor, messages)
    for event in (Connecting(), INCOMING, STATUS):
        await emit(event)
    assert to_monitor == [Connecting()]
    assert to_messages == [("shop", INCOMING), ("shop", STATUS)]


async def test_a_failing_message_service_is_logged_never_raised_into_the_engine(
        caplog: pytest.LogCaptureFixture) -> None:
    async def monitor(event: EngineEvent) -> None:
        raise AssertionError("not for the monitor")

    async def messages(session: str, event: MessageEvent) -> None:
        raise RuntimeError("database gone")

    with caplog.at_level(logging.ERROR):
        await split_events("default", monitor, messages)(INCOMING)
    assert "message service failed on MessageIn" in caplog.text


async def test_without_a_message_service_everything_goes_to_the_monitor() -> None:
    async def monitor(event: EngineEvent) -> None:
        pass

    assert split_events("default", monitor, None) is monitor


class MinimalEngine(Engine):
    """An engine with only the required methods, to see the defaults of the optional ones."""

    name = "minimal"

    async def start(self) -> None:
        pass

    async def stop(self) -> None:
        pass

    async def logout(self) -> None:
        pass

    async def send(self, message: OutgoingMessage) -> SendResult:
        return SendResult(id="X", timestamp=NOW)


async def test_an_engine_that_cannot_tell_who_is_on_whatsapp_answers_none(data_dir) -> None:  # type: ignore[no-untyped-def]
    from tests.conftest import make_settings

    async def ignore(event: EngineEvent) -> None:
        pass

    engine = MinimalEngine(EngineContext("default", ignore, store=None, settings=make_settings(data_dir)))  # type: ignore[arg-type]
    assert await engine.is_on_whatsapp(["4915112345678@s.whatsapp.net"]) is None
