"""Fixtures the webhook tests share."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from tests.webhook_receiver import Receiver


@pytest.fixture
async def receiver() -> AsyncIterator[Receiver]:
    """A webhook receiver on this machine, recording what it is sent."""
    async with Receiver() as receiver:
        yield receiver
