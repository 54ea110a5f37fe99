"""A crashed engine is replaced by a fresh one, after a growing pause.

An engine reports `Crashed` when a part of it died and it cannot go on (a task of its own raised). The
session stays on this instance: its crashed engine is stopped, the session shows `disconnected` with
`lastError.code` `engine_crashed` (`details`: the `reason`, the `attempt` and `retryInSeconds`), and
after the pause a fresh engine starts, restoring the stored link like any start. The pause doubles
from `WAQTOR_ENGINE_RESTART_DELAY` up to `WAQTOR_ENGINE_RESTART_MAX_DELAY` (with jitter, as
reconnects do) while the engine crashes again before it reaches `connected`; reaching it resets the
count. A fresh engine that crashes while it starts is handled the same way: the next attempt follows,
after a longer pause. A session stopped, restarted by hand or moved meanwhile is left as it is.
"""

from __future__ import annotations

import asyncio
import logging
import random

from waqtor.config import Settings
from waqtor.engines.backoff import backoff_delay
from waqtor.engines.base import Disconnected, Engine
from waqtor.sessions.registry import SessionRegistry
from waqtor.sessions.session import Session
from waqtor.tasks import TaskSet

log = logging.getLogger(__name__)

CRASHED = "engine_crashed"


class Restarts:
    def __init__(self, registry: SessionRegistry, settings: Settings, rng: random.Random | None = None) -> None:
        self._registry = registry
        self._minimum = settings.engine_restart_delay
        self._maximum = settings.engine_restart_max_delay
        self._rng = rng or random.Random()
        self._attempts: dict[str, int] = {}
        self._pending: set[str] = set()
        self._starting: dict[str, Engine] = {}  # the fresh engine of a pending restart, while it starts
        self._late: dict[str, str] = {}  # why that fresh engine crashed before its start returned
        self._tasks = TaskSet("engine-restarts")

    def crashed(self, name: str, engine: Engine, reason: str) -> None:
        """`engine`, which runs session `name`, crashed: replace it after a pause (once, however many
        times it reports)."""
        if name in self._pending:
            if self._starting.get(name) is engine:
                self._late[name] = reason  # the restart goes on once the start returns
            return
        self._pending.add(name)
        self._tasks.spawn(self._restart(name, engine, reason), f"restart[{name}]")

    def ready(self, name: str) -> None:
        """The session reached `connected`: its next crash waits the shortest pause again."""
        self._attempts.pop(name, None)

    async def close(self) -> None:
        await self._tasks.close()

    def _still_on(self, name: str, engine: Engine) -> Session | None:
        """The session, when it still runs `engine` here (not stopped, restarted by hand or moved)."""
        session = self._registry.find(name)
        if session is None or not session.running or session.engine is not engine:
            return None
        return session

    async def _restart(self, name: str, engine: Engine, reason: str) -> None:
        registry = self._registry
        try:
            while True:
                attempt = self._attempts[name] = self._attempts.get(name, 0) + 1
                delay = backoff_delay(attempt, minimum=self._minimum, maximum=self._maximum, draw=self._rng.random())
                async with registry.lock(name):
                    session = self._still_on(name, engine)
                    if session is None:
                        return
                    log.error("session %s: the %s engine crashed (%s); a fresh one starts in %.1f s (attempt %d)",
                              name, engine.name, reason, delay, attempt)
                    try:
                        await engine.stop()
                    except Exception:
                        log.exception("session %s: the crashed engine did not stop cleanly", name)
                    await session.monitor.handle(Disconnected(
                        code=CRASHED,
                        message=f"the {engine.name} engine crashed ({reason}); the gateway starts it again in "
                                f"{delay:.1f} s (attempt {attempt})",
                        reconnecting=True,
                        details={"reason": reason, "attempt": attempt, "retryInSeconds": round(delay, 3)},
                    ))
                await asyncio.sleep(delay)
                async with registry.lock(name):
                    session = self._still_on(name, engine)
                    if session is None:
                        return
                    session.engine = engine = registry.new_engine(session.record, engine.ctx.emit)
                    self._starting[name] = engine
                    try:
                        await engine.start()
                    except Exception as exc:
                        reason = f"could not start again: {exc!r}"
                        continue
                    finally:
                        self._starting.pop(name, None)
                    late = self._late.pop(name, None)
                    if late is None:
                        log.info("session %s: a fresh %s engine started after the crash", name, engine.name)
                        return
                    reason = late
        finally:
            self._pending.discard(name)
            self._starting.pop(name, None)
            self._late.pop(name, None)
