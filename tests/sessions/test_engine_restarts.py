"""An engine that crashes is replaced by a fresh one after a pause, by itself; the session's state says
what happened (`lastError.code` `engine_crashed`, with the attempt and the pause), and the pause grows
while the engine keeps crashing before it connects."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.conftest import Harness, eventually, in_process, make_settings
from waqtor.engines.base import Crashed

MINIMUM = 0.2


@pytest.fixture
async def gw(data_dir: Path) -> Any:
    async with in_process(make_settings(data_dir, engine_restart_delay=MINIMUM, engine_restart_max_delay=5)) as harness:
        yield harness


async def crash(gw: Harness) -> None:
    response = await gw.client.post("/api/sandbox/fail", json={"kind": "crash"})
    assert response.status_code == 200, response.text


async def crashed_state(gw: Harness) -> dict[str, Any]:
    """The state once it shows the crash."""
    async def shows() -> bool:
        error = (await gw.state())["lastError"]
        return error is not None and error["code"] == "engine_crashed"

    await eventually(shows, timeout=10, what="the state showing the crash")
    return await gw.state()


async def status_is(gw: Harness, status: str) -> bool:
    return (await gw.state())["status"] == status


async def test_a_crashed_engine_is_started_again_and_the_state_says_what_happened(gw: Harness) -> None:
    await gw.scan(phone="4915100000001")
    engine = gw.gateway.sessions.get("default").engine
    updates = gw.gateway.bus.subscribe()
    await crash(gw)
    state = await crashed_state(gw)
    assert state["status"] == "disconnected"
    details = state["lastError"]["details"]
    assert details["attempt"] == 1 and "simulated crash" in details["reason"]
    assert MINIMUM / 2 <= details["retryInSeconds"] <= MINIMUM
    assert "starts it again" in state["lastError"]["message"]

    await eventually(lambda: status_is(gw, "connected"), timeout=10, what="the session connected again")
    assert gw.gateway.sessions.get("default").engine is not engine, "a fresh engine runs"
    assert (await gw.state())["info"]["phoneMasked"] == "***0001", "the stored link was restored, no new QR"
    seen = []
    while updates.pending():
        event = await updates.get()
        if event.type == "session_update":
            seen.append((event.data["status"], (event.data["lastError"] or {}).get("code")))
    assert ("disconnected", "engine_crashed") in seen and seen[-1][0] == "connected"
    sent = await gw.client.post("/api/messages/send", json={"to": "+4915112345678", "text": "after the crash"})
    assert sent.status_code == 200, sent.text


async def test_an_engine_that_keeps_crashing_before_it_connects_waits_longer_each_time(gw: Harness) -> None:
    await crash(gw)  # not linked: it comes back to a QR code, never connected in between
    first = (await crashed_state(gw))["lastError"]
    await eventually(lambda: status_is(gw, "qr"), timeout=10, what="a QR code again")
    await crash(gw)

    async def second_attempt() -> bool:
        error = (await gw.state())["lastError"]
        return error is not None and error["details"]["attempt"] == 2

    await eventually(second_attempt, timeout=10, what="the second crash shown")
    second = (await gw.state())["lastError"]
    assert first["details"]["attempt"] == 1
    assert MINIMUM <= second["details"]["retryInSeconds"] <= 2 * MINIMUM, "the pause doubled"
    await eventually(lambda: status_is(gw, "qr"), timeout=10, what="a QR code after the second restart")

    await gw.scan()  # connected: the count starts again
    await crash(gw)
    third = (await crashed_state(gw))["lastError"]
    assert third["details"]["attempt"] == 1 and third["details"]["retryInSeconds"] <= MINIMUM


async def test_a_fresh_engine_that_crashes_while_it_starts_is_replaced_too(gw: Harness) -> None:
    manager = gw.gateway.sessions
    registry = manager._registry  # where every fresh engine is made
    make = registry.new_engine
    made: list[Any] = []

    def engine_for(record: Any, emit: Any) -> Any:
        engine = make(record, emit)
        made.append(engine)
        if len(made) == 1:  # the first fresh engine dies before its start returns
            start = engine.start

            async def start_then_crash() -> None:
                await start()
                await engine.ctx.emit(Crashed("died while starting"))

            engine.start = start_then_crash
        return engine

    registry.new_engine = engine_for
    await crash(gw)

    async def second_attempt() -> bool:
        error = (await gw.state())["lastError"]
        return error is not None and error["details"]["attempt"] == 2

    await eventually(second_attempt, timeout=10, what="the crash during the restart shown as attempt 2")
    assert "died while starting" in (await gw.state())["lastError"]["details"]["reason"]

    async def replaced_again() -> bool:
        return len(made) == 2 and manager.get("default").engine is made[1] and await status_is(gw, "qr")

    await eventually(replaced_again, timeout=10, what="a second fresh engine running")
