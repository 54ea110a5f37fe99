"""Stored media: uploads, downloads and received files under `<data dir>/media/YYYY/MM/DD/<id>.<ext>`.

A file is written to a temporary name while it arrives (counted, hashed, cut off past the largest
limit), its type is detected from its content, the limit of its kind is applied, and only then is it
moved into place and recorded in the `media` table. Retention removes files older than
`WAQTOR_MEDIA_RETENTION_DAYS`; their rows stay (with `deleted_at`) so the log can still say what was sent.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import logging
import os
import re
import secrets
import time
from collections.abc import AsyncIterator, Collection
from datetime import timedelta
from pathlib import Path

from waqtor.clock import Clock
from waqtor.config import Settings
from waqtor.errors import InvalidInput, NotFound, PayloadTooLarge
from waqtor.files import private_dir, private_opener
from waqtor.messaging.mime import KINDS, SNIFF_BYTES, Kind, choose_kind, detect, file_name
from waqtor.storage.faults import disk_full, full
from waqtor.storage.media import MediaRepository
from waqtor.storage.records import MediaRecord

log = logging.getLogger(__name__)

CHUNK = 65_536
# Seconds a partial or unrecorded file must be left untouched before a sweep may take it for a stray.
STRAY_AGE = 3600.0
STORED_NAME = re.compile(r"[0-9a-f]{32}\.[A-Za-z0-9]+")



def _age(path: Path) -> float:
    """Seconds since `path` was last written (0 when it vanished meanwhile)."""
    try:
        return time.time() - path.stat().st_mtime
    except FileNotFoundError:
        return 0.0


def too_large(kind: str, size: int | None, limit: int) -> PayloadTooLarge:
    """PayloadTooLarge(code="media_too_large") for a `kind` (image…, or upload, file) over `limit`."""
    said = f"{size} bytes" if size is not None else f"more than {limit} bytes"
    setting = f" (WAQTOR_MEDIA_MAX_{kind.upper()})" if kind in KINDS else ""
    return PayloadTooLarge(
        f"the {kind} is {said}, over the limit of {limit} bytes{setting}",
        code="media_too_large",
        details={"kind": kind, "size": size, "limit": limit},
    )


async def chunks_of(data: bytes) -> AsyncIterator[bytes]:
    for start in range(0, len(data), CHUNK):
        yield data[start : start + CHUNK]


class MediaStore:
    """The media directory and its table. `save` enforces the per-kind limits; `cleanup` the retention."""

    def __init__(self, settings: Settings, repo: MediaRepository, clock: Clock) -> None:
        self.root = settings.data_dir / "media"
        self.limits: dict[str, int] = {
            "image": settings.media_max_image,
            "video": settings.media_max_video,
            "audio": settings.media_max_audio,
            "document": settings.media_max_document,
        }
        self.retention_days = settings.media_retention_days
        # On PostgreSQL several instances may share the data directory; on SQLite only this one uses it.
        self.shared = not settings.resolved_database_url.startswith("sqlite")
        self._repo = repo
        self._clock = clock

    @property
    def largest(self) -> int:
        """The largest file any kind allows: nothing bigger is ever read in full."""
        return max(self.limits.values())

    def path(self, record: MediaRecord) -> Path:
        return self.root / record.path

    @staticmethod
    def kind_for(head: bytes, requested: str | None) -> Kind:
        """The kind whose limit a file beginning with `head` (its first SNIFF_BYTES) is held to while it
        arrives: `document` when asked for (any file may be one), else the kind its content shows (a
        kind asked for that the content is not is refused by `save`)."""
        return "document" if requested == "document" else detect(head).kind

    async def save(
        self,
        chunks: AsyncIterator[bytes],
        given_name: str | None = None,
        requested: Kind | None = None,
        *,
        enforce_limits: bool = True,
    ) -> MediaRecord:
        """Store what `chunks` yields. Raises InvalidInput (`empty_media`), UnsupportedMediaType
        (`media_type_mismatch`), PayloadTooLarge (`media_too_large`) or InsufficientStorage
        (`insufficient_storage`, the disk is full); nothing is kept then, not even part of the file.
        Without `enforce_limits` (a received file, whose kind the sender chose) only the largest limit
        applies, counted on the bytes as they arrive."""
        try:
            return await self._save(chunks, given_name, requested, enforce_limits)
        except OSError as exc:
            if disk_full(exc):
                log.error("media: the data disk is full (%s); an upload was refused", self.root)
                raise full() from None
            raise

    async def _save(self, chunks: AsyncIterator[bytes], given_name: str | None, requested: Kind | None,
                    enforce_limits: bool) -> MediaRecord:
        media_id = secrets.token_hex(16)
        incoming = private_dir(self.root / ".incoming")
        part = incoming / f"{media_id}.part"
        digest = hashlib.sha256()
        head = b""
        size = 0
        kind: Kind | None = None  # known once the first bytes are in: then its own limit applies
        try:
            # Chunk-sized writes to a local file: a thread hop per chunk would cost more than the write.
            with open(part, "wb", opener=private_opener) as out:  # noqa: ASYNC230
                async for chunk in chunks:
                    size += len(chunk)
                    if len(head) < SNIFF_BYTES:
                        head += chunk[: SNIFF_BYTES - len(head)]
                        if len(head) == SNIFF_BYTES:
                            kind = choose_kind(detect(head), requested)
                    if size > (self.limits[kind] if kind and enforce_limits else self.largest):
                        kind = kind or choose_kind(detect(head), requested)
                        raise too_large(kind, None, self.limits[kind])  # stop reading: size unknown
                    digest.update(chunk)
                    out.write(chunk)
            if size == 0:
                raise InvalidInput("the file is empty", code="empty_media")
            detected = detect(head)
            kind = choose_kind(detected, requested)
            if enforce_limits and size > self.limits[kind]:
                raise too_large(kind, size, self.limits[kind])
            now = self._clock()
            relative = f"{now:%Y/%m/%d}/{media_id}.{detected.extension}"
            target = self.root / relative
            private_dir(target.parent)
            os.replace(part, target)
        except BaseException:
            part.unlink(missing_ok=True)
            raise
        record = MediaRecord(
            id=media_id,
            kind=kind,
            mimetype=detected.mimetype,
            size=size,
            file_name=file_name(given_name, detected),
            path=relative,
            sha256=digest.hexdigest(),
            created_at=now,
        )
        try:
            await self._repo.insert(record)
        except BaseException:
            target.unlink(missing_ok=True)
            raise
        return record

    def prepare(self) -> int:
        """At start: the media directory made (or tightened to) 0700, and `clear_incoming()`."""
        private_dir(self.root)
        return self.clear_incoming()

    def clear_incoming(self, older_than: float | None = None) -> int:
        """Remove the partial files a killed process left while they arrived; returns how many. Only
        files untouched for `older_than` seconds go; by default all of them on SQLite (nobody else
        uses the directory), and those an hour old on PostgreSQL, where the data directory may be
        shared and a fresh one may be another instance's upload in progress."""
        if older_than is None:
            older_than = STRAY_AGE if self.shared else 0.0
        removed = 0
        for part in (self.root / ".incoming").glob("*.part"):
            if _age(part) >= older_than:
                part.unlink(missing_ok=True)
                removed += 1
        if removed:
            log.warning("media: removed %d partial file(s) left by an interrupted upload", removed)
        return removed

    async def sweep_strays(self, older_than: float = STRAY_AGE, batch: int = 500) -> int:
        """Remove stored files that have no row: a process killed between moving a file into place
        and recording it leaves one behind. Only files untouched for `older_than` seconds are looked
        at (a fresh one may be recorded in a moment, by this or another instance); returns how many."""
        removed = 0
        candidates = await asyncio.to_thread(self._stray_candidates, older_than)
        for start in range(0, len(candidates), batch):
            chunk = candidates[start:start + batch]
            known = await self._repo.known([path.stem for path in chunk])
            for path in chunk:
                if path.stem not in known:
                    self._unlink(path)
                    removed += 1
        if removed:
            log.warning("media: removed %d file(s) that no record refers to (left by an interrupted save)", removed)
        return removed

    def _stray_candidates(self, older_than: float) -> list[Path]:
        """Files under the dated folders (YYYY/MM/DD/<32 hex>.<ext>) untouched for `older_than` seconds."""
        return [path for path in self.root.glob("[0-9][0-9][0-9][0-9]/[0-9][0-9]/[0-9][0-9]/*")
                if STORED_NAME.fullmatch(path.name) and path.is_file() and _age(path) >= older_than]

    async def get(self, media_id: str, sessions: Collection[str] | None = None) -> MediaRecord:
        """The stored file's record; NotFound (`media_not_found`, or `media_expired` once retention
        removed it). With `sessions` (a key limited to them), only a file that a message or a campaign
        of one of them refers to is found: any other answers `media_not_found`, as if it did not exist."""
        record = await self._repo.get(media_id)
        if record is None or (sessions is not None and not await self._repo.referenced_in(media_id, sessions)):
            raise NotFound(f"no media with id {media_id!r}", code="media_not_found")
        if record.deleted_at is not None or not self.path(record).is_file():
            raise NotFound(
                f"media {media_id!r} is no longer kept (files are kept {self.retention_days} days)",
                code="media_expired",
            )
        return record

    async def unused(self, ids: set[str]) -> list[MediaRecord]:
        """Of `ids`, the files no message and no campaign refers to any more."""
        return await self._repo.unused(ids)

    async def discard(self, records: list[MediaRecord]) -> None:
        """Remove these files and their rows (what a deleted session kept)."""
        for record in records:
            self._unlink(self.path(record))
        await self._repo.delete([record.id for record in records])

    @staticmethod
    def _unlink(path: Path) -> None:
        path.unlink(missing_ok=True)
        with contextlib.suppress(OSError):  # only empty day/month/year folders go
            for folder in (path.parent, path.parent.parent, path.parent.parent.parent):
                folder.rmdir()

    async def cleanup(self) -> int:
        """Remove files older than the retention period; returns how many. Does nothing when the
        retention is 0 (keep forever)."""
        if self.retention_days <= 0:
            return 0
        now = self._clock()
        cutoff = now - timedelta(days=self.retention_days)
        removed = 0
        while batch := await self._repo.expired(cutoff):
            for record in batch:
                self._unlink(self.path(record))
            await self._repo.mark_deleted([r.id for r in batch], now)
            removed += len(batch)
        if removed:
            log.info("media retention: removed %d file(s) older than %d days", removed, self.retention_days)
        return removed

    async def run_cleanup(self, interval: float) -> None:
        """Apply the retention and remove stray files now and every `interval` seconds, for ever (the
        owner cancels it); a failed sweep is logged and retried at the next interval."""
        while True:
            try:
                await self.cleanup()
                await self.sweep_strays()
                await asyncio.to_thread(self.clear_incoming, STRAY_AGE)
            except Exception:
                log.exception("media retention sweep failed")
            await asyncio.sleep(interval)
