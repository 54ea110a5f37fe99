"""The round that keeps this instance's share of the sessions, every third of the lease TTL.

Each round: stop at once every session whose lease may have passed on (no renewal before its local
deadline), refresh this instance's heartbeat and renew its leases (stopping the sessions the database
no longer grants it), stop sessions deleted or stopped meanwhile, then take free sessions up to the
fair share (`waqtor.cluster.share`) and give one up while it runs more than its share. While the
database cannot be reached the round ends after the failed renewal: sessions keep running until their
local deadline, then stop. The round's reads and writes go through the storage's housekeeping pool,
so requests that take every connection of the main pool cannot make a lease lapse.

On SQLite (which only processes of one machine can share) an instance whose process no longer exists
is known dead at once, so a gateway restarted after a crash takes its sessions back without waiting
for their leases to expire.
"""

from __future__ import annotations

import asyncio
import logging
import random
import time

from waqtor.cluster.identity import gone_from_this_host
from waqtor.cluster.leases import LeaseKeeper
from waqtor.cluster.share import plan
from waqtor.sessions.registry import SessionRegistry
from waqtor.sessions.session import RUNNING, STOPPED
from waqtor.storage import Storage
from waqtor.storage.records import SessionRecord

log = logging.getLogger(__name__)


class Ownership:
    def __init__(self, registry: SessionRegistry, leases: LeaseKeeper, storage: Storage) -> None:
        self._registry = registry
        self._leases = leases
        self._storage = storage
        self._failing = False

    async def run(self) -> None:
        while True:
            await self._pause()
            try:
                await self.tick()
            except Exception:
                log.exception("sessions: an ownership round failed")

    async def _pause(self) -> None:
        wait = self._leases.ttl / 3
        deadline = self._leases.next_deadline()
        if deadline is not None:
            wait = min(wait, max(0.0, deadline - time.monotonic()))
        await asyncio.sleep(wait)

    def _budget(self) -> float:
        """How long a renewal may take: until the earliest lease may pass on."""
        deadline = self._leases.next_deadline()
        return self._leases.ttl / 3 if deadline is None else max(0.05, deadline - time.monotonic())

    async def tick(self) -> None:
        for name in self._leases.overdue():
            await self._registry.lost(name, "its lease could not be renewed in time")
        try:
            live, lost = await asyncio.wait_for(self._renew(), timeout=self._budget())
        except Exception as exc:
            if not self._failing:
                log.error("sessions: cannot renew leases (%s); sessions run on until their lease may end",
                          exc or type(exc).__name__)
            self._failing = True
            return
        if self._failing:
            log.info("sessions: leases renewed again")
            self._failing = False
        for name in lost:
            await self._registry.lost(name, "another instance holds its lease now")
        await self._balance(live)

    async def _renew(self) -> tuple[list[str], set[str]]:
        live = await self._leases.heartbeat()
        lost = await self._leases.renew()
        return live, lost

    async def _balance(self, live: list[str]) -> None:
        # Read on the housekeeping pool, as the renewal is: a round is not held up by requests that
        # take every connection of the main pool, so the next renewal comes in time.
        housekeeping = self._storage.housekeeping
        records = {record.name: record for record in await housekeeping.sessions.list()}
        await self._sync(records)
        owners = await housekeeping.cluster.owners()
        if self._storage.dialect == "sqlite":
            dead = {owner for owner in set(owners.values()) | set(live) if gone_from_this_host(owner)}
            for instance in dead:
                log.warning("instance %s is gone (its process no longer exists); its sessions are free", instance)
                await housekeeping.cluster.expire(instance)
            owners = {name: owner for name, owner in owners.items() if owner not in dead}
            live = self._leases.live = [instance for instance in live if instance not in dead]
        wanted = [r for r in records.values() if r.desired == RUNNING and self._registry.can_run(r)]
        mine = {session.name for session in self._registry.local()}
        # A lease the database still gives this instance for a session it stopped (its renewal was late)
        # is free for it to take again.
        free = [r for r in wanted if owners.get(r.name, self._leases.instance) == self._leases.instance
                and r.name not in mine]
        step = plan(wanted=len(wanted), instances=len(live), mine=len(mine), free=len(free))
        random.shuffle(free)  # instances that look at once try different sessions first
        taken = 0
        for record in free:
            if taken >= step.take:
                break
            if await self._registry.take(record):
                taken += 1
        if step.shed:
            await self._shed_one()

    async def _sync(self, records: dict[str, SessionRecord]) -> None:
        """Stop running sessions that were deleted, or stopped, while this instance was not asked."""
        for session in self._registry.local():
            record = records.get(session.name)
            if record is None or record.desired == STOPPED:
                await self._registry.give_up(session.name)

    async def _shed_one(self) -> None:
        """Give one session up so another instance can take it: one not connected if there is one
        (cheapest to move), else the one taken last."""
        candidates = sorted(self._registry.local(), key=lambda s: (s.monitor.state.ready, -s.taken_at))
        if candidates:
            log.info("session %s handed over: this instance runs more than its share", candidates[0].name)
            await self._registry.give_up(candidates[0].name)
