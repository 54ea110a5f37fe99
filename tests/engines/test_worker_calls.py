"""Engine calls the gateway forwards to a session's engine worker, with the real neonize library, offline:
the worker's engine answers them (its errors come back as the same class and code)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.conftest import eventually, in_process, make_settings
from waqtor.engines.base import OutgoingReaction
from waqtor.errors import SessionNotReady


async def test_a_reaction_is_forwarded_to_the_worker_s_engine(data_dir: Path) -> None:
    settings = make_settings(data_dir, engine="neonize", reconnect_min=5, reconnect_max=5)
    async with in_process(settings) as gw:
        workers = gw.gateway.sessions.workers
        await eventually(lambda: any("default" in worker.tenants for worker in workers.workers), what="a worker")
        engine = gw.gateway.sessions.get("default").engine
        reaction = OutgoingReaction(chat="4915199999999@s.whatsapp.net", message_id="3EB0X", from_me=False,
                                    sender="4915199999999@s.whatsapp.net", emoji="👍")
        # Not connected (WhatsApp is unreachable here): the hosted neonize engine's own refusal, not the
        # Engine default's `not_supported_by_engine`.
        with pytest.raises(SessionNotReady):
            await engine.react(reaction)


async def test_presence_calls_are_forwarded_to_the_worker_s_engine(data_dir: Path) -> None:
    settings = make_settings(data_dir, engine="neonize", reconnect_min=5, reconnect_max=5)
    async with in_process(settings) as gw:
        workers = gw.gateway.sessions.workers
        await eventually(lambda: any("default" in worker.tenants for worker in workers.workers), what="a worker")
        engine = gw.gateway.sessions.get("default").engine
        # The hosted neonize engine answers (not connected here), not the Engine default's refusal.
        with pytest.raises(SessionNotReady):
            await engine.subscribe_presence("4915199999999@s.whatsapp.net")
        with pytest.raises(SessionNotReady):
            await engine.send_presence("available")
