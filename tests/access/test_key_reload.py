"""The key cache's reload racing key changes: a key created or revoked while the database is read.

The reload reads every key, then replaces the cache. A key created during that read was missed by it;
before this was handled, the reload took the new key for a revoked one and closed its WebSockets (seen
in CI as a fresh key's socket closed with "API key revoked"). The repository below pauses between its
read and its answer so the race happens every time, on the real SQLite store.
"""

from __future__ import annotations

import asyncio

from waqtor.access.gateway_key import ApiKeys, hash_key
from waqtor.access.keys import KeyService
from waqtor.access.notices import Notices
from waqtor.storage import Storage
from waqtor.storage.keys import KeyRepository
from waqtor.storage.records import KeyRecord


class PausingRepository(KeyRepository):
    """Reads the keys, then waits for `release` before answering, when `pause` is set."""

    def __init__(self, storage: Storage) -> None:
        super().__init__(storage.engine)
        self.pause = False
        self.read = asyncio.Event()
        self.release = asyncio.Event()

    async def all(self) -> list[KeyRecord]:
        records = await super().all()
        if self.pause:
            self.read.set()
            await self.release.wait()
        return records


async def service_on(storage: Storage) -> tuple[KeyService, PausingRepository, list[tuple[str, str]]]:
    repo = PausingRepository(storage)
    service = KeyService(ApiKeys(hash_key("gateway-key-0123456789")), repo, Notices(), refresh_interval=3600)
    announced: list[tuple[str, str]] = []
    service.on_revoke(lambda key_id, reason: announced.append((key_id, reason)))
    await service.reload()
    return service, repo, announced


async def paused_reload(repo: PausingRepository, service: KeyService) -> asyncio.Task[None]:
    repo.pause = True
    task = asyncio.create_task(service.reload())
    await asyncio.wait_for(repo.read.wait(), timeout=5)
    return task


async def test_a_key_created_during_a_reload_stays_valid_and_is_not_announced(sqlite_storage: Storage) -> None:
    service, repo, announced = await service_on(sqlite_storage)
    reload = await paused_reload(repo, service)
    record, key = await service.create("made meanwhile", ["read"], None, None)
    repo.release.set()
    await reload
    assert announced == []
    identity = await service.verify(key)
    assert identity is not None and identity.key_id == record.id


async def test_a_key_revoked_during_a_reload_stays_refused_and_is_announced_once(sqlite_storage: Storage) -> None:
    service, repo, announced = await service_on(sqlite_storage)
    record, key = await service.create("revoked meanwhile", ["read"], None, None)
    reload = await paused_reload(repo, service)  # this read still sees the key
    await service.revoke(record.id)
    repo.release.set()
    await reload
    assert announced == [(record.id, "API key revoked")]
    assert await service.verify(key) is None


async def test_a_key_deleted_elsewhere_is_announced_by_the_next_reload(sqlite_storage: Storage) -> None:
    service, _repo, announced = await service_on(sqlite_storage)
    record, key = await service.create("deleted by another instance", ["read"], None, None)
    assert await KeyRepository(sqlite_storage.engine).delete(record.id)
    await service.reload()
    assert announced == [(record.id, "API key revoked")]
    assert await service.verify(key) is None
