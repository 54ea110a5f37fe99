"""Import slots: at most so many imports at once, each holding its slot until its last thread returns."""

from __future__ import annotations

import asyncio
import threading

import pytest

from tests.conftest import eventually
from waqtor.campaigns.imports import ImportSlots
from waqtor.errors import RateLimited


async def test_a_slot_is_refused_at_once_when_all_are_taken_and_free_again_after() -> None:
    slots = ImportSlots(2)
    async with slots.hold(), slots.hold():
        with pytest.raises(RateLimited) as caught:
            async with slots.hold():
                pass
        assert caught.value.code == "too_many_imports" and caught.value.retry_after >= 1
        assert "WAQTOR_CAMPAIGN_MAX_IMPORTS" in caught.value.message
    assert slots.busy == 0
    async with slots.hold() as job:
        assert await job.run(sum, [1, 2, 3]) == 6
    assert slots.busy == 0


async def test_a_caller_that_goes_away_leaves_the_slot_held_until_its_thread_returns() -> None:
    slots = ImportSlots(1)
    release = threading.Event()
    started = threading.Event()

    def read_the_list() -> None:
        started.set()
        release.wait(10)

    async def importing() -> None:
        async with slots.hold() as job:
            await job.run(read_the_list)

    caller = asyncio.create_task(importing())
    await eventually(started.is_set, what="the thread to start")
    caller.cancel()
    with pytest.raises(asyncio.CancelledError):
        await caller
    # The thread still reads (it cannot be stopped): the slot is still taken.
    assert slots.busy == 1
    with pytest.raises(RateLimited):
        async with slots.hold():
            pass
    release.set()
    await eventually(lambda: slots.busy == 0, what="the slot to be freed by the thread")


async def test_work_that_fails_frees_its_slot_and_its_error_reaches_the_caller() -> None:
    slots = ImportSlots(1)
    with pytest.raises(ZeroDivisionError):
        async with slots.hold() as job:
            await job.run(lambda: 1 // 0)
    assert slots.busy == 0
