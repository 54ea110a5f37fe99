"""Scoped API keys: created, listed and revoked through the API; verified from a cache.

Verifying a key is a dictionary look-up of its SHA-256: keys are loaded from the database at start,
reloaded every `WAQTOR_KEY_REFRESH_INTERVAL` seconds, and a key this instance has not seen yet (made
on another instance a moment ago) is looked up in the database once. A revoked key leaves the cache at
once on the instance that revoked it, and on the others when the revocation notice reaches them
(`notices`), or at their next reload at the latest. Revocation listeners (the WebSocket bridge) are
told, so connections opened with that key close.

When a key was last used is written at most once a minute per key, by the reload timer, so using a key
costs no database write.
"""

from __future__ import annotations

import asyncio
import logging
import secrets
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import replace
from datetime import datetime, timedelta

from waqtor.access.gateway_key import ApiKeys, generate_key, hash_key
from waqtor.access.notices import Notices
from waqtor.access.scopes import ADMIN, Identity, normalize_scopes
from waqtor.clock import Clock, utcnow
from waqtor.errors import InvalidInput, NotFound
from waqtor.storage.keys import KeyRepository
from waqtor.storage.records import KeyRecord
from waqtor.tasks import TaskSet

log = logging.getLogger(__name__)

LAST_USED_EVERY = timedelta(minutes=1)
PREFIX_LENGTH = 12  # "wqt_" and 8 characters: enough to tell keys apart, far too few to guess the rest

RevokeListener = Callable[[str, str], Awaitable[None] | None]


def identity_of(record: KeyRecord) -> Identity:
    return Identity(key_id=record.id, name=record.name, scopes=frozenset(record.scopes),
                    sessions=frozenset(record.sessions) if record.sessions is not None else None)


