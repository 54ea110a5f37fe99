"""This instance's membership of the cluster and its session leases.

The database decides who holds a lease (`waqtor.storage.cluster`). This instance also keeps, for every
lease it holds, the moment until which it is *surely* still its own: the monotonic time taken just
before the write that took or renewed the lease, plus the TTL, minus a margin. The database's expiry
is later than that (it counts from the moment it ran the write), so an instance that stops running a
session at its local deadline has stopped before any other instance can take the lease, whatever the
clocks of the machines say. `holds()` answers from that deadline: nothing is sent for a session whose
lease might have passed on.
"""

from __future__ import annotations

import asyncio
import logging
import secrets
import time

from waqtor.errors import ConfigError
from waqtor.storage.cluster import ClusterRepository

log = logging.getLogger(__name__)


class LeaseKeeper:
    def __init__(self, repo: ClusterRepository, instance: str, ttl: float) -> None:
        self.repo = repo
        self.instance = instance
        self.process = secrets.token_hex(8)
        self.ttl = ttl
        # Time kept between the local deadline and the database's expiry, for stopping an engine.
        self.margin = ttl / 5
        self.live: list[str] = [instance]
        self._until: dict[str, float] = {}

    # ---- membership --------------------------------------------------------------------------------

    async def join(self) -> None:
        """Register this instance. When a process with the same id was seen within the TTL (a restart
        of it, or a second instance given the same WAQTOR_INSTANCE_ID), wait for its row to go stale;
        ConfigError when it stays live (it is another running instance)."""
        deadline = time.monotonic() + self.ttl * 2
        while (live := await self.repo.heartbeat(self.instance, self.process, self.ttl)) is None:
            if time.monotonic() > deadline:
                raise ConfigError(f"another running instance uses the id {self.instance!r}: give each instance its "
                                  "own WAQTOR_INSTANCE_ID")
            log.warning("instance id %s was in use within the last %.0f s; waiting for it to lapse",
                        self.instance, self.ttl)
            await asyncio.sleep(self.ttl / 10)
        self.live = live

    async def heartbeat(self) -> list[str]:
        """Refresh this instance's row; the live instances. ConfigError when another process took the id
        (this one was not seen for a whole TTL, and someone started with its id)."""
        live = await self.repo.heartbeat(self.instance, self.process, self.ttl)
        if live is None:
            raise ConfigError(f"instance id {self.instance!r} was taken by another process")
        self.live = live
        return live

    async def leave(self) -> None:
        """Release every lease and remove this instance (a clean shutdown)."""
        self._until.clear()
        await self.repo.leave(self.instance, self.process)

    # ---- leases ------------------------------------------------------------------------------------

    def _deadline(self, started: float) -> float:
        return started + self.ttl - self.margin

    async def acquire(self, name: str) -> bool:
        """Take the lease of session `name`; True when this instance now holds it."""
        started = time.monotonic()
        if not await self.repo.acquire(name, self.instance, self.ttl):
            return False
        self._until[name] = self._deadline(started)
        return True

    async def renew(self) -> set[str]:
        """Renew every lease held; the names whose lease the database no longer grants (expired, or
        taken by another instance): they are forgotten here, and must stop running at once. Raises
        what the database raises (the leases are then kept until their local deadline)."""
        names = list(self._until)
        if not names:
            return set()
        started = time.monotonic()
        renewed = await self.repo.renew(self.instance, names, self.ttl)
        lost = set()
        for name in names:
            if name not in self._until:
                continue  # released meanwhile
            if name in renewed:
                self._until[name] = self._deadline(started)
            else:
                lost.add(name)
                del self._until[name]
        return lost

    def overdue(self) -> list[str]:
        """The leases whose local deadline passed without a renewal; they are forgotten here, and their
        sessions must stop running at once."""
        now = time.monotonic()
        names = [name for name, until in self._until.items() if until <= now]
        for name in names:
            del self._until[name]
        return names

    async def release(self, name: str) -> None:
        """Give the lease of `name` up (its session stopped running here)."""
        self._until.pop(name, None)
        await self.repo.release(name, self.instance)

    def forget(self, name: str) -> None:
        """Stop counting `name` as held, without touching the database (it is gone or lost)."""
        self._until.pop(name, None)

    def holds(self, name: str) -> bool:
        """Whether this instance surely holds the lease of `name` right now."""
        until = self._until.get(name)
        return until is not None and time.monotonic() < until

    @property
    def held(self) -> list[str]:
        return sorted(self._until)

    def next_deadline(self) -> float | None:
        """The earliest local deadline of a held lease (monotonic seconds), or None."""
        return min(self._until.values(), default=None)