class KeyService:
    """The gateway's key plus the keys in the database."""

    def __init__(self, gateway_key: ApiKeys, repo: KeyRepository, notices: Notices, *,
                 refresh_interval: float = 30.0, clock: Clock = utcnow) -> None:
        self.gateway_key = gateway_key
        self._repo = repo
        self._notices = notices
        self._refresh = refresh_interval
        self._clock = clock
        self._by_hash: dict[str, KeyRecord] = {}
        self._used: dict[str, datetime] = {}  # key id -> last use this instance saw
        self._written: dict[str, datetime] = {}  # key id -> last use written (or read) from the database
        self._pending: dict[str, datetime] = {}  # uses not written yet
        self._listeners: list[RevokeListener] = []
        self._tasks = TaskSet("keys")

    # ---- lifecycle ----------------------------------------------------------------------------------

    async def start(self) -> None:
        await self.reload()
        await self._notices.start(self._revoked_elsewhere, self.reload)
        self._tasks.spawn(self._refresh_loop(), "refresh")

    async def stop(self) -> None:
        await self._tasks.close()
        await self._notices.stop()
        try:
            await self.flush()
        except Exception:
            log.warning("could not record when the API keys were last used", exc_info=True)

    def on_revoke(self, listener: RevokeListener) -> None:
        """Call `listener(key_id, reason)` whenever a key stops being valid here: revoked (on any
        instance) or expired; `reason` says which, for people."""
        self._listeners.append(listener)

    async def _refresh_loop(self) -> None:
        while True:
            await asyncio.sleep(self._refresh)
            try:
                await self.flush()
                await self.reload()
            except Exception:
                log.warning("API keys: reload failed; keeping the keys known so far", exc_info=True)

    async def reload(self) -> None:
        """Load every key from the database; keys gone or expired since are dropped and announced.

        Keys change while the database is read: one created (or first seen) meanwhile is kept even if
        the read missed it, and one revoked meanwhile stays gone even if the read still saw it. Only
        keys known before the read and missing from it are announced as revoked."""
        before = {r.id for r in self._by_hash.values()}
        records = await self._repo.all()
        now = self._clock()
        current = {r.id for r in self._by_hash.values()}
        forgotten = before - current  # revoked during the read, and already announced
        fresh = {r.hash: r for r in records
                 if (r.expires_at is None or r.expires_at > now) and r.id not in forgotten}
        fresh_ids = {r.id for r in fresh.values()}
        # Created or looked up during the read: kept.
        fresh.update({key_hash: record for key_hash, record in self._by_hash.items()
                      if record.id not in before and record.id not in fresh_ids})
        gone = (before & current) - fresh_ids
        expired = {r.id for r in records} & gone
        self._by_hash = fresh
        for record in records:
            if record.last_used_at is not None:
                self._written[record.id] = max(record.last_used_at, self._written.get(record.id, record.last_used_at))
        for key_id in gone:
            await self._announce(key_id, "API key expired" if key_id in expired else "API key revoked")

    # ---- verification -------------------------------------------------------------------------------

    async def verify(self, presented: str | None) -> Identity | None:
        """The identity of `presented`, or None when it is no valid key (unknown, revoked or expired)."""
        if not presented or len(presented) > 256:
            return None
        if self.gateway_key.verify(presented):
            return Identity.gateway()
        key_hash = hash_key(presented)
        record = self._by_hash.get(key_hash)
        if record is None:
            record = await self._repo.by_hash(key_hash)
            if record is None:
                return None
            self._by_hash[key_hash] = record
        now = self._clock()
        if record.expires_at is not None and record.expires_at <= now:
            return None
        self._note_use(record.id, now)
        return identity_of(record)

    def _note_use(self, key_id: str, now: datetime) -> None:
        self._used[key_id] = now
        written = self._written.get(key_id)
        if written is None or now - written >= LAST_USED_EVERY:
            self._pending[key_id] = now
            self._written[key_id] = now

    async def flush(self) -> None:
        """Write the uses noted since the last flush."""
        pending, self._pending = self._pending, {}
        await self._repo.touch(pending)

    # ---- management ---------------------------------------------------------------------------------

    async def create(self, name: str, scopes: Sequence[str], sessions: Sequence[str] | None,
                     expires_at: datetime | None) -> tuple[KeyRecord, str]:
        """A new key and its record; the key itself is returned only here."""
        ordered = normalize_scopes(scopes)
        if ADMIN in ordered and sessions is not None:
            raise InvalidInput("an admin key cannot be limited to sessions: it could create an unlimited key",
                               code="invalid_scope")
        now = self._clock()
        if expires_at is not None and expires_at <= now:
            raise InvalidInput("expiresAt must be in the future", code="invalid_expiry")
        key = generate_key()
        record = KeyRecord(
            id="key_" + secrets.token_hex(8), name=name, prefix=key[:PREFIX_LENGTH], hash=hash_key(key),
            scopes=ordered, sessions=tuple(dict.fromkeys(sessions)) if sessions is not None else None,
            created_at=now, expires_at=expires_at,
        )
        await self._repo.create(record)
        self._by_hash[record.hash] = record
        log.info("API key %s (%s) created with scopes %s", record.id, record.prefix, ",".join(ordered))
        return record, key

    async def list(self) -> list[KeyRecord]:
        """Every key, with the uses this instance saw but has not written yet."""
        await self.flush()
        records = await self._repo.all()
        return [self._with_use(r) for r in records]

    def _with_use(self, record: KeyRecord) -> KeyRecord:
        seen = self._used.get(record.id)
        if seen is None or (record.last_used_at is not None and record.last_used_at >= seen):
            return record
        return replace(record, last_used_at=seen)

    async def revoke(self, key_id: str) -> None:
        """Delete the key: refused from now on, here and (through the notice) on every instance.
        NotFound (`key_not_found`) when there is no such key."""
        if not await self._repo.delete(key_id):
            raise NotFound(f"no API key with id {key_id!r}", code="key_not_found")
        log.info("API key %s revoked", key_id)
        await self._forget(key_id)
        await self._notices.publish(key_id)

    async def _revoked_elsewhere(self, key_id: str) -> None:
        await self._forget(key_id)

    async def _forget(self, key_id: str) -> None:
        self._by_hash = {h: r for h, r in self._by_hash.items() if r.id != key_id}
        self._pending.pop(key_id, None)
        self._used.pop(key_id, None)
        await self._announce(key_id, "API key revoked")

    async def _announce(self, key_id: str, reason: str) -> None:
        for listener in tuple(self._listeners):
            try:
                result = listener(key_id, reason)
                if result is not None:
                    await result
            except Exception:
                log.exception("a listener failed on the revocation of key %s", key_id)
